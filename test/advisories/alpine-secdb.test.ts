import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Advisory } from '../../src/advisories/osv.js';
import { alpineSecdbToOsv, parseIds } from '../../src/advisories/alpine-secdb.js';
import { DEFAULT_MODIFIED } from '../../src/advisories/debian-tracker.js';
import { validateOsv } from './native-osv-schema.js';

const FIXTURES = new URL('../fixtures/advisories/native/alpine-secdb/', import.meta.url);

/** Real secdb documents (see the fixtures' SOURCE.md). */
const DOCS = [
  'v3.6-main',
  'v3.9-main',
  'v3.11-main',
  'v3.11-community',
  'v3.15-main',
  'v3.15-community',
] as const;

function fixture(name: (typeof DOCS)[number]): unknown {
  return JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8'));
}

const MODIFIED = '2025-07-31T10:00:00Z';

function byId(advisories: Advisory[], id: string): Advisory | undefined {
  return advisories.find((a) => a.id === id);
}

function expectSchemaValid(advisories: Advisory[]): void {
  for (const a of advisories) expect(validateOsv(a), a.id).toEqual([]);
}

/** The affected entry OSV.dev writes for an Alpine fix, plus regscan's database_specific. */
function fixedIn(ecosystem: string, name: string, fixed: string, repository = 'main') {
  return {
    package: { ecosystem, name, purl: `pkg:apk/alpine/${name}?arch=source` },
    ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }],
    database_specific: { fix_state: 'fixed', repository },
  };
}

describe('alpineSecdbToOsv on one real secdb document', () => {
  it('converts Alpine v3.15 main to one record per CVE', () => {
    const { advisories, warnings } = alpineSecdbToOsv(fixture('v3.15-main'), {
      modified: MODIFIED,
    });
    expect(warnings).toEqual([]);
    // xz 1, zeromq 3, zlib 2, zsh 4, zstd 3
    expect(advisories).toHaveLength(13);
    expect(byId(advisories, 'ALPINE-CVE-2022-37434')).toStrictEqual({
      id: 'ALPINE-CVE-2022-37434',
      modified: MODIFIED,
      aliases: ['CVE-2022-37434'],
      upstream: ['CVE-2022-37434'],
      affected: [fixedIn('Alpine:v3.15', 'zlib', '1.2.12-r2')],
      references: [
        { type: 'ADVISORY', url: 'https://security.alpinelinux.org/vuln/CVE-2022-37434' },
      ],
    });
    expect(byId(advisories, 'ALPINE-CVE-2018-25032')?.affected).toStrictEqual([
      fixedIn('Alpine:v3.15', 'zlib', '1.2.12-r0'),
    ]);
    // zsh 5.4.2-r1 fixes two CVEs: each its own record with the same fix.
    for (const cve of ['CVE-2018-1083', 'CVE-2018-1071']) {
      expect(byId(advisories, `ALPINE-${cve}`)?.affected).toStrictEqual([
        fixedIn('Alpine:v3.15', 'zsh', '5.4.2-r1'),
      ]);
    }
    expectSchemaValid(advisories);
  });

  it('records the repository of a community document', () => {
    const { advisories, warnings } = alpineSecdbToOsv(fixture('v3.15-community'));
    expect(warnings).toEqual([]);
    expect(advisories.map((a) => a.id)).toEqual([
      'ALPINE-CVE-2019-9210',
      'ALPINE-CVE-2020-14929',
      'ALPINE-CVE-2021-38370',
    ]);
    expect(byId(advisories, 'ALPINE-CVE-2021-38370')?.affected).toStrictEqual([
      fixedIn('Alpine:v3.15', 'alpine', '2.25-r0', 'community'),
    ]);
    for (const a of advisories) expect(a.modified).toBe(DEFAULT_MODIFIED);
  });
});

