import { PackageURL } from 'packageurl-js';
import { describe, expect, it } from 'vitest';
import { ociPurlFor, purlFor } from '../src/inventory/purl.js';
import type { AnalyzedPackage, Distro, ImageMetadata } from '../src/inventory/types.js';

const debian12: Distro = {
  id: 'debian',
  versionId: '12',
  codename: 'bookworm',
  name: 'Debian GNU/Linux 12 (bookworm)',
  path: 'etc/os-release',
};
const debianSid: Distro = { id: 'debian', codename: 'trixie', path: 'etc/os-release' };
const ubuntu2204: Distro = { id: 'ubuntu', versionId: '22.04', path: 'etc/os-release' };
const alpine: Distro = { id: 'alpine', versionId: '3.20.3', path: 'etc/os-release' };
const wolfi: Distro = { id: 'wolfi', versionId: '20230201', path: 'etc/os-release' };
const rhel: Distro = { id: 'rhel', versionId: '9.4', path: 'etc/os-release' };
const rocky: Distro = { id: 'rocky', versionId: '9.3', path: 'etc/os-release' };
const amzn: Distro = { id: 'amzn', versionId: '2023', path: 'etc/os-release' };
const leap: Distro = { id: 'opensuse-leap', versionId: '15.6', path: 'etc/os-release' };
const sles: Distro = { id: 'sles', versionId: '15.5', path: 'etc/os-release' };
const fedora: Distro = { id: 'fedora', versionId: '40', path: 'etc/os-release' };

interface Components {
  type: string;
  namespace?: string;
  name: string;
  version: string;
  qualifiers: Record<string, string>;
}

interface Case {
  what: string;
  pkg: AnalyzedPackage;
  distro?: Distro;
  purl: string;
  /** What the purl must parse back to. */
  parsed: Components;
}

