import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MemoryAdvisoryIndex, type Advisory, type OsvAffected } from '../../src/advisories/osv.js';
import type { Distro, Inventory, Package, PackageType } from '../../src/inventory/types.js';
import { identifiersOf, LANGUAGE_ECOSYSTEMS, matchInventory } from '../../src/match/match.js';
import type { Finding } from '../../src/match/types.js';
import { schemeFor } from '../../src/versions/index.js';

const FIXTURES = new URL('../fixtures/advisories/match/', import.meta.url);
function record(file: string): Advisory {
  return JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8')) as Advisory;
}

const LAYER = 'sha256:1111111111111111111111111111111111111111111111111111111111111111';
const DB: Partial<Record<PackageType, string>> = {
  deb: 'var/lib/dpkg/status',
  apk: 'lib/apk/db/installed',
  rpm: 'var/lib/rpm/rpmdb.sqlite',
};

function pkg(
  type: PackageType,
  name: string,
  version: string,
  source?: { name: string; version?: string },
  extra: Partial<Package> = {},
): Package {
  return {
    type,
    name,
    version,
    ...(source ? { source } : {}),
    layer: LAYER,
    path: DB[type] ?? '',
    purl: `pkg:${type}/test/${name}@${version}`,
    ...extra,
  };
}

const distro = (id: string, versionId: string): Distro => ({
  id,
  versionId,
  path: 'etc/os-release',
});

/** An OSV record written for this test (not a real advisory): one package in one ecosystem. */
function written(
  id: string,
  ecosystem: string,
  name: string,
  fixed: string | undefined,
  extra: { affected?: Partial<OsvAffected>; advisory?: Partial<Advisory> } = {},
): Advisory {
  const events = fixed === undefined ? [{ introduced: '0' }] : [{ introduced: '0' }, { fixed }];
  return {
    id,
    modified: '2024-06-01T00:00:00Z',
    published: '2024-05-01T00:00:00Z',
    aliases: [id.replace(/^DEBIAN-|^TEST-/, '')],
    summary: `${name} issue written for this test`,
    affected: [
      {
        package: { ecosystem, name },
        ranges: [{ type: 'ECOSYSTEM', events }],
        ...extra.affected,
      },
    ],
    references: [{ type: 'ADVISORY', url: `https://example.invalid/${id}` }],
    ...extra.advisory,
  };
}

const byKey = (findings: Finding[]): string[] =>
  findings.map((f) => `${f.package.name} ${f.advisoryId}`);

