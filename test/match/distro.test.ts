import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Advisory } from '../../src/advisories/osv.js';
import type { Distro } from '../../src/inventory/types.js';
import { distroEcosystems, isUbuntuLts } from '../../src/match/distro.js';
import { schemeFor } from '../../src/versions/index.js';

const FIXTURES = new URL('../fixtures/advisories/match/', import.meta.url);
const read = (file: string): unknown => JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8'));

const distro = (id: string, versionId?: string, codename?: string): Distro => ({
  id,
  ...(versionId === undefined ? {} : { versionId }),
  ...(codename === undefined ? {} : { codename }),
  path: 'etc/os-release',
});

const RHEL9 = [
  'Red Hat:enterprise_linux:9::baseos',
  'Red Hat:enterprise_linux:9::appstream',
  'Red Hat:enterprise_linux:9::crb',
  'Red Hat:enterprise_linux:9',
];

const SUPPORTED: [string, Distro, 'deb' | 'apk' | 'rpm', string[][]][] = [
  ['debian 12', distro('debian', '12', 'bookworm'), 'deb', [['Debian:12']]],
  ['debian 11', distro('debian', '11'), 'deb', [['Debian:11']]],
  ['debian 12.5 (major only)', distro('debian', '12.5'), 'deb', [['Debian:12']]],
  ['debian testing: codename', distro('debian', undefined, 'trixie'), 'deb', [['Debian:13']]],
  ['debian sid', distro('debian', undefined, 'sid'), 'deb', [['Debian:sid']]],
  [
    'ubuntu 22.04 LTS',
    distro('ubuntu', '22.04', 'jammy'),
    'deb',
    [['Ubuntu:22.04:LTS', 'Ubuntu:22.04'], ['Ubuntu:Pro:22.04:LTS']],
  ],
  [
    'ubuntu 24.04 LTS',
    distro('ubuntu', '24.04'),
    'deb',
    [['Ubuntu:24.04:LTS', 'Ubuntu:24.04'], ['Ubuntu:Pro:24.04:LTS']],
  ],
  [
    'ubuntu 18.04 LTS',
    distro('ubuntu', '18.04'),
    'deb',
    [['Ubuntu:18.04:LTS', 'Ubuntu:18.04'], ['Ubuntu:Pro:18.04:LTS']],
  ],
  ['ubuntu 25.10 (interim)', distro('ubuntu', '25.10'), 'deb', [['Ubuntu:25.10']]],
  ['ubuntu 23.04 (interim, odd year)', distro('ubuntu', '23.04'), 'deb', [['Ubuntu:23.04']]],
  ['alpine 3.20.3', distro('alpine', '3.20.3'), 'apk', [['Alpine:v3.20']]],
  ['alpine 3.9.0', distro('alpine', '3.9.0'), 'apk', [['Alpine:v3.9']]],
  ['alpine 3.19 (no patch)', distro('alpine', '3.19'), 'apk', [['Alpine:v3.19']]],
  ['alpine edge', distro('alpine', '3.21.0_alpha20240807'), 'apk', [['Alpine:v3.21']]],
  ['rhel 9.4', distro('rhel', '9.4'), 'rpm', [[...RHEL9, 'Red Hat:enterprise_linux:9.4']]],
  ['rhel 9', distro('rhel', '9'), 'rpm', [RHEL9]],
  [
    'rhel 10.0',
    distro('rhel', '10.0'),
    'rpm',
    [
      [
        'Red Hat:enterprise_linux:10::baseos',
        'Red Hat:enterprise_linux:10::appstream',
        'Red Hat:enterprise_linux:10::crb',
        'Red Hat:enterprise_linux:10',
        'Red Hat:enterprise_linux:10.0',
      ],
    ],
  ],
  [
    'rhel 7.9',
    distro('rhel', '7.9'),
    'rpm',
    [
      [
        'Red Hat:enterprise_linux:7::server',
        'Red Hat:enterprise_linux:7',
        'Red Hat:enterprise_linux:7.9',
      ],
    ],
  ],
  ['rocky 9.3', distro('rocky', '9.3'), 'rpm', [['Rocky Linux:9']]],
  ['rocky 8.10', distro('rocky', '8.10'), 'rpm', [['Rocky Linux:8']]],
  ['almalinux 9.4', distro('almalinux', '9.4'), 'rpm', [['AlmaLinux:9']]],
  ['almalinux 10.0', distro('almalinux', '10.0'), 'rpm', [['AlmaLinux:10']]],
  ['wolfi', distro('wolfi', '20230201'), 'apk', [['Wolfi']]],
  ['chainguard', distro('chainguard'), 'apk', [['Chainguard', 'Wolfi']]],
  ['mageia 9', distro('mageia', '9'), 'rpm', [['Mageia:9']]],
  ['ID in upper case', distro('Debian', '12'), 'deb', [['Debian:12']]],
];

