/**
 * Reports uploaded from CI (`POST /api/v1/projects/{id}/reports`): a CycloneDX SBOM, matched here
 * against the service's advisories, or a GitLab container-scanning report (schema 15.x), taken
 * as it is. Either becomes a finished scan (trigger `ci_upload`, report type
 * `container_scanning`, the "CI" tab of the Vulnerability Report) whose findings are ingested
 * at once, in the same transaction, with the same lifecycle as registry scans (ingest.ts).
 *
 * Uploaded documents are untrusted: anything malformed is a CiReportError (a 400 with the
 * reason), texts lose their control characters, only http(s)/ftp links are kept, and a NUL
 * character in package data (which no database column can hold) is refused, naming the field.
 */
import { parseCvss } from '../match/severity.js';
import type { Cvss } from '../match/types.js';
import { matchInventory } from '../match/match.js';
import { cvssMajor, cleanText, truncate } from '../report/common.js';
import { fromCycloneDX, SbomError } from '../sbom/read-cyclonedx.js';
import type { ImageInventory } from '../inventory/types.js';
import type { Project, Scan } from '../store/schema.js';
import type { ServiceContext } from './context.js';
import { itemsFromFindings, type IngestCounts, type IngestItem } from './ingest.js';
import { loggable, nulInPackages, recordScanResult } from './scan-results.js';

export class CiReportError extends Error {
  override readonly name = 'CiReportError';
}

export type CiReportFormat = 'cyclonedx' | 'gitlab';

export interface CiReportInput {
  project: Project;
  /** Who uploaded it. */
  userId: number | null;
  /** The parsed JSON body. */
  body: unknown;
  /** Default: the repository of the image the report names. */
  repository?: string;
  /** Default: the tag of the image the report names. */
  tag?: string;
}

export interface CiReportResult {
  scan: Scan;
  format: CiReportFormat;
  /** Packages in the SBOM; null for a GitLab report (which lists findings only). */
  packageCount: number | null;
  findingCount: number;
  counts: IngestCounts;
}

const REPO_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const LINK = /^(https?|ftp):\/\/\S+$/i;
const SUPPORTED_GITLAB_VERSION = /^15\.\d+\.\d+$/;

/** Which kind of report a body is, or a CiReportError saying it is neither. */
export function reportFormat(body: unknown): CiReportFormat {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CiReportError('the body must be a JSON object: a CycloneDX SBOM or a GitLab report');
  }
  const b = body as Record<string, unknown>;
  if (b.bomFormat === 'CycloneDX') return 'cyclonedx';
  if ('vulnerabilities' in b && typeof b.version === 'string') return 'gitlab';
  throw new CiReportError(
    'the body is neither a CycloneDX SBOM ("bomFormat": "CycloneDX") nor a GitLab ' +
      'container-scanning report ("version" and "vulnerabilities")',
  );
}

/**
 * Repository path and tag of an image name as reports write it: `group/app:1.0`,
 * `registry.example.com:5000/group/app:1.0@sha256:…`. The registry host, when the first
 * component is one (it has a `.` or `:`, or is `localhost`), is dropped.
 */
export function imageRepositoryAndTag(name: string): { repository?: string; tag?: string } {
  let rest = name.trim();
  const at = rest.indexOf('@');
  if (at >= 0) rest = rest.slice(0, at);
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
  }
  const parts = rest.split('/');
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0]!)) parts.shift();
  const repository = parts.join('/');
  return {
    ...(repository !== '' ? { repository } : {}),
    ...(tag !== undefined && tag !== '' ? { tag } : {}),
  };
}

function checkRepository(repository: string): string {
  if (
    repository.length > 255 ||
    repository.split('/').some((component) => !REPO_COMPONENT.test(component))
  ) {
    throw new CiReportError(
      `invalid repository "${truncate(cleanText(repository, { newlines: false }), 100)}": ` +
        'lower-case path components such as group/app',
    );
  }
  return repository;
}

function checkTag(tag: string): string {
  if (!TAG.test(tag)) {
    throw new CiReportError(
      `invalid tag "${truncate(cleanText(tag, { newlines: false }), 140)}": ` +
        'letters, digits, _ . - (up to 128, not starting with . or -)',
    );
  }
  return tag;
}

// ---------------------------------------------------------------- GitLab report

