import { valid } from '@renovatebot/ruby-semver';
import { InvalidVersionError, sign, type VersionScheme } from './types.js';

/**
 * RubyGems versions, as `Gem::Version`: digits and ASCII letters separated by dots, `-` standing
 * for `.pre.`; a version with any letter is a prerelease. Segments are runs of digits (numbers)
 * or of letters (strings); a string sorts below a number, so `1.0.a` < `1.0`; trailing zeros of
 * the release part and of the prerelease part do not count (`1.0` = `1`, `1.a.0` = `1.a`). As in
 * RubyGems, surrounding whitespace is ignored and the empty string is version `0`.
 *
 * Validity is @renovatebot/ruby-semver's port of `Gem::Version.correct?` (plus: ASCII only, as
 * Ruby's pattern is). The order is ours, to RubyGems' rules: that library compares strings with
 * `localeCompare` (case-insensitive, so `1.B` > `1.a` there but `1.B` < `1.a` in RubyGems, which
 * compares bytes) and numbers as JavaScript numbers (inexact above 2^53); here strings compare
 * by code unit and numbers as BigInt.
 */

type Segment = bigint | string;

function parseVersion(version: string): Segment[] | undefined {
  // `valid('')` is null, but `Gem::Version.correct?('')` is true (and the version is 0)
  if (!/^\p{ASCII}*$/u.test(version) || (version !== '' && valid(version) === null)) {
    return undefined;
  }
  const text = version.trim() === '' ? '0' : version.trim().replaceAll('-', '.pre.');
  const segments = (text.match(/[0-9]+|[a-z]+/gi) ?? []).map((s) =>
    /^[0-9]/.test(s) ? BigInt(s) : s,
  );
  // canonical segments: the numeric part and the rest, each without trailing zeros
  let firstString = segments.findIndex((s) => typeof s === 'string');
  if (firstString < 0) firstString = segments.length;
  return [
    ...dropTrailingZeros(segments.slice(0, firstString)),
    ...dropTrailingZeros(segments.slice(firstString)),
  ];
}

function dropTrailingZeros(segments: Segment[]): Segment[] {
  let end = segments.length;
  while (end > 0 && segments[end - 1] === 0n) end--;
  return segments.slice(0, end);
}

function parseValid(version: string): Segment[] {
  const parsed = parseVersion(version);
  if (!parsed) throw new InvalidVersionError('rubygems', version);
  return parsed;
}

function compareSegments(a: readonly Segment[], b: readonly Segment[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0n;
    const y = b[i] ?? 0n;
    if (x === y) continue;
    if (typeof x !== typeof y) return typeof x === 'string' ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

export const rubygemsScheme: VersionScheme = {
  id: 'rubygems',
  isValid: (version) => parseVersion(version) !== undefined,
  compare: (a, b) => sign(compareSegments(parseValid(a), parseValid(b))),
};
