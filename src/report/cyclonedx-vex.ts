/**
 * CycloneDX 1.6 vulnerability report: the image SBOM (src/sbom/cyclonedx.ts, unchanged in every
 * component and bom-ref) plus a `vulnerabilities` array, built with the CycloneDX library's models
 * and serialized by its normalizer like the SBOM.
 *
 * One vulnerability per finding (package × advisory), in report order, so that fix state and fixed
 * versions, which belong to one package, stay exact:
 *
 *   id           the CVE id when the advisory has one, else the advisory's id
 *   source       who published the advisory the match came from (Debian's tracker, GitHub, OSV…)
 *   references   every other id of the advisory (aliases, the advisory's own id) with its source
 *   ratings      one per CVSS vector (CVSSv2 / CVSSv3 / CVSSv31 / CVSSv4, score, vector, the
 *                score's qualitative severity), then regscan's severity with method `other`
 *   cwes         when the finding carries CWE ids
 *   description  the advisory's summary (its details go to `detail`)
 *   recommendation  `Upgrade <package> to <version>` when a fix exists
 *   advisories   the advisory's reference URLs
 *   affects      the package component's bom-ref, with the installed version `affected` and
 *                each fixed version `unaffected`
 *   bom-ref      `vulnerability:<advisory id>|<component bom-ref>`
 *   properties   regscan:advisory_id, regscan:fix_state, regscan:fixed_version (one per
 *                version), regscan:severity_source, regscan:match:ecosystem, regscan:match:via_source
 *
 * No `analysis`: a scanner reports what matched, it does not triage.
 */
import * as Enums from '@cyclonedx/cyclonedx-library/Enums';
import * as Models from '@cyclonedx/cyclonedx-library/Models';
import type { Package } from '../inventory/types.js';
import type { Cvss, Finding, SeverityLevel } from '../match/types.js';
import {
  buildCycloneDXBom,
  serializeCycloneDXBom,
  type CycloneDXDocument,
  type CycloneDXOptions,
} from '../sbom/cyclonedx.js';
import {
  cleanText,
  compareFindings,
  cvssMajor,
  cvssRating,
  displayId,
  findingCwes,
  idSource,
  orderedIds,
} from './common.js';
import type { ScanReport } from './types.js';

const { Vulnerability: V } = Models;
const Method = Enums.Vulnerability.RatingMethod;
const Severity = Enums.Vulnerability.Severity;

/** The vulnerability report as CycloneDX 1.6 JSON (two-space indent, no trailing newline). */
export function toCycloneDXVexString(
  reports: readonly ScanReport[],
  options: CycloneDXOptions = {},
): string {
  const { bom, packageComponents } = buildCycloneDXBom(
    reports.map((r) => r.image),
    options,
  );
  const taken = new Set<string>();
  reports.forEach((report, i) => {
    const components = packageComponents[i] ?? new Map<Package, Models.Component>();
    const lookup = componentLookup(components);
    for (const finding of [...report.findings].sort(compareFindings)) {
      const component = lookup(finding.package);
      if (component === undefined) {
        throw new RangeError(
          `CycloneDX report: finding ${finding.advisoryId} names package ` +
            `${finding.package.name}@${finding.package.version} (${finding.package.path}), ` +
            `which is not in the inventory of ${report.image.image.reference}`,
        );
      }
      // An explicit, stable bom-ref (the serializer would invent a random one).
      const base = `vulnerability:${finding.advisoryId}|${component.bomRef.value ?? ''}`;
      let bomRef = base;
      for (let n = 2; taken.has(bomRef); n++) bomRef = `${base}|${n}`;
      taken.add(bomRef);
      bom.vulnerabilities.add(vulnerability(finding, component, bomRef));
    }
  });
  return serializeCycloneDXBom(bom);
}

export function toCycloneDXVex(
  reports: readonly ScanReport[],
  options: CycloneDXOptions = {},
): CycloneDXDocument {
  return JSON.parse(toCycloneDXVexString(reports, options)) as CycloneDXDocument;
}

/** Finds a package's component: the same object, else an equal package (a copied inventory). */
function componentLookup(
  components: ReadonlyMap<Package, Models.Component>,
): (pkg: Package) => Models.Component | undefined {
  const key = (p: Package) =>
    [p.type, p.name, p.version, p.arch ?? '', p.path, p.layer].join('\u0000');
  const byKey = new Map<string, Models.Component>();
  for (const [pkg, component] of components) byKey.set(key(pkg), component);
  return (pkg) => components.get(pkg) ?? byKey.get(key(pkg));
}

