import type { OsvRange, OsvSeverity } from '../advisories/osv.js';
import type { Package } from '../inventory/types.js';

export type SeverityLevel = 'critical' | 'high' | 'medium' | 'low' | 'negligible' | 'unknown';

/** Where a finding's severity came from, in order of precedence. */
export type SeveritySource = 'distro' | 'cvss' | 'database' | 'none';

export interface Cvss {
  /** `CVSS_V2`, `CVSS_V3`, `CVSS_V4`. */
  type: string;
  vector: string;
  /** Base score computed from the vector. */
  score: number;
}

/** Whether a fix exists: `fixed` with versions, or the source's word that none will come. */
export type FixState = 'fixed' | 'not_fixed' | 'wont_fix' | 'unknown';

/** Why a package matched an advisory: enough to show a person and to re-check by hand. */
export interface MatchExplanation {
  advisoryId: string;
  /** OSV ecosystem searched (`Debian:12`, `npm`). */
  ecosystem: string;
  /** The package name looked up in the advisory store. */
  searchedName: string;
  /** True when the name searched was the source package (Debian/Ubuntu source, apk origin, source rpm). */
  viaSource: boolean;
  /** The version compared (the source version when matched via source). */
  searchedVersion: string;
  /** The range that matched, as the advisory wrote it, or the explicit versions list. */
  range?: OsvRange;
  versionsListed?: boolean;
}

export interface Finding {
  package: Package;
  advisoryId: string;
  /** Advisory id plus aliases (CVE ids first). */
  identifiers: string[];
  summary?: string;
  details?: string;
  severity: SeverityLevel;
  severitySource: SeveritySource;
  cvss: Cvss[];
  /** Raw severity entries of the advisory/affected record (kept for reports). */
  rawSeverity?: OsvSeverity[];
  installedVersion: string;
  fixedVersions: string[];
  fixState: FixState;
  references: string[];
  published?: string;
  modified: string;
  explanation: MatchExplanation;
}
