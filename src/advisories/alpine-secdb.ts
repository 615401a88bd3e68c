/**
 * Alpine's security database (`https://secdb.alpinelinux.org/v3.20/main.json`) converted to OSV
 * records the way OSV.dev publishes Alpine: one record per vulnerability id, `ALPINE-CVE-...`,
 * with one `affected` entry per (origin package, release), ecosystem `Alpine:v3.20`, range
 * `introduced: 0`, `fixed: <the secfixes version>`. Pure: no I/O, no clock.
 *
 * Input: one secdb document (`{ distroversion, reponame, urlprefix, apkurl, archs, packages:
 * [{ pkg: { name, secfixes: { <version>: [<ids>...] } } }] }`) or an array of them (main and
 * community of several releases): the records are merged by id, so each id gives one record
 * whatever the number of documents. Convert every document of a store update in one call, or the
 * records of one release would replace those of another under the same id.
 *
 * What secdb says, and how it is read:
 * - `name` is the origin (source) package, the name OSV's Alpine ecosystem uses;
 * - every version lists the vulnerabilities fixed in it, so each entry is `fixed`; secdb has no
 *   unfixed issues (database_specific `fix_state: 'fixed'`, `repository`: main or community);
 * - version `0` is the maintainers' word that the package was never affected (how they reject a
 *   CVE): no affected entry;
 * - an id string may hold several ids and a comment (`CVE-2016-10013 XSA-204`,
 *   `CVE-2018-14467 (BGP)`): each CVE gets a record; other ids (XSA, TALOS, GHSA, ...) go into
 *   its `related`, or get records of their own when the string has no CVE;
 * - a few id typos in the real data are repaired with a warning (`CVE 2018-16859`,
 *   `CVE_2019-2426`, `CVE-2017-8073.patch`, `CVE-2017-17434-1`); placeholders (`CVE-????-?????`)
 *   are dropped with a warning.
 *
 * Feed text is untrusted: ids, names and versions are checked before they become part of a
 * record (a version apk would not accept is skipped with a warning, as OSV.dev does). Bad shapes
 * become warnings with their JSON pointer, never exceptions.
 */
import { DEFAULT_MODIFIED, type NativeConversion } from './debian-tracker.js';
import type { Advisory, OsvAffected, OsvRange, OsvReference } from './osv.js';

export type { NativeConversion } from './debian-tracker.js';

export interface AlpineSecdbOptions {
  /** `modified` of every record, RFC 3339 in UTC (`2025-01-31T12:00:00Z`). Default 1970-01-01. */
  modified?: string;
}

/** An Alpine release branch as secdb and OSV write it (`v3.15`). */
const DISTRO_VERSION = /^v\d+\.\d+$/;
/** An aports package name. */
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
const REPO_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
/**
 * An apk version (apk-tools' grammar): numbers, one optional letter, `_suffix<n>` parts,
 * an optional `~<hex>` commit hash, an optional `-r<n>` release.
 */
const APK_VERSION =
  /^\d+(\.\d+)*[a-z]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*(~[0-9a-f]+)?(-r\d+)?$/;
const CVE_ID = /^CVE-\d{4}-\d{4,}$/;
const GHSA_ID = /^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$/i;
/** Any other advisory id: `XSA-201`, `TALOS-2017-0488`, `ZBX-11023`, `wnpa-sec-2017-18`. */
const OTHER_ID = /^[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)+$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

export function alpineSecdbToOsv(
  json: unknown,
  options: AlpineSecdbOptions = {},
): NativeConversion {
  const modified = checkModified(options.modified);
  const warnings: string[] = [];
  const records = new Map<string, RecordBuilder>();
  if (Array.isArray(json)) {
    json.forEach((doc, i) => convertDocument(doc, `/${i}`, records, warnings));
  } else {
    convertDocument(json, '', records, warnings);
  }
  const advisories = [...records.values()].map((r) => build(r, modified));
  return { advisories, warnings };
}

interface RecordBuilder {
  vulnId: string;
  related: Set<string>;
  /** Affected entries by `ecosystem \0 name`. */
  affected: Map<string, OsvAffected>;
}