function vulnerability(
  finding: Finding,
  component: Models.Component,
  bomRef: string,
): Models.Vulnerability.Vulnerability {
  const id = displayId(finding);
  const advisorySource = idSource(finding.advisoryId);
  const vuln = new V.Vulnerability({
    bomRef,
    id,
    source: new V.Source({
      name: advisorySource.name,
      ...(advisorySource.url !== undefined ? { url: advisorySource.url } : {}),
    }),
  });

  for (const other of orderedIds(finding)) {
    const source = idSource(other);
    if (other === id && source.name === advisorySource.name) continue;
    vuln.references.add(
      new V.Reference(
        other,
        new V.Source({
          name: source.name,
          ...(source.url !== undefined ? { url: source.url } : {}),
        }),
      ),
    );
  }

  for (const cvss of finding.cvss) {
    const rating = cvssRatingModel(cvss);
    if (rating !== undefined) vuln.ratings.add(rating);
  }
  vuln.ratings.add(
    new V.Rating({
      severity: SEVERITY[finding.severity],
      method: Method.Other,
      justification: `regscan severity, taken from: ${finding.severitySource}`,
    }),
  );

  for (const cwe of findingCwes(finding)) vuln.cwes.add(cwe);

  const summary = text(finding.summary);
  const details = text(finding.details);
  if (summary !== undefined) vuln.description = summary;
  else if (details !== undefined) vuln.description = details;
  if (summary !== undefined && details !== undefined && details !== summary) vuln.detail = details;
  if (finding.fixedVersions.length > 0) {
    vuln.recommendation = `Upgrade ${finding.package.name} to ${finding.fixedVersions.join(' or ')}`;
  }

  const seen = new Set<string>();
  for (const url of finding.references) {
    if (seen.has(url) || !/^https?:\/\//i.test(url)) continue;
    seen.add(url);
    vuln.advisories.add(new V.Advisory(url));
  }

  const published = date(finding.published);
  if (published !== undefined) vuln.published = published;
  const updated = date(finding.modified);
  if (updated !== undefined) vuln.updated = updated;

  const affect = new V.Affect(component.bomRef);
  affect.versions.add(
    new V.AffectedSingleVersion(finding.installedVersion, {
      status: Enums.Vulnerability.AffectStatus.Affected,
    }),
  );
  for (const fixed of finding.fixedVersions) {
    affect.versions.add(
      new V.AffectedSingleVersion(fixed, { status: Enums.Vulnerability.AffectStatus.Unaffected }),
    );
  }
  vuln.affects.add(affect);

  const property = (name: string, value: string) =>
    vuln.properties.add(new Models.Property(`regscan:${name}`, value));
  property('advisory_id', finding.advisoryId);
  property('fix_state', finding.fixState);
  for (const fixed of finding.fixedVersions) property('fixed_version', fixed);
  property('severity', finding.severity);
  property('severity_source', finding.severitySource);
  property('match:ecosystem', finding.explanation.ecosystem);
  property('match:via_source', String(finding.explanation.viaSource));
  return vuln;
}

const SEVERITY: Record<SeverityLevel | 'none', Enums.Vulnerability.Severity> = {
  critical: Severity.Critical,
  high: Severity.High,
  medium: Severity.Medium,
  low: Severity.Low,
  negligible: Severity.Info,
  unknown: Severity.Unknown,
  none: Severity.None,
};

function cvssRatingModel(cvss: Cvss): Models.Vulnerability.Rating | undefined {
  const major = cvssMajor(cvss);
  if (major === undefined) return undefined;
  const method =
    major === 2
      ? Method.CVSSv2
      : major === 4
        ? Method.CVSSv4
        : cvss.vector.startsWith('CVSS:3.0/')
          ? Method.CVSSv3
          : Method.CVSSv31;
  const scored = Number.isFinite(cvss.score) && cvss.score >= 0 && cvss.score <= 10;
  return new V.Rating({
    method,
    vector: cvss.vector,
    ...(scored ? { score: cvss.score, severity: SEVERITY[cvssRating(cvss.score, major)] } : {}),
  });
}

function text(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const cleaned = cleanText(value, { newlines: true }).trim();
  return cleaned === '' ? undefined : cleaned;
}

function date(value: string | undefined): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