describe('Debian 12: matched by source package, reported under the binary', () => {
  const libssl3 = pkg('deb', 'libssl3', '3.0.11-1~deb12u2', {
    name: 'openssl',
    version: '3.0.11-1~deb12u2',
  });
  const libc6 = pkg('deb', 'libc6', '2.36-9+deb12u4', { name: 'glibc', version: '2.36-9+deb12u4' });
  const inventory: Inventory = {
    distro: distro('debian', '12'),
    packages: [libc6, libssl3],
    warnings: [],
  };

  // Every record below is written for this test, keyed by the SOURCE name under Debian:12, the
  // way regscan's Debian converter writes them (database_specific urgency and fix_state).
  const advisories: Advisory[] = [
    // openssl fixed after the installed version: libssl3 is affected
    written('DEBIAN-CVE-2099-0001', 'Debian:12', 'openssl', '3.0.13-1~deb12u1', {
      affected: { database_specific: { urgency: 'high', fix_state: 'fixed' } },
      advisory: {
        severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
      },
    }),
    // glibc fixed in exactly the installed version: not affected
    written('DEBIAN-CVE-2099-0002', 'Debian:12', 'glibc', '2.36-9+deb12u4', {
      affected: { database_specific: { urgency: 'medium', fix_state: 'fixed' } },
    }),
    // glibc fixed long before the installed version: not affected
    written('DEBIAN-CVE-2099-0005', 'Debian:12', 'glibc', '2.36-9+deb12u1'),
    // glibc open, no fix yet
    written('DEBIAN-CVE-2099-0003', 'Debian:12', 'glibc', undefined, {
      affected: { database_specific: { urgency: 'unimportant', fix_state: 'not_fixed' } },
    }),
    // glibc: Debian will not fix it in this release
    written('DEBIAN-CVE-2099-0006', 'Debian:12', 'glibc', undefined, {
      affected: { database_specific: { urgency: 'end-of-life', fix_state: 'wont_fix' } },
    }),
    // withdrawn: never matches
    written('DEBIAN-CVE-2099-0004', 'Debian:12', 'openssl', undefined, {
      advisory: { withdrawn: '2024-06-02T00:00:00Z' },
    }),
    // another release: never matches a Debian 12 image
    written('DEBIAN-CVE-2099-0007', 'Debian:11', 'openssl', '9.9.9-1'),
  ];
  const result = matchInventory(inventory, new MemoryAdvisoryIndex(advisories));

  it('finds exactly the affected pairs, in a stable order', () => {
    expect(byKey(result.findings)).toEqual([
      'libc6 DEBIAN-CVE-2099-0003',
      'libc6 DEBIAN-CVE-2099-0006',
      'libssl3 DEBIAN-CVE-2099-0001',
    ]);
    expect(result.warnings).toEqual([]);
  });

  it('reports a source match under the binary package, with why it matched', () => {
    const f = result.findings.find((x) => x.advisoryId === 'DEBIAN-CVE-2099-0001')!;
    expect(f.package).toBe(libssl3);
    expect(f).toMatchObject({
      identifiers: ['CVE-2099-0001', 'DEBIAN-CVE-2099-0001'],
      installedVersion: '3.0.11-1~deb12u2',
      fixedVersions: ['3.0.13-1~deb12u1'],
      fixState: 'fixed',
      severity: 'high', // Debian's urgency, though the CVSS vector says critical
      severitySource: 'distro',
      cvss: [{ type: 'CVSS_V3', score: 9.8 }],
      summary: 'openssl issue written for this test',
      references: ['https://example.invalid/DEBIAN-CVE-2099-0001'],
      published: '2024-05-01T00:00:00Z',
      modified: '2024-06-01T00:00:00Z',
      explanation: {
        advisoryId: 'DEBIAN-CVE-2099-0001',
        ecosystem: 'Debian:12',
        searchedName: 'openssl',
        viaSource: true,
        searchedVersion: '3.0.11-1~deb12u2',
        range: advisories[0]!.affected![0]!.ranges![0],
      },
    });
  });

  it('open and unfixed: not_fixed; no fix coming: wont_fix', () => {
    const open = result.findings.find((x) => x.advisoryId === 'DEBIAN-CVE-2099-0003')!;
    expect(open).toMatchObject({
      fixState: 'not_fixed',
      fixedVersions: [],
      severity: 'negligible',
      severitySource: 'distro',
      explanation: { searchedName: 'glibc', viaSource: true },
    });
    const eol = result.findings.find((x) => x.advisoryId === 'DEBIAN-CVE-2099-0006')!;
    expect(eol).toMatchObject({
      fixState: 'wont_fix',
      severity: 'unknown',
      severitySource: 'none',
    });
  });
});

