import { describe, expect, it } from 'vitest';
import { apkScheme, apkToolsCompare } from '../../src/versions/apk.js';
import { InvalidVersionError } from '../../src/versions/types.js';
import { vectors, versionAsserts } from '../support/versions.js';

interface CompareLine {
  a: string;
  b: string;
  cmp: -1 | 0 | 1;
  src: string;
}
interface ValidityLine {
  v: string;
  valid: boolean;
  src: string;
}
interface FuzzyLine {
  a: string;
  op: '~' | '<~' | '>~';
  b: string;
  expect: boolean;
  src: string;
}

const { compare, isValid, expectInvalid } = versionAsserts(apkScheme, '1.0');

describe('apk: apk-tools test vectors', () => {
  const lines = vectors<CompareLine>('apk.jsonl');

  it('has every line', () => {
    expect(lines).toHaveLength(738);
  });

  it.each(lines)('%s', (_name, { a, b, cmp }) => {
    if (isValid(a) && isValid(b)) {
      expect(compare(a, b)).toBe(cmp);
      expect(compare(b, a)).toBe(-cmp || 0);
    } else {
      // apk-tools orders an invalid version up to its first bad token; regscan refuses it, but
      // the same tokenizer in apk-tools' raw mode must still agree with the vector.
      expect(() => compare(a, b)).toThrow(InvalidVersionError);
      expect(apkToolsCompare(a, b)).toBe(cmp);
      expect(apkToolsCompare(b, a)).toBe(-cmp || 0);
    }
  });

  it('refuses exactly the vectors apk-tools itself calls invalid', () => {
    const invalid = new Set(lines.flatMap(([, l]) => [l.a, l.b]).filter((v) => !isValid(v)));
    expect([...invalid].sort()).toEqual(['1.0bc', '23_foo']);
  });
});

describe('apk: apk-tools validity vectors', () => {
  it.each(vectors<ValidityLine>('apk-validity.jsonl'))('%s', (_name, line) => {
    expect(isValid(line.v)).toBe(line.valid);
    if (!line.valid) expectInvalid(line.v);
  });
});

/**
 * apk's fuzzy operators (`~`: "starts with", `<~`, `>~`) are dependency matching, not plain
 * ordering, and no advisory uses them; only the raw apk-tools comparison implements them. What
 * these lines do say about plain ordering is checked too: fuzzy matching differs from the plain
 * comparison only by calling `a` equal to `b` when `b` runs out first with all tokens equal, so a
 * fuzzy "less" or "greater" is also the plain answer (a fuzzy "equal" says nothing about it).
 */
describe('apk: apk-tools fuzzy operator vectors', () => {
  it.each(vectors<FuzzyLine>('apk-fuzzy-ops.jsonl'))('%s', (_name, { a, op, b, expect: want }) => {
    const fuzzy = apkToolsCompare(a, b, true);
    const matches = op === '~' ? fuzzy === 0 : op === '<~' ? fuzzy <= 0 : fuzzy >= 0;
    expect(matches).toBe(want);
    if (isValid(a) && isValid(b)) {
      if (fuzzy !== 0) expect(compare(a, b)).toBe(fuzzy);
    } else {
      // `3.6.9_post1`: `post` is no apk suffix.
      expect(() => compare(a, b)).toThrow(InvalidVersionError);
    }
  });
});

