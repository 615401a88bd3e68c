import { describe, expect, it } from 'vitest';
import { semverScheme } from '../../src/versions/semver.js';
import { vectors, versionAsserts } from '../support/versions.js';

interface CompareLine {
  a: string;
  b: string;
  cmp: -1 | 0 | 1;
  options: { loose?: boolean };
  src: string;
}
interface ValidityLine {
  v: string;
  valid: boolean;
  options?: { loose?: boolean };
  src: string;
}

const { isValid, expectInvalid, expectOrder } = versionAsserts(semverScheme, '1.0.0');

describe('semver: node-semver comparison vectors', () => {
  const lines = vectors<CompareLine>('npm-semver.jsonl');

  it('has every line', () => {
    expect(lines).toHaveLength(99);
  });

  it.each(lines)('%s', (_name, line) => {
    if (line.options.loose && !(isValid(line.a) && isValid(line.b))) {
      // A loose-mode-only form (`=1.2.3`, `v 1.2.3`): strict parsing refuses it.
      const looseOnly = isValid(line.a) ? line.b : line.a;
      expectInvalid(looseOnly);
      return;
    }
    expectOrder(line.a, line.b, line.cmp);
  });

  it('refuses exactly the loose-only forms', () => {
    const refused = new Set(lines.flatMap(([, l]) => [l.a, l.b]).filter((v) => !isValid(v)));
    expect([...refused].sort()).toEqual(
      [
        ' = 1.2.3',
        ' = 1.2.3-0',
        ' = 1.2.3-1',
        ' = 1.2.3-beta',
        ' = 1.2.3-beta+otherbuild',
        ' = 1.2.3+otherbuild',
        ' =1.2.3',
        ' =1.2.3-0',
        ' =1.2.3-1',
        ' =1.2.3-beta',
        ' v 1.2.3',
        ' v 1.2.3-0',
        ' v 1.2.3-1',
        ' v 1.2.3-beta',
        '= 1.2.3',
        '= 1.2.3-0',
        '= 1.2.3-1',
        '= 1.2.3-beta',
        '=1.2.3',
        '=1.2.3-0',
        '=1.2.3-1',
        '=1.2.3-beta',
        'v 1.2.3',
        'v 1.2.3-0',
        'v 1.2.3-1',
        'v 1.2.3-beta',
      ].sort(),
    );
  });
});

describe('semver: node-semver validity vectors', () => {
  it.each(vectors<ValidityLine>('npm-semver-validity.jsonl'))('%s', (_name, line) => {
    expect(isValid(line.v)).toBe(line.valid);
    if (!line.valid) expectInvalid(line.v);
  });
});

describe('semver: every version of the crates.io OSV records is valid', () => {
  const lines = vectors<{ v: string }>('crates-osv-versions.jsonl');

  it('has every line', () => {
    expect(lines).toHaveLength(614);
  });

  it('accepts them all', () => {
    expect(lines.map(([, l]) => l.v).filter((v) => !isValid(v))).toEqual([]);
  });
});

describe('semver: hand cases', () => {
  it.each([
    // SemVer 2.0 §11 precedence example
    ['1.0.0-alpha', '1.0.0-alpha.1', -1],
    ['1.0.0-alpha.1', '1.0.0-alpha.beta', -1],
    ['1.0.0-alpha.beta', '1.0.0-beta', -1],
    ['1.0.0-beta', '1.0.0-beta.2', -1],
    ['1.0.0-beta.2', '1.0.0-beta.11', -1],
    ['1.0.0-beta.11', '1.0.0-rc.1', -1],
    ['1.0.0-rc.1', '1.0.0', -1],
    // build metadata does not count
    ['1.0.0+build.1', '1.0.0+build.2', 0],
    ['1.0.0-rc.1+a', '1.0.0-rc.1', 0],
    ['v1.2.3', '1.2.3', 0],
    [' 1.2.3 ', '1.2.3', 0],
    ['9007199254740991.0.0', '9007199254740990.0.0', 1],
    ['0.0.0-0', '0.0.0', -1],
    ['1.2.3-A', '1.2.3-a', -1], // ASCII order, case-sensitive
  ] as const)('%s vs %s → %i', (a, b, cmp) => {
    expectOrder(a, b, cmp);
  });

  it.each([
    '',
    '1',
    '1.2',
    '1.2.3.4',
    '01.2.3',
    '1.02.3',
    '1.2.3-01',
    '1.2.3-',
    '1.2.3+',
    '1.2.3-a..b',
    '=1.2.3',
    'V1.2.3',
    '1.2.3beta',
    '9007199254740992.0.0',
    `1.2.3-${'a'.repeat(260)}`,
  ])('refuses %j', (v) => {
    expectInvalid(v);
  });
});
