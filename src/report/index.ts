/**
 * Scan reports: a scan's image inventories and findings written as a table for people, as
 * regscan's JSON, as CycloneDX 1.6 with vulnerabilities, as SPDX 2.3 (the SBOM only), as SARIF
 * 2.1.0, or as a GitLab container-scanning report.
 */
import type { Finding, SeverityLevel } from '../match/types.js';
import type { CycloneDXOptions } from '../sbom/cyclonedx.js';
import { toSPDX, type SPDXOptions } from '../sbom/spdx.js';
import { hasFix } from './common.js';
import { toCycloneDXVexString } from './cyclonedx-vex.js';
import { renderGitLab, type GitLabOptions } from './gitlab.js';
import { renderJson } from './json.js';
import { renderSarif, type SarifOptions } from './sarif.js';
import { renderTable } from './table.js';
import type { ReportFormat, ScanReport } from './types.js';

export { REPORT_FORMATS, type ReportFormat, type ScanReport } from './types.js';
export { renderTable, summaryLine, type TableOptions } from './table.js';
export { renderJson, toJsonReport, JSON_REPORT_SCHEMA_VERSION } from './json.js';
export type { JsonImageReport, JsonReport } from './json.js';
export { toCycloneDXVex, toCycloneDXVexString } from './cyclonedx-vex.js';
export { renderSarif, toSarif, SARIF_SCHEMA_URI, type SarifOptions } from './sarif.js';
export { renderGitLab, toGitLab, GITLAB_SCHEMA_VERSION } from './gitlab.js';
export type { GitLabOptions, GitLabReport, GitLabVulnerability } from './gitlab.js';
export { SEVERITY_LEVELS, countBySeverity, displayId, type SeverityCounts } from './common.js';

export interface ReportOptions extends CycloneDXOptions, SPDXOptions, SarifOptions, GitLabOptions {
  /** Table only: ANSI colours for severities. Off by default. */
  color?: boolean;
}

/** The report in `format`, ending with a newline. */
export function renderReport(
  format: ReportFormat,
  reports: readonly ScanReport[],
  options: ReportOptions = {},
): string {
  switch (format) {
    case 'table':
      return renderTable(reports, { color: options.color ?? false });
    case 'json':
      return renderJson(reports);
    case 'cyclonedx':
      return `${toCycloneDXVexString(reports, options)}\n`;
    case 'spdx-json':
      return `${JSON.stringify(
        toSPDX(
          reports.map((r) => r.image),
          options,
        ),
        null,
        2,
      )}\n`;
    case 'sarif':
      return renderSarif(reports, options);
    case 'gitlab':
      return renderGitLab(reports, options);
    default:
      throw new RangeError(`unknown report format: ${String(format)}`);
  }
}

export interface FindingFilter {
  /** Keep only findings of these severities (`--severity`); all when absent or empty. */
  severities?: readonly SeverityLevel[];
  /** Drop findings without a fixed version (`--ignore-unfixed`). */
  ignoreUnfixed?: boolean;
}

/** The findings the CLI's `--severity` and `--ignore-unfixed` keep, in their order. */
export function filterFindings(
  findings: readonly Finding[],
  filter: FindingFilter = {},
): Finding[] {
  const severities =
    filter.severities !== undefined && filter.severities.length > 0
      ? new Set(filter.severities)
      : undefined;
  return findings.filter(
    (f) =>
      (severities === undefined || severities.has(f.severity)) &&
      (filter.ignoreUnfixed !== true || hasFix(f)),
  );
}
