/**
 * GitLab container-scanning report, schema 15.0.7 (what GitLab's Container Scanning and
 * `artifacts:reports:container_scanning` read): the scan (analyzer and scanner regscan, type
 * `container_scanning`, start and end time in UTC without zone, status success) and one
 * vulnerability per finding.
 *
 * - `id`: a UUID (version 5, regscan's namespace) of the finding's identity: image repository,
 *   platform, package database path, package type and name, advisory id. The same finding keeps
 *   its id across scans, also after the image is rebuilt, while it is not fixed; ids stay unique
 *   within one report (see uniqueIds).
 * - `name`: the advisory's title (else its id); `description`: its details; `severity` in
 *   GitLab's words (Critical, High, Medium, Low; negligible → Info; Unknown);
 *   `solution`: `Upgrade <package> to <version>`, or why there is none.
 * - `location`: dependency package name and installed version, operating system
 *   (`debian 12`), image (`name:tag`), and `default_branch_image` when the caller names one.
 * - `identifiers`: the CVE (or the advisory id) first, GitLab's primary identifier, then every
 *   other id; type from the id's prefix (cve, ghsa, debian, …), URL where the publisher has one.
 * - `cvss_vectors`: the CVSS v2 and v3.x vectors GitLab's schema accepts (it has no v4 yet).
 * - `links`: the advisory's http(s) and ftp references.
 *
 * GitLab renders `description` and `solution` as Markdown: untrusted text there has its control
 * characters removed and `&`, `<`, `>` written as entities, so it shows as written and can never
 * become HTML. Limits of the schema (name 255, solution 7,000, description 1 MiB characters) are
 * kept by truncation.
 */
import { createHash } from 'node:crypto';
import type { Cvss, Finding, SeverityLevel } from '../match/types.js';
import {
  cleanText,
  compareFindings,
  cvssMajor,
  displayId,
  findingTitle,
  idSource,
  imageLabel,
  orderedIds,
  osLabel,
  truncate,
  findingKey,
} from './common.js';
import { parseCvss } from '../match/severity.js';
import type { ScanReport } from './types.js';

export const GITLAB_SCHEMA_VERSION = '15.0.7';

export interface GitLabOptions {
  /** regscan's version, for scan.analyzer and scan.scanner. */
  toolVersion?: string;
  /** When the scan started and ended; now by default. */
  startTime?: Date;
  endTime?: Date;
  /** `location.default_branch_image`: the image's name on the default branch, if known. */
  defaultBranchImage?: string;
}

export interface GitLabIdentifier {
  type: string;
  name: string;
  value: string;
  url?: string;
}

export interface GitLabVulnerability {
  id: string;
  name: string;
  description: string;
  severity: 'Critical' | 'High' | 'Medium' | 'Low' | 'Info' | 'Unknown';
  solution: string;
  location: {
    dependency: { package: { name: string }; version: string };
    operating_system: string;
    image: string;
    default_branch_image?: string;
  };
  identifiers: GitLabIdentifier[];
  cvss_vectors?: { vendor: string; vector: string }[];
  links: { url: string }[];
}

export interface GitLabTool {
  id: string;
  name: string;
  version: string;
  vendor: { name: string };
}

export interface GitLabReport {
  version: string;
  scan: {
    analyzer: GitLabTool;
    scanner: GitLabTool;
    type: 'container_scanning';
    start_time: string;
    end_time: string;
    status: 'success' | 'failure';
  };
  vulnerabilities: GitLabVulnerability[];
}

const SEVERITY: Record<SeverityLevel, GitLabVulnerability['severity']> = {
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  negligible: 'Info',
  unknown: 'Unknown',
};

/** regscan's UUID namespace for GitLab vulnerability ids (a fixed random UUID). */
const ID_NAMESPACE = 'f3b1c6d2-52a4-4f0e-9b7d-1e8a0c5d7a39';

export function toGitLab(
  reports: readonly ScanReport[],
  options: GitLabOptions = {},
): GitLabReport {
  const now = new Date();
  const tool: GitLabTool = {
    id: 'regscan',
    name: 'regscan',
    version: options.toolVersion ?? 'unknown',
    vendor: { name: 'regscan' },
  };
  return {
    version: GITLAB_SCHEMA_VERSION,
    scan: {
      analyzer: tool,
      scanner: { ...tool, vendor: { ...tool.vendor } },
      type: 'container_scanning',
      start_time: gitlabTime(options.startTime ?? options.endTime ?? now),
      end_time: gitlabTime(options.endTime ?? now),
      status: 'success',
    },
    vulnerabilities: uniqueIds(
      reports.flatMap((report) =>
        [...report.findings]
          .sort(compareFindings)
          .map((f) => ({ report, vuln: vulnerability(report, f, options) })),
      ),
    ),
  };
}

