import { InvalidVersionError, sign, type VersionScheme } from './types.js';

/**
 * Go module versions, as golang.org/x/mod/semver parses and orders them: `vMAJOR.MINOR.PATCH`,
 * an optional `-prerelease` and `+build`; the shorthands `vMAJOR` and `vMAJOR.MINOR` (no
 * prerelease or build allowed then) stand for `.0` parts. Numbers have no leading zeros; numeric
 * prerelease identifiers neither. Build metadata, `+incompatible` included, is ignored in order.
 * Pseudo-versions (`v0.0.0-20210101000000-abcdef123456`) are ordinary prereleases and sort so.
 *
 * The `v` is optional here: OSV's Go ecosystem writes versions without it (`1.2.3`, and `0` for
 * "introduced at the start"), module data (go.sum, build info) with it. `1.2.3` and `v1.2.3` are
 * the same version. Apart from that one optional `v`, what x/mod/semver rejects is invalid, and
 * an invalid version is never ordered (x/mod's `Compare` sorts invalid versions first; we throw).
 */

interface GoVersion {
  readonly major: string;
  readonly minor: string;
  readonly patch: string;
  /** Dot-separated identifiers; empty for a release. */
  readonly prerelease: readonly string[];
}

const NUMBER = '0|[1-9][0-9]*';
const IDENT = '[0-9A-Za-z-]+';
const PRE_IDENT = `(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)`;
const GO_VERSION = new RegExp(
  `^v?(${NUMBER})` +
    `(?:` +
    `\\.(${NUMBER})\\.(${NUMBER})(?:-(${PRE_IDENT}(?:\\.${PRE_IDENT})*))?(?:\\+${IDENT}(?:\\.${IDENT})*)?` +
    `|\\.(${NUMBER})` +
    `)?$`,
);

function parse(version: string): GoVersion | undefined {
  const m = GO_VERSION.exec(version);
  if (!m) return undefined;
  const [, major, minor, patch, prerelease, shortMinor] = m;
  return {
    major: major as string,
    minor: minor ?? shortMinor ?? '0',
    patch: patch ?? '0',
    prerelease: prerelease === undefined ? [] : prerelease.split('.'),
  };
}

function parseValid(version: string): GoVersion {
  const parsed = parse(version);
  if (!parsed) throw new InvalidVersionError('go', version);
  return parsed;
}

const isNumeric = (s: string): boolean => /^[0-9]+$/.test(s);

/** Compares decimal strings without leading zeros, of any length. */
function compareNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

function comparePrerelease(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return b.length - a.length; // a release sorts last
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x === y) continue;
    const xn = isNumeric(x);
    const yn = isNumeric(y);
    if (xn !== yn) return xn ? -1 : 1; // numeric identifiers sort below alphanumeric ones
    if (xn) return compareNumbers(x, y);
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

export const goScheme: VersionScheme = {
  id: 'go',
  isValid: (version) => parse(version) !== undefined,
  compare(a, b) {
    const x = parseValid(a);
    const y = parseValid(b);
    return sign(
      compareNumbers(x.major, y.major) ||
        compareNumbers(x.minor, y.minor) ||
        compareNumbers(x.patch, y.patch) ||
        comparePrerelease(x.prerelease, y.prerelease),
    );
  },
};

/** The canonical `vMAJOR.MINOR.PATCH[-prerelease]` form (as x/mod's `Canonical`), or `undefined`. */
export function goCanonical(version: string): string | undefined {
  const v = parse(version);
  if (!v) return undefined;
  const pre = v.prerelease.length > 0 ? `-${v.prerelease.join('.')}` : '';
  return `v${v.major}.${v.minor}.${v.patch}${pre}`;
}
