import { describe, expect, it } from 'vitest';
import { debScheme, dpkgCompareVersions } from '../../src/versions/deb.js';
import { InvalidVersionError } from '../../src/versions/types.js';
import { vectors, versionAsserts } from '../support/versions.js';

interface CompareLine {
  a: string;
  b: string;
  cmp?: -1 | 0 | 1;
  cmp_not?: -1 | 0 | 1;
  src: string;
}
interface ValidityLine {
  v: string;
  valid: boolean;
  src: string;
}

const { compare, isValid, expectInvalid } = versionAsserts(debScheme, '1.0');

function expectCompare(line: CompareLine, cmp: (a: string, b: string) => -1 | 0 | 1): void {
  const forward = cmp(line.a, line.b);
  const backward = cmp(line.b, line.a);
  if (line.cmp !== undefined) expect(forward).toBe(line.cmp);
  else expect(forward).not.toBe(line.cmp_not);
  // Antisymmetric: swapping the sides flips the sign.
  expect(backward).toBe(-forward || 0);
}

describe('deb: dpkg test vectors', () => {
  const lines = vectors<CompareLine>('dpkg.jsonl');

  it('has every line', () => {
    expect(lines).toHaveLength(54);
  });

  it.each(lines)('%s', (_name, line) => {
    if (isValid(line.a) && isValid(line.b)) {
      expectCompare(line, compare);
    } else {
      // dpkg's C tests compare versions dpkg only warns about (`a-0`): refused here, while the
      // raw dpkg order still agrees with the vector.
      expect(() => compare(line.a, line.b)).toThrow(InvalidVersionError);
      expectCompare(line, dpkgCompareVersions);
    }
  });

  it('refuses exactly the vectors dpkg would warn about', () => {
    const invalid = new Set(lines.flatMap(([, l]) => [l.a, l.b]).filter((v) => !isValid(v)));
    expect([...invalid].sort()).toEqual(['a-0', 'b-0']);
  });
});

describe('deb: dpkg validity vectors', () => {
  it.each(vectors<ValidityLine>('dpkg-validity.jsonl'))('%s', (_name, line) => {
    expect(isValid(line.v)).toBe(line.valid);
    if (!line.valid) expectInvalid(line.v);
  });
});

describe('deb: cross-checked with the real dpkg', () => {
  it.each(vectors<CompareLine>('dpkg-oracle.jsonl'))('%s', (_name, line) => {
    expectCompare(line, compare);
  });

  it.each(vectors<ValidityLine>('dpkg-oracle-validity.jsonl'))('%s', (_name, line) => {
    expect(isValid(line.v)).toBe(line.valid);
    if (!line.valid) expect(() => compare(line.v, '1')).toThrow(InvalidVersionError);
  });
});

