import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { InvalidVersionError, type VersionScheme } from '../../src/versions/types.js';

/** A vector file's lines (test/fixtures/vectors), each named `file:line` so a failure points at it. */
export function vectors<T>(file: string): [string, T][] {
  const text = readFileSync(new URL(`../fixtures/vectors/${file}`, import.meta.url), 'utf8');
  return text
    .split('\n')
    .map((line, i) => [`${file}:${i + 1}`, line] as const)
    .filter(([, line]) => line.trim() !== '')
    .map(([name, line]) => [name, JSON.parse(line) as T]);
}

/** The error `fn` throws; fails the test when it does not throw. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
}

/**
 * The assertions every version scheme's table test makes, bound to one scheme. `valid` is a
 * valid version of the scheme to compare invalid ones against.
 */
export function versionAsserts(scheme: VersionScheme, valid: string) {
  const compare = (a: string, b: string): -1 | 0 | 1 => scheme.compare(a, b);
  const isValid = (v: string): boolean => scheme.isValid(v);

  /** Invalid: `isValid` says so and `compare` throws, naming the scheme and the version. */
  function expectInvalid(v: string): void {
    expect(isValid(v)).toBe(false);
    expect(() => compare(v, valid)).toThrow(InvalidVersionError);
    expect(() => compare(valid, v)).toThrow(InvalidVersionError);
    expect(thrown(() => compare(v, valid))).toMatchObject({ scheme: scheme.id, version: v });
  }

  /** `a` compares to `b` as `cmp`, and the other way round as its opposite. */
  function expectOrder(a: string, b: string, cmp: -1 | 0 | 1): void {
    expect(compare(a, b)).toBe(cmp);
    expect(compare(b, a)).toBe(-cmp || 0);
  }

  /** Neighbouring groups ascend, versions within a group are equal, and sorting reproduces it. */
  function expectSorted(groups: string[][]): void {
    for (const group of groups) for (const v of group) expectOrder(group[0]!, v, 0);
    for (let i = 1; i < groups.length; i++) expectOrder(groups[i - 1]![0]!, groups[i]![0]!, -1);
    const flat = groups.flat();
    const rank = new Map(groups.flatMap((g, i) => g.map((v) => [v, i] as const)));
    const sorted = [...flat].reverse().sort(compare);
    expect(sorted.map((v) => rank.get(v))).toEqual(flat.map((v) => rank.get(v)));
  }

  return { compare, isValid, expectInvalid, expectOrder, expectSorted };
}
