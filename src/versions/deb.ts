import { InvalidVersionError, sign, type VersionScheme, memoize } from './types.js';

/**
 * Debian versions, ordered as dpkg orders them (deb-version(7); dpkg's `lib/dpkg/version.c` and
 * `lib/dpkg/parsehelp.c`): `[epoch:]upstream[-revision]`.
 *
 * Validity is exactly dpkg's `parseversion()` returning neither an error nor a warning, which is
 * what `dpkg --validate-version` accepts:
 * - blanks (space, tab) around the version are ignored; any inside it make it invalid;
 * - the epoch is what comes before the first colon, read the way C's `strtol` reads it (leading
 *   white space and one sign allowed: `+1:2` is epoch 1, `-0:2` epoch 0), a whole number from 0 to
 *   2147483647 that must end exactly at the colon, with something after the colon;
 * - the revision is what follows the last hyphen and must not be empty when a hyphen is there;
 * - the upstream version must not be empty, must start with a digit and holds only letters,
 *   digits and `. + ~ - :`; the revision only letters, digits and `. + ~`.
 *
 * Ordering: epochs numerically, then upstream, then revision, each compared by dpkg's
 * `verrevcmp`: alternating non-digit and digit runs; non-digit runs character by character with
 * `~` before everything (even the end of the string), then the end and digits, then letters (by
 * ASCII), then every other character (by ASCII); digit runs numerically at any length. A missing
 * revision is the empty string, which compares equal to `0`.
 */
export const debScheme: VersionScheme = {
  id: 'deb',
  isValid(version: string): boolean {
    const parsed = parseDebVersion(version);
    return !('error' in parsed) && parsed.warning === undefined;
  },
  compare(a: string, b: string): -1 | 0 | 1 {
    return compareParsed(parseOrThrow(a), parseOrThrow(b));
  },
};

interface DebVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

const INT_MAX = 2147483647;

function isBlank(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

function isDigitCode(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAlphaCode(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** White space as C's `isspace` in the C locale: what `strtol` skips before a number. */
const STRTOL_EPOCH = /^[ \t\n\v\f\r]*([+-]?)([0-9]*)/;
const UPSTREAM_CHARS = /^[0-9A-Za-z.+~:-]*$/;
const REVISION_CHARS = /^[0-9A-Za-z.+~]*$/;

/**
 * dpkg's `parseversion()`: the version, or why it is not one. dpkg tells errors (it refuses the
 * version) from warnings (it complains but goes on with the parsed version); both make a version
 * invalid here.
 */
type Parsed = { version: DebVersion; warning?: string } | { error: string };

function parseDebVersion(input: string): Parsed {
  // Data from JSON may not hold a string where the types say so.
  if (typeof input !== 'string') return { error: 'not a string' };
  let start = 0;
  let end = input.length;
  while (start < end && isBlank(input[start])) start++;
  while (end > start && isBlank(input[end - 1])) end--;
  if (start === end) return { error: 'version string is empty' };
  const s = input.slice(start, end);
  for (const c of s) if (isBlank(c)) return { error: 'version string has embedded spaces' };

  let epoch = 0;
  let rest = s;
  const colon = s.indexOf(':');
  if (colon >= 0) {
    const m = STRTOL_EPOCH.exec(s.slice(0, colon));
    const signChar = m?.[1] ?? '';
    const digits = m?.[2] ?? '';
    if (digits === '') return { error: 'epoch in version is empty' };
    if ((m?.[0].length ?? 0) !== colon) return { error: 'epoch in version is not number' };
    const significant = digits.replace(/^0+/, '');
    if (signChar === '-' && significant !== '') return { error: 'epoch in version is negative' };
    if (significant.length > 10 || Number(significant) > INT_MAX) {
      return { error: 'epoch in version is too big' };
    }
    rest = s.slice(colon + 1);
    if (rest === '') return { error: 'nothing after colon in version number' };
    epoch = significant === '' ? 0 : Number(significant);
  }

  let upstream = rest;
  let revision = '';
  const hyphen = rest.lastIndexOf('-');
  if (hyphen >= 0) {
    upstream = rest.slice(0, hyphen);
    revision = rest.slice(hyphen + 1);
    if (revision === '') return { error: 'revision number is empty' };
  }
  if (upstream === '') return { error: 'version number is empty' };
  const version = { epoch, upstream, revision };
  if (!isDigitCode(upstream.charCodeAt(0))) {
    return { version, warning: 'version number does not start with digit' };
  }
  if (!UPSTREAM_CHARS.test(upstream)) {
    return { version, warning: 'invalid character in version number' };
  }
  if (!REVISION_CHARS.test(revision)) {
    return { version, warning: 'invalid character in revision number' };
  }
  return { version };
}

const parseOrThrow = memoize(function parseOrThrow(input: string): DebVersion {
  const parsed = parseDebVersion(input);
  if ('error' in parsed) throw new InvalidVersionError('deb', input, parsed.error);
  if (parsed.warning !== undefined) throw new InvalidVersionError('deb', input, parsed.warning);
  return parsed.version;
});

/**
 * What `dpkg --compare-versions` answers: like `debScheme.compare`, but a version dpkg only warns
 * about (`a-0`: not starting with a digit; `1.0_1`: a character outside the allowed set) is still
 * ordered, as dpkg orders it (for ASCII text: dpkg weighs the bytes of other characters as
 * signed C chars, which this does not copy). Only for checking this module against dpkg's own test data and
 * binary; matching must use `debScheme.compare`, which refuses such versions.
 */
export function dpkgCompareVersions(a: string, b: string): -1 | 0 | 1 {
  const x = parseDebVersion(a);
  const y = parseDebVersion(b);
  if ('error' in x) throw new InvalidVersionError('deb', a, x.error);
  if ('error' in y) throw new InvalidVersionError('deb', b, y.error);
  return compareParsed(x.version, y.version);
}

function compareParsed(a: DebVersion, b: DebVersion): -1 | 0 | 1 {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  return sign(verrevcmp(a.upstream, b.upstream)) || sign(verrevcmp(a.revision, b.revision));
}

/**
 * Weight of one character of a non-digit run; `NaN` (past the end of the string) and digits weigh
 * 0, so the end of a run sorts after `~` and before everything else.
 */
function order(c: number): number {
  if (Number.isNaN(c) || isDigitCode(c)) return 0;
  if (isAlphaCode(c)) return c;
  if (c === 0x7e /* ~ */) return -1;
  return c + 256;
}

/** dpkg's comparison of one upstream version or revision against another: negative, 0, positive. */
function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // Non-digit run: character by character (stops where both are at a digit or the end).
    while (
      (i < a.length && !isDigitCode(a.charCodeAt(i))) ||
      (j < b.length && !isDigitCode(b.charCodeAt(j)))
    ) {
      const ac = order(a.charCodeAt(i));
      const bc = order(b.charCodeAt(j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    // Digit run: numerically, however long (leading zeros dropped, then longer is larger, then
    // the first differing digit decides).
    while (a.charCodeAt(i) === 0x30) i++;
    while (b.charCodeAt(j) === 0x30) j++;
    const aStart = i;
    const bStart = j;
    while (isDigitCode(a.charCodeAt(i))) i++;
    while (isDigitCode(b.charCodeAt(j))) j++;
    const aLen = i - aStart;
    const bLen = j - bStart;
    if (aLen !== bLen) return aLen - bLen;
    for (let k = 0; k < aLen; k++) {
      const d = a.charCodeAt(aStart + k) - b.charCodeAt(bStart + k);
      if (d !== 0) return d;
    }
  }
  return 0;
}