function convertDocument(
  doc: unknown,
  path: string,
  records: Map<string, RecordBuilder>,
  warnings: string[],
): void {
  if (!isRecord(doc)) {
    warnings.push(`${path || '/'}: expected a secdb object, got ${kind(doc)}`);
    return;
  }
  const distroversion = doc.distroversion;
  if (typeof distroversion !== 'string' || !DISTRO_VERSION.test(distroversion)) {
    warnings.push(
      `${path}/distroversion: ${describe(distroversion)} is not a release branch like v3.15; document skipped`,
    );
    return;
  }
  const ecosystem = `Alpine:${distroversion}`;
  let repository: string | undefined;
  if (typeof doc.reponame === 'string' && REPO_NAME.test(doc.reponame)) {
    repository = doc.reponame;
  } else if (doc.reponame !== undefined) {
    warnings.push(`${path}/reponame: ${describe(doc.reponame)} is not a repository name; ignored`);
  }
  const packages = doc.packages;
  if (!Array.isArray(packages)) {
    warnings.push(`${path}/packages: expected an array, got ${kind(packages)}`);
    return;
  }

  packages.forEach((entry: unknown, i) => {
    const pkgPath = `${path}/packages/${i}`;
    const pkg = isRecord(entry) ? entry.pkg : undefined;
    if (!isRecord(pkg)) {
      warnings.push(`${pkgPath}: expected { pkg: { name, secfixes } }; skipped`);
      return;
    }
    const name = pkg.name;
    if (typeof name !== 'string' || !PACKAGE_NAME.test(name)) {
      warnings.push(`${pkgPath}/pkg/name: ${describe(name)} is not a package name; skipped`);
      return;
    }
    let secfixes = pkg.secfixes;
    if (Array.isArray(secfixes) && secfixes.length === 0) secfixes = {};
    if (!isRecord(secfixes)) {
      warnings.push(`${pkgPath}/pkg/secfixes: expected an object, got ${kind(secfixes)}`);
      return;
    }
    for (const [version, fixes] of Object.entries(secfixes)) {
      // The package's name after the pointer, for a person reading the warning.
      const versionPath = `${pkgPath}/pkg/secfixes${pointer(version)} (${name})`;
      // Version 0: the maintainers' word that the package never was affected by these ids.
      if (version === '0') continue;
      if (!APK_VERSION.test(version)) {
        warnings.push(`${versionPath}: ${describe(version)} is not an apk version; skipped`);
        continue;
      }
      let list: unknown[];
      if (Array.isArray(fixes)) {
        list = fixes;
      } else if (typeof fixes === 'string' && fixes.trim() !== '') {
        warnings.push(`${versionPath}: expected a list of ids, got a string; read as one entry`);
        list = [fixes];
      } else {
        warnings.push(`${versionPath}: expected a list of ids, got ${describe(fixes)}; skipped`);
        continue;
      }
      list.forEach((text, j) => {
        const entryPath = `${pkgPath}/pkg/secfixes${pointer(version)}/${j} (${name})`;
        if (typeof text !== 'string') {
          warnings.push(`${entryPath}: expected an id string, got ${kind(text)}; skipped`);
          return;
        }
        const parsed = parseIds(text);
        for (const note of parsed.notes) warnings.push(`${entryPath}: ${note}`);
        const primary = parsed.cves.length > 0 ? parsed.cves : parsed.others;
        const related = parsed.cves.length > 0 ? parsed.others : [];
        if (primary.length === 0) {
          warnings.push(`${entryPath}: no vulnerability id in ${describe(text)}; skipped`);
          return;
        }
        for (const id of primary) {
          const record = recordFor(records, id);
          for (const r of related) record.related.add(r);
          if (parsed.cves.length === 0) {
            for (const other of primary) if (other !== id) record.related.add(other);
          }
          addFix(record, ecosystem, name, version, repository);
        }
      });
    }
  });
}

function recordFor(records: Map<string, RecordBuilder>, vulnId: string): RecordBuilder {
  let record = records.get(vulnId);
  if (!record) {
    record = { vulnId, related: new Set(), affected: new Map() };
    records.set(vulnId, record);
  }
  return record;
}

/**
 * One entry per (release, package); a second fixed version for the same id and package (a fix
 * completed later) adds a range, so that the versions before either are affected.
 */
function addFix(
  record: RecordBuilder,
  ecosystem: string,
  name: string,
  version: string,
  repository: string | undefined,
): void {
  const key = `${ecosystem}\0${name}`;
  const range: OsvRange = { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: version }] };
  const existing = record.affected.get(key);
  if (existing) {
    const ranges = existing.ranges ?? [];
    const known = ranges.some((r) => r.events.some((e) => 'fixed' in e && e.fixed === version));
    if (!known) ranges.push(range);
    existing.ranges = ranges;
    return;
  }
  const databaseSpecific: Record<string, unknown> = { fix_state: 'fixed' };
  if (repository !== undefined) databaseSpecific.repository = repository;
  record.affected.set(key, {
    package: {
      ecosystem,
      name,
      purl: `pkg:apk/alpine/${encodeURIComponent(name)}?arch=source`,
    },
    ranges: [range],
    database_specific: databaseSpecific,
  });
}

