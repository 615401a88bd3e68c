import { describe, expect, it } from 'vitest';
import { goCanonical, goScheme } from '../../src/versions/go.js';
import { InvalidVersionError } from '../../src/versions/types.js';
import { vectors, versionAsserts } from '../support/versions.js';

interface CompareLine {
  a: string;
  b: string;
  cmp: -1 | 0 | 1;
  src: string;
}
interface CanonicalLine {
  v: string;
  canonical: string;
  valid: boolean;
  src: string;
}

const scheme = versionAsserts(goScheme, 'v1.0.0');
const { compare, isValid, expectOrder } = scheme;

function expectInvalid(v: string): void {
  scheme.expectInvalid(v);
  expect(goCanonical(v)).toBeUndefined();
}

const withoutV = (v: string): string => v.replace(/^v/, '');

/** The versions x/mod/semver rejects (semver_test.go's table, `canonical: ""`). */
const X_MOD_INVALID = [
  'bad',
  'v1+meta',
  'v1-alpha.beta.gamma',
  'v1-pre',
  'v1-pre+meta',
  'v1.2+meta',
  'v1.2-pre',
  'v1.2-pre+meta',
];

describe('go: golang.org/x/mod/semver comparison vectors', () => {
  const lines = vectors<CompareLine>('go-semver.jsonl');

  it('has every line', () => {
    expect(lines).toHaveLength(992);
  });

  it.each(lines)('%s', (_name, line) => {
    if (isValid(line.a) && isValid(line.b)) {
      expectOrder(line.a, line.b, line.cmp);
      // OSV writes Go versions without the `v`: the same order either way
      expectOrder(withoutV(line.a), withoutV(line.b), line.cmp);
      expectOrder(withoutV(line.a), line.b, line.cmp);
    } else {
      // x/mod's Compare sorts invalid versions first; we refuse to order them
      expect(() => compare(line.a, line.b)).toThrow(InvalidVersionError);
      for (const v of [line.a, line.b]) if (!isValid(v)) expect(X_MOD_INVALID).toContain(v);
    }
  });

  it('refuses exactly the versions x/mod/semver rejects', () => {
    const refused = new Set(lines.flatMap(([, l]) => [l.a, l.b]).filter((v) => !isValid(v)));
    expect([...refused].sort()).toEqual(X_MOD_INVALID);
  });
});

describe('go: golang.org/x/mod/semver canonical vectors', () => {
  it.each(vectors<CanonicalLine>('go-semver-canonical.jsonl'))('%s', (_name, line) => {
    expect(isValid(line.v)).toBe(line.valid);
    if (line.valid) {
      expect(goCanonical(line.v)).toBe(line.canonical);
      expect(compare(line.v, line.canonical)).toBe(0);
      expect(goCanonical(withoutV(line.v))).toBe(line.canonical);
    } else {
      expectInvalid(line.v);
    }
  });
});

describe('go: every version of the Go OSV records is valid', () => {
  const lines = vectors<{ v: string }>('go-osv-versions.jsonl');

  it('has every line', () => {
    expect(lines).toHaveLength(2485);
  });

  it('accepts them all, with or without `v`, as the same version', () => {
    const refused = lines
      .map(([, l]) => l.v)
      .filter((v) => !isValid(v) || !isValid(`v${v}`) || compare(v, `v${v}`) !== 0);
    expect(refused).toEqual([]);
  });
});

describe('go: hand cases', () => {
  it.each([
    ['0', 'v0.0.0', 0], // OSV's "introduced": "0"
    ['1', 'v1.0.0', 0],
    ['1.2', 'v1.2.0', 0],
    ['v2.0.0+incompatible', 'v2.0.0', 0],
    ['v2.0.0+incompatible', 'v2.0.1', -1],
    ['v1.2.3+meta', 'v1.2.3+other', 0],
    // pseudo-versions: prereleases of the version they precede
    ['v0.0.0-20190101000000-abcdefabcdef', 'v0.0.0-20200101000000-abcdefabcdef', -1],
    ['v0.0.0-20200101000000-abcdefabcdef', 'v0.0.1', -1],
    ['v1.2.4-0.20200101000000-abcdefabcdef', 'v1.2.3', 1],
    ['v1.2.4-0.20200101000000-abcdefabcdef', 'v1.2.4', -1],
    ['v1.2.4-pre.0.20200101000000-abcdefabcdef', 'v1.2.4-pre', 1],
    ['v1.2.4-pre.0.20200101000000-abcdefabcdef', 'v1.2.4-pre.1', -1],
    // numbers of any length, compared exactly
    ['v1.99999999999999999999.0', 'v1.9.0', 1],
    ['v1.99999999999999999999.0', 'v1.99999999999999999998.0', 1],
    ['v1.0.0-99999999999999999999', 'v1.0.0-99999999999999999998', 1],
    ['v1.0.0-9', 'v1.0.0-10', -1],
    ['v1.0.0-10', 'v1.0.0-9a', -1], // numeric below alphanumeric
    ['v1.0.0-B', 'v1.0.0-a', -1], // ASCII order
  ] as const)('%s vs %s → %i', (a, b, cmp) => {
    expectOrder(a, b, cmp);
  });

  it.each([
    '',
    'v',
    'vv1.0.0',
    'V1.0.0',
    ' v1.0.0',
    'v1.0.0 ',
    'v1.2.3.4',
    'v01.2.3',
    'v1.02.3',
    'v1.2.03',
    'v1.2.3-01',
    'v1.2.3-',
    'v1.2.3+',
    'v1.2.3-a..b',
    'v1.2.3-a_b',
    '1.2-pre',
    '1-pre',
    'go1.21.0',
  ])('refuses %j', (v) => {
    expectInvalid(v);
  });
});