describe('source and binary names', () => {
  const libc6 = pkg('deb', 'libc6', '2.36-9+deb12u4', { name: 'glibc', version: '2.36-9+deb12u4' });
  const inventory: Inventory = { distro: distro('debian', '12'), packages: [libc6], warnings: [] };

  it('also tries the binary name (written for this test: a record keyed by binary)', () => {
    const byBinary = written('TEST-BIN-1', 'Debian:12', 'libc6', '2.36-9+deb12u5');
    const { findings } = matchInventory(inventory, new MemoryAdvisoryIndex([byBinary]));
    expect(findings).toHaveLength(1);
    expect(findings[0]!.explanation).toMatchObject({
      searchedName: 'libc6',
      viaSource: false,
      searchedVersion: '2.36-9+deb12u4',
    });
  });

  it('one finding per (package, advisory) when source and binary both match', () => {
    const both = written('TEST-BOTH-1', 'Debian:12', 'glibc', '2.36-9+deb12u5');
    both.affected!.push({
      package: { ecosystem: 'Debian:12', name: 'libc6' },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.36-9+deb12u6' }] }],
    });
    const { findings } = matchInventory(inventory, new MemoryAdvisoryIndex([both]));
    expect(findings).toHaveLength(1);
    expect(findings[0]!.explanation).toMatchObject({ searchedName: 'glibc', viaSource: true });
    expect(findings[0]!.fixedVersions).toEqual(['2.36-9+deb12u5']);
  });

  it('the source entry decides: a binary entry does not overrule "fixed"', () => {
    const both = written('TEST-BOTH-2', 'Debian:12', 'glibc', '2.36-9+deb12u2');
    both.affected!.push({
      package: { ecosystem: 'Debian:12', name: 'libc6' },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
    });
    expect(matchInventory(inventory, new MemoryAdvisoryIndex([both])).findings).toEqual([]);
  });

  it('a binNMU: the source version, not the binary one, is compared', () => {
    const binnmu = pkg('deb', 'zlib1g', '1:1.2.13.dfsg-1+b1', {
      name: 'zlib',
      version: '1:1.2.13.dfsg-1',
    });
    // written for this test: fixed in the binNMU's binary version, which the source never had
    const adv = written('TEST-ZLIB-1', 'Debian:12', 'zlib', '1:1.2.13.dfsg-1+b1');
    const { findings } = matchInventory(
      { distro: distro('debian', '12'), packages: [binnmu], warnings: [] },
      new MemoryAdvisoryIndex([adv]),
    );
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      installedVersion: '1:1.2.13.dfsg-1+b1',
      explanation: { searchedVersion: '1:1.2.13.dfsg-1', viaSource: true },
    });
  });

  it('a package that is its own source is not "via source"', () => {
    const openssl = pkg('deb', 'openssl', '3.0.11-1~deb12u2', {
      name: 'openssl',
      version: '3.0.11-1~deb12u2',
    });
    const adv = written('TEST-SELF-1', 'Debian:12', 'openssl', '3.0.13-1~deb12u1');
    const { findings } = matchInventory(
      { distro: distro('debian', '12'), packages: [openssl], warnings: [] },
      new MemoryAdvisoryIndex([adv]),
    );
    expect(findings[0]!.explanation.viaSource).toBe(false);
  });
});

describe('Alpine: matched by origin at the package version', () => {
  const libcrypto3 = pkg('apk', 'libcrypto3', '3.3.2-r0', { name: 'openssl' });
  const libssl3 = pkg('apk', 'libssl3', '3.3.2-r0', { name: 'openssl' });
  const busybox = pkg('apk', 'busybox', '1.36.1-r29', { name: 'busybox' });
  const inventory: Inventory = {
    distro: distro('alpine', '3.20.3'),
    packages: [libssl3, busybox, libcrypto3],
    warnings: [],
  };
  // written for this test
  const advisories = [
    written('TEST-APK-1', 'Alpine:v3.20', 'openssl', '3.3.2-r1'),
    written('TEST-APK-2', 'Alpine:v3.20', 'busybox', '1.36.1-r29'),
    written('TEST-APK-3', 'Alpine:v3.19', 'openssl', '3.3.9-r0'),
  ];

  it('every subpackage of the origin gets its own finding', () => {
    const { findings, warnings } = matchInventory(inventory, new MemoryAdvisoryIndex(advisories));
    expect(warnings).toEqual([]);
    expect(byKey(findings)).toEqual(['libcrypto3 TEST-APK-1', 'libssl3 TEST-APK-1']);
    for (const f of findings) {
      expect(f).toMatchObject({
        fixedVersions: ['3.3.2-r1'],
        fixState: 'fixed',
        explanation: {
          ecosystem: 'Alpine:v3.20',
          searchedName: 'openssl',
          viaSource: true,
          searchedVersion: '3.3.2-r0',
        },
      });
    }
  });

  it('a real record: CVE-2012-2812 (libexif) on Alpine 3.10', () => {
    const libexif = pkg('apk', 'libexif', '0.6.20-r0', { name: 'libexif' });
    const { findings } = matchInventory(
      { distro: distro('alpine', '3.10.9'), packages: [libexif], warnings: [] },
      new MemoryAdvisoryIndex([record('CVE-2012-2812.json')]),
    );
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      advisoryId: 'CVE-2012-2812',
      identifiers: ['CVE-2012-2812'],
      fixedVersions: ['0.6.21-r0'],
      fixState: 'fixed',
      severity: 'unknown',
      explanation: { ecosystem: 'Alpine:v3.10', viaSource: false },
    });
  });
});

