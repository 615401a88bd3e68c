/**
 * The Debian security tracker's JSON (`https://security-tracker.debian.org/tracker/data/json`)
 * converted to OSV records, the way OSV.dev publishes Debian: one record per CVE (or TEMP id),
 * `DEBIAN-CVE-2024-1234`, with one `affected` entry per (source package, release), ecosystem
 * `Debian:12`. Pure: no I/O, no clock; the caller parses the JSON and passes `modified`.
 *
 * The tracker's layout: `{ <source package>: { <CVE or TEMP id>: { description?, scope?,
 * debianbug?, releases: { <codename>: { status, fixed_version?, urgency, nodsa?, nodsa_reason?,
 * repositories } } } } }`. Per release:
 *
 * | tracker                                   | OSV `affected` entry                                  |
 * |-------------------------------------------|-------------------------------------------------------|
 * | `resolved`, `fixed_version` = a version   | range `introduced: 0`, `fixed: <version>`; fix_state `fixed` |
 * | `resolved`, `fixed_version` = `0`         | none: this release was never affected                |
 * | `open` / `undetermined`                   | range `introduced: 0` only (every version affected)   |
 *
 * Each entry carries in `database_specific` (what regscan's matcher reads):
 * - `urgency`: Debian's own rating, `**`/`*` markers stripped (`low`, `medium`, `high`,
 *   `unimportant`, `not yet assigned`, `end-of-life`, ...);
 * - `fix_state`: `fixed`; `wont_fix` when Debian says no fix will come to this release
 *   (`urgency: end-of-life`, or `nodsa_reason: ignored`); `not_fixed` otherwise (open,
 *   undetermined, `postponed`, plain no-DSA, unimportant);
 * - `status` (the tracker's), `release` (the codename), and `nodsa` / `nodsa_reason` when set.
 *
 * `ecosystem_specific.urgency` repeats the urgency because that is where OSV.dev's Debian records
 * keep it. `sid` becomes `Debian:sid` (the OSV spec's form for a release without a number);
 * OSV.dev leaves it out.
 *
 * Feed text is untrusted: ids, package names and versions are checked before they become part of
 * a record; descriptions are carried as plain text. Bad shapes become warnings with their JSON
 * pointer, never exceptions.
 */
import type { Advisory, OsvAffected, OsvReference } from './osv.js';

/** `modified` of every record when the caller does not give one. */
export const DEFAULT_MODIFIED = '1970-01-01T00:00:00Z';

/**
 * Debian codename → the release's number in distro-info-data (`debian.csv`), which the OSV
 * ecosystem `Debian:<number>` uses. `sid` has none: the OSV spec says to use the series name.
 */
export const DEBIAN_RELEASES: Readonly<Record<string, string>> = {
  woody: '3.0',
  sarge: '3.1',
  etch: '4',
  lenny: '5',
  squeeze: '6',
  wheezy: '7',
  jessie: '8',
  stretch: '9',
  buster: '10',
  bullseye: '11',
  bookworm: '12',
  trixie: '13',
  forky: '14',
  duke: '15',
  sid: 'sid',
};

export interface DebianTrackerOptions {
  /** `modified` of every record, RFC 3339 in UTC (`2025-01-31T12:00:00Z`). Default 1970-01-01. */
  modified?: string;
  /** More codename → release number mappings, for releases newer than DEBIAN_RELEASES. */
  releases?: Record<string, string>;
}

export interface NativeConversion {
  advisories: Advisory[];
  warnings: string[];
}

export type DebianFixState = 'fixed' | 'not_fixed' | 'wont_fix';

/** A Debian source package name (Debian policy 5.6.1), not longer than any real one. */
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]{1,127}$/;
/** The tracker's ids: CVEs and its own TEMP- ids for issues without a CVE. */
const CVE_ID = /^CVE-\d{4}-\d{4,}$/;
const TEMP_ID = /^TEMP-\d{7}-[0-9A-F]{6}$/;
const RELEASE_NUMBER = /^(\d+(\.\d+)?|[a-z]+)$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const SUMMARY_MAX = 120;

