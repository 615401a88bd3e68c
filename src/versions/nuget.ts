import { InvalidVersionError, sign, type VersionScheme } from './types.js';

/**
 * NuGet package versions (NuGet.Versioning's `NuGetVersion`, written from NuGet's documented
 * rules): `Major[.Minor[.Patch[.Revision]]][-label(.label)*][+metadata]`, SemVer 2.0 extended to
 * a fourth, "revision" part.
 * - Missing parts are 0 and leading zeros do not count: `1.0` = `1.0.0` = `1.0.0.0` = `1.00`.
 *   Each part is an Int32 (at most 2147483647), as in NuGet.
 * - A version with release labels sorts below the same version without; labels compare one by
 *   one, case-insensitively: a numeric label (all digits, fitting an Int32) below an alphanumeric
 *   one, numeric labels by value, alphanumeric ones by character (`alpha10` < `alpha2`), a shorter
 *   list first when one is a prefix of the other. Labels are `[0-9A-Za-z-]+`; a numeric label
 *   has no leading zero (SemVer 2.0).
 * - Build metadata (`+...`) is validated and ignored in the order.
 * No leading `v`, no surrounding whitespace.
 */

interface NuGetVersion {
  /** Major, minor, patch, revision. */
  readonly parts: readonly [number, number, number, number];
  /** Release labels, upper-cased for the case-insensitive order; empty for a release. */
  readonly labels: readonly string[];
}

const INT32_MAX = 2147483647;
const NUGET_VERSION =
  /^([0-9]+(?:\.[0-9]+){0,3})(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/** An all-digit label NuGet compares as a number: one that parses as an Int32. */
function asInt32(label: string): number | undefined {
  if (!/^[0-9]+$/.test(label)) return undefined;
  const value = Number(label);
  return value <= INT32_MAX ? value : undefined;
}

function parse(version: string): NuGetVersion | undefined {
  const m = NUGET_VERSION.exec(version);
  if (!m) return undefined;
  const numbers = (m[1] as string).split('.').map(Number);
  if (numbers.some((n) => n > INT32_MAX)) return undefined;
  const labels = m[2] === undefined ? [] : m[2].split('.');
  if (labels.some((l) => l.length > 1 && l.startsWith('0') && /^[0-9]+$/.test(l))) return undefined;
  const [major = 0, minor = 0, patch = 0, revision = 0] = numbers;
  return { parts: [major, minor, patch, revision], labels: labels.map((l) => l.toUpperCase()) };
}

function parseValid(version: string): NuGetVersion {
  const parsed = parse(version);
  if (!parsed) throw new InvalidVersionError('nuget', version);
  return parsed;
}

function compareLabels(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return b.length - a.length; // a release sorts last
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x === y) continue;
    const xn = asInt32(x);
    const yn = asInt32(y);
    if (xn !== undefined && yn !== undefined) return xn - yn;
    if (xn !== undefined || yn !== undefined) return xn !== undefined ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

export const nugetScheme: VersionScheme = {
  id: 'nuget',
  isValid: (version) => parse(version) !== undefined,
  compare(a, b) {
    const x = parseValid(a);
    const y = parseValid(b);
    for (let i = 0; i < 4; i++) {
      const d = (x.parts[i] as number) - (y.parts[i] as number);
      if (d !== 0) return sign(d);
    }
    return sign(compareLabels(x.labels, y.labels));
  },
};
