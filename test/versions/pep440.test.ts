import { describe, expect, it } from 'vitest';
import { pep440Scheme } from '../../src/versions/pep440.js';
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
  normalized?: string;
  src: string;
}
/** A package's versions in ascending order; the versions of one group are equal. */
interface SortedLine {
  package: string;
  sorted: string[][];
  src: string;
}

const { isValid, expectInvalid, expectOrder, expectSorted } = versionAsserts(pep440Scheme, '1.0');

describe('pep440: pypa/packaging comparison vectors', () => {
  const lines = vectors<CompareLine>('pypi.jsonl');

  it('has every line', () => {
    expect(lines).toHaveLength(4380);
  });

  it.each(lines)('%s', (_name, line) => {
    expectOrder(line.a, line.b, line.cmp);
  });
});

describe('pep440: pypa/packaging validity vectors', () => {
  it.each(vectors<ValidityLine>('pypi-validity.jsonl'))('%s', (_name, line) => {
    expect(isValid(line.v)).toBe(line.valid);
    if (!line.valid) expectInvalid(line.v);
    if (line.normalized !== undefined) expectOrder(line.v, line.normalized, 0);
  });
});

describe('pep440: versions of the PyPI OSV records, ordered by packaging', () => {
  it.each(vectors<SortedLine>('pypi-osv-sorted.jsonl'))('%s', (_name, line) => {
    expectSorted(line.sorted);
  });

  it.each(vectors<ValidityLine>('pypi-osv-invalid.jsonl'))('%s', (_name, line) => {
    expectInvalid(line.v);
  });
});

describe('pep440: random versions answered by packaging', () => {
  it.each(vectors<CompareLine>('pypi-oracle.jsonl'))('%s', (_name, line) => {
    expectOrder(line.a, line.b, line.cmp);
  });

  it.each(vectors<ValidityLine>('pypi-oracle-validity.jsonl'))('%s', (_name, line) => {
    expectInvalid(line.v);
  });
});

describe('pep440: hand cases', () => {
  it.each([
    // local segments: all digits is a number, anything else a string (below every number)
    ['1.0+1e5', '1.0+5', -1],
    ['1.0+0x1', '1.0+1', -1],
    ['1.0+abc.01', '1.0+ABC.1', 0],
    ['1.0+99999999999999999999', '1.0+99999999999999999998', 1],
    ['1.0+ubuntu1', '1.0+ubuntu1.1', -1],
    ['1.0+ubuntu1.1', '1.0+ubuntu1-1', 0],
    ['1.0', '1.0+0', -1],
    // the public part decides before the local part
    ['1.0.post1', '1.0+zzz', 1],
    ['1.0a1+local', '1.0', -1],
    ['1!0.1', '2.0', 1],
    ['2.0.0.0', '2', 0],
    [' v2.0 ', '2.0', 0],
    ['2.0.dev1', '2.0a1', -1],
    ['2.0a1.dev1', '2.0a1', -1],
    ['2.0.post1.dev1', '2.0.post1', -1],
    ['2.0.post1.dev1', '2.0', 1],
    ['2.0rc1', '2.0c1', 0],
    ['1.9007199254740991', '1.9007199254740990', 1],
  ] as const)('%s vs %s → %i', (a, b, cmp) => {
    expectOrder(a, b, cmp);
  });

  it.each([
    '',
    ' ',
    'foo',
    '1.0+',
    '1.0+a b',
    '1 .0',
    '1.0 a1',
    '١.٠', // Arabic-Indic digits
    '1.0+ı', // dotless i: a letter only under Unicode case folding
    '1.0+ſ', // long s: likewise
    '1.0b1b2',
    '1.0.x',
    '1.9007199254740992', // above 2^53 - 1: not representable exactly by the library
    '9007199254740992!1.0',
    '1.0a9007199254740992',
  ])('refuses %j', (v) => {
    expectInvalid(v);
  });
});