describe('apk: edge cases', () => {
  /** Each version sorts strictly after the one before it. */
  const ascending = [
    '0.9',
    '1',
    '1-r0',
    '1-r1',
    '1.0_alpha',
    '1.0_alpha0',
    '1.0_alpha1',
    '1.0_alpha1_p1',
    '1.0_alpha2',
    '1.0_beta',
    '1.0_pre',
    '1.0_rc1',
    '1.0_rc1-r1',
    '1.0',
    '1.0-r0',
    '1.0-r1',
    '1.0-r9',
    '1.0-r10',
    '1.0~0123',
    '1.0~abc-r0',
    '1.0~abc-r1',
    '1.0~abd',
    '1.0_cvs',
    '1.0_svn',
    '1.0_git',
    '1.0_git20240101',
    '1.0_hg',
    '1.0_p',
    '1.0_p1',
    '1.0_p1-r1',
    '1.0_p2',
    '1.0_p10',
    '1.0a_rc1',
    '1.0a',
    '1.0a_p1',
    '1.0b',
    '1.0z',
    '1.0.0',
    '1.0.1',
    // a dotted number with a leading zero compares as text: `0` < `00` < `001` < `01` < `010` < `1`
    '1.00',
    '1.000',
    '1.001',
    '1.01',
    '1.010',
    '1.1',
    '1.2',
    '1.9',
    '1.10',
    '1.18446744073709551615',
    '1.18446744073709551616',
    '1.99999999999999999999999',
    '1.100000000000000000000000',
    '2',
    '10',
    // past 64 bits apk-tools' counters wrap (it would call this 0); regscan keeps counting
    '18446744073709551616',
    `1${'0'.repeat(400)}`,
  ];

  it.each(ascending.slice(1).map((v, i) => [ascending[i]!, v]))('%j < %j', (a, b) => {
    expect(compare(a, b)).toBe(-1);
    expect(compare(b, a)).toBe(1);
  });

  it('orders the whole ladder consistently', () => {
    const shuffled = [...ascending].reverse();
    expect(shuffled.sort(compare)).toEqual(ascending);
    for (const v of ascending) expect(compare(v, v)).toBe(0);
  });

  it.each<[string, string]>([
    // the initial number, suffix and release numbers ignore leading zeros; dotted ones do not
    ['01', '1'],
    ['001.2', '1.2'],
    ['1.0_p01', '1.0_p1'],
    ['1.0_rc007', '1.0_rc7'],
    ['1.0-r01', '1.0-r1'],
    ['1.0-r0', '1.0-r00'],
    ['18446744073709551616', '018446744073709551616'],
  ])('%j = %j', (a, b) => {
    expect(compare(a, b)).toBe(0);
    expect(compare(b, a)).toBe(0);
  });

  it.each([
    '',
    ' 1.0',
    '1.0 ',
    'v1.0',
    '.1',
    '1.',
    '1..0',
    '1.0.',
    '1.0A',
    '1.0ab',
    '1.0a1',
    '1.0a.1',
    '1a_p1a',
    '1.0_',
    '1.0_P1',
    '1.0_foo',
    '1.0_alpha_',
    '1.0_pre-1',
    '1.0-1',
    '1.0-r',
    '1.0-R1',
    '1.0-r1.1',
    '1.0-r1-r2',
    '1.0-r1_p1',
    '1.0-r1~abc',
    '1.0-r1a',
    '1.0~',
    '1.0~ABC',
    '1.0~xyz',
    '1.0~ab~cd',
    '1.0~ab_p1',
    '1.0~ab.1',
    '1,0',
    '1.0\n',
    '1.0\0',
    '１.0',
  ])('%j is invalid', (v) => {
    expectInvalid(v);
  });

  it.each([
    '0',
    '1a',
    '1.0a_rc1',
    '1_p',
    '1.0_p1_pre2',
    '1.0~0123abcdef-r5',
    '1.0_git20240101_p2~deadbeef-r3',
    '20240101',
  ])('%j is valid', (v) => {
    expect(isValid(v)).toBe(true);
  });

  it('says where a version stops being valid', () => {
    expect(() => compare('1.0_foo1', '1')).toThrow(/cannot go on at "_foo1"/);
    expect(() => compare('1', 'v1')).toThrow(/does not start with a number/);
    expect(() => compare('', '1')).toThrow(/empty/);
  });

  it('refuses what is not a string (JSON may hold anything)', () => {
    for (const v of [1, 1.2, null, undefined, {}, ['1.0']] as unknown as string[]) {
      expect(apkScheme.isValid(v)).toBe(false);
      expect(() => apkScheme.compare(v, '1')).toThrow(InvalidVersionError);
      expect(() => apkScheme.compare('1', v)).toThrow(InvalidVersionError);
    }
  });

  it('never throws from isValid', () => {
    for (const v of ['\0', '\u{1F600}', '_', '-', '~', '1'.repeat(10000), '1.'.repeat(5000)]) {
      expect(typeof isValid(v)).toBe('boolean');
    }
  });
});