export function debianTrackerToOsv(
  json: unknown,
  options: DebianTrackerOptions = {},
): NativeConversion {
  const modified = checkModified(options.modified);
  const releases = releaseMap(options.releases);
  const warnings: string[] = [];
  const records = new Map<string, RecordBuilder>();
  const unknownReleases = new Map<string, { first: string; count: number }>();

  if (!isRecord(json)) {
    warnings.push(`/: expected an object of source packages, got ${kind(json)}`);
    return { advisories: [], warnings };
  }

  for (const [pkg, issues] of Object.entries(json)) {
    const pkgPath = pointer(pkg);
    if (!PACKAGE_NAME.test(pkg)) {
      warnings.push(`${pkgPath}: not a Debian source package name; skipped`);
      continue;
    }
    if (!isRecord(issues)) {
      warnings.push(`${pkgPath}: expected an object of issues, got ${kind(issues)}`);
      continue;
    }
    for (const [vulnId, issue] of Object.entries(issues)) {
      const issuePath = pointer(pkg, vulnId);
      if (!CVE_ID.test(vulnId) && !TEMP_ID.test(vulnId)) {
        warnings.push(`${issuePath}: not a CVE or TEMP id; skipped`);
        continue;
      }
      if (!isRecord(issue)) {
        warnings.push(`${issuePath}: expected an object, got ${kind(issue)}`);
        continue;
      }
      const record = recordFor(records, vulnId);
      if (record.description === undefined && typeof issue.description === 'string') {
        const description = issue.description.trim();
        if (description !== '') record.description = description;
      }
      const bug = issue.debianbug;
      if (typeof bug === 'number' && Number.isSafeInteger(bug) && bug > 0) record.bugs.add(bug);

      const rels = issue.releases;
      // An empty `releases` comes out of the tracker as `[]` (a PHP-style empty map).
      if (Array.isArray(rels) && rels.length === 0) continue;
      if (!isRecord(rels)) {
        warnings.push(`${issuePath}/releases: expected an object of releases, got ${kind(rels)}`);
        continue;
      }
      const entries: { rank: number; affected: OsvAffected }[] = [];
      for (const [codename, release] of Object.entries(rels)) {
        const relPath = pointer(pkg, vulnId, 'releases', codename);
        const number = releases.get(codename);
        if (number === undefined) {
          const seen = unknownReleases.get(codename);
          if (seen) seen.count++;
          else unknownReleases.set(codename, { first: relPath, count: 1 });
          continue;
        }
        const affected = convertRelease(pkg, codename, number, release, relPath, warnings);
        if (affected) entries.push({ rank: releaseRank(number), affected });
      }
      entries.sort((a, b) => a.rank - b.rank);
      for (const e of entries) record.affected.push(e.affected);
    }
  }

  for (const [codename, { first, count }] of unknownReleases) {
    const more = count > 1 ? ` (and ${count - 1} more)` : '';
    warnings.push(
      `${first}: unknown Debian release ${JSON.stringify(clip(codename))}${more}; skipped`,
    );
  }

  const advisories: Advisory[] = [];
  for (const record of records.values()) {
    // Not affected in any release (every fixed_version `0`): nothing to match, no record.
    if (record.affected.length > 0) advisories.push(build(record, modified));
  }
  return { advisories, warnings };
}

interface RecordBuilder {
  vulnId: string;
  description?: string;
  bugs: Set<number>;
  affected: OsvAffected[];
}

function recordFor(records: Map<string, RecordBuilder>, vulnId: string): RecordBuilder {
  let record = records.get(vulnId);
  if (!record) {
    record = { vulnId, bugs: new Set(), affected: [] };
    records.set(vulnId, record);
  }
  return record;
}

function convertRelease(
  pkg: string,
  codename: string,
  number: string,
  release: unknown,
  path: string,
  warnings: string[],
): OsvAffected | undefined {
  if (!isRecord(release)) {
    warnings.push(`${path}: expected an object, got ${kind(release)}`);
    return undefined;
  }
  const status = release.status;
  if (typeof status !== 'string') {
    warnings.push(`${path}/status: missing or not a string; skipped`);
    return undefined;
  }
  const urgency = optionalString(release.urgency, `${path}/urgency`, warnings);
  const normalizedUrgency = urgency === undefined ? undefined : normalizeUrgency(urgency);
  const nodsa = optionalString(release.nodsa, `${path}/nodsa`, warnings);
  const nodsaReason = optionalString(release.nodsa_reason, `${path}/nodsa_reason`, warnings);

  let fixed: string | undefined;
  let fixState: DebianFixState;
  if (status === 'resolved') {
    const version = release.fixed_version;
    if (version === '0') return undefined; // never affected in this release
    if (typeof version !== 'string' || version === '') {
      warnings.push(`${path}/fixed_version: resolved without a fixed version; skipped`);
      return undefined;
    }
    if (!isDebianVersion(version)) {
      warnings.push(
        `${path}/fixed_version: ${JSON.stringify(clip(version))} is not a Debian version; skipped`,
      );
      return undefined;
    }
    fixed = version;
    fixState = 'fixed';
  } else if (status === 'open' || status === 'undetermined') {
    fixState =
      normalizedUrgency === 'end-of-life' || nodsaReason === 'ignored' ? 'wont_fix' : 'not_fixed';
  } else {
    warnings.push(`${path}/status: unknown status ${JSON.stringify(clip(status))}; skipped`);
    return undefined;
  }

  const databaseSpecific: Record<string, unknown> = {
    release: codename,
    status,
    fix_state: fixState,
  };
  if (normalizedUrgency !== undefined) databaseSpecific.urgency = normalizedUrgency;
  if (nodsa !== undefined && nodsa !== '') databaseSpecific.nodsa = nodsa;
  if (nodsaReason !== undefined && nodsaReason !== '') databaseSpecific.nodsa_reason = nodsaReason;

  const affected: OsvAffected = {
    package: { ecosystem: `Debian:${number}`, name: pkg },
    ranges: [
      {
        type: 'ECOSYSTEM',
        events: fixed === undefined ? [{ introduced: '0' }] : [{ introduced: '0' }, { fixed }],
      },
    ],
  };
  if (normalizedUrgency !== undefined) affected.ecosystem_specific = { urgency: normalizedUrgency };
  affected.database_specific = databaseSpecific;
  return affected;
}