function build(record: RecordBuilder, modified: string): Advisory {
  const { vulnId } = record;
  const advisory: Advisory = {
    id: `ALPINE-${vulnId}`,
    modified,
    aliases: [vulnId],
    upstream: [vulnId],
  };
  const related = [...record.related].filter((r) => r !== vulnId);
  if (related.length > 0) advisory.related = related;
  advisory.affected = [...record.affected.values()];
  const url = referenceUrl(vulnId);
  if (url !== undefined) advisory.references = [{ type: 'ADVISORY', url } satisfies OsvReference];
  return advisory;
}

function referenceUrl(id: string): string | undefined {
  if (CVE_ID.test(id)) return `https://security.alpinelinux.org/vuln/${id}`;
  if (GHSA_ID.test(id)) return `https://github.com/advisories/${id}`;
  const xsa = /^XSA-(\d+)$/.exec(id);
  if (xsa) return `https://xenbits.xen.org/xsa/advisory-${xsa[1]}.html`;
  return undefined;
}

export interface ParsedIds {
  /** CVE ids, normalised (`CVE-2018-16859`). */
  cves: string[];
  /** Other advisory ids (`XSA-204`, `GHSA-...`). */
  others: string[];
  /** What was repaired or dropped, for a warning. */
  notes: string[];
}

/**
 * The ids in one secfixes string. Comments in parentheses are dropped; the typos found in the
 * real secdb are repaired; words that are no id are reported.
 */
export function parseIds(text: string): ParsedIds {
  const cves: string[] = [];
  const others: string[] = [];
  const notes: string[] = [];
  const add = (list: string[], id: string): void => {
    if (!list.includes(id)) list.push(id);
  };
  // Comments: `(BGP)`, `(+ regression fix)`; an unclosed one runs to the end.
  const tokens = text
    .replace(/\([^)]*\)?/g, ' ')
    .split(/\s+/)
    .filter((t) => t !== '');
  for (let i = 0; i < tokens.length; i++) {
    const token = (tokens[i] ?? '').replace(/[,;]+$/, '');
    const next = tokens[i + 1];
    if (CVE_ID.test(token)) {
      add(cves, token);
    } else if (/^cve-\d{4}-\d{4,}$/i.test(token)) {
      add(cves, token.toUpperCase());
    } else if (/^CVE$/i.test(token) && next !== undefined && /^\d{4}-\d{4,}$/.test(next)) {
      const id = `CVE-${next}`;
      notes.push(`read ${describe(`${token} ${next}`)} as ${id}`);
      add(cves, id);
      i++;
    } else if (/^CVE_\d{4}-\d{4,}$/i.test(token)) {
      const id = `CVE-${token.slice(4)}`;
      notes.push(`read ${describe(token)} as ${id}`);
      add(cves, id);
    } else if (/^CVE-\d{4}-\d{4,}(\.patch|-\d{1,2})$/i.test(token)) {
      const id = (/^CVE-\d{4}-\d{4,}/i.exec(token)?.[0] ?? '').toUpperCase();
      notes.push(`read ${describe(token)} as ${id}`);
      add(cves, id);
    } else if (/^CVE-[?X]+-[?X]+$/i.test(token)) {
      notes.push(`placeholder ${describe(token)} dropped`);
    } else if (GHSA_ID.test(token)) {
      add(others, `GHSA${token.slice(4).toLowerCase()}`);
    } else if (OTHER_ID.test(token) && /\d/.test(token) && !/^CVE-/i.test(token)) {
      add(others, token);
    } else {
      notes.push(`${describe(token)} is no vulnerability id; ignored`);
    }
  }
  return { cves, others, notes };
}

function checkModified(modified: string | undefined): string {
  if (modified === undefined) return DEFAULT_MODIFIED;
  if (!TIMESTAMP.test(modified) || Number.isNaN(Date.parse(modified))) {
    throw new TypeError(
      `options.modified: ${JSON.stringify(modified)} is not an RFC 3339 UTC timestamp`,
    );
  }
  return modified;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kind(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** A feed value fit for a warning: strings quoted, clipped and printable, others by kind. */
function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(clip(value)) : kind(value);
}

/** A JSON pointer (RFC 6901) segment for a key, clipped and made printable. */
function pointer(key: string): string {
  return '/' + clip(key).replace(/~/g, '~0').replace(/\//g, '~1');
}

function clip(text: string): string {
  // eslint-disable-next-line no-control-regex
  const printable = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
  return printable.length > 80 ? `${printable.slice(0, 79)}…` : printable;
}