const cases: Case[] = [
  {
    what: 'deb: the issue example, ~ left bare',
    pkg: { type: 'deb', name: 'openssl', version: '3.0.15-1~deb12u1', arch: 'amd64' },
    distro: debian12,
    purl: 'pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12',
    parsed: {
      type: 'deb',
      namespace: 'debian',
      name: 'openssl',
      version: '3.0.15-1~deb12u1',
      qualifiers: { arch: 'amd64', distro: 'debian-12' },
    },
  },
  {
    what: 'deb: epoch stays in the version, + percent-encoded, source with its own version',
    pkg: {
      type: 'deb',
      name: 'login',
      version: '1:4.13+dfsg1-1+b1',
      arch: 'amd64',
      source: { name: 'shadow', version: '1:4.13+dfsg1-1' },
    },
    distro: debian12,
    purl: 'pkg:deb/debian/login@1:4.13%2Bdfsg1-1%2Bb1?arch=amd64&distro=debian-12&upstream=shadow%401:4.13%2Bdfsg1-1',
    parsed: {
      type: 'deb',
      namespace: 'debian',
      name: 'login',
      version: '1:4.13+dfsg1-1+b1',
      qualifiers: { arch: 'amd64', distro: 'debian-12', upstream: 'shadow@1:4.13+dfsg1-1' },
    },
  },
  {
    what: 'deb: + in the name, source named differently',
    pkg: {
      type: 'deb',
      name: 'libstdc++6',
      version: '12.2.0-14+deb12u1',
      arch: 'amd64',
      source: { name: 'gcc-12' },
    },
    distro: debian12,
    purl: 'pkg:deb/debian/libstdc%2B%2B6@12.2.0-14%2Bdeb12u1?arch=amd64&distro=debian-12&upstream=gcc-12',
    parsed: {
      type: 'deb',
      namespace: 'debian',
      name: 'libstdc++6',
      version: '12.2.0-14+deb12u1',
      qualifiers: { arch: 'amd64', distro: 'debian-12', upstream: 'gcc-12' },
    },
  },
  {
    what: 'deb: source equal to the binary package is not repeated',
    pkg: {
      type: 'deb',
      name: 'tzdata',
      version: '2024a-0+deb12u1',
      arch: 'all',
      source: { name: 'tzdata', version: '2024a-0+deb12u1' },
    },
    distro: debian12,
    purl: 'pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12',
    parsed: {
      type: 'deb',
      namespace: 'debian',
      name: 'tzdata',
      version: '2024a-0+deb12u1',
      qualifiers: { arch: 'all', distro: 'debian-12' },
    },
  },
  {
    what: 'deb: Ubuntu vendor and release',
    pkg: { type: 'deb', name: 'bash', version: '5.1-6ubuntu1.1', arch: 'amd64' },
    distro: ubuntu2204,
    purl: 'pkg:deb/ubuntu/bash@5.1-6ubuntu1.1?arch=amd64&distro=ubuntu-22.04',
    parsed: {
      type: 'deb',
      namespace: 'ubuntu',
      name: 'bash',
      version: '5.1-6ubuntu1.1',
      qualifiers: { arch: 'amd64', distro: 'ubuntu-22.04' },
    },
  },
  {
    what: 'deb: no VERSION_ID (testing/sid) uses the codename',
    pkg: { type: 'deb', name: 'dash', version: '0.5.12-9', arch: 'arm64' },
    distro: debianSid,
    purl: 'pkg:deb/debian/dash@0.5.12-9?arch=arm64&distro=debian-trixie',
    parsed: {
      type: 'deb',
      namespace: 'debian',
      name: 'dash',
      version: '0.5.12-9',
      qualifiers: { arch: 'arm64', distro: 'debian-trixie' },
    },
  },
  {
    what: 'deb: unknown distro, the purl-spec canonical example',
    pkg: { type: 'deb', name: 'attr', version: '1:2.4.47-2+b1', arch: 'amd64' },
    purl: 'pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64',
    parsed: {
      type: 'deb',
      namespace: 'debian',
      name: 'attr',
      version: '1:2.4.47-2+b1',
      qualifiers: { arch: 'amd64' },
    },
  },
  {
    what: 'deb: the name is lower-cased (deb names are case-insensitive)',
    pkg: { type: 'deb', name: 'Foo', version: '1.0', arch: 'amd64' },
    distro: debian12,
    purl: 'pkg:deb/debian/foo@1.0?arch=amd64&distro=debian-12',
    parsed: {
      type: 'deb',
      namespace: 'debian',
      name: 'foo',
      version: '1.0',
      qualifiers: { arch: 'amd64', distro: 'debian-12' },
    },
  },
  {
    what: 'apk: alpine, distro = release',
    pkg: { type: 'apk', name: 'musl', version: '1.2.5-r0', arch: 'x86_64' },
    distro: alpine,
    purl: 'pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=3.20.3',
    parsed: {
      type: 'apk',
      namespace: 'alpine',
      name: 'musl',
      version: '1.2.5-r0',
      qualifiers: { arch: 'x86_64', distro: '3.20.3' },
    },
  },
  {
    what: 'apk: origin differing from the package',
    pkg: {
      type: 'apk',
      name: 'libcrypto3',
      version: '3.3.2-r0',
      arch: 'x86_64',
      source: { name: 'openssl' },
    },
    distro: alpine,
    purl: 'pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=3.20.3&upstream=openssl',
    parsed: {
      type: 'apk',
      namespace: 'alpine',
      name: 'libcrypto3',
      version: '3.3.2-r0',
      qualifiers: { arch: 'x86_64', distro: '3.20.3', upstream: 'openssl' },
    },
  },
  {
    what: 'apk: wolfi vendor',
    pkg: { type: 'apk', name: 'glibc', version: '2.39-r5', arch: 'aarch64' },
    distro: wolfi,
    purl: 'pkg:apk/wolfi/glibc@2.39-r5?arch=aarch64&distro=20230201',
    parsed: {
      type: 'apk',
      namespace: 'wolfi',
      name: 'glibc',
      version: '2.39-r5',
      qualifiers: { arch: 'aarch64', distro: '20230201' },
    },
  },
  {
    what: 'apk: unknown distro defaults to alpine without a distro qualifier',
    pkg: { type: 'apk', name: 'busybox', version: '1.36.1-r29', arch: 'x86_64' },
    purl: 'pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64',
    parsed: {
      type: 'apk',
      namespace: 'alpine',
      name: 'busybox',
      version: '1.36.1-r29',
      qualifiers: { arch: 'x86_64' },
    },
  },
  {
    what: 'rpm: RHEL is redhat, epoch into a qualifier, version without it',
    pkg: {
      type: 'rpm',
      name: 'openssl-libs',
      version: '1:3.0.7-27.el9',
      epoch: 1,
      release: '27.el9',
      arch: 'x86_64',
      source: { name: 'openssl', version: '3.0.7-27.el9' },
    },
    distro: rhel,
    purl: 'pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rhel-9.4&epoch=1&upstream=openssl',
    parsed: {
      type: 'rpm',
      namespace: 'redhat',
      name: 'openssl-libs',
      version: '3.0.7-27.el9',
      qualifiers: { arch: 'x86_64', distro: 'rhel-9.4', epoch: '1', upstream: 'openssl' },
    },
  },
  {
    what: 'rpm: epoch read from the version when the field is absent',
    pkg: { type: 'rpm', name: 'shadow-utils', version: '2:4.9-8.el9', arch: 'x86_64' },
    distro: rocky,
    purl: 'pkg:rpm/rocky/shadow-utils@4.9-8.el9?arch=x86_64&distro=rocky-9.3&epoch=2',
    parsed: {
      type: 'rpm',
      namespace: 'rocky',
      name: 'shadow-utils',
      version: '4.9-8.el9',
      qualifiers: { arch: 'x86_64', distro: 'rocky-9.3', epoch: '2' },
    },
  },
  {
    what: 'rpm: epoch 0 is not written',
    pkg: { type: 'rpm', name: 'bash', version: '5.2.15-3.amzn2023.0.2', epoch: 0, arch: 'aarch64' },
    distro: amzn,
    purl: 'pkg:rpm/amazon/bash@5.2.15-3.amzn2023.0.2?arch=aarch64&distro=amzn-2023',
    parsed: {
      type: 'rpm',
      namespace: 'amazon',
      name: 'bash',
      version: '5.2.15-3.amzn2023.0.2',
      qualifiers: { arch: 'aarch64', distro: 'amzn-2023' },
    },
  },
  {
    what: 'rpm: openSUSE Leap is opensuse; + in the name; names keep their case',
    pkg: {
      type: 'rpm',
      name: 'libstdc++6',
      version: '13.3.0+git8781-150000.1.12.1',
      arch: 'x86_64',
    },
    distro: leap,
    purl: 'pkg:rpm/opensuse/libstdc%2B%2B6@13.3.0%2Bgit8781-150000.1.12.1?arch=x86_64&distro=opensuse-leap-15.6',
    parsed: {
      type: 'rpm',
      namespace: 'opensuse',
      name: 'libstdc++6',
      version: '13.3.0+git8781-150000.1.12.1',
      qualifiers: { arch: 'x86_64', distro: 'opensuse-leap-15.6' },
    },
  },
  {
    what: 'rpm: SLES; case-sensitive name kept',
    pkg: { type: 'rpm', name: 'NetworkManager', version: '1.38.6-150500.1.3', arch: 'noarch' },
    distro: sles,
    purl: 'pkg:rpm/sles/NetworkManager@1.38.6-150500.1.3?arch=noarch&distro=sles-15.5',
    parsed: {
      type: 'rpm',
      namespace: 'sles',
      name: 'NetworkManager',
      version: '1.38.6-150500.1.3',
      qualifiers: { arch: 'noarch', distro: 'sles-15.5' },
    },
  },
  {
    what: 'rpm: ~ stays bare, ^ is percent-encoded',
    pkg: { type: 'rpm', name: 'kernel-core', version: '6.9.0~rc1^git1-1.fc40', arch: 'x86_64' },
    distro: fedora,
    purl: 'pkg:rpm/fedora/kernel-core@6.9.0~rc1%5Egit1-1.fc40?arch=x86_64&distro=fedora-40',
    parsed: {
      type: 'rpm',
      namespace: 'fedora',
      name: 'kernel-core',
      version: '6.9.0~rc1^git1-1.fc40',
      qualifiers: { arch: 'x86_64', distro: 'fedora-40' },
    },
  },
  {
    what: 'rpm: gpg-pubkey has no architecture; no distro means no namespace',
    pkg: { type: 'rpm', name: 'gpg-pubkey', version: 'fd431d51-4ae0493b', arch: '(none)' },
    purl: 'pkg:rpm/gpg-pubkey@fd431d51-4ae0493b',
    parsed: {
      type: 'rpm',
      name: 'gpg-pubkey',
      version: 'fd431d51-4ae0493b',
      qualifiers: {},
    },
  },
  {
    what: 'odd characters are percent-encoded (space, !, *, parentheses, quote, @, /)',
    pkg: { type: 'deb', name: "a(b)*c!'d", version: '1 2@3/4', arch: 'amd64' },
    distro: debian12,
    purl: 'pkg:deb/debian/a%28b%29%2Ac%21%27d@1%202%403%2F4?arch=amd64&distro=debian-12',
    parsed: {
      type: 'deb',
      namespace: 'debian',
      name: "a(b)*c!'d",
      version: '1 2@3/4',
      qualifiers: { arch: 'amd64', distro: 'debian-12' },
    },
  },
];