/** The report as pretty-printed JSON, ending with a newline. */
export function renderGitLab(reports: readonly ScanReport[], options: GitLabOptions = {}): string {
  return `${JSON.stringify(toGitLab(reports, options), null, 2)}\n`;
}

function vulnerability(
  report: ScanReport,
  f: Finding,
  options: GitLabOptions,
): GitLabVulnerability {
  const { image, inventory } = report.image;
  const id = displayId(f);
  const title = findingTitle(f);
  const details = cleanText(f.details ?? f.summary ?? '', { newlines: true }).trim();
  const source = idSource(f.advisoryId);

  const location: GitLabVulnerability['location'] = {
    dependency: { package: { name: plain(f.package.name) }, version: plain(f.installedVersion) },
    operating_system: plain(osLabel(inventory) ?? '') || 'Unknown',
    image: plain(imageLabel(image)) || 'unknown',
  };
  if (options.defaultBranchImage !== undefined && options.defaultBranchImage !== '') {
    location.default_branch_image = truncate(plain(options.defaultBranchImage), 255);
  }

  const vectors = f.cvss
    .filter(gitlabAcceptsVector)
    .slice(0, 10)
    .map((c) => ({ vendor: source.name, vector: c.vector }));

  const links: { url: string }[] = [];
  for (const url of f.references) {
    if (LINK.test(url) && !/\s/.test(url) && !links.some((l) => l.url === url)) links.push({ url });
  }

  const vuln: GitLabVulnerability = {
    id: uuidV5(findingKey(image, f)),
    name: truncate(plain(title ?? id), 255),
    description: truncate(markdownText(details !== '' ? details : (title ?? id)), 1_048_576),
    severity: SEVERITY[f.severity] ?? 'Unknown',
    solution: truncate(markdownText(solution(f)), 7000),
    location,
    identifiers: orderedIds(f).map(identifier),
    links,
  };
  if (vectors.length > 0) vuln.cvss_vectors = vectors;
  return vuln;
}

/**
 * Ids stay unique within a report: a finding whose identity repeats (two tags of one repository
 * in one report) gets an id that also depends on the image's manifest digest.
 */
function uniqueIds(
  items: { report: ScanReport; vuln: GitLabVulnerability }[],
): GitLabVulnerability[] {
  const taken = new Set<string>();
  return items.map(({ report, vuln }) => {
    let id = vuln.id;
    for (let n = 1; taken.has(id); n++) {
      id = uuidV5(`${vuln.id}\u0000${report.image.image.manifestDigest}\u0000${n}`);
    }
    taken.add(id);
    return id === vuln.id ? vuln : { ...vuln, id };
  });
}

function solution(f: Finding): string {
  if (f.fixedVersions.length > 0) {
    return `Upgrade ${plain(f.package.name)} to ${plain(f.fixedVersions.join(' or '))}`;
  }
  switch (f.fixState) {
    case 'wont_fix':
      return 'No solution: the distribution will not fix this vulnerability in this release.';
    case 'not_fixed':
      return 'No solution yet: no fixed version has been released.';
    default:
      return 'No solution provided';
  }
}

const LINK = /^(https?|ftp):\/\/.+/;

function identifier(id: string): GitLabIdentifier {
  const source = idSource(id);
  const value = plain(id);
  const out: GitLabIdentifier = { type: source.type, name: value, value };
  if (source.url !== undefined && LINK.test(source.url)) out.url = source.url;
  return out;
}

/** `yyyy-mm-ddThh:mm:ss` in UTC, the schema's format. */
function gitlabTime(date: Date): string {
  return date.toISOString().slice(0, 19);
}

/** A version 5 UUID of `name` in regscan's namespace (RFC 9562 §5.5). */
export function uuidV5(name: string): string {
  const namespace = Buffer.from(ID_NAMESPACE.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(namespace).update(name, 'utf8').digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function plain(text: string): string {
  return cleanText(text, { newlines: false }).trim();
}

function markdownText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * GitLab's schema takes CVSS v2 and v3.x vectors up to 128 characters; their grammar is checked by
 * the matcher's one CVSS parser.
 */
function gitlabAcceptsVector(cvss: Cvss): boolean {
  const major = cvssMajor(cvss);
  return (
    (major === 2 || major === 3) &&
    cvss.vector.length <= 128 &&
    parseCvss(cvss.type, cvss.vector) !== undefined
  );
}
