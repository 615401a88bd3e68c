/**
 * Helpers shared by the report writers: severity order and counts, the id a finding is shown
 * by, where an advisory id is documented, the CVSS score that stands for a finding, and the
 * clean-up of untrusted text (advisory text, package and image names).
 */
import type { ImageMetadata, Inventory } from '../inventory/types.js';
export { sortKeys } from '../sbom/stable-json.js';
import { formatPlatform } from '../image/resolve.js';
import type { Cvss, Finding, SeverityLevel } from '../match/types.js';

/** Every severity, most severe first: the order of summaries and sorting. */
export const SEVERITY_LEVELS: readonly SeverityLevel[] = [
  'critical',
  'high',
  'medium',
  'low',
  'negligible',
  'unknown',
];

export function severityRank(level: SeverityLevel): number {
  const i = SEVERITY_LEVELS.indexOf(level);
  return i < 0 ? SEVERITY_LEVELS.length : i;
}

export type SeverityCounts = Record<SeverityLevel, number>;

export function countBySeverity(findings: readonly Finding[]): SeverityCounts {
  const counts = Object.fromEntries(SEVERITY_LEVELS.map((l) => [l, 0])) as SeverityCounts;
  for (const f of findings) counts[f.severity] = (counts[f.severity] ?? 0) + 1;
  return counts;
}

const CVE_ID = /^CVE-\d{4}-\d{4,}$/i;

/** The id a person knows a finding by: its CVE id when it has one, else the advisory's own id. */
export function displayId(finding: Finding): string {
  return finding.identifiers.find((id) => CVE_ID.test(id)) ?? finding.advisoryId;
}

/** The finding's ids, shown one first, each once. */
export function orderedIds(finding: Finding): string[] {
  const first = displayId(finding);
  const out = [first];
  for (const id of [finding.advisoryId, ...finding.identifiers]) {
    if (id !== '' && !out.includes(id)) out.push(id);
  }
  return out;
}

export interface IdSource {
  /** Short lower-case kind of id (`cve`, `ghsa`, `debian`, ...), GitLab's identifier type. */
  type: string;
  /** Who publishes ids of this kind. */
  name: string;
  /** The id's page, when its publisher has one per id. */
  url?: string;
}

/**
 * Where an advisory id is published, from its prefix. Unknown prefixes are OSV records and
 * point at osv.dev, which serves every id it imported.
 */
export function idSource(id: string): IdSource {
  const e = encodeURIComponent(id);
  const rest = (prefix: string) => encodeURIComponent(id.slice(prefix.length));
  const upper = id.toUpperCase();
  if (CVE_ID.test(id)) {
    return { type: 'cve', name: 'NVD', url: `https://nvd.nist.gov/vuln/detail/${upper}` };
  }
  if (upper.startsWith('GHSA-')) {
    return {
      type: 'ghsa',
      name: 'GitHub Advisory Database',
      url: `https://github.com/advisories/${e}`,
    };
  }
  if (upper.startsWith('DEBIAN-')) {
    return {
      type: 'debian',
      name: 'Debian Security Tracker',
      url: `https://security-tracker.debian.org/tracker/${rest('DEBIAN-')}`,
    };
  }
  if (/^(DSA|DLA)-/.test(upper)) {
    return {
      type: upper.slice(0, 3).toLowerCase(),
      name: 'Debian Security Tracker',
      url: `https://security-tracker.debian.org/tracker/${e}`,
    };
  }
  if (upper.startsWith('ALPINE-') && CVE_ID.test(id.slice('ALPINE-'.length))) {
    return {
      type: 'alpine',
      name: 'Alpine Security Tracker',
      url: `https://security.alpinelinux.org/vuln/${rest('ALPINE-')}`,
    };
  }
  if (upper.startsWith('USN-')) {
    return {
      type: 'usn',
      name: 'Ubuntu Security Notices',
      url: `https://ubuntu.com/security/notices/${e}`,
    };
  }
  if (upper.startsWith('GO-')) {
    return { type: 'go', name: 'Go Vulnerability Database', url: `https://pkg.go.dev/vuln/${e}` };
  }
  if (upper.startsWith('RUSTSEC-')) {
    return { type: 'rustsec', name: 'RustSec', url: `https://rustsec.org/advisories/${e}.html` };
  }
  if (/^(RHSA|RHBA|RHEA)-/.test(upper)) {
    return { type: 'rhsa', name: 'Red Hat', url: `https://access.redhat.com/errata/${e}` };
  }
  const prefix = /^([A-Za-z][A-Za-z0-9]*)-/.exec(id)?.[1]?.toLowerCase() ?? 'osv';
  return { type: prefix, name: 'OSV', url: `https://osv.dev/vulnerability/${e}` };
}

