import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  InvalidVersionError,
  SCHEMES,
  schemeFor,
} from '../../src/versions/index.js';

/** Valid versions of every scheme, varied enough to exercise the order (epochs, prereleases …). */
const SAMPLES: Record<string, readonly string[]> = {
  deb: [
    '1.0',
    '1.0-1',
    '0:1.0-1',
    '1:0.9-1',
    '1.0~rc1-1',
    '1.0~~',
    '1.0-1+deb12u1',
    '1.0-1~bpo11+1',
    '1.0+dfsg-1',
    '1.0a-1',
    '2.36-9+deb12u4',
    '7.88.1-10+deb12u5',
  ],
  apk: [
    '1.0',
    '1.0-r0',
    '1.0-r1',
    '1.0_alpha',
    '1.0_rc1-r0',
    '1.0_p1-r1',
    '1.0.1',
    '1.10',
    '1.2.3_git20200101-r0',
    '2.0a-r0',
    '3.0.8-r3',
  ],
  rpm: [
    '1.0',
    '1.0-1',
    '0:1.0-1.el9',
    '1:1.0-1',
    '1.0~rc1-1',
    '1.0^20200101-1',
    '1.0-1.el9',
    '1.0.1-1',
    '1.0a-1',
    '2.34-100.el9_4.2',
    '10-1',
  ],
  semver: [
    '0.0.0',
    '1.0.0-alpha',
    '1.0.0-alpha.1',
    '1.0.0-alpha.beta',
    '1.0.0-beta.2',
    '1.0.0-beta.11',
    '1.0.0-rc.1',
    '1.0.0',
    '1.0.0+build',
    'v1.0.0',
    '1.0.1',
    '1.10.0',
  ],
  go: [
    '0',
    'v0.0.0-20190101000000-abcdefabcdef',
    'v0.0.0',
    'v0.1.0',
    '1.2',
    'v1.2.0',
    'v1.2.3-pre',
    'v1.2.3',
    '1.2.3+meta',
    'v1.2.4-0.20200101000000-abcdefabcdef',
    'v2.0.0+incompatible',
    'v10.0.0',
  ],
  pep440: [
    '1.0.dev0',
    '1.0a1',
    '1.0b2.post3',
    '1.0rc1',
    '1.0',
    '1.0.0',
    '1.0+local.1',
    '1.0+local.a',
    '1.0.post1',
    '1.1',
    '1!0.1',
    'v2.0',
  ],
  maven: [
    '1-alpha-1',
    '1.0-beta1',
    '1.0-SNAPSHOT',
    '1.0-rc1',
    '1',
    '1.0',
    '1.0.Final',
    '1.0-sp1',
    '1.0-jre',
    '1-1',
    '1.0.1',
    '1.0.final-redhat-1',
  ],
  rubygems: [
    '0',
    '',
    '0.a',
    '1.0.a',
    '1.0.b1',
    '1.0.0-rc1',
    '1.0',
    '1',
    '1.0.1',
    '1.9.3',
    '1.10',
    '2.0.B',
  ],
  nuget: [
    '1.0.0-alpha',
    '1.0.0-alpha.1',
    '1.0.0-Alpha.2',
    '1.0.0-beta',
    '1.0.0',
    '1.0',
    '1.0.0.1',
    '1.0.1-rc.1',
    '1.0.1',
    '1.0.1+build',
    '2',
    '10.0.0',
  ],
};

/** Strings each scheme must refuse. */
const INVALID: Record<string, readonly string[]> = {
  deb: ['', ' ', '1.0 beta', 'junk'],
  apk: ['', ' ', '1.0 beta', '1..0'],
  rpm: ['', ' ', '1.0 beta', '1:'],
  semver: ['', '1.0', '1.0.0.0', 'junk'],
  go: ['', 'v1.0.0.0', 'v1-pre', 'junk'],
  pep440: ['', ' ', '1.0 beta', 'junk'],
  maven: ['', ' ', '1.0 beta', '${project.version}'],
  rubygems: ['1.0 beta', '1..0', 'junk', '-1'], // '' is version 0 in RubyGems
  nuget: ['', '1.0.0.0.0', 'v1.0', 'junk'],
};

const sign = (n: number): number => Math.sign(n) || 0;

