import { describe, expect, it } from 'vitest';
import { nugetScheme } from '../../src/versions/nuget.js';
import { versionAsserts } from '../support/versions.js';

// No upstream vectors here: the cases come from NuGet's documentation ("Package versioning":
// pre-release sort order, normalized version numbers, SemVer 2.0.0 build metadata) and the
// rules of NuGet.Versioning that page describes.

const { compare, isValid, expectInvalid, expectOrder } = versionAsserts(nugetScheme, '1.0.0');

describe('nuget: documented pre-release order', () => {
  // "Package versioning", highest first in the documentation, ascending here
  const ascending = [
    '1.0.1-aaa',
    '1.0.1-alpha10',
    '1.0.1-alpha2',
    '1.0.1-beta',
    '1.0.1-open',
    '1.0.1-rc.2',
    '1.0.1-rc.10',
    '1.0.1-zzz',
    '1.0.1',
  ];

  it.each(ascending.flatMap((a, i) => ascending.map((b, j) => [a, b, Math.sign(i - j)] as const)))(
    '%s vs %s → %i',
    (a, b, cmp) => {
      expect(compare(a, b)).toBe(cmp);
    },
  );
});

describe('nuget: documented normalisation', () => {
  it.each([
    ['1.00', '1.0'],
    ['1.01.1', '1.1.1'],
    ['1.00.0.1', '1.0.0.1'],
    ['1.0.0.0', '1.0.0'],
    ['1.0.01.0', '1.0.1'],
    ['1.0.7+r3456', '1.0.7'],
  ])('%s = %s', (a, b) => {
    expectOrder(a, b, 0);
  });
});

describe('nuget: rules', () => {
  it.each([
    // one to four numeric parts, missing ones 0
    ['1', '1.0.0.0', 0],
    ['1.2', '1.2.0', 0],
    ['1.0.0.1', '1.0.0', 1],
    ['1.0.0.1', '1.0.1', -1],
    ['1.0.0.10', '1.0.0.9', 1],
    ['2147483647.0', '2147483646.0', 1],
    // release labels: a pre-release sorts below its release, also with a revision
    ['1.0.0.1-beta', '1.0.0.1', -1],
    ['1.0.0.1-beta', '1.0.0', 1],
    // case-insensitive labels
    ['1.0.0-BETA', '1.0.0-beta', 0],
    ['1.0.0-Beta.1', '1.0.0-beta.1', 0],
    ['1.0.0-RC', '1.0.0-beta', 1],
    // numeric labels by value, below alphanumeric ones; a prefix first
    ['1.0.0-1', '1.0.0-a', -1],
    ['1.0.0-2', '1.0.0-10', -1],
    ['1.0.0-beta', '1.0.0-beta.1', -1],
    ['1.0.0-beta.2', '1.0.0-beta.10', -1],
    ['1.0.0-beta.1', '1.0.0-beta.a', -1],
    ['1.0.0-beta-1', '1.0.0-beta.1', 1],
    // an all-digit label beyond Int32 is compared as a string, as NuGet does
    ['1.0.0-999', '1.0.0-2147483648', -1],
    ['1.0.0-10000000000', '1.0.0-9999999999', -1],
    // build metadata ignored
    ['1.0.0-rc.1+build.5', '1.0.0-rc.1', 0],
    ['1.0.0+a', '1.0.0+b', 0],
  ] as const)('%s vs %s → %i', (a, b, cmp) => {
    expectOrder(a, b, cmp);
  });

  it.each([
    '',
    ' ',
    '1.',
    '.1',
    '1..0',
    '1.0.0.0.0',
    'v1.0',
    ' 1.0',
    '1.0 ',
    '1.0-',
    '1.0+',
    '1.0.0-01',
    '1.0.0-a..b',
    '1.0.0-a_b',
    '1.0.0+meta+data',
    '2147483648.0.0',
    '1.2147483648',
    '-1.0',
    'a.b',
    '1.0.0-béta',
  ])('refuses %j', (v) => {
    expectInvalid(v);
  });

  it.each([
    '1.0.0-0',
    '1.0.0-0a',
    '1.0.0+01',
    '1.0.0-rc-1',
    '2147483647.2147483647.2147483647.2147483647',
  ])('accepts %j', (v) => {
    expect(isValid(v)).toBe(true);
  });
});