/** `CVSS_V2` → 2, `CVSS_V3` → 3 (3.0 and 3.1 alike), `CVSS_V4` → 4; else from the vector. */
export function cvssMajor(cvss: Cvss): 2 | 3 | 4 | undefined {
  const type = cvss.type.toUpperCase().replace(/[^A-Z0-9]/g, '');
  if (type === 'CVSSV2') return 2;
  if (type.startsWith('CVSSV3')) return 3;
  if (type.startsWith('CVSSV4')) return 4;
  if (/^CVSS:3\.[01]\//.test(cvss.vector)) return 3;
  if (/^CVSS:4\.0\//.test(cvss.vector)) return 4;
  if (/^\(?AV:[LAN]\/AC:[HML]\/Au:/.test(cvss.vector)) return 2;
  return undefined;
}

/** The CVSS entry that stands for a finding: v3, else v4, else v2 (the highest score of a kind). */
export function primaryCvss(finding: Finding): Cvss | undefined {
  for (const major of [3, 4, 2] as const) {
    const ofKind = finding.cvss.filter((c) => cvssMajor(c) === major && Number.isFinite(c.score));
    if (ofKind.length > 0) return ofKind.reduce((a, b) => (b.score > a.score ? b : a));
  }
  return undefined;
}

/** The qualitative rating of a CVSS score (FIRST's tables; v2 has no critical and no none). */
export function cvssRating(score: number, major: 2 | 3 | 4): SeverityLevel | 'none' {
  if (major === 2) return score >= 7 ? 'high' : score >= 4 ? 'medium' : 'low';
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  if (score > 0) return 'low';
  return 'none';
}

/** True when a fixed version exists (what `--ignore-unfixed` keeps). */
export function hasFix(finding: Finding): boolean {
  return finding.fixState === 'fixed' || finding.fixedVersions.length > 0;
}

/** The fix in words: the fixed versions, or the fix state. */
export function fixLabel(finding: Finding): string {
  if (finding.fixedVersions.length > 0) return finding.fixedVersions.join(', ');
  switch (finding.fixState) {
    case 'not_fixed':
      return 'not fixed';
    case 'wont_fix':
      return "won't fix";
    case 'fixed':
      return 'fixed';
    default:
      return 'unknown';
  }
}

/** A one-line title: the summary, else the first line of the details. */
export function findingTitle(finding: Finding): string | undefined {
  const summary = cleanText(finding.summary ?? '', { newlines: false }).trim();
  if (summary !== '') return summary;
  const firstLine = cleanText(finding.details ?? '', { newlines: true })
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '');
  return firstLine;
}

// C0 and C1 controls, DEL; bidirectional embeddings, overrides and isolates (which reorder what
// a terminal or browser shows); line and paragraph separators.
const CONTROL =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const LINE_BREAKS = /\r\n|\r|\n/g;

/**
 * Untrusted text without control characters. Tabs become spaces; line breaks are kept as `\n`
 * when `newlines`, else become spaces.
 */
export function cleanText(text: string, { newlines }: { newlines: boolean }): string {
  const unified = text.replace(LINE_BREAKS, '\n').replace(/\t/g, ' ').replace(CONTROL, '');
  return newlines ? unified : unified.replace(/\n/g, ' ');
}

/** Text truncated to `max` characters (code points), an ellipsis marking the cut. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** `name:tag`, or `name@digest` without a tag. */
export function imageLabel(image: ImageMetadata): string {
  return image.tag ? `${image.name}:${image.tag}` : `${image.name}@${image.manifestDigest}`;
}

/** `debian 12`, `alpine 3.20.3`; undefined without a distro. */
export function osLabel(inventory: Inventory): string | undefined {
  const d = inventory.distro;
  if (d === undefined) return undefined;
  return d.versionId ? `${d.id} ${d.versionId}` : d.id;
}

/**
 * CWE ids of a finding, as numbers. Finding has no CWE field yet: this reads `cwes` when the
 * matcher adds one (`CWE-79` strings or numbers), and any `CWE-` id among the identifiers.
 */
export function findingCwes(finding: Finding): number[] {
  const raw = (finding as { cwes?: unknown }).cwes;
  const candidates: unknown[] = [
    ...(Array.isArray(raw) ? (raw as unknown[]) : []),
    ...finding.identifiers,
  ];
  const out: number[] = [];
  for (const c of candidates) {
    const n =
      typeof c === 'number' ? c : typeof c === 'string' ? Number(/^CWE-(\d+)$/i.exec(c)?.[1]) : NaN;
    if (Number.isSafeInteger(n) && n > 0 && !out.includes(n)) out.push(n);
  }
  return out;
}

/** Findings in report order: package, then most severe first, then id. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    compare(a.package.name, b.package.name) ||
    compare(a.package.version, b.package.version) ||
    compare(a.package.path, b.package.path) ||
    compare(a.package.layer, b.package.layer) ||
    severityRank(a.severity) - severityRank(b.severity) ||
    compare(displayId(a), displayId(b)) ||
    compare(a.advisoryId, b.advisoryId)
  );
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * What identifies a finding across scans of the same repository and platform: where the package
 * is recorded, the package and the advisory (not the version, which a fix changes). Report ids
 * (GitLab's UUID, SARIF fingerprints) are derived from it.
 */
export function findingKey(image: Pick<ImageMetadata, 'name' | 'platform'>, f: Finding): string {
  return [
    image.name,
    formatPlatform(image.platform),
    f.package.path,
    f.package.type,
    f.package.name,
    f.advisoryId,
  ].join('\u0000');
}
