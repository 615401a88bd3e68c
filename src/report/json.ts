/**
 * regscan's own JSON report, stable: object keys sorted, findings in report order, so that two
 * scans of the same image with the same advisories give the same bytes.
 *
 *   { schemaVersion: 1,
 *     images: [{ image: ImageMetadata, distro?, packageCount, summary: { total, critical, … },
 *                findings: Finding[] }] }
 */
import type { Distro, ImageMetadata } from '../inventory/types.js';
import type { Finding, SeverityLevel } from '../match/types.js';
import { compareFindings, countBySeverity, sortKeys } from './common.js';
import type { ScanReport } from './types.js';

export const JSON_REPORT_SCHEMA_VERSION = 1;

export interface JsonImageReport {
  image: ImageMetadata;
  distro?: Distro;
  packageCount: number;
  summary: { total: number } & Record<SeverityLevel, number>;
  findings: Finding[];
}

export interface JsonReport {
  schemaVersion: typeof JSON_REPORT_SCHEMA_VERSION;
  images: JsonImageReport[];
}

export function toJsonReport(reports: readonly ScanReport[]): JsonReport {
  return {
    schemaVersion: JSON_REPORT_SCHEMA_VERSION,
    images: reports.map(({ image, findings }) => ({
      image: image.image,
      ...(image.inventory.distro !== undefined ? { distro: image.inventory.distro } : {}),
      packageCount: image.inventory.packages.length,
      summary: { total: findings.length, ...countBySeverity(findings) },
      findings: [...findings].sort(compareFindings),
    })),
  };
}

/** The report as pretty-printed JSON (keys sorted below the top level), ending with a newline. */
export function renderJson(reports: readonly ScanReport[]): string {
  const report = toJsonReport(reports);
  // schemaVersion first, then everything else with sorted keys.
  const ordered = { schemaVersion: report.schemaVersion, images: sortKeys(report.images) };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}