describe('rpm: source rpm name, binary EVR with its epoch', () => {
  // The rpm analyzer's source version comes from the source rpm file name and has no epoch; the
  // binary's full EVR is compared instead.
  const libs = pkg(
    'rpm',
    'openssl-libs',
    '1:3.0.7-27.el9',
    { name: 'openssl', version: '3.0.7-27.el9' },
    {
      epoch: 1,
      release: '27.el9',
      arch: 'x86_64',
    },
  );
  const inventory: Inventory = { distro: distro('rocky', '9.3'), packages: [libs], warnings: [] };
  // written for this test
  const advisories = [
    written('TEST-RPM-1', 'Rocky Linux:9', 'openssl', '1:3.0.7-25.el9'), // already fixed
    written('TEST-RPM-2', 'Rocky Linux:9', 'openssl', '1:3.0.7-28.el9'), // not yet
  ];

  it('the epoch decides: 1:3.0.7-27 is past 1:3.0.7-25 (3.0.7-27 without epoch would not be)', () => {
    const { findings, warnings } = matchInventory(inventory, new MemoryAdvisoryIndex(advisories));
    expect(warnings).toEqual([]);
    expect(byKey(findings)).toEqual(['openssl-libs TEST-RPM-2']);
    expect(findings[0]).toMatchObject({
      installedVersion: '1:3.0.7-27.el9',
      fixedVersions: ['1:3.0.7-28.el9'],
      explanation: { searchedName: 'openssl', viaSource: true, searchedVersion: '1:3.0.7-27.el9' },
    });
  });

  it('a real record: ALSA-2024:2433 (avahi) on AlmaLinux 9, rated by its summary', () => {
    const avahiLibs = pkg('rpm', 'avahi-libs', '0.8-12.el9', {
      name: 'avahi',
      version: '0.8-12.el9',
    });
    const { findings } = matchInventory(
      { distro: distro('almalinux', '9.3'), packages: [avahiLibs], warnings: [] },
      new MemoryAdvisoryIndex([record('ALSA-2024_2433.json')]),
    );
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      advisoryId: 'ALSA-2024:2433',
      fixedVersions: ['0.8-20.el9'],
      severity: 'medium',
      severitySource: 'distro',
      explanation: { ecosystem: 'AlmaLinux:9', searchedName: 'avahi', viaSource: true },
    });
  });
});