describe('alpineSecdbToOsv on six real documents at once', () => {
  const docs = DOCS.map(fixture);
  const { advisories, warnings } = alpineSecdbToOsv(docs, { modified: MODIFIED });

  it('gives one record per id over every release, with one entry per (release, package)', () => {
    // Counted independently of the converter (a Python pass over the same files).
    expect(advisories).toHaveLength(2139);
    expect(advisories.reduce((n, a) => n + (a.affected?.length ?? 0), 0)).toBe(4060);
    expect(new Set(advisories.map((a) => a.id)).size).toBe(advisories.length);
    // musl CVE-2016-8859: fixed in 1.1.15-r4 in 3.6, 3.9 and 3.11.
    expect(byId(advisories, 'ALPINE-CVE-2016-8859')).toStrictEqual({
      id: 'ALPINE-CVE-2016-8859',
      modified: MODIFIED,
      aliases: ['CVE-2016-8859'],
      upstream: ['CVE-2016-8859'],
      affected: [
        fixedIn('Alpine:v3.6', 'musl', '1.1.15-r4'),
        fixedIn('Alpine:v3.9', 'musl', '1.1.15-r4'),
        fixedIn('Alpine:v3.11', 'musl', '1.1.15-r4'),
      ],
      references: [
        { type: 'ADVISORY', url: 'https://security.alpinelinux.org/vuln/CVE-2016-8859' },
      ],
    });
  });

  it('keeps a second fixed version of the same CVE and package as a second range', () => {
    // busybox in 3.11 lists CVE-2019-5747 under 1.29.3-r10 and again under 1.30.1-r2.
    const entries = byId(advisories, 'ALPINE-CVE-2019-5747')?.affected;
    const v311 = entries?.find((a) => a.package?.ecosystem === 'Alpine:v3.11');
    expect(v311?.ranges).toEqual([
      { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.30.1-r2' }] },
      { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.29.3-r10' }] },
    ]);
  });

  it('splits strings holding several ids, and drops comments', () => {
    // sdl2_image: `CVE-2017-12122 TALOS-2017-0488`
    const sdl = byId(advisories, 'ALPINE-CVE-2017-12122');
    expect(sdl?.related).toEqual(['TALOS-2017-0488']);
    expect(sdl?.affected?.map((a) => a.package?.ecosystem)).toEqual([
      'Alpine:v3.6',
      'Alpine:v3.9',
      'Alpine:v3.11',
    ]);
    expect(byId(advisories, 'ALPINE-TALOS-2017-0488')).toBeUndefined();
    // xen: `CVE-2016-10013 XSA-204`
    expect(byId(advisories, 'ALPINE-CVE-2016-10013')?.related).toEqual(['XSA-204']);
    // tcpdump 4.9.3-r0 in 3.11: `CVE-2018-14467 (BGP)`, `CVE-2018-10103 (SMB - partially ...)`
    expect(byId(advisories, 'ALPINE-CVE-2018-14467')?.affected).toStrictEqual([
      fixedIn('Alpine:v3.11', 'tcpdump', '4.9.3-r0'),
    ]);
    expect(byId(advisories, 'ALPINE-CVE-2018-10103')?.related).toBeUndefined();
    expect(warnings.some((w) => w.includes('tcpdump'))).toBe(false);
  });

  it('gives a non-CVE id its own record when the string has no CVE', () => {
    // xen in 3.9: `CVE-????-?????  XSA-284` (no CVE assigned yet when it was written)
    expect(byId(advisories, 'ALPINE-XSA-284')).toStrictEqual({
      id: 'ALPINE-XSA-284',
      modified: MODIFIED,
      aliases: ['XSA-284'],
      upstream: ['XSA-284'],
      affected: [fixedIn('Alpine:v3.9', 'xen', '4.11.2-r0')],
      references: [{ type: 'ADVISORY', url: 'https://xenbits.xen.org/xsa/advisory-284.html' }],
    });
  });

  it('repairs the id typos of the real data, with a warning', () => {
    expect(byId(advisories, 'ALPINE-CVE-2018-16859')?.affected).toStrictEqual([
      fixedIn('Alpine:v3.9', 'ansible', '2.7.3-r0'),
    ]);
    // openjdk7 writes `CVE_2019-2426`; openjdk8 spells the same CVE right.
    expect(byId(advisories, 'ALPINE-CVE-2019-2426')?.affected).toStrictEqual([
      fixedIn('Alpine:v3.11', 'openjdk7', '7.211.2.6.17-r0', 'community'),
      fixedIn('Alpine:v3.11', 'openjdk8', '8.201.08-r0', 'community'),
    ]);
    expect(byId(advisories, 'ALPINE-CVE-2019-19451')?.affected).toStrictEqual([
      fixedIn('Alpine:v3.11', 'dia', '0.97.3-r1', 'community'),
    ]);
    // rsync `CVE-2017-17434-1` and `-2`: two patches for one CVE, one fix.
    expect(
      byId(advisories, 'ALPINE-CVE-2017-17434')?.affected?.map((a) => [
        a.package?.ecosystem,
        a.ranges?.length,
      ]),
    ).toEqual([
      ['Alpine:v3.6', 1],
      ['Alpine:v3.9', 1],
      ['Alpine:v3.11', 1],
    ]);
    expect(warnings).toContain(
      '/1/packages/0/pkg/secfixes/2.7.3-r0/0 (ansible): read "CVE 2018-16859" as CVE-2018-16859',
    );
    expect(warnings).toContain(
      '/3/packages/47/pkg/secfixes/7.211.2.6.17-r0/2 (openjdk7): read "CVE_2019-2426" as CVE-2019-2426',
    );
  });

  it('warns about everything it skipped or repaired, with its path', () => {
    expect(warnings).toHaveLength(30);
    expect(warnings.slice(0, 3)).toEqual([
      '/0/packages/34/pkg/secfixes/7.4.0-r0 (heimdal): expected a list of ids, got ""; skipped',
      '/0/packages/39/pkg/secfixes/1.0.4.-r0 (irssi): "1.0.4.-r0" is not an apk version; skipped',
      '/0/packages/98/pkg/secfixes/1.11-20-r0 (py-django): "1.11-20-r0" is not an apk version; skipped',
    ]);
    expect(warnings.filter((w) => w.includes('placeholder "CVE-????-?????" dropped'))).toHaveLength(
      13,
    );
    expect(warnings.filter((w) => w.includes('is not an apk version'))).toHaveLength(7);
  });

  it('produces schema-valid records', () => {
    expectSchemaValid(advisories);
  });
});

describe('alpineSecdbToOsv on what the real documents lack', () => {
  /** A secdb document written for these tests, in the real layout. */
  const doc = (distroversion: string, packages: unknown[]) => ({
    distroversion,
    reponame: 'main',
    urlprefix: 'https://dl-cdn.alpinelinux.org/alpine',
    apkurl: '{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk',
    archs: ['x86_64'],
    packages,
  });

  it('reads version 0 as "never affected": no entry, and no record when that is all', () => {
    const { advisories, warnings } = alpineSecdbToOsv([
      doc('v3.20', [
        {
          pkg: {
            name: 'curl',
            secfixes: { '0': ['CVE-2023-1111', 'CVE-2023-2222'], '8.1.0-r0': ['CVE-2023-3333'] },
          },
        },
      ]),
      doc('v3.19', [{ pkg: { name: 'curl', secfixes: { '8.0.1-r1': ['CVE-2023-1111'] } } }]),
    ]);
    expect(warnings).toEqual([]);
    expect(advisories.map((a) => a.id)).toEqual(['ALPINE-CVE-2023-3333', 'ALPINE-CVE-2023-1111']);
    expect(byId(advisories, 'ALPINE-CVE-2023-1111')?.affected).toStrictEqual([
      fixedIn('Alpine:v3.19', 'curl', '8.0.1-r1'),
    ]);
  });

  it('normalises GHSA ids and links them', () => {
    const { advisories } = alpineSecdbToOsv(
      doc('v3.20', [
        { pkg: { name: 'py3-urllib3', secfixes: { '1.26.18-r0': ['GHSA-V845-JXX5-VC9F'] } } },
      ]),
    );
    expect(advisories.map((a) => [a.id, a.references])).toEqual([
      [
        'ALPINE-GHSA-v845-jxx5-vc9f',
        [{ type: 'ADVISORY', url: 'https://github.com/advisories/GHSA-v845-jxx5-vc9f' }],
      ],
    ]);
    expectSchemaValid(advisories);
  });

  it('parses id strings', () => {
    expect(parseIds('CVE-2017-5753 CVE-2017-5715 CVE-2017-5754 XSA-254 XPTI')).toEqual({
      cves: ['CVE-2017-5753', 'CVE-2017-5715', 'CVE-2017-5754'],
      others: ['XSA-254'],
      notes: ['"XPTI" is no vulnerability id; ignored'],
    });
    expect(parseIds('CVE-2017-2616 (+ regression fix)')).toEqual({
      cves: ['CVE-2017-2616'],
      others: [],
      notes: [],
    });
    expect(parseIds('cve-2020-1234, wnpa-sec-2017-18')).toEqual({
      cves: ['CVE-2020-1234'],
      others: ['wnpa-sec-2017-18'],
      notes: [],
    });
    expect(parseIds('CVE-2018-3620   XSA-273 (unclosed')).toEqual({
      cves: ['CVE-2018-3620'],
      others: ['XSA-273'],
      notes: [],
    });
    expect(parseIds('').cves).toEqual([]);
  });
});

describe('alpineSecdbToOsv on malformed input', () => {
  it.each([
    ['null', null],
    ['a string', 'v3.15'],
    ['a number', 3.15],
  ])('warns on a document that is %s', (what, value) => {
    expect(alpineSecdbToOsv(value)).toEqual({
      advisories: [],
      warnings: [`/: expected a secdb object, got ${what}`],
    });
  });

  it('warns with the path of each bad part, and converts the good ones', () => {
    const good = { pkg: { name: 'zlib', secfixes: { '1.2.12-r0': ['CVE-2018-25032'] } } };
    const result = alpineSecdbToOsv([
      null,
      { distroversion: 'edge', packages: [good] },
      { packages: [good] },
      { distroversion: 'v3.15', packages: 'zlib' },
      {
        distroversion: 'v3.15',
        reponame: 'main/../x',
        packages: [
          good,
          'zlib',
          { pkg: null },
          { pkg: { name: 'bad name', secfixes: {} } },
          { pkg: { name: 'a', secfixes: 'CVE-2020-0001' } },
          { pkg: { name: 'b', secfixes: null } },
          { pkg: { name: 'c', secfixes: [] } },
          {
            pkg: {
              name: 'd',
              secfixes: {
                '1.0-r0': null,
                '1.1-r0': [42, '(only a comment)', 'CVE-2020-0002'],
                '1.2-r0': 'CVE-2020-0003',
                latest: ['CVE-2020-0004'],
              },
            },
          },
        ],
      },
    ]);
    expect(result.warnings).toEqual([
      '/0: expected a secdb object, got null',
      '/1/distroversion: "edge" is not a release branch like v3.15; document skipped',
      '/2/distroversion: nothing is not a release branch like v3.15; document skipped',
      '/3/packages: expected an array, got a string',
      '/4/reponame: "main/../x" is not a repository name; ignored',
      '/4/packages/1: expected { pkg: { name, secfixes } }; skipped',
      '/4/packages/2: expected { pkg: { name, secfixes } }; skipped',
      '/4/packages/3/pkg/name: "bad name" is not a package name; skipped',
      '/4/packages/4/pkg/secfixes: expected an object, got a string',
      '/4/packages/5/pkg/secfixes: expected an object, got null',
      '/4/packages/7/pkg/secfixes/1.0-r0 (d): expected a list of ids, got null; skipped',
      '/4/packages/7/pkg/secfixes/1.1-r0/0 (d): expected an id string, got a number; skipped',
      '/4/packages/7/pkg/secfixes/1.1-r0/1 (d): no vulnerability id in "(only a comment)"; skipped',
      '/4/packages/7/pkg/secfixes/1.2-r0 (d): expected a list of ids, got a string; read as one entry',
      '/4/packages/7/pkg/secfixes/latest (d): "latest" is not an apk version; skipped',
    ]);
    expect(result.advisories.map((a) => [a.id, a.affected?.map((x) => x.package?.name)])).toEqual([
      ['ALPINE-CVE-2018-25032', ['zlib']],
      ['ALPINE-CVE-2020-0002', ['d']],
      ['ALPINE-CVE-2020-0003', ['d']],
    ]);
    // Without a valid reponame the entry says nothing about the repository.
    expect(result.advisories[0]?.affected?.[0]?.database_specific).toEqual({ fix_state: 'fixed' });
    expectSchemaValid(result.advisories);
  });

  it('never throws on any part of a real document replaced by a wrong value', () => {
    const original = fixture('v3.15-main') as Record<string, unknown>;
    const bad: unknown[] = [null, 0, 'x', [], {}, [{}], true, '0'];
    let runs = 0;
    const visit = (node: unknown, replace: (value: unknown) => void): void => {
      for (const value of bad) {
        replace(value);
        const result = alpineSecdbToOsv(original);
        runs++;
        for (const a of result.advisories) expect(validateOsv(a), a.id).toEqual([]);
      }
      replace(node);
      if (typeof node === 'object' && node !== null) {
        const obj = node as Record<string, unknown>;
        for (const key of Object.keys(obj)) {
          visit(obj[key], (value) => {
            obj[key] = value;
          });
        }
      }
    };
    for (const key of Object.keys(original)) {
      visit(original[key], (value) => {
        original[key] = value;
      });
    }
    expect(runs).toBeGreaterThan(400);
  });

  it('rejects a modified that is not an RFC 3339 UTC timestamp', () => {
    expect(() => alpineSecdbToOsv({}, { modified: '2025-13-45' })).toThrow(TypeError);
  });
});
