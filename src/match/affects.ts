import {
  normalizePackageName,
  type Advisory,
  type OsvAffected,
  type OsvEvent,
  type OsvRange,
} from '../advisories/osv.js';
import { schemeFor } from '../versions/index.js';
import { semverScheme } from '../versions/semver.js';
import type { VersionScheme } from '../versions/types.js';

/**
 * Whether an OSV advisory affects one package version: the `IsVulnerable` evaluation of the OSV
 * schema (https://ossf.github.io/osv-schema/#evaluation), exactly:
 *
 * - an `affected` entry applies when its `package.ecosystem` equals the package's ecosystem and its
 *   name equals the package's name as the ecosystem normalises names (PyPI per PEP 503);
 * - the version is affected when it is listed in the entry's `versions` (exact string equality,
 *   as the spec says) or falls in one of its ranges;
 * - a range is evaluated only when the version is before one of its `limit` events (an implicit
 *   `limit: "*"` when it has none); its other events are sorted by version and walked in order:
 *   `introduced` at or below the version sets "vulnerable", `fixed` at or below it clears it,
 *   `last_affected` strictly below it clears it. The range matches when "vulnerable" is set at
 *   the end.
 *
 * Version order: `SEMVER` ranges use Semantic Versioning whatever the ecosystem; `ECOSYSTEM` ranges
 * the ecosystem's scheme (`schemeFor`); `GIT` ranges name commits and take no part in package
 * matching (they are skipped silently: records that have them are expected to list versions too).
 * `introduced: "0"` sorts before every version and `limit` values containing `*` after every one.
 * Events that compare equal keep the order the advisory wrote them in (a stable sort), so
 * `introduced: X, fixed: X` is an empty range.
 *
 * Nothing is guessed: when an event version (or the package's own version) is not a valid version
 * of the range's scheme, or the ecosystem has no scheme, that range is skipped and a warning says
 * why; other ranges and the `versions` list still count. A withdrawn advisory never matches.
 *
 * Pure: no I/O. Advisory text is untrusted; warnings quote versions clipped and JSON-escaped.
 */

export interface PackageVersion {
  /** OSV ecosystem, release included as the advisory writes it (`Debian:12`, `npm`). */
  ecosystem: string;
  name: string;
  version: string;
}

/** One reason an `affected` entry matched: a range, or its `versions` list. */
export interface AffectMatch {
  /** Index of the entry in `advisory.affected`. */
  affectedIndex: number;
  affected: OsvAffected;
  /** The range that matched and its index in the entry's `ranges`; absent for a versions list. */
  range?: OsvRange;
  rangeIndex?: number;
  /** True when the version was found in the entry's `versions` list. */
  versionsListed?: boolean;
  /**
   * The range's `fixed` versions above the installed one, in the range's order (the first is the
   * nearest upgrade that leaves this range). Empty for a versions-list match.
   */
  fixed: string[];
  /** True when the range has a `fixed` event, whatever its position. */
  hasFixedEvent: boolean;
  /** True when the range has a `last_affected` or `limit` event. */
  hasUpperBound: boolean;
}

export interface AffectResult {
  /** The OSV answer: true when any entry's versions list or range matched. */
  affected: boolean;
  /** True when the advisory has an entry for this (ecosystem, name), matched or not. */
  listed: boolean;
  /** Every entry/range that matched (not only the first): for explanations and fixed versions. */
  matches: AffectMatch[];
  /** Fixed versions of the matching ranges, deduplicated, in ascending order where comparable. */
  fixedVersions: string[];
  /** Ranges skipped because they could not be evaluated without guessing. */
  warnings: string[];
}

/**
 * The OSV evaluation of one advisory against one package version: `true` when the advisory
 * affects it. The library's main check; `evaluate` gives the details.
 */
export function affects(advisory: Advisory, pkg: PackageVersion): boolean {
  return evaluate(advisory, pkg).affected;
}

/** The OSV evaluation with what matched, the fixed versions and the warnings. */
export function evaluate(advisory: Advisory, pkg: PackageVersion): AffectResult {
  const result: AffectResult = {
    affected: false,
    listed: false,
    matches: [],
    fixedVersions: [],
    warnings: [],
  };
  const entries = advisory.affected ?? [];
  const name = normalizePackageName(pkg.ecosystem, pkg.name);
  const warn = (message: string): void => {
    result.warnings.push(`${clip(advisory.id)}: ${message}`);
  };

  for (const [affectedIndex, affected] of entries.entries()) {
    const p = affected.package;
    if (!p || p.ecosystem !== pkg.ecosystem) continue;
    if (normalizePackageName(p.ecosystem, p.name) !== name) continue;
    result.listed = true;
    if (advisory.withdrawn !== undefined) continue;

    if (Array.isArray(affected.versions) && affected.versions.includes(pkg.version)) {
      result.matches.push({
        affectedIndex,
        affected,
        versionsListed: true,
        fixed: [],
        hasFixedEvent: false,
        hasUpperBound: false,
      });
    }
    for (const [rangeIndex, range] of (affected.ranges ?? []).entries()) {
      const where = `affected[${affectedIndex}].ranges[${rangeIndex}]`;
      const match = evaluateRange(range, pkg, (m) => warn(`${where}: ${m}`));
      if (match) result.matches.push({ affectedIndex, affected, range, rangeIndex, ...match });
    }
  }

  result.affected = result.matches.length > 0;
  result.fixedVersions = sortVersions(
    pkg.ecosystem,
    unique(result.matches.flatMap((m) => m.fixed)),
  );
  return result;
}

