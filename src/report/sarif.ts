/**
 * SARIF 2.1.0 (the OASIS standard GitHub code scanning reads): one run of the tool `regscan`,
 * one rule per advisory, one result per finding.
 *
 * - Rules: id = the advisory id (unique, stable), name = the id a person knows it by (CVE when
 *   there is one), shortDescription = that id and the advisory's title, fullDescription = its
 *   description, helpUri = the advisory's page; properties `security-severity` (the CVSS base
 *   score as a string, `9.8`, which GitHub turns into its severity; from regscan's level when no
 *   CVSS is known) and `tags` (`security`, `vulnerability`, the level).
 * - Results: level by severity (critical, high → error; medium → warning; low, negligible,
 *   unknown → note); the message names package, installed and fixed versions, and the image; the
 *   physical location is the package database the package is recorded in (path inside the image,
 *   relative URI); a logical location names the image (`name@digest`); partialFingerprints hold
 *   a hash of image repository, platform, database path, package and advisory, so that alerts
 *   follow a finding across scans.
 *
 * Texts are plain text only (no `markdown` properties): advisory text is untrusted and never
 * offered to a renderer as markup. Control characters are removed, and `{`/`}` in result
 * messages are doubled as SARIF §3.11.5 requires of literal braces.
 */
import { createHash } from 'node:crypto';
import type { Log, ReportingDescriptor, Result, Run } from 'sarif';
import type { Finding, SeverityLevel } from '../match/types.js';
import {
  cleanText,
  compareFindings,
  displayId,
  findingTitle,
  idSource,
  imageLabel,
  primaryCvss,
  severityRank,
  truncate,
  findingKey,
} from './common.js';
import { platformString } from '../sbom/cyclonedx.js';
import type { ScanReport } from './types.js';

export const SARIF_SCHEMA_URI =
  'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

export interface SarifOptions {
  /** regscan's version, for tool.driver.version. */
  toolVersion?: string;
}

const LEVEL: Record<SeverityLevel, Result.level> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  negligible: 'note',
  unknown: 'note',
};

/** security-severity when no CVSS score is known: a score inside the level's CVSS band. */
const LEVEL_SCORE: Partial<Record<SeverityLevel, string>> = {
  critical: '9.0',
  high: '7.0',
  medium: '5.0',
  low: '2.0',
};

export function toSarif(reports: readonly ScanReport[], options: SarifOptions = {}): Log {
  const rules: ReportingDescriptor[] = [];
  const ruleIndex = new Map<string, number>();
  const ruleFindings = new Map<string, Finding[]>();
  const results: Result[] = [];

  // Rules in order of first appearance over images and findings in report order.
  const ordered = reports.map((r) => ({
    report: r,
    findings: [...r.findings].sort(compareFindings),
  }));
  for (const { findings } of ordered) {
    for (const f of findings) {
      const list = ruleFindings.get(f.advisoryId);
      if (list === undefined) ruleFindings.set(f.advisoryId, [f]);
      else list.push(f);
    }
  }
  for (const [advisoryId, findings] of ruleFindings) {
    ruleIndex.set(advisoryId, rules.length);
    rules.push(rule(findings));
  }
  for (const { report, findings } of ordered) {
    for (const f of findings) results.push(result(report, f, ruleIndex.get(f.advisoryId) ?? 0));
  }

  const run: Run = {
    tool: {
      driver: {
        name: 'regscan',
        version: options.toolVersion ?? 'unknown',
        rules,
      },
    },
    results,
    columnKind: 'unicodeCodePoints',
    properties: {
      images: reports.map(({ image: { image } }) => ({
        reference: clean(image.reference),
        name: clean(image.name),
        ...(image.tag !== undefined ? { tag: clean(image.tag) } : {}),
        digest: image.manifestDigest,
        platform: platformString(image.platform),
      })),
    },
  };
  return { $schema: SARIF_SCHEMA_URI, version: '2.1.0', runs: [run] };
}

/** The log as pretty-printed JSON, ending with a newline. */
export function renderSarif(reports: readonly ScanReport[], options: SarifOptions = {}): string {
  return `${JSON.stringify(toSarif(reports, options), null, 2)}\n`;
}