describe('deb: edge cases', () => {
  // Every expectation here was checked with `dpkg --compare-versions` (dpkg 1.21.22).
  const nines = '9'.repeat(400);
  it.each<[string, string, -1 | 0 | 1]>([
    // numbers of any length, compared as numbers (no overflow, no float rounding)
    ['1.18446744073709551616', '1.18446744073709551615', 1],
    ['9007199254740993', '9007199254740992', 1],
    ['1.99999999999999999999999', '1.100000000000000000000000', -1],
    [`1.${nines}`, `1.1${'0'.repeat(400)}`, -1],
    [`1.${nines}-1`, `1.${nines}-1`, 0],
    [`1.000${nines}`, `1.${nines}`, 0],
    // normalisation: leading zeros, missing epoch, missing revision
    ['1.0', '1.0-0', 0],
    ['1.0-0', '1.0-00', 0],
    ['0:1.0', '1.0', 0],
    ['00:1.0-0', '1.0', 0],
    ['1.01', '1.1', 0],
    ['1.0', '1.00', 0],
    ['1.0', '1.0.0', -1],
    ['1.0', '1.0.', -1],
    // `~` sorts before everything, the end included
    ['1.0~', '1.0', -1],
    ['1.0~~', '1.0~', -1],
    ['1.0~~a', '1.0~~', 1],
    ['1.0~rc1', '1.0', -1],
    ['1.0~rc1', '1.0~~', 1],
    ['1.0~rc1-1', '1.0-0', -1],
    ['1.0-1~', '1.0-1', -1],
    ['1.0-0~', '1.0', -1],
    ['1~', '0.9', 1],
    // letters before non-letters, case by ASCII, end before letters
    ['1.0a', '1.0+', -1],
    ['1.0Z', '1.0a', -1],
    ['1.0', '1.0a', -1],
    ['1.0+', '1.0.', -1],
    ['1:1.0:', '1:1.0.', 1],
    ['1.0+b1', '1.0', 1],
    ['1.0a', '1.0.1', -1],
    // epochs first
    ['1:0', '9999', 1],
    ['2147483647:1', '2147483646:9', 1],
    ['+1:2', '1:2', 0],
    ['-0:2', '2', 0],
    [' 1.0 ', '1.0', 0],
    // the revision is after the last hyphen; upstream may hold hyphens and colons
    ['1.0-1-2', '1.0-2', 1],
    ['1-2-3', '1.2-3', -1],
    ['1:2:3-4', '1:2:3-4', 0],
    ['1:2:3', '1:2.3', 1],
  ])('%j vs %j → %i', (a, b, expected) => {
    expect(compare(a, b)).toBe(expected);
    expect(compare(b, a)).toBe(-expected || 0);
    expect(isValid(a) && isValid(b)).toBe(true);
  });

  it.each([
    '',
    ' ',
    '\t',
    '1 0',
    '1.0 -1',
    ':1.0',
    '1:',
    'a:1',
    '1a:1',
    '+:1',
    '-1:1',
    '0x1:1',
    '2147483648:1',
    '99999999999999999999:1',
    '1.0-',
    '-1',
    '-',
    '1:-1',
    'foo',
    'a1',
    '~1',
    '1:a',
    '1_0',
    '1.0@1',
    '1é',
    '1.0\n',
    '1.0-a:b',
    '1:1.0-1:2',
    '1.0-1_2',
    '1.0-1-',
  ])('%j is invalid', (v) => {
    expectInvalid(v);
  });

  it.each(['0', '1', '1.0', '1:1.0-1', '1.0-1-2', '1:2:3', '1.0+dfsg-1~bpo12+1', '\n1:1', '01:1'])(
    '%j is valid',
    (v) => {
      expect(isValid(v)).toBe(true);
      expect(compare(v, v)).toBe(0);
    },
  );

  it('refuses what is not a string (JSON may hold anything)', () => {
    for (const v of [1, 1.2, null, undefined, {}, ['1.0']] as unknown as string[]) {
      expect(debScheme.isValid(v)).toBe(false);
      expect(() => debScheme.compare(v, '1')).toThrow(InvalidVersionError);
      expect(() => debScheme.compare('1', v)).toThrow(InvalidVersionError);
    }
  });

  it('never throws from isValid', () => {
    for (const v of ['\0', '\u{1F600}', ':', '::', '--', 'x'.repeat(10000), '1'.repeat(10000)]) {
      expect(typeof isValid(v)).toBe('boolean');
    }
  });

  it('says why a version is invalid', () => {
    expect(() => compare('1.0-', '1')).toThrow(/revision number is empty/);
    expect(() => compare('1', 'foo')).toThrow(/does not start with digit/);
    expect(() => compare('2147483648:1', '1')).toThrow(/epoch in version is too big/);
  });
});

describe('deb: an order', () => {
  const versions = [
    ...new Set(
      [
        ...vectors<CompareLine>('dpkg.jsonl'),
        ...vectors<CompareLine>('dpkg-oracle.jsonl').slice(0, 150),
      ]
        .flatMap(([, l]) => [l.a, l.b])
        .filter((v) => isValid(v)),
    ),
  ];

  it('is reflexive, antisymmetric and transitive over the vectors’ versions', () => {
    const sorted = [...versions].sort(compare);
    const broken: string[] = [];
    for (let i = 0; i < sorted.length; i++) {
      const x = sorted[i]!;
      if (compare(x, x) !== 0) broken.push(`${x} != itself`);
      for (let j = i + 1; j < sorted.length; j++) {
        const y = sorted[j]!;
        const c = compare(x, y);
        // After a sort, a later version never sorts before an earlier one.
        if (c > 0) broken.push(`${x} > ${y} after sorting`);
        if (compare(y, x) !== (-c || 0)) broken.push(`${x} vs ${y} not antisymmetric`);
      }
    }
    expect(versions.length).toBeGreaterThan(300);
    expect(broken).toEqual([]);
  });
});