describe('distroEcosystems: supported distributions', () => {
  it.each(SUPPORTED)('%s', (_name, d, packageType, tiers) => {
    expect(distroEcosystems(d)).toEqual({ supported: true, packageType, tiers });
  });

  const defined = new Set(Object.keys(read('ecosystems.json') as Record<string, string>));
  it.each(SUPPORTED)('%s: every ecosystem is defined by OSV and has a version scheme', (_n, d) => {
    const mapping = distroEcosystems(d);
    if (!mapping.supported) throw new Error('unsupported');
    for (const ecosystem of mapping.tiers.flat()) {
      expect(defined.has(ecosystem.split(':')[0]!), ecosystem).toBe(true);
      expect(schemeFor(ecosystem)?.id, ecosystem).toBe(mapping.packageType);
    }
  });
});

describe('distroEcosystems: unsupported distributions say why', () => {
  it.each([
    ['amazon linux', distro('amzn', '2023'), /no advisory ecosystem/],
    ['oracle linux', distro('ol', '9.4'), /no advisory ecosystem/],
    ['centos', distro('centos', '7'), /no advisory ecosystem/],
    ['fedora', distro('fedora', '40'), /no advisory ecosystem/],
    ['sles', distro('sles', '15.6'), /no advisory ecosystem/],
    ['photon (no version scheme yet)', distro('photon', '5.0'), /no advisory ecosystem/],
    ['debian without version or codename', distro('debian'), /no release version/],
    ['debian with an unknown codename', distro('debian', undefined, 'nonesuch'), /no release/],
    ['ubuntu without version', distro('ubuntu'), /no release version/],
    ['ubuntu with a strange version', distro('ubuntu', 'jammy'), /no release version/],
    ['alpine without version', distro('alpine'), /no release version/],
    ['rhel without version', distro('rhel'), /no release version/],
  ])('%s', (_name, d, reason) => {
    const mapping = distroEcosystems(d);
    expect(mapping.supported).toBe(false);
    if (!mapping.supported) expect(mapping.reason).toMatch(reason);
  });

  it('quotes and clips the untrusted distro text', () => {
    const mapping = distroEcosystems(distro('x"<y>', 'v'.repeat(200)));
    if (mapping.supported) throw new Error('supported');
    expect(mapping.reason.startsWith('"x\\"<y>')).toBe(true);
    expect(mapping.reason.length).toBeLessThan(200);
  });
});

describe('isUbuntuLts', () => {
  it.each([
    ['6.06', true],
    ['8.04', true],
    ['14.04', true],
    ['22.04', true],
    ['24.04', true],
    ['26.04', true],
    ['21.04', false],
    ['22.10', false],
    ['25.10', false],
  ])('%s → %s', (release, lts) => {
    expect(isUbuntuLts(release)).toBe(lts);
  });
});

describe('the ecosystems real records use are the ones searched', () => {
  function ecosystemsOf(file: string): string[] {
    const adv = read(file) as Advisory;
    return [...new Set((adv.affected ?? []).map((a) => a.package?.ecosystem ?? ''))];
  }
  const searched = (d: Distro): string[] => {
    const m = distroEcosystems(d);
    return m.supported ? m.tiers.flat() : [];
  };

  it('Ubuntu LTS and Pro (UBUNTU-CVE-2016-20013, UBUNTU-CVE-2022-24823)', () => {
    const used = [
      ...ecosystemsOf('UBUNTU-CVE-2016-20013.json'),
      ...ecosystemsOf('UBUNTU-CVE-2022-24823.json'),
    ];
    for (const ecosystem of used) {
      const m = /^Ubuntu:(?:Pro:)?(\d+\.\d+)(?::LTS)?$/.exec(ecosystem);
      expect(m, ecosystem).not.toBeNull();
      expect(searched(distro('ubuntu', m![1])), ecosystem).toContain(ecosystem);
    }
    expect(used).toContain('Ubuntu:22.04:LTS');
    expect(used).toContain('Ubuntu:Pro:22.04:LTS');
    expect(used).toContain('Ubuntu:25.10');
  });

  it('Alpine (CVE-2012-2812)', () => {
    for (const ecosystem of ecosystemsOf('CVE-2012-2812.json')) {
      const release = ecosystem.replace(/^Alpine:v/, '');
      expect(searched(distro('alpine', `${release}.1`))).toEqual([ecosystem]);
    }
  });

  it('Debian (DSA-3029-1, CVE-2024-3847) and AlmaLinux (ALSA-2024_2433)', () => {
    expect(ecosystemsOf('DSA-3029-1.json')).toEqual(['Debian:7']);
    expect(searched(distro('debian', '7'))).toEqual(['Debian:7']);
    expect(ecosystemsOf('CVE-2024-3847.json')).toEqual(['Debian:10', 'Debian:11']);
    expect(searched(distro('debian', '10'))).toEqual(['Debian:10']);
    expect(ecosystemsOf('ALSA-2024_2433.json')).toEqual(['AlmaLinux:9']);
    expect(searched(distro('almalinux', '9.3'))).toEqual(['AlmaLinux:9']);
  });
});
