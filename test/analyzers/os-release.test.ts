import { describe, expect, it } from 'vitest';
import { osReleaseAnalyzer } from '../../src/inventory/analyzers/os-release.js';

async function analyze(path: string, text: string) {
  const content = Buffer.from(text);
  return osReleaseAnalyzer.analyze({ path, content }, new Map([[path, content]]));
}

const DEBIAN_12 = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`;
const UBUNTU = `NAME="Ubuntu"\nVERSION="22.04.4 LTS (Jammy Jellyfish)"\nID=ubuntu\nID_LIKE=debian\nPRETTY_NAME="Ubuntu 22.04.4 LTS"\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\n`;
const ALPINE = `NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n`;
const ROCKY = `NAME="Rocky Linux"\nVERSION="9.4 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\nPRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n`;

describe('os-release analyzer', () => {
  it.each([
    ['etc/os-release', true],
    ['usr/lib/os-release', true],
    ['etc/alpine-release', true],
    ['etc/redhat-release', true],
    ['etc/debian_version', true],
    ['etc/os-release.d/x', false],
    ['usr/share/os-release', false],
  ])('wants(%s) = %s', (path, expected) => {
    expect(osReleaseAnalyzer.wants(path)).toBe(expected);
  });

  const cases: [string, string, string, object | undefined][] = [
    [
      'Debian 12',
      'etc/os-release',
      DEBIAN_12,
      {
        id: 'debian',
        versionId: '12',
        codename: 'bookworm',
        name: 'Debian GNU/Linux 12 (bookworm)',
      },
    ],
    [
      'Ubuntu',
      'usr/lib/os-release',
      UBUNTU,
      {
        id: 'ubuntu',
        versionId: '22.04',
        codename: 'jammy',
        name: 'Ubuntu 22.04.4 LTS',
        idLike: ['debian'],
      },
    ],
    [
      'Alpine',
      'etc/os-release',
      ALPINE,
      { id: 'alpine', versionId: '3.20.3', name: 'Alpine Linux v3.20' },
    ],
    [
      'Rocky',
      'etc/os-release',
      ROCKY,
      {
        id: 'rocky',
        versionId: '9.4',
        name: 'Rocky Linux 9.4 (Blue Onyx)',
        idLike: ['rhel', 'centos', 'fedora'],
      },
    ],
    [
      'single quotes and escapes',
      'etc/os-release',
      `ID='x'\nNAME="a \\"b\\""\n# comment\n`,
      { id: 'x', name: 'a "b"' },
    ],
    ['alpine-release', 'etc/alpine-release', '3.18.4\n', { id: 'alpine', versionId: '3.18.4' }],
    ['debian_version', 'etc/debian_version', '12.15\n', { id: 'debian', versionId: '12' }],
    ['debian_version on testing', 'etc/debian_version', 'trixie/sid\n', { id: 'debian' }],
    [
      'CentOS',
      'etc/redhat-release',
      'CentOS Linux release 7.9.2009 (Core)\n',
      { id: 'centos', versionId: '7.9.2009', name: 'CentOS Linux release 7.9.2009 (Core)' },
    ],
    [
      'RHEL',
      'etc/redhat-release',
      'Red Hat Enterprise Linux release 8.10 (Ootpa)',
      { id: 'rhel', versionId: '8.10', name: 'Red Hat Enterprise Linux release 8.10 (Ootpa)' },
    ],
    ['no ID', 'etc/os-release', 'NAME=x\n', undefined],
    ['garbage redhat-release', 'etc/redhat-release', 'hello', undefined],
  ];
  it.each(cases)('%s', async (_name, path, text, expected) => {
    const out = await analyze(path, text);
    expect(out.distro).toEqual(expected);
    if (!expected) expect(out.warnings?.length).toBe(1);
  });
});