describe('Ubuntu: the standard release first, Ubuntu Pro when it has no entry', () => {
  const libc6 = pkg('deb', 'libc6', '2.35-0ubuntu3.8', {
    name: 'glibc',
    version: '2.35-0ubuntu3.8',
  });
  const netty = pkg('deb', 'libnetty-java', '1:4.1.48-4+deb11u1', {
    name: 'netty',
    version: '1:4.1.48-4+deb11u1',
  });
  const inventory: Inventory = {
    distro: distro('ubuntu', '22.04'),
    packages: [netty, libc6],
    warnings: [],
  };

  it('real records: UBUNTU-CVE-2016-20013 (glibc) and UBUNTU-CVE-2022-24823 (netty, Pro only)', () => {
    const { findings } = matchInventory(
      inventory,
      new MemoryAdvisoryIndex([
        record('UBUNTU-CVE-2016-20013.json'),
        record('UBUNTU-CVE-2022-24823.json'),
      ]),
    );
    expect(byKey(findings)).toEqual([
      'libc6 UBUNTU-CVE-2016-20013',
      'libnetty-java UBUNTU-CVE-2022-24823',
    ]);
    const [glibc, nettyFinding] = findings;
    expect(glibc).toMatchObject({
      identifiers: ['CVE-2016-20013', 'UBUNTU-CVE-2016-20013'], // the CVE is in `upstream`
      fixState: 'not_fixed',
      severity: 'negligible',
      severitySource: 'distro',
      explanation: { ecosystem: 'Ubuntu:22.04:LTS', searchedName: 'glibc' },
    });
    expect(nettyFinding).toMatchObject({
      fixedVersions: ['1:4.1.48-4+deb11u2ubuntu0.1~esm1'],
      fixState: 'fixed',
      severity: 'low',
      explanation: { ecosystem: 'Ubuntu:Pro:22.04:LTS', searchedName: 'netty' },
    });
  });

  it('a standard entry saying "fixed" is not overruled by a Pro entry (written for this test)', () => {
    const adv = written('TEST-UBU-1', 'Ubuntu:22.04:LTS', 'glibc', '2.35-0ubuntu3.1');
    adv.affected!.push({
      package: { ecosystem: 'Ubuntu:Pro:22.04:LTS', name: 'glibc' },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
    });
    expect(matchInventory(inventory, new MemoryAdvisoryIndex([adv])).findings).toEqual([]);
  });
});

describe('what cannot be matched is said, not guessed', () => {
  const libc6 = pkg('deb', 'libc6', '2.36-9', { name: 'glibc', version: '2.36-9' });

  it('no distribution', () => {
    const result = matchInventory({ packages: [libc6], warnings: [] }, new MemoryAdvisoryIndex());
    expect(result).toEqual({
      findings: [],
      warnings: ['no distribution found (os-release): OS packages not matched'],
    });
  });

  it('a distribution with no OSV ecosystem', () => {
    const rpm = pkg('rpm', 'bash', '5.2.15-1.amzn2023.0.2');
    const result = matchInventory(
      { distro: distro('amzn', '2023'), packages: [rpm], warnings: [] },
      new MemoryAdvisoryIndex([written('TEST-AMZN-1', 'Amazon Linux:2023', 'bash', undefined)]),
    );
    expect(result.findings).toEqual([]);
    expect(result.warnings).toEqual([
      '"amzn 2023": OSV has no advisory ecosystem regscan maps it to: OS packages not matched',
    ]);
  });

  it('the ecosystems can be given instead', () => {
    const rpm = pkg('rpm', 'bash', '5.2.15-1.amzn2023.0.2');
    const result = matchInventory(
      { distro: distro('amzn', '2023'), packages: [rpm], warnings: [] },
      new MemoryAdvisoryIndex([written('TEST-AMZN-1', 'Amazon Linux:2023', 'bash', undefined)]),
      { osEcosystems: { packageType: 'rpm', tiers: [['Amazon Linux:2023']] } },
    );
    expect(byKey(result.findings)).toEqual(['bash TEST-AMZN-1']);
    expect(result.warnings).toEqual([]);
  });

  it("packages of another package manager than the distribution's", () => {
    const apk = pkg('apk', 'musl', '1.2.5-r0');
    const result = matchInventory(
      { distro: distro('debian', '12'), packages: [apk], warnings: [] },
      new MemoryAdvisoryIndex(),
    );
    expect(result.warnings).toEqual([
      'apk package "musl": the distribution\'s packages are deb; not matched',
    ]);
  });

  it('an advisory with an invalid event version: skipped with a warning, once', () => {
    // written for this test
    const bad = written('TEST-BAD-1', 'Debian:12', 'glibc', 'not a version!');
    const libcBin = pkg('deb', 'libc-bin', '2.36-9', { name: 'glibc', version: '2.36-9' });
    const result = matchInventory(
      { distro: distro('debian', '12'), packages: [libc6, libcBin], warnings: [] },
      new MemoryAdvisoryIndex([bad]),
    );
    expect(result.findings).toEqual([]);
    expect(result.warnings).toEqual([
      'TEST-BAD-1: affected[0].ranges[0]: events[1] fixed "not a version!" is not a valid deb version; range skipped',
    ]);
  });
});

