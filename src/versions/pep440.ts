import { compare as comparePublic, parse } from '@renovatebot/pep440';
import { InvalidVersionError, sign, type VersionScheme } from './types.js';

/**
 * Python package versions (PEP 440, as pypa/packaging's `Version`): epoch `N!`, release
 * `N(.N)*`, pre-release `aN`/`bN`/`rcN` (and their alternative spellings), `.postN`, `.devN`,
 * local `+label`; case-insensitive, an optional leading `v`, surrounding whitespace ignored.
 *
 * Parsing and the order of the public version come from @renovatebot/pep440. Two things are
 * ours, where that library departs from packaging:
 * - the local version (`+ubuntu1.2`) is compared here: packaging takes a segment as a number
 *   only when it is all digits, the library whenever JavaScript's `Number()` accepts it (so
 *   `1e5` or `0x1` would sort as numbers there);
 * - the library holds numbers as JavaScript numbers, so a version with a number above 2^53 - 1
 *   (in the public part) is rejected as invalid rather than compared wrongly.
 * Non-ASCII input is invalid (packaging accepts no non-ASCII character in a version either).
 */

interface Pep440 {
  /** The public version, as the library parses it. */
  readonly public: string;
  /** Local segments: numbers (all digits) and lower-cased strings; `undefined` if none. */
  readonly local: readonly (bigint | string)[] | undefined;
}

function parseVersion(version: string): Pep440 | undefined {
  const text = version.trim();
  if (!/^[\x21-\x7e]+$/.test(text)) return undefined; // non-ASCII, inner whitespace, empty
  const parsed = parse(text);
  if (!parsed) return undefined;
  const numbers = [
    parsed.epoch,
    ...parsed.release,
    parsed.pre?.[1],
    parsed.post?.[1],
    parsed.dev?.[1],
  ];
  if (numbers.some((n) => typeof n === 'number' && !Number.isSafeInteger(n))) return undefined;
  const plus = text.indexOf('+');
  if (plus < 0) return { public: text, local: undefined };
  const local = text
    .slice(plus + 1)
    .split(/[._-]/)
    .map((part) => (/^[0-9]+$/.test(part) ? BigInt(part) : part.toLowerCase()));
  return { public: text.slice(0, plus), local };
}

function parseValid(version: string): Pep440 {
  const parsed = parseVersion(version);
  if (!parsed) throw new InvalidVersionError('pep440', version);
  return parsed;
}

/** packaging's local order: strings before numbers, numbers by value, a prefix first. */
function compareLocal(
  a: readonly (bigint | string)[] | undefined,
  b: readonly (bigint | string)[] | undefined,
): number {
  if (a === undefined || b === undefined)
    return (a === undefined ? 0 : 1) - (b === undefined ? 0 : 1);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as bigint | string;
    const y = b[i] as bigint | string;
    if (x === y) continue;
    if (typeof x !== typeof y) return typeof x === 'string' ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

export const pep440Scheme: VersionScheme = {
  id: 'pep440',
  isValid: (version) => parseVersion(version) !== undefined,
  compare(a, b) {
    const x = parseValid(a);
    const y = parseValid(b);
    return sign(comparePublic(x.public, y.public) || compareLocal(x.local, y.local));
  },
};
