/**
 * ScanReports built by hand for the report tests: a Debian 12 image with openssl findings (one
 * critical and fixed, one high and not fixed), a won't-fix low one with a hostile summary, an
 * Alpine image with a medium and an unknown finding, and an image without findings.
 */
import { purlFor } from '../../src/inventory/purl.js';
import type {
  AnalyzedPackage,
  Distro,
  ImageInventory,
  ImageMetadata,
  Package,
} from '../../src/inventory/types.js';
import type { Finding } from '../../src/match/types.js';
import type { ScanReport } from '../../src/report/types.js';

export const sha = (c: string) => `sha256:${c.repeat(64)}`;
export const TIMESTAMP = new Date('2025-01-02T03:04:05.678Z');
export const SERIAL = 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79';
export const HOSTILE_SUMMARY = 'tar: \u001b[31mred\u001b[0m text\rOVERWRITTEN and \u202eevil';

function metadata(over: Partial<ImageMetadata> = {}): ImageMetadata {
  return {
    reference: 'docker://127.0.0.1:5000/group/app:1.0',
    name: '127.0.0.1:5000/group/app',
    tag: '1.0',
    manifestDigest: sha('a'),
    configDigest: sha('c'),
    platform: { os: 'linux', architecture: 'amd64' },
    layers: [
      {
        digest: sha('d'),
        diffId: sha('1'),
        size: 100,
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      },
    ],
    ...over,
  };
}

function pkg(p: AnalyzedPackage, distro: Distro | undefined, path: string): Package {
  return { ...p, layer: sha('1'), path, purl: purlFor(p, distro) };
}

export const debian12: Distro = {
  id: 'debian',
  versionId: '12',
  codename: 'bookworm',
  name: 'Debian GNU/Linux 12 (bookworm)',
  path: 'etc/os-release',
};
const DPKG = 'var/lib/dpkg/status';

export const libssl3 = pkg(
  {
    type: 'deb',
    name: 'libssl3',
    version: '3.0.11-1~deb12u2',
    arch: 'amd64',
    source: { name: 'openssl' },
  },
  debian12,
  DPKG,
);
export const openssl = pkg(
  { type: 'deb', name: 'openssl', version: '3.0.11-1~deb12u2', arch: 'amd64' },
  debian12,
  DPKG,
);
export const tar = pkg(
  { type: 'deb', name: 'tar', version: '1.34+dfsg-1.2+deb12u1', arch: 'amd64' },
  debian12,
  DPKG,
);
const zlib = pkg(
  { type: 'deb', name: 'zlib1g', version: '1:1.2.13.dfsg-1', arch: 'amd64' },
  debian12,
  DPKG,
);

export function finding(over: Partial<Finding> & Pick<Finding, 'package' | 'advisoryId'>): Finding {
  return {
    identifiers: [over.advisoryId],
    severity: 'unknown',
    severitySource: 'none',
    cvss: [],
    installedVersion: over.package.version,
    fixedVersions: [],
    fixState: 'unknown',
    references: [],
    modified: '2024-06-01T00:00:00Z',
    explanation: {
      advisoryId: over.advisoryId,
      ecosystem: 'Debian:12',
      searchedName: over.package.source?.name ?? over.package.name,
      viaSource: over.package.source !== undefined,
      searchedVersion: over.package.version,
    },
    ...over,
  };
}

const CVSS31_CRITICAL = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';

function criticalFixed(p: Package): Finding {
  return finding({
    package: p,
    advisoryId: 'DEBIAN-CVE-2024-0001',
    identifiers: ['DEBIAN-CVE-2024-0001', 'CVE-2024-0001'],
    summary: 'openssl: buffer overflow in <script>alert(1)</script> X.509 parsing',
    details: 'A buffer overflow in X.509 certificate parsing.\nSecond line with {braces}.',
    severity: 'critical',
    severitySource: 'cvss',
    cvss: [{ type: 'CVSS_V3', vector: CVSS31_CRITICAL, score: 9.8 }],
    fixedVersions: ['3.0.15-1~deb12u1'],
    fixState: 'fixed',
    references: [
      'https://security-tracker.debian.org/tracker/CVE-2024-0001',
      'https://www.openssl.org/news/secadv/20240101.txt',
      'not a url',
    ],
    published: '2024-01-02T00:00:00Z',
  });
}

