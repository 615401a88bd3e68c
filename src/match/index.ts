/**
 * Matching: inventory × advisories → findings, each saying which range matched and the fixed
 * versions. The OSV evaluation itself is `affects` / `evaluate`.
 */
export {
  affects,
  evaluate,
  type AffectMatch,
  type AffectResult,
  type PackageVersion,
} from './affects.js';
export {
  distroEcosystems,
  isUbuntuLts,
  type DistroEcosystems,
  type DistroMapping,
} from './distro.js';
export {
  LANGUAGE_ECOSYSTEMS,
  identifiersOf,
  matchInventory,
  type MatchOptions,
  type MatchResult,
} from './match.js';
export {
  cvssLevel,
  maxLevel,
  parseCvss,
  severityFor,
  severityRank,
  type SeverityOptions,
  type SeverityResult,
} from './severity.js';
export type * from './types.js';
