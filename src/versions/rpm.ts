import { InvalidVersionError, type VersionScheme, memoize } from './types.js';

/**
 * RPM versions, `[epoch:]version[-release]`, ordered as rpm's `rpmverCmp` (what `rpm.vercmp()`
 * and rpm's own EVR comparisons use):
 * - epochs numerically, a missing epoch being 0 (`0:1.0` equals `1.0`);
 * - then versions with `rpmvercmp`;
 * - then releases with `rpmvercmp` when both sides have one; when only one side has a release,
 *   that side is the greater (`1.0` < `1.0-1`). This is an order, unlike rpm's dependency range
 *   matching (`rpmdsCompare`), where `= 1.0` is satisfied by every release of 1.0.
 *
 * `rpmvercmp` splits a string into runs of digits and runs of ASCII letters; every other character
 * only separates runs, except `~` (sorts before anything, even the end of the string) and `^`
 * (sorts after the end of the string but before any further run). Digit runs compare numerically
 * at any length, letter runs as ASCII text, and a digit run beats a letter run. When one string
 * runs out with everything so far equal, the longer one is greater.
 *
 * rpm itself orders any string. Valid here is what rpmbuild lets a package carry: the epoch, if
 * any, a run of decimal digits before the only colon; the version and the release (after the last
 * hyphen) each non-empty, of ASCII letters, digits and `. _ + % { } ~ ^`, with no `..`.
 */
export const rpmScheme: VersionScheme = {
  id: 'rpm',
  isValid(version: string): boolean {
    return typeof parseRpmVersion(version) !== 'string';
  },
  compare(a: string, b: string): -1 | 0 | 1 {
    const x = parseOrThrow(a);
    const y = parseOrThrow(b);
    const byEpoch = compareNumbers(x.epoch, y.epoch);
    if (byEpoch !== 0) return byEpoch;
    const byVersion = rpmvercmp(x.version, y.version);
    if (byVersion !== 0) return byVersion;
    if (x.release === undefined || y.release === undefined) {
      if (x.release === y.release) return 0;
      return x.release === undefined ? -1 : 1;
    }
    return rpmvercmp(x.release, y.release);
  },
};

interface RpmVersion {
  /** Decimal digits; `0` when the version has none. */
  epoch: string;
  version: string;
  release: string | undefined;
}

const EPOCH = /^[0-9]+$/;
const VERSION_RELEASE = /^[0-9A-Za-z._+%{}~^]+$/;

function checkPart(part: string, what: string): string | undefined {
  if (part === '') return `${what} is empty`;
  if (!VERSION_RELEASE.test(part)) return `${what} has a character rpm does not allow`;
  if (part.includes('..')) return `${what} contains ".."`;
  return undefined;
}

/** The parsed version, or the reason it is not valid. */
function parseRpmVersion(s: string): RpmVersion | string {
  // Data from JSON may not hold a string where the types say so.
  if (typeof s !== 'string') return 'not a string';
  if (s === '') return 'empty';
  let epoch = '0';
  let rest = s;
  const colon = s.indexOf(':');
  if (colon >= 0) {
    epoch = s.slice(0, colon);
    if (!EPOCH.test(epoch)) return 'the epoch is not a number';
    rest = s.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  const version = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const release = hyphen >= 0 ? rest.slice(hyphen + 1) : undefined;
  const problem =
    checkPart(version, 'the version') ??
    (release === undefined ? undefined : checkPart(release, 'the release'));
  if (problem !== undefined) return problem;
  return { epoch, version, release };
}

const parseOrThrow = memoize(function parseOrThrow(version: string): RpmVersion {
  const parsed = parseRpmVersion(version);
  if (typeof parsed === 'string') throw new InvalidVersionError('rpm', version, parsed);
  return parsed;
});

/** Numeric order of two digit strings of any length. */
function compareNumbers(a: string, b: string): -1 | 0 | 1 {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function isLetter(c: string | undefined): boolean {
  return c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

/** A character that only separates runs (the end of the string is not one). */
function isSeparator(c: string | undefined): boolean {
  return c !== undefined && !isDigit(c) && !isLetter(c) && c !== '~' && c !== '^';
}

/** rpm's comparison of two version (or release) strings. */
export function rpmvercmp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (isSeparator(a[i])) i++;
    while (isSeparator(b[j])) j++;
    const ca = a[i];
    const cb = b[j];

    // `~` sorts before anything, the end of the string included.
    if (ca === '~' || cb === '~') {
      if (ca !== '~') return 1;
      if (cb !== '~') return -1;
      i++;
      j++;
      continue;
    }
    // `^` sorts after the end of the string and before anything else.
    if (ca === '^' || cb === '^') {
      if (ca === undefined) return -1;
      if (cb === undefined) return 1;
      if (ca !== '^') return 1;
      if (cb !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (ca === undefined || cb === undefined) break;

    // One run of the kind `a` has here, and as much of that kind as `b` has here.
    const numeric = isDigit(ca);
    const same = numeric ? isDigit : isLetter;
    const aStart = i;
    const bStart = j;
    while (same(a[i])) i++;
    while (same(b[j])) j++;
    // A digit run beats a letter run.
    if (j === bStart) return numeric ? 1 : -1;
    const x = a.slice(aStart, i);
    const y = b.slice(bStart, j);
    const r = numeric ? compareNumbers(x, y) : x < y ? -1 : x > y ? 1 : 0;
    if (r !== 0) return r;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}