describe('determinism and purity', () => {
  const packages = [
    pkg('deb', 'libssl3', '3.0.11-1', { name: 'openssl', version: '3.0.11-1' }),
    pkg('deb', 'openssl', '3.0.11-1', { name: 'openssl', version: '3.0.11-1' }),
    pkg('deb', 'libc6', '2.36-9', { name: 'glibc', version: '2.36-9' }),
    pkg('deb', 'libc-bin', '2.36-9', { name: 'glibc', version: '2.36-9' }),
  ];
  // written for this test
  const advisories = [
    written('TEST-ORD-3', 'Debian:12', 'openssl', undefined),
    written('TEST-ORD-1', 'Debian:12', 'glibc', undefined),
    written('TEST-ORD-2', 'Debian:12', 'openssl', '3.0.12-1'),
  ];

  it('the same findings in the same order whatever the input order', () => {
    const a = matchInventory(
      { distro: distro('debian', '12'), packages, warnings: [] },
      new MemoryAdvisoryIndex(advisories),
    );
    const b = matchInventory(
      { distro: distro('debian', '12'), packages: [...packages].reverse(), warnings: [] },
      new MemoryAdvisoryIndex([...advisories].reverse()),
    );
    expect(byKey(a.findings)).toEqual([
      'libc-bin TEST-ORD-1',
      'libc6 TEST-ORD-1',
      'libssl3 TEST-ORD-2',
      'libssl3 TEST-ORD-3',
      'openssl TEST-ORD-2',
      'openssl TEST-ORD-3',
    ]);
    expect(b.findings).toEqual(a.findings);
  });

  it('does not change its inputs', () => {
    const inventory: Inventory = { distro: distro('debian', '12'), packages, warnings: [] };
    const before = JSON.stringify([inventory, advisories]);
    matchInventory(inventory, new MemoryAdvisoryIndex(advisories));
    expect(JSON.stringify([inventory, advisories])).toBe(before);
  });
});

describe('identifiers', () => {
  it.each<[Partial<Advisory>, string[]]>([
    [
      { id: 'GHSA-jf85-cpcp-j695', aliases: ['CVE-2019-10744'] },
      ['CVE-2019-10744', 'GHSA-jf85-cpcp-j695'],
    ],
    [{ id: 'CVE-2012-2812' }, ['CVE-2012-2812']],
    [
      { id: 'RUSTSEC-2023-0090', aliases: ['CVE-2023-26489', 'GHSA-ff4p-7xrq-q5r8'] },
      ['CVE-2023-26489', 'RUSTSEC-2023-0090', 'GHSA-ff4p-7xrq-q5r8'],
    ],
    [
      { id: 'CGA-1', upstream: ['CVE-2025-1', 'GHSA-x'], aliases: ['CVE-2025-1'] },
      ['CVE-2025-1', 'CGA-1', 'GHSA-x'],
    ],
  ])('%j → %j', (advisory, expected) => {
    expect(identifiersOf({ modified: '2024-01-01T00:00:00Z', ...advisory } as Advisory)).toEqual(
      expected,
    );
  });
});

describe('language ecosystems', () => {
  const defined = new Set(
    Object.keys(
      JSON.parse(readFileSync(new URL('ecosystems.json', FIXTURES), 'utf8')) as Record<
        string,
        string
      >,
    ),
  );
  it.each(Object.entries(LANGUAGE_ECOSYSTEMS))('purl type %s → OSV %s', (_type, ecosystem) => {
    expect(defined.has(ecosystem)).toBe(true);
  });

  it('every one but Packagist has a version scheme', () => {
    const without = Object.values(LANGUAGE_ECOSYSTEMS).filter((e) => !schemeFor(e));
    expect(without).toEqual(['Packagist']);
  });
});
