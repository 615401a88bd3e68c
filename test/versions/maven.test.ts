import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mavenItems, mavenScheme } from '../../src/versions/maven.js';
import { InvalidVersionError } from '../../src/versions/types.js';

interface CompareLine {
  a: string;
  b: string;
  cmp: -1 | 0 | 1;
  src: string;
}
/** A package's versions in ascending order; the versions of one group are equal. */
interface SortedLine {
  package: string;
  sorted: string[][];
  src: string;
}

/** A vector file's lines, each named `file:line` so a failure points at it. */
function vectors<T>(file: string): [string, T][] {
  const text = readFileSync(new URL(`../fixtures/vectors/${file}`, import.meta.url), 'utf8');
  return text
    .split('\n')
    .map((line, i) => [`${file}:${i + 1}`, line] as const)
    .filter(([, line]) => line.trim() !== '')
    .map(([name, line]) => [name, JSON.parse(line) as T]);
}

const compare = (a: string, b: string): -1 | 0 | 1 => mavenScheme.compare(a, b);
const isValid = (v: string): boolean => mavenScheme.isValid(v);

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
}

function expectInvalid(v: string): void {
  expect(isValid(v)).toBe(false);
  expect(() => compare(v, '1.0')).toThrow(InvalidVersionError);
  expect(() => compare('1.0', v)).toThrow(InvalidVersionError);
  expect(thrown(() => compare(v, '1.0'))).toMatchObject({ scheme: 'maven', version: v });
}

function expectOrder(a: string, b: string, cmp: -1 | 0 | 1): void {
  expect(compare(a, b)).toBe(cmp);
  expect(compare(b, a)).toBe(-cmp || 0);
}

/** Neighbouring groups ascend, versions within a group are equal, and sorting reproduces it. */
function expectSorted(groups: string[][]): void {
  for (const group of groups) for (const v of group) expectOrder(group[0] as string, v, 0);
  for (let i = 1; i < groups.length; i++) {
    expectOrder((groups[i - 1] as string[])[0] as string, (groups[i] as string[])[0] as string, -1);
  }
  const flat = groups.flat();
  const rank = new Map(groups.flatMap((g, i) => g.map((v) => [v, i] as const)));
  const sorted = [...flat].reverse().sort(compare);
  expect(sorted.map((v) => rank.get(v))).toEqual(flat.map((v) => rank.get(v)));
}

describe('maven: ComparableVersionTest vectors', () => {
  const lines = vectors<CompareLine>('maven.jsonl');

  it('has every line', () => {
    expect(lines).toHaveLength(978);
  });

  it.each(lines)('%s', (_name, line) => {
    expectOrder(line.a, line.b, line.cmp);
  });
});

describe('maven: versions of the Maven OSV records, ordered by maven-artifact 3.9.6', () => {
  it.each(vectors<SortedLine>('maven-osv-sorted.jsonl'))('%s', (_name, line) => {
    expectSorted(line.sorted);
  });
});

describe('maven: random versions answered by maven-artifact 3.9.6', () => {
  it.each(vectors<CompareLine>('maven-oracle.jsonl'))('%s', (_name, line) => {
    expectOrder(line.a, line.b, line.cmp);
  });
});

describe('maven: hand cases', () => {
  it.each([
    // the POM reference's examples
    ['1', '1.1', -1],
    ['1-snapshot', '1', -1],
    ['1-sp', '1', 1],
    ['1-foo2', '1-foo10', -1],
    ['1.foo', '1-foo', 0],
    ['1-foo', '1-1', -1],
    ['1-1', '1.1', -1],
    ['1.ga', '1-ga', 0],
    ['1-ga', '1-0', 0],
    ['1-0', '1.0', 0],
    ['1.0', '1', 0],
    ['1-sp', '1-ga', 1],
    ['1-sp.1', '1-ga.1', 1],
    ['1-a1', '1-alpha-1', 0],
    ['1.0-alpha1', '1.0-ALPHA1', 0],
    ['1.7', '1.K', 1],
    ['5.zebra', '5.aardvark', 1],
    ['1.α', '1.b', 1],
    // releases and qualifiers seen in real artifacts
    ['5.4.24.Final', '5.4.24', 0],
    ['5.4.24.Final', '5.4.25.Final', -1],
    ['5.4.24.CR1', '5.4.24.Final', -1],
    ['5.4.24.Final', '5.4.24.SP1', -1],
    ['2.5.RELEASE', '2.5', 0],
    ['31.1-jre', '31.1-android', 1],
    ['1.0-SNAPSHOT', '1.0-rc1', 1],
    ['1.0.0-M1', '1.0.0-RC1', -1],
    ['2.0.0-beta.1', '2.0.0', -1],
    ['20190126.230843', '20190126.230844', -1],
    ['12345678901234567890', '12345678901234567891', -1],
    ['1.000000000000000000001', '1.1', 0],
    // MNG-7714 (see maven.ts): a release qualifier before another qualifier stays, as the release
    ['1.0.final-redhat', '1.0-sp1-redhat', -1],
    ['1.0.Final-redhat-00001', '1.0.SP1-redhat-00001', -1],
    ['5.4.24.Final-redhat-00001', '5.4.24.Final', 1],
    ['5.4.24.Final-redhat-00002', '5.4.24.Final-redhat-00001', 1],
    ['5.4.24.Final-redhat-00001', '5.4.25.Final', -1],
    ['1.0.0.Final-1', '1-1', 0], // a number after it: removed, as in Maven 3.9
    // only ASCII digits are digits
    ['1', '٨', 1],
    ['1.٨', '1.8', -1],
  ] as const)('%s vs %s → %i', (a, b, cmp) => {
    expectOrder(a, b, cmp);
  });

  it.each([
    ['1.0alpha1', '[1, [alpha, [1]]]'],
    ['1.0.0', '[1]'],
    ['1-0.alpha', '[1, [[alpha]]]'],
    ['2.0.abc', '[2, [abc]]'],
    ['1.0.final-redhat', '[1, [final, [redhat]]]'],
    ['1.0-final-redhat', '[1, [final, [redhat]]]'],
    ['1.0.Final', '[1]'],
    ['1-ga-1', '[1, [[1]]]'],
    ['-1', '[[1]]'],
    ['1.', '[1]'],
    ['..', '[]'],
  ])('%s parses to %s', (version, items) => {
    expect(mavenItems(version)).toBe(items);
  });

  it.each(['', ' ', '1.0 ', '1.0\n', '1.0\u200b', '${project.version}', '1.0-${rev}'])(
    'refuses %j',
    (v) => {
      expectInvalid(v);
    },
  );

  it('takes any other string as a version', () => {
    for (const v of ['junk', '-', '.', '1..0', 'é', '1_2', '1+2', '[1.0]', '𝟤']) {
      expect(isValid(v)).toBe(true);
    }
    expect(compare('junk', '0.0.1')).toBe(-1);
  });
});