export const debianFindings: Finding[] = [
  criticalFixed(libssl3),
  finding({
    package: libssl3,
    advisoryId: 'DEBIAN-CVE-2024-0002',
    identifiers: ['DEBIAN-CVE-2024-0002', 'CVE-2024-0002'],
    summary: 'openssl: timing side channel',
    severity: 'high',
    severitySource: 'cvss',
    cvss: [
      {
        type: 'CVSS_V4',
        vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N',
        score: 8.7,
      },
      { type: 'CVSS_V2', vector: 'AV:N/AC:M/Au:N/C:P/I:N/A:N', score: 4.3 },
    ],
    fixState: 'not_fixed',
    references: ['https://security-tracker.debian.org/tracker/CVE-2024-0002'],
  }),
  criticalFixed(openssl),
  finding({
    package: tar,
    advisoryId: 'DEBIAN-CVE-2005-2541',
    identifiers: ['DEBIAN-CVE-2005-2541', 'CVE-2005-2541'],
    summary: HOSTILE_SUMMARY,
    severity: 'low',
    severitySource: 'distro',
    fixState: 'wont_fix',
  }),
];

export const debianImage: ImageInventory = {
  image: metadata(),
  inventory: { distro: debian12, packages: [libssl3, openssl, tar, zlib], warnings: [] },
};

export const debianReport: ScanReport = { image: debianImage, findings: debianFindings };

// Alpine, arm64: a medium finding from a GHSA-style advisory and one without CVE or severity.
const alpine: Distro = { id: 'alpine', versionId: '3.20.3', path: 'etc/os-release' };
const APK = 'lib/apk/db/installed';
export const busybox = pkg(
  { type: 'apk', name: 'busybox', version: '1.36.1-r29', arch: 'aarch64' },
  alpine,
  APK,
);
const musl = pkg({ type: 'apk', name: 'musl', version: '1.2.5-r0', arch: 'aarch64' }, alpine, APK);

export const alpineReport: ScanReport = {
  image: {
    image: metadata({
      reference: 'docker://registry.example/alpine:3.20',
      name: 'registry.example/alpine',
      tag: '3.20',
      manifestDigest: sha('b'),
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    }),
    inventory: { distro: alpine, packages: [busybox, musl], warnings: [] },
  },
  findings: [
    finding({
      package: busybox,
      advisoryId: 'GHSA-aaaa-bbbb-cccc',
      identifiers: ['GHSA-aaaa-bbbb-cccc', 'CVE-2023-4242'],
      summary: 'busybox: awk use after free',
      severity: 'medium',
      severitySource: 'database',
      cvss: [
        { type: 'CVSS_V3', vector: 'CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:L', score: 5.3 },
      ],
      fixedVersions: ['1.36.1-r30', '1.37.0-r0'],
      fixState: 'fixed',
      explanation: {
        advisoryId: 'GHSA-aaaa-bbbb-cccc',
        ecosystem: 'Alpine:v3.20',
        searchedName: 'busybox',
        viaSource: false,
        searchedVersion: '1.36.1-r29',
      },
    }),
    finding({
      package: musl,
      advisoryId: 'ALPINE-XSA-123',
      identifiers: ['ALPINE-XSA-123', 'XSA-123'],
      severity: 'unknown',
    }),
  ],
};

/** An image without a distro, packages or findings. */
export const emptyReport: ScanReport = {
  image: {
    image: metadata({
      reference: 'oci:/tmp/scratch',
      name: 'scratch',
      tag: undefined,
      manifestDigest: sha('e'),
    }),
    inventory: { packages: [], warnings: [] },
  },
  findings: [],
};

export const ALL_REPORTS: ScanReport[] = [debianReport, alpineReport, emptyReport];
