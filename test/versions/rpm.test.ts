import { describe, expect, it } from 'vitest';
import { rpmScheme, rpmvercmp } from '../../src/versions/rpm.js';
import { InvalidVersionError } from '../../src/versions/types.js';
import { vectors, versionAsserts } from '../support/versions.js';

interface CompareLine {
  a: string;
  b: string;
  cmp: -1 | 0 | 1;
  src: string;
}

const { compare, isValid, expectInvalid } = versionAsserts(rpmScheme, '1.0');

describe('rpm: rpm test vectors (rpmvercmp.at)', () => {
  const lines = vectors<CompareLine>('rpm.jsonl');

  it('has every line', () => {
    expect(lines).toHaveLength(91);
  });

  it.each(lines)('%s', (_name, { a, b, cmp }) => {
    expect(compare(a, b)).toBe(cmp);
    expect(compare(b, a)).toBe(-cmp || 0);
    expect(rpmvercmp(a, b)).toBe(cmp);
  });
});

describe('rpm: cross-checked with the real rpm', () => {
  it.each(vectors<CompareLine>('rpm-oracle.jsonl'))('%s', (_name, { a, b, cmp }) => {
    expect(compare(a, b)).toBe(cmp);
    expect(compare(b, a)).toBe(-cmp || 0);
  });

  it.each(vectors<CompareLine>('rpmvercmp-oracle.jsonl'))('%s', (_name, { a, b, cmp }) => {
    expect(rpmvercmp(a, b)).toBe(cmp);
    expect(rpmvercmp(b, a)).toBe(-cmp || 0);
  });
});

describe('rpm: edge cases', () => {
  // Every expectation here was checked with Lua `rpm.vercmp()` (rpm 4.18.0).
  const nines = '9'.repeat(400);
  it.each<[string, string, -1 | 0 | 1]>([
    // epoch first, missing = 0, numerically
    ['1:1.0', '2.0', 1],
    ['0:1.0', '1.0', 0],
    ['00:1.0-1', '1.0-1', 0],
    ['10:1', '9:2', 1],
    ['4294967296:1', '4294967295:1', 1],
    ['99999999999999999999999:1', '99999999999999999999998:2', 1],
    // a release only on one side: that side is greater (rpmverCmp)
    ['1.0', '1.0-1', -1],
    ['1.0', '1.0-~1', -1],
    ['1.0', '1.0-0', -1],
    ['1.0-1', '1.0-2', -1],
    ['1.0-1', '1.0-1~', 1],
    ['1.0-1.el9', '1.0-1.el9_1', -1],
    ['1.0-2.el9', '1.0-10.el9', -1],
    ['2.0', '1.0-99', 1],
    // numbers of any length
    ['1.18446744073709551616', '1.18446744073709551615', 1],
    ['1.99999999999999999999999', '1.100000000000000000000000', -1],
    [`1.${nines}`, `1.1${'0'.repeat(400)}`, -1],
    [`1.000${nines}`, `1.${nines}`, 0],
    ['1.01', '1.1', 0],
    ['1.001', '1.1', 0],
    ['1.0', '1.00', 0],
    // separators are all alike, and only separate
    ['1_0', '1.0', 0],
    ['1+0', '1.0', 0],
    ['1.0.', '1.0', 0],
    ['1.0', '1.0.0', -1],
    ['1.0a', '1.0.a', 0],
    // digits beat letters; letters by ASCII
    ['1.0', '1.a', 1],
    ['1.0a', '1.0', 1],
    ['1.0A', '1.0a', -1],
    ['a', 'b', -1],
    ['1.0aa', '1.0b', -1],
    // `~` before anything, `^` after the end but before anything else
    ['1.0~rc1', '1.0', -1],
    ['1.0~~', '1.0~', -1],
    ['1.0~rc1', '1.0~~', 1],
    ['1.0~', '1.0', -1],
    ['1.0^', '1.0', 1],
    ['1.0^', '1.0.0', -1],
    ['1.0^git1', '1.0.1', -1],
    ['1.0^git1', '1.0a', -1],
    ['1.0^git1', '1.0^', 1],
    ['1.0^~', '1.0^', -1],
    ['1.0~^', '1.0~', 1],
    ['1.0^^', '1.0^', 1],
    ['1.0_^', '1.0^', 0],
    ['1.0-1^', '1.0-1', 1],
  ])('%j vs %j → %i', (a, b, expected) => {
    expect(compare(a, b)).toBe(expected);
    expect(compare(b, a)).toBe(-expected || 0);
  });

  it.each([
    '',
    ':1.0',
    'a:1.0',
    '1a:1.0',
    '-1:1.0',
    '1:2:3',
    '1:',
    '1.0-',
    '-1',
    '1.0-1-2',
    ' 1.0',
    '1.0 ',
    '1 0',
    '1,0',
    '1.0/1',
    '1.0..1',
    '1.0-1..el9',
    '1é',
    '1.0\n',
    '1.0\0',
  ])('%j is invalid', (v) => {
    expectInvalid(v);
  });

  it.each([
    '0',
    '1.0',
    '1:1.0-1.el9',
    '0:1.0',
    '1.0^20200101git1',
    '1.0~rc1',
    '1.0-1%{dist}',
    '+a',
    '_',
    'fd431d51-4ae0493b',
    '2.35.2-42.el9_2.1',
  ])('%j is valid', (v) => {
    expect(isValid(v)).toBe(true);
    expect(compare(v, v)).toBe(0);
  });

  it('refuses what is not a string (JSON may hold anything)', () => {
    for (const v of [1, 1.2, null, undefined, {}, ['1.0']] as unknown as string[]) {
      expect(rpmScheme.isValid(v)).toBe(false);
      expect(() => rpmScheme.compare(v, '1')).toThrow(InvalidVersionError);
      expect(() => rpmScheme.compare('1', v)).toThrow(InvalidVersionError);
    }
  });

  it('never throws from isValid', () => {
    for (const v of ['\0', '\u{1F600}', ':', '-', '~', '1'.repeat(10000), '1:'.repeat(5000)]) {
      expect(typeof isValid(v)).toBe('boolean');
    }
  });
});

describe('rpm: an order', () => {
  const versions = [
    ...new Set(
      [
        ...vectors<CompareLine>('rpm.jsonl'),
        ...vectors<CompareLine>('rpm-oracle.jsonl').slice(0, 150),
      ].flatMap(([, l]) => [l.a, l.b]),
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