/** One advisory's rule; its findings may differ in severity (per package), the worst counts. */
function rule(findings: Finding[]): ReportingDescriptor {
  const first = findings[0] as Finding;
  const worst = findings.reduce((a, b) =>
    severityRank(b.severity) < severityRank(a.severity) ? b : a,
  );
  const id = displayId(first);
  const title = findingTitle(first);
  const description = cleanText(first.details ?? first.summary ?? '', { newlines: true }).trim();
  const helpUri = advisoryUri(first);
  const scores = findings
    .map((f) => primaryCvss(f)?.score)
    .filter((s): s is number => s !== undefined && s >= 0 && s <= 10);
  const securitySeverity =
    scores.length > 0 ? Math.max(...scores).toFixed(1) : LEVEL_SCORE[worst.severity];

  const descriptor: ReportingDescriptor = {
    id: first.advisoryId,
    name: clean(id),
    shortDescription: { text: clean(title ? truncate(`${id}: ${title}`, 1024) : id) },
    fullDescription: { text: description !== '' ? description : clean(title ?? id) },
    defaultConfiguration: { level: LEVEL[worst.severity] },
    help: {
      text: [
        clean(title ?? id),
        clean(`Advisory: ${first.advisoryId}`) +
          (otherIds(first) !== '' ? ` (${otherIds(first)})` : ''),
        ...(helpUri !== undefined ? [`More: ${helpUri}`] : []),
      ].join('\n'),
    },
    properties: {
      ...(securitySeverity !== undefined ? { 'security-severity': securitySeverity } : {}),
      tags: ['security', 'vulnerability', worst.severity],
      precision: 'very-high',
    },
  };
  if (helpUri !== undefined) descriptor.helpUri = helpUri;
  return descriptor;
}

function result(report: ScanReport, f: Finding, index: number): Result {
  const { image } = report.image;
  const fix =
    f.fixedVersions.length > 0
      ? `Fixed in ${f.fixedVersions.join(', ')}.`
      : f.fixState === 'wont_fix'
        ? "No fix will be provided (won't fix)."
        : f.fixState === 'not_fixed'
          ? 'No fix is available yet.'
          : 'No fixed version is known.';
  const text =
    `Package ${f.package.name} ${f.installedVersion} in ${imageLabel(image)} is affected by ` +
    `${displayId(f)} (${f.severity}). ${fix}`;
  const fingerprint = createHash('sha256').update(findingKey(image, f)).digest('hex');
  return {
    ruleId: f.advisoryId,
    ruleIndex: index,
    level: LEVEL[f.severity],
    kind: 'fail',
    message: { text: braces(clean(text)) },
    locations: [
      {
        physicalLocation: { artifactLocation: { uri: pathUri(f.package.path) } },
        logicalLocations: [
          {
            name: clean(imageLabel(image)),
            fullyQualifiedName: clean(`${image.name}@${image.manifestDigest}`),
            kind: 'module',
          },
        ],
      },
    ],
    partialFingerprints: { 'regscanFinding/v1': fingerprint },
    properties: {
      packageName: f.package.name,
      packageType: f.package.type,
      purl: f.package.purl,
      installedVersion: f.installedVersion,
      fixedVersions: [...f.fixedVersions],
      fixState: f.fixState,
      severity: f.severity,
      image: clean(`${image.name}@${image.manifestDigest}`),
      platform: platformString(image.platform),
      layer: f.package.layer,
    },
  };
}

function otherIds(f: Finding): string {
  return clean(f.identifiers.filter((i) => i !== f.advisoryId).join(', '));
}

function advisoryUri(f: Finding): string | undefined {
  const own = idSource(f.advisoryId).url;
  if (own !== undefined) return own;
  return f.references.find((u) => /^https?:\/\//i.test(u));
}

/** A path inside the image as a relative URI reference: each segment percent-encoded. */
function pathUri(path: string): string {
  return path.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/');
}

function clean(text: string): string {
  return cleanText(text, { newlines: false });
}

function braces(text: string): string {
  return text.replace(/[{}]/g, (c) => c + c);
}