const GITLAB_SEVERITY: Record<string, string> = {
  critical: 'critical',
  high: 'high',
  medium: 'medium',
  low: 'low',
  info: 'negligible',
  unknown: 'unknown',
};

/** The purl type of an OS package, from the report's operating system (`debian 12`). */
function osPackageType(os: string | null): string {
  const id = os?.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  if (id === 'debian' || id === 'ubuntu') return 'deb';
  if (id === 'alpine' || id === 'wolfi' || id === 'chainguard') return 'apk';
  if (
    /^(rhel|redhat|centos|rocky|almalinux|fedora|amzn|amazon|ol|oracle|sles|opensuse.*|suse|photon|mariner|azurelinux)$/.test(
      id,
    )
  ) {
    return 'rpm';
  }
  return 'generic';
}

function osNamespace(os: string | null, type: string): string | undefined {
  const id = os?.trim().split(/\s+/)[0]?.toLowerCase();
  if (!id || !/^[a-z0-9.-]+$/.test(id)) return undefined;
  return type === 'generic' ? undefined : id;
}

interface Reader {
  at: string;
  value: unknown;
}

function field(r: Reader, name: string): Reader {
  const v =
    typeof r.value === 'object' && r.value !== null && !Array.isArray(r.value)
      ? (r.value as Record<string, unknown>)[name]
      : undefined;
  return { at: `${r.at}.${name}`, value: v };
}

function requiredString(r: Reader): string {
  if (typeof r.value !== 'string' || r.value.trim() === '') {
    throw new CiReportError(`${r.at} must be a non-empty string`);
  }
  return r.value;
}

function optionalString(r: Reader): string | undefined {
  if (r.value === undefined || r.value === null) return undefined;
  if (typeof r.value !== 'string') throw new CiReportError(`${r.at} must be a string`);
  return r.value;
}

function optionalArray(r: Reader): Reader[] {
  if (r.value === undefined || r.value === null) return [];
  if (!Array.isArray(r.value)) throw new CiReportError(`${r.at} must be an array`);
  return (r.value as unknown[]).map((value, i) => ({ at: `${r.at}[${i}]`, value }));
}

/** A string field read by `read`, refused when it holds a NUL character (no database stores one). */
function withoutNul<T extends string | undefined>(r: Reader, read: (r: Reader) => T): T {
  const value = read(r);
  if (value?.includes('\u0000')) throw new CiReportError(`${r.at} contains a NUL character`);
  return value;
}

/**
 * Refuses a NUL character in the name, version or purl of any component of a CycloneDX document
 * (nested ones and the metadata's included): PostgreSQL text cannot hold one.
 */
function checkComponentsForNul(bom: unknown): void {
  const b = bom as Record<string, unknown>;
  const metadata = b.metadata as Record<string, unknown> | null | undefined;
  // no recursion: a hostile document may nest components arbitrarily deep
  const pending: { component: unknown; at: string }[] = [];
  const children = (components: unknown, at: string) => {
    if (!Array.isArray(components)) return;
    components.forEach((component: unknown, i) => pending.push({ component, at: `${at}[${i}]` }));
  };
  children(b.components, 'components');
  if (typeof metadata === 'object' && metadata !== null) {
    pending.push({ component: metadata.component, at: 'metadata.component' });
  }
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { component, at } = next;
    if (typeof component !== 'object' || component === null) continue;
    const c = component as Record<string, unknown>;
    for (const key of ['name', 'version', 'purl', 'group']) {
      const value = c[key];
      if (typeof value === 'string' && value.includes('\u0000')) {
        throw new CiReportError(`${at}.${key} contains a NUL character`);
      }
    }
    children(c.components, `${at}.components`);
  }
}

function plain(text: string, max: number): string {
  return truncate(cleanText(text, { newlines: false }).trim(), max);
}

function cvssOf(vector: string): Cvss | undefined {
  const type = vector.startsWith('CVSS:3.')
    ? 'CVSS_V3'
    : vector.startsWith('CVSS:4.0/')
      ? 'CVSS_V4'
      : 'CVSS_V2';
  return parseCvss(type, vector);
}

/** The CVSS that stands for a finding: v3, else v4, else v2 (the highest score of a kind). */
function primary(cvss: Cvss[]): Cvss | undefined {
  for (const major of [3, 4, 2] as const) {
    const ofKind = cvss.filter((c) => cvssMajor(c) === major);
    if (ofKind.length > 0) return ofKind.reduce((a, b) => (b.score > a.score ? b : a));
  }
  return undefined;
}