describe('version schemes: contract', () => {
  it('lists each scheme once, with a unique id, and has samples for all of them', () => {
    const ids = SCHEMES.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(Object.keys(SAMPLES).sort());
    expect([...ids].sort()).toEqual(Object.keys(INVALID).sort());
  });

  describe.each(SCHEMES.map((s) => [s.id, s] as const))('%s', (id, scheme) => {
    const samples = SAMPLES[id] ?? [];
    const invalid = INVALID[id] ?? [];

    it('accepts its samples', () => {
      expect(samples.filter((v) => !scheme.isValid(v))).toEqual([]);
    });

    it('is reflexive and antisymmetric', () => {
      for (const a of samples) {
        expect(scheme.compare(a, a)).toBe(0);
        for (const b of samples) {
          const ab = scheme.compare(a, b);
          expect([-1, 0, 1]).toContain(ab);
          expect(scheme.compare(b, a)).toBe(sign(-ab));
        }
      }
    });

    it('is transitive over all triples', () => {
      const cmp = new Map<string, number>();
      for (const a of samples) for (const b of samples) cmp.set(`${a}\0${b}`, scheme.compare(a, b));
      const c = (a: string, b: string): number => cmp.get(`${a}\0${b}`) as number;
      const broken: string[] = [];
      for (const a of samples) {
        for (const b of samples) {
          for (const d of samples) {
            const [ab, bd, ad] = [c(a, b), c(b, d), c(a, d)];
            // a ≤ b ≤ d ⇒ a ≤ d, strictly if either step is strict
            if (ab <= 0 && bd <= 0 && (ad > 0 || ((ab < 0 || bd < 0) && ad !== -1))) {
              broken.push(`${a} ${ab} ${b} ${bd} ${d} but ${ad}`);
            }
          }
        }
      }
      expect(broken).toEqual([]);
    });

    it('orders the samples into more than one class', () => {
      const classes = new Set(
        samples.map((a) => samples.filter((b) => scheme.compare(a, b) > 0).length),
      );
      expect(classes.size).toBeGreaterThan(samples.length / 2);
    });

    it.each(invalid)('refuses %j', (v) => {
      const valid = samples[0] as string;
      expect(scheme.isValid(v)).toBe(false);
      expect(() => scheme.compare(v, valid)).toThrow(InvalidVersionError);
      expect(() => scheme.compare(valid, v)).toThrow(InvalidVersionError);
      expect(() => scheme.compare(v, v)).toThrow(InvalidVersionError);
    });

    it('never throws from isValid', () => {
      for (const v of [
        '\0',
        '\uffff',
        '\ud800',
        'é',
        '1'.repeat(10_000),
        '.'.repeat(1000),
        '-+~:_^',
      ]) {
        expect(typeof scheme.isValid(v)).toBe('boolean');
      }
    });
  });
});

describe('compareVersions', () => {
  it('picks the scheme of an OSV ecosystem, with or without its release suffix', () => {
    expect(compareVersions('Debian:12', '1.0-1', '1.0~rc1-1')).toBe(1);
    expect(compareVersions('Debian', '1:0.9-1', '1.0-1')).toBe(1);
    expect(compareVersions('Alpine:v3.20', '1.0_rc1-r0', '1.0-r0')).toBe(-1);
    expect(compareVersions('Red Hat:enterprise_linux:9::appstream', '1:1.0-1', '2.0-1')).toBe(1);
    expect(compareVersions('npm', '1.0.0-rc.1', '1.0.0')).toBe(-1);
    expect(compareVersions('crates.io', '0.10.0', '0.9.0')).toBe(1);
    expect(compareVersions('Go', '1.2.3', 'v1.2.3')).toBe(0);
    expect(compareVersions('PyPI', '1.0.post1', '1.0')).toBe(1);
    expect(compareVersions('Maven', '1.0-SNAPSHOT', '1.0')).toBe(-1);
    expect(compareVersions('RubyGems', '1.0.a', '1.0')).toBe(-1);
    expect(compareVersions('NuGet', '1.0.0-BETA', '1.0.0-beta')).toBe(0);
  });

  it('throws on an unknown ecosystem', () => {
    expect(() => compareVersions('Hackage', '1.0', '1.0')).toThrow(RangeError);
    expect(() => compareVersions('', '1.0', '1.0')).toThrow(RangeError);
    expect(() => compareVersions('debian', '1.0', '1.0')).toThrow(RangeError); // names are case-sensitive
    expect(schemeFor('Hackage')).toBeUndefined();
  });

  it('throws on an invalid version', () => {
    expect(() => compareVersions('npm', '1.0', '1.0.0')).toThrow(InvalidVersionError);
    expect(() => compareVersions('Debian:12', '', '1.0')).toThrow(InvalidVersionError);
  });
});
