import { describe, expect, it } from 'vitest';
import { mavenItems, mavenScheme } from '../../src/versions/maven.js';
import { vectors, versionAsserts } from '../support/versions.js';

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

const { compare, isValid, expectInvalid, expectOrder, expectSorted } = versionAsserts(
  mavenScheme,
  '1.0',
);

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