function build(record: RecordBuilder, modified: string): Advisory {
  const { vulnId } = record;
  const advisory: Advisory = { id: `DEBIAN-${vulnId}`, modified };
  if (CVE_ID.test(vulnId)) {
    advisory.aliases = [vulnId];
    advisory.upstream = [vulnId];
  }
  if (record.description !== undefined) {
    advisory.summary = summarize(record.description);
    advisory.details = record.description;
  }
  advisory.affected = record.affected;
  const references: OsvReference[] = [
    { type: 'ADVISORY', url: `https://security-tracker.debian.org/tracker/${vulnId}` },
  ];
  for (const bug of record.bugs) {
    references.push({ type: 'REPORT', url: `https://bugs.debian.org/${bug}` });
  }
  advisory.references = references;
  return advisory;
}

/**
 * The tracker marks an urgency it took from NVD rather than set itself with trailing `*`
 * (`high**`); the rating is the same word.
 */
function normalizeUrgency(urgency: string): string {
  return urgency.trim().replace(/\*+$/, '').trim().toLowerCase();
}

/**
 * Whether `v` is a Debian version as dpkg accepts it: `[epoch:]upstream[-revision]`, upstream
 * starting with a digit, colons in upstream only with an epoch, hyphens only with a revision.
 */
export function isDebianVersion(v: string): boolean {
  if (v.length > 256) return false;
  let rest = v;
  const epoch = /^(\d+):/.exec(rest);
  if (epoch) rest = rest.slice(epoch[0].length);
  const dash = rest.lastIndexOf('-');
  const upstream = dash >= 0 ? rest.slice(0, dash) : rest;
  const revision = dash >= 0 ? rest.slice(dash + 1) : undefined;
  if (revision !== undefined && !/^[A-Za-z0-9.+~]+$/.test(revision)) return false;
  const allowed = epoch
    ? revision !== undefined
      ? /^[0-9][A-Za-z0-9.+~:-]*$/
      : /^[0-9][A-Za-z0-9.+~:]*$/
    : revision !== undefined
      ? /^[0-9][A-Za-z0-9.+~-]*$/
      : /^[0-9][A-Za-z0-9.+~]*$/;
  return allowed.test(upstream);
}

function releaseMap(extra: Record<string, string> | undefined): Map<string, string> {
  const map = new Map(Object.entries(DEBIAN_RELEASES));
  for (const [codename, number] of Object.entries(extra ?? {})) {
    if (typeof number !== 'string' || !RELEASE_NUMBER.test(number)) {
      throw new TypeError(
        `options.releases.${codename}: ${JSON.stringify(number)} is not a release number`,
      );
    }
    map.set(codename, number);
  }
  return map;
}

/** Order of releases within a record: by number, series names (`sid`) last. */
function releaseRank(number: string): number {
  const n = Number(number);
  return Number.isFinite(n) ? n : Number.MAX_SAFE_INTEGER;
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

/** A one-line summary: the description's first line, cut at a word before 120 characters. */
export function summarize(description: string): string {
  const line = (description.split(/\r?\n/)[0] ?? '').replace(/\s+/g, ' ').trim();
  if (line.length <= SUMMARY_MAX) return line;
  const cut = line.slice(0, SUMMARY_MAX - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > SUMMARY_MAX / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

function optionalString(value: unknown, path: string, warnings: string[]): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  warnings.push(`${path}: expected a string, got ${kind(value)}; ignored`);
  return undefined;
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

/** A JSON pointer (RFC 6901) to the place in the feed, its keys clipped and made printable. */
function pointer(...keys: string[]): string {
  return keys.map((k) => '/' + clip(k).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** Feed text fit for a warning: control characters escaped, at most 80 characters. */
function clip(text: string): string {
  // eslint-disable-next-line no-control-regex
  const printable = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
  return printable.length > 80 ? `${printable.slice(0, 79)}…` : printable;
}
