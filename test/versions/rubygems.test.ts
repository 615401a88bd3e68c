import { describe, expect, it } from 'vitest';
import { rubygemsScheme } from '../../src/versions/rubygems.js';
import { vectors, versionAsserts } from '../support/versions.js';

type VersionLine =
  | { a: string; b: string; cmp: -1 | 0 | 1; src: string }
  | { a: string; b: string; cmp_not: -1 | 0 | 1; src: string }
  | { a: string; release: string; src: string };
interface PrereleaseLine {
  v: string;
  prerelease: boolean;
  src: string;
}
interface RequirementLine {
  version: string;
  requirement: string[];
  satisfied: boolean;
  src: string;
}

/** `Gem::Version#release`: the segments before the first letter segment (`1.2.b.3` → `1.2`). */
const { compare, expectInvalid, expectOrder } = versionAsserts(rubygemsScheme, '1.0');

function releaseOf(v: string): string {
  const segments =
    v
      .trim()
      .replaceAll('-', '.pre.')
      .match(/[0-9]+|[a-z]+/gi) ?? [];
  const firstLetters = segments.findIndex((s) => /^[a-z]/i.test(s));
  return (firstLetters < 0 ? segments : segments.slice(0, firstLetters)).join('.');
}

describe('rubygems: Gem::Version vectors', () => {
  const lines = vectors<VersionLine>('rubygems.jsonl');

  it('has every line', () => {
    expect(lines).toHaveLength(33);
  });

  it.each(lines)('%s', (_name, line) => {
    if ('cmp' in line) {
      expectOrder(line.a, line.b, line.cmp);
    } else if ('cmp_not' in line) {
      expect(compare(line.a, line.b)).not.toBe(line.cmp_not);
    } else {
      // `release` is the version without its prerelease part: equal for a release, above it
      // for a prerelease
      expect(releaseOf(line.a)).toBe(line.release);
      expectOrder(line.a, line.release, line.a === line.release ? 0 : -1);
    }
  });
});

describe('rubygems: prerelease vectors', () => {
  it.each(vectors<PrereleaseLine>('rubygems-prerelease.jsonl'))('%s', (_name, line) => {
    // a prerelease sorts below its release; a release is its release
    expectOrder(line.v, releaseOf(line.v), line.prerelease ? -1 : 0);
  });
});

describe('rubygems: Gem::Requirement vectors with plain comparison operators', () => {
  const REQUIREMENT = /^\s*(=|!=|>=|<=|>|<|~>)?\s*(\S*)\s*$/;
  const lines = vectors<RequirementLine>('rubygems-requirements.jsonl');
  const plain = lines.filter(([, l]) => l.requirement.every((r) => !r.includes('~>')));

  it('uses every line without the pessimistic operator `~>` (a range, not a comparison)', () => {
    expect(lines).toHaveLength(119);
    expect(plain).toHaveLength(80);
  });

  it.each(plain)('%s', (_name, line) => {
    const satisfied = line.requirement.every((requirement) => {
      const [, op = '=', version = ''] = REQUIREMENT.exec(requirement) ?? [];
      const c = compare(line.version, version);
      switch (op) {
        case '=':
          return c === 0;
        case '!=':
          return c !== 0;
        case '>':
          return c > 0;
        case '<':
          return c < 0;
        case '>=':
          return c >= 0;
        case '<=':
          return c <= 0;
        default:
          throw new Error(`unexpected operator ${op}`);
      }
    });
    expect(satisfied).toBe(line.satisfied);
  });
});

describe('rubygems: hand cases', () => {
  it.each([
    // RubyGems compares letter segments by bytes: upper case before lower case
    ['1.B', '1.a', -1],
    ['1.0.RC1', '1.0.beta', -1],
    ['1.0.rc1', '1.0.beta', 1],
    ['1.0.a10', '1.0.a9', 1],
    // numbers of any size, exactly
    ['1.99999999999999999999', '1.99999999999999999998', 1],
    ['1.9007199254740993', '1.9007199254740992', 1],
    // trailing zeros of each part do not count; leading zeros neither
    ['1.0.0', '1', 0],
    ['1.a.0', '1.a', 0],
    ['01.002', '1.2', 0],
    ['1.0-1', '1.0.pre.1', 0],
    ['1.0.0-rc1', '1.0.0.rc1', -1], // 1.0.0.pre.rc1
    [' 1.0 ', '1', 0],
    ['\t2.1\n', '2.1', 0],
    ['', '0', 0],
    ['  ', '0', 0],
    ['0.a', '0', -1],
    ['1.2.3.a', '1.2.2', 1],
  ] as const)('%j vs %j → %i', (a, b, cmp) => {
    expectOrder(a, b, cmp);
  });

  it.each([
    'junk',
    '1..0',
    '1.0.',
    '.1',
    '-1',
    '1.0-',
    '1.0 beta',
    '1_0',
    '1.0+build',
    'v1.0',
    '١',
    '1.0\u00a0',
  ])('refuses %j', (v) => {
    expectInvalid(v);
  });
});