function components(purl: string): Components {
  const p = PackageURL.fromString(purl);
  return {
    type: p.type,
    ...(p.namespace !== undefined ? { namespace: p.namespace } : {}),
    name: p.name,
    version: p.version ?? '',
    qualifiers: { ...(p.qualifiers ?? {}) },
  };
}

describe('purlFor', () => {
  it.each(cases)('$what', ({ pkg, distro, purl, parsed }) => {
    const out = purlFor(pkg, distro);
    expect(out).toBe(purl);
    // Round trip: the string parses back to exactly the components meant.
    expect(components(out)).toEqual(parsed);
    // Only the characters the spec permits unencoded.
    expect(out).toMatch(/^[A-Za-z0-9.\-_~%:/@?=&#]+$/);
  });
});

const digest = `sha256:${'ab'.repeat(32)}`;
const image = (over: Partial<ImageMetadata>): ImageMetadata => ({
  reference: 'docker://127.0.0.1:5000/group/app:1.0',
  name: '127.0.0.1:5000/group/app',
  tag: '1.0',
  manifestDigest: digest,
  configDigest: `sha256:${'cd'.repeat(32)}`,
  platform: { os: 'linux', architecture: 'amd64' },
  layers: [],
  ...over,
});

describe('ociPurlFor', () => {
  it('names the last repository segment, the digest as version, ":" left bare', () => {
    const out = ociPurlFor(image({}));
    expect(out).toBe(
      `pkg:oci/app@${digest}?arch=amd64&repository_url=127.0.0.1:5000%2Fgroup%2Fapp&tag=1.0`,
    );
    expect(components(out)).toEqual({
      type: 'oci',
      name: 'app',
      version: digest,
      qualifiers: { arch: 'amd64', repository_url: '127.0.0.1:5000/group/app', tag: '1.0' },
    });
  });

  it('matches the purl-spec build test for oci', () => {
    const out = ociPurlFor(
      image({
        reference: 'docker://docker.io/library/debian:latest',
        name: 'docker.io/library/debian',
        tag: 'latest',
        manifestDigest: 'sha256:244fd47e07d10',
      }),
    );
    expect(out).toBe(
      'pkg:oci/debian@sha256:244fd47e07d10?arch=amd64&repository_url=docker.io%2Flibrary%2Fdebian&tag=latest',
    );
  });

  it('takes another digest (an index) and leaves out arch without a platform', () => {
    const index = `sha256:${'ef'.repeat(32)}`;
    const out = ociPurlFor({ ...image({}), platform: undefined }, index);
    expect(out).toBe(`pkg:oci/app@${index}?repository_url=127.0.0.1:5000%2Fgroup%2Fapp&tag=1.0`);
  });

  it('writes no repository_url for local archives and lower-cases the name', () => {
    const out = ociPurlFor(
      image({ reference: 'oci-archive:/tmp/My-App.tar:v1', name: 'My-App.tar', tag: 'v1' }),
    );
    expect(out).toBe(`pkg:oci/my-app.tar@${digest}?arch=amd64&tag=v1`);
    expect(components(out).qualifiers).toEqual({ arch: 'amd64', tag: 'v1' });
  });
});