/** The findings of a GitLab container-scanning report, and the image it names (if any). */
export function itemsFromGitLabReport(report: unknown): { items: IngestItem[]; image?: string } {
  const root: Reader = { at: 'report', value: report };
  const version = requiredString(field(root, 'version'));
  if (!SUPPORTED_GITLAB_VERSION.test(version)) {
    throw new CiReportError(
      `unsupported GitLab report schema version "${plain(version, 40)}" (15.x is supported)`,
    );
  }
  const scanType = optionalString(field(field(root, 'scan'), 'type'));
  if (scanType !== undefined && scanType !== 'container_scanning') {
    throw new CiReportError(
      `report.scan.type is "${plain(scanType, 60)}": only container_scanning reports are accepted`,
    );
  }
  const vulnerabilities = field(root, 'vulnerabilities');
  if (!Array.isArray(vulnerabilities.value)) {
    throw new CiReportError('report.vulnerabilities must be an array');
  }
  let image: string | undefined;
  const items = optionalArray(vulnerabilities).map((v): IngestItem => {
    const location = field(v, 'location');
    const pkg = field(field(location, 'dependency'), 'package');
    const name = plain(withoutNul(field(pkg, 'name'), requiredString), 255);
    const version = plain(
      withoutNul(field(field(location, 'dependency'), 'version'), requiredString),
      255,
    );
    const os = withoutNul(field(location, 'operating_system'), optionalString);
    const osText = os !== undefined && os.trim() !== '' ? plain(os, 100) : null;
    const imageName = optionalString(field(location, 'image'));
    if (image === undefined && imageName !== undefined && imageName.trim() !== '')
      image = imageName;

    const identifiers: string[] = [];
    for (const id of optionalArray(field(v, 'identifiers'))) {
      const value = plain(requiredString(field(id, 'value')), 255);
      if (!identifiers.includes(value)) identifiers.push(value);
    }
    if (identifiers.length === 0) throw new CiReportError(`${v.at}.identifiers must not be empty`);

    const severityText = optionalString(field(v, 'severity')) ?? 'Unknown';
    const severity = GITLAB_SEVERITY[severityText.toLowerCase()];
    if (severity === undefined) {
      throw new CiReportError(
        `${v.at}.severity "${plain(severityText, 40)}" is not one of Critical, High, Medium, Low, Info, Unknown`,
      );
    }

    const cvss: Cvss[] = [];
    for (const entry of optionalArray(field(v, 'cvss_vectors'))) {
      const vector = optionalString(field(entry, 'vector'));
      const parsed = vector !== undefined ? cvssOf(vector) : undefined;
      if (parsed) cvss.push(parsed);
    }
    const best = primary(cvss);

    const links: string[] = [];
    for (const link of optionalArray(field(v, 'links'))) {
      const url = optionalString(field(link, 'url'));
      if (url !== undefined && LINK.test(url) && !links.includes(url)) links.push(url);
    }

    const solution = optionalString(field(v, 'solution'));
    const fixed = solution !== undefined ? /^Upgrade \S+ to (\S.*)$/.exec(solution.trim()) : null;
    const fixedVersion = fixed ? plain(fixed[1]!, 255) : null;
    const title = optionalString(field(v, 'name'));
    const description = optionalString(field(v, 'description'));
    const type = osPackageType(osText);
    const namespace = osNamespace(osText, type);
    const purl = `pkg:${type}/${namespace ? `${namespace}/` : ''}${encodeURIComponent(name)}@${encodeURIComponent(version)}`;

    return {
      packageName: name,
      packageVersion: version,
      packageType: type,
      purl,
      layer: null,
      path: null,
      advisoryId: identifiers[0]!,
      identifiers,
      severity,
      cvssVector: best?.vector ?? null,
      cvssScore: best?.score ?? null,
      title: title !== undefined && title.trim() !== '' ? plain(title, 255) : null,
      description:
        description !== undefined && description.trim() !== ''
          ? truncate(cleanText(description, { newlines: true }).trim(), 1_048_576)
          : null,
      links,
      fixedVersion,
      fixState: fixedVersion !== null ? 'fixed' : 'unknown',
      explanation: {
        source: 'gitlab_report',
        ...(typeof field(v, 'id').value === 'string' ? { reportId: field(v, 'id').value } : {}),
        ...(solution !== undefined ? { solution: plain(solution, 1000) } : {}),
      },
      os: osText,
    };
  });
  return { items, ...(image !== undefined ? { image } : {}) };
}