type RangeMatch = Pick<AffectMatch, 'fixed' | 'hasFixedEvent' | 'hasUpperBound'>;

/** The scheme a range's versions are ordered by, or why there is none. */
function schemeOfRange(range: OsvRange, ecosystem: string): VersionScheme | string | undefined {
  switch (range.type) {
    case 'SEMVER':
      return semverScheme;
    case 'ECOSYSTEM':
      return schemeFor(ecosystem) ?? `no version scheme for ecosystem ${quote(ecosystem)}`;
    case 'GIT':
      return undefined;
    default:
      return `unknown range type ${quote(String((range as { type: unknown }).type))}`;
  }
}

interface Event {
  kind: 'introduced' | 'fixed' | 'last_affected' | 'limit';
  version: string;
}

/** The single kind and version of an event, or undefined when it is not one well-formed event. */
function readEvent(event: OsvEvent): Event | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const keys = Object.keys(event);
  if (keys.length !== 1) return undefined;
  const kind = keys[0];
  if (kind !== 'introduced' && kind !== 'fixed' && kind !== 'last_affected' && kind !== 'limit') {
    return undefined;
  }
  const version = (event as Record<string, unknown>)[kind];
  return typeof version === 'string' ? { kind, version } : undefined;
}

const isZero = (e: Event): boolean => e.kind === 'introduced' && e.version === '0';
const isInfinity = (e: Event): boolean => e.kind === 'limit' && e.version.includes('*');

/**
 * One range per the spec's `IncludedInRanges` body (limits first, then the sorted walk), or
 * undefined when it does not match or cannot be evaluated (with a warning then).
 */
function evaluateRange(
  range: OsvRange,
  pkg: PackageVersion,
  warn: (message: string) => void,
): RangeMatch | undefined {
  const scheme = schemeOfRange(range, pkg.ecosystem);
  if (scheme === undefined) return undefined; // GIT: commits, not package versions
  if (typeof scheme === 'string') {
    warn(`${scheme}; range skipped`);
    return undefined;
  }
  if (!Array.isArray(range.events)) {
    warn('events is not a list; range skipped');
    return undefined;
  }
  const events: Event[] = [];
  for (const [i, raw] of range.events.entries()) {
    const event = readEvent(raw);
    if (!event) {
      warn(
        `events[${i}] is not exactly one of introduced/fixed/last_affected/limit; range skipped`,
      );
      return undefined;
    }
    if (!isZero(event) && !isInfinity(event) && !scheme.isValid(event.version)) {
      warn(
        `events[${i}] ${event.kind} ${quote(event.version)} is not a valid ${scheme.id} version; range skipped`,
      );
      return undefined;
    }
    events.push(event);
  }
  if (!scheme.isValid(pkg.version)) {
    warn(
      `installed version ${quote(pkg.version)} of ${quote(pkg.name)} is not a valid ${scheme.id} version; range skipped`,
    );
    return undefined;
  }

  const v = pkg.version;
  /** v compared to an event's version: -1, 0, 1. `0` is below everything, `*` above. */
  const cmp = (e: Event): -1 | 0 | 1 => {
    if (isZero(e)) return 1;
    if (isInfinity(e)) return -1;
    return scheme.compare(v, e.version);
  };

  // BeforeLimits: no limit events means an implicit "*".
  const limits = events.filter((e) => e.kind === 'limit');
  if (limits.length > 0 && !limits.some((e) => cmp(e) < 0)) return undefined;

  // The walk over the sorted events. Limits take no part in it: the pseudocode has no branch for
  // them, so where they sort does not matter.
  const walk = events.filter((e) => e.kind !== 'limit');
  const sorted = walk
    .map((event, index) => ({ event, index }))
    .sort((a, b) => compareEvents(scheme, a.event, b.event) || a.index - b.index)
    .map((x) => x.event);
  let vulnerable = false;
  for (const e of sorted) {
    if (e.kind === 'introduced' && cmp(e) >= 0) vulnerable = true;
    else if (e.kind === 'fixed' && cmp(e) >= 0) vulnerable = false;
    else if (e.kind === 'last_affected' && cmp(e) > 0) vulnerable = false;
  }
  if (!vulnerable) return undefined;

  return {
    fixed: sorted.filter((e) => e.kind === 'fixed' && cmp(e) < 0).map((e) => e.version),
    hasFixedEvent: events.some((e) => e.kind === 'fixed'),
    hasUpperBound: events.some((e) => e.kind === 'last_affected' || e.kind === 'limit'),
  };
}

/** Event order for the walk: by version, `introduced: "0"` first. */
function compareEvents(scheme: VersionScheme, a: Event, b: Event): number {
  const az = isZero(a);
  const bz = isZero(b);
  if (az || bz) return az === bz ? 0 : az ? -1 : 1;
  return scheme.compare(a.version, b.version);
}

/** Versions in ascending order by the ecosystem's scheme; as given when they cannot be ordered. */
function sortVersions(ecosystem: string, versions: string[]): string[] {
  if (versions.length < 2) return versions;
  const scheme = schemeFor(ecosystem);
  if (!scheme || !versions.every((v) => scheme.isValid(v))) return versions;
  return [...versions].sort((a, b) => scheme.compare(a, b));
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

function quote(text: string): string {
  return JSON.stringify(clip(text));
}