// ---------------------------------------------------------------- ingestion

/** Parses, matches (CycloneDX) and ingests an uploaded report as one finished CI scan. */
export async function ingestCiReport(
  ctx: ServiceContext,
  input: CiReportInput,
): Promise<CiReportResult> {
  const format = reportFormat(input.body);
  let items: IngestItem[];
  let images: ImageInventory[] = [];
  let imageName: { repository?: string; tag?: string } = {};
  let digest: string | null = null;
  let packageCount: number | null = null;
  let findingCount: number;
  const warnings: string[] = [];

  if (format === 'cyclonedx') {
    checkComponentsForNul(input.body);
    try {
      images = fromCycloneDX(input.body);
    } catch (e) {
      // the reader's own errors, and anything else a hostile document makes it trip over
      const reason = e instanceof SbomError || e instanceof Error ? e.message : String(e);
      throw new CiReportError(`invalid CycloneDX SBOM: ${reason}`);
    }
    const nul = nulInPackages(images);
    if (nul !== undefined) {
      throw new CiReportError(`invalid CycloneDX SBOM: ${nul} contains a NUL character`);
    }
    items = [];
    findingCount = 0;
    for (const { inventory } of images) {
      const result = matchInventory(inventory, ctx.advisories);
      findingCount += result.findings.length;
      items.push(...itemsFromFindings(result.findings, inventory));
      warnings.push(...result.warnings);
    }
    packageCount = images.reduce((n, i) => n + i.inventory.packages.length, 0);
    const first = images[0]?.image;
    if (first) {
      imageName = imageRepositoryAndTag(first.name === 'sbom' ? '' : first.name);
      if (first.tag) imageName.tag = first.tag;
      if (DIGEST.test(first.manifestDigest)) digest = first.manifestDigest;
    }
  } else {
    const report = itemsFromGitLabReport(input.body);
    items = report.items;
    findingCount = items.length;
    if (report.image !== undefined) {
      imageName = imageRepositoryAndTag(report.image);
      const d = /@(sha256:[a-f0-9]{64})$/.exec(report.image.trim());
      if (d) digest = d[1]!;
    }
  }

  const repositoryText = input.repository ?? imageName.repository;
  const tagText = input.tag ?? imageName.tag;
  if (repositoryText === undefined || tagText === undefined) {
    throw new CiReportError(
      'the repository and tag are needed: pass ?repository=…&tag=…, or upload a report that ' +
        'names its image as repository:tag',
    );
  }
  const repository = checkRepository(repositoryText);
  const tag = checkTag(tagText);

  const result = await ctx.database.db.transaction().execute(async (trx) => {
    const now = ctx.now().toISOString();
    const created = await trx
      .insertInto('scans')
      .values({
        project_id: input.project.id,
        registry_id: null,
        repository,
        tag,
        digest,
        trigger: 'ci_upload',
        report_type: 'container_scanning',
        status: 'running',
        error: null,
        created_at: now,
        started_at: now,
        finished_at: null,
        attempts: 1,
        package_count: null,
        finding_count: null,
        user_id: input.userId,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const log = (level: 'info' | 'warn', message: string) =>
      trx
        .insertInto('scan_logs')
        .values({ scan_id: created.id, at: now, level, message: loggable(message) })
        .execute();

    if (format === 'cyclonedx') {
      await log('info', `uploaded CycloneDX SBOM: ${packageCount ?? 0} packages`);
      for (const w of warnings.slice(0, 20)) await log('warn', w);
      await log('info', `matched: ${findingCount} findings`);
    } else {
      await log('info', `uploaded GitLab container-scanning report: ${findingCount} findings`);
    }
    const counts = await recordScanResult(ctx, trx, {
      scan: created,
      images,
      sbomDocument: format === 'cyclonedx' ? input.body : null,
      occurrenceDigest: digest,
      items,
      packageCount,
      findingCount,
    });
    const scan = await trx
      .selectFrom('scans')
      .selectAll()
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    return { scan, format, packageCount, findingCount, counts };
  });
  ctx.metrics.scans.inc({ status: 'success', trigger: 'ci_upload' });
  return result;
}
