import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { purlFor } from '../src/inventory/purl.js';
import type {
  AnalyzedPackage,
  Distro,
  ImageInventory,
  ImageMetadata,
  Package,
} from '../src/inventory/types.js';
import { toCycloneDX } from '../src/sbom/cyclonedx.js';
import { renderSbom } from '../src/sbom/index.js';
import { classifyLicenses, declaredSpdxExpression } from '../src/sbom/license.js';
import { toSPDX, type SPDXDocument } from '../src/sbom/spdx.js';
import { validateCycloneDX16 } from './support/cyclonedx-schema.js';

// ---------------------------------------------------------------------------------------------
// Inventories built by hand

const sha = (c: string) => `sha256:${c.repeat(64)}`;
const LAYER_1 = sha('1');
const LAYER_2 = sha('2');
const TIMESTAMP = new Date('2025-01-02T03:04:05.678Z');
const SERIAL = 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79';
const OPTIONS = { toolVersion: '0.1.0', timestamp: TIMESTAMP, serialNumber: SERIAL };

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
        diffId: LAYER_1,
        size: 100,
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      },
      {
        digest: sha('e'),
        diffId: LAYER_2,
        size: 200,
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      },
    ],
    ...over,
  };
}

function pkg(
  p: AnalyzedPackage,
  distro: Distro | undefined,
  path: string,
  layer = LAYER_1,
): Package {
  return { ...p, layer, path, purl: purlFor(p, distro) };
}

const debian12: Distro = {
  id: 'debian',
  versionId: '12',
  codename: 'bookworm',
  name: 'Debian GNU/Linux 12 (bookworm)',
  idLike: [],
  path: 'etc/os-release',
};
const DPKG = 'var/lib/dpkg/status';

function debianPackages(arch: string): Package[] {
  return [
    pkg(
      { type: 'deb', name: 'openssl', version: '3.0.15-1~deb12u1', arch, licenses: ['Apache-2.0'] },
      debian12,
      DPKG,
    ),
    pkg(
      {
        type: 'deb',
        name: 'libssl3',
        version: '3.0.15-1~deb12u1',
        arch,
        source: { name: 'openssl' },
        licenses: ['apache-2.0'],
      },
      debian12,
      DPKG,
    ),
    // epoch version, source package with its own version, licences that are not all SPDX
    pkg(
      {
        type: 'deb',
        name: 'login',
        version: '1:4.13+dfsg1-1+b1',
        arch,
        source: { name: 'shadow', version: '1:4.13+dfsg1-1' },
        licenses: ['GPL-2+', 'BSD-3-clause'],
        properties: { status: 'install ok installed' },
      },
      debian12,
      DPKG,
      LAYER_2,
    ),
    // an SPDX expression among several entries: joined with AND
    pkg(
      {
        type: 'deb',
        name: 'libgcc-s1',
        version: '12.2.0-14',
        arch,
        source: { name: 'gcc-12' },
        licenses: ['GPL-3.0-or-later WITH GCC-exception-3.1', 'LGPL-2.1-or-later OR MIT'],
      },
      debian12,
      DPKG,
    ),
    // an odd licence string, lower-case operator and free text
    pkg(
      {
        type: 'deb',
        name: 'tzdata',
        version: '2024a-0+deb12u1',
        arch: 'all',
        licenses: ['public-domain and <weird> "licence"'],
      },
      debian12,
      DPKG,
    ),
    // the same package in two package databases (dpkg status and distroless status.d): one purl
    pkg({ type: 'deb', name: 'libc6', version: '2.36-9+deb12u9', arch }, debian12, DPKG),
    pkg(
      { type: 'deb', name: 'libc6', version: '2.36-9+deb12u9', arch },
      debian12,
      'var/lib/dpkg/status.d/libc6',
      LAYER_2,
    ),
  ];
}

const debianImage: ImageInventory = {
  image: metadata({ created: '2025-01-01T00:00:00Z' }),
  inventory: { distro: debian12, packages: debianPackages('amd64'), warnings: [] },
};

const alpine: Distro = {
  id: 'alpine',
  versionId: '3.20.3',
  name: 'Alpine Linux v3.20',
  path: 'etc/os-release',
};
const alpineImage: ImageInventory = {
  image: metadata({
    reference: 'docker://127.0.0.1:5000/group/alpine:3.20',
    name: '127.0.0.1:5000/group/alpine',
    tag: '3.20',
    manifestDigest: sha('b'),
  }),
  inventory: {
    distro: alpine,
    packages: [
      pkg(
        { type: 'apk', name: 'musl', version: '1.2.5-r0', arch: 'x86_64', licenses: ['MIT'] },
        alpine,
        'lib/apk/db/installed',
      ),
      pkg(
        {
          type: 'apk',
          name: 'libcrypto3',
          version: '3.3.2-r0',
          arch: 'x86_64',
          source: { name: 'openssl' },
          licenses: ['Apache-2.0'],
        },
        alpine,
        'lib/apk/db/installed',
      ),
    ],
    warnings: [],
  },
};

const rocky: Distro = {
  id: 'rocky',
  versionId: '9.3',
  name: 'Rocky Linux 9.3 (Blue Onyx)',
  path: 'etc/os-release',
};
const rpmImage: ImageInventory = {
  image: metadata({
    reference: 'oci-archive:/tmp/rocky.tar:9',
    name: 'rocky.tar',
    tag: '9',
    manifestDigest: sha('f'),
  }),
  inventory: {
    distro: rocky,
    packages: [
      pkg(
        {
          type: 'rpm',
          name: 'openssl-libs',
          version: '1:3.0.7-25.el9_3',
          epoch: 1,
          release: '25.el9_3',
          arch: 'x86_64',
          source: { name: 'openssl', version: '3.0.7-25.el9_3' },
          licenses: ['ASL 2.0'],
          properties: { modularitylabel: '' },
        },
        rocky,
        'var/lib/rpm/rpmdb.sqlite',
      ),
      pkg(
        {
          type: 'rpm',
          name: 'bash',
          version: '5.1.8-6.el9_1',
          release: '6.el9_1',
          arch: 'x86_64',
          licenses: ['GPLv3+'],
        },
        rocky,
        'var/lib/rpm/rpmdb.sqlite',
      ),
    ],
    warnings: [],
  },
};

const noDistroImage: ImageInventory = {
  image: metadata({
    reference: 'docker://127.0.0.1:5000/group/static:latest',
    name: '127.0.0.1:5000/group/static',
    tag: 'latest',
    manifestDigest: sha('9'),
  }),
  inventory: {
    packages: [
      pkg(
        { type: 'deb', name: 'base-files', version: '12.4+deb12u5', arch: 'amd64' },
        undefined,
        'var/lib/dpkg/status.d/base',
      ),
    ],
    warnings: [],
  },
};

// Two platforms of one index: the `arch=all` package has the same purl on both.
const INDEX = sha('7');
const multiPlatform: ImageInventory[] = [
  { ...debianImage, image: { ...debianImage.image, indexDigest: INDEX } },
  {
    image: metadata({
      indexDigest: INDEX,
      manifestDigest: sha('8'),
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    }),
    inventory: { distro: debian12, packages: debianPackages('arm64'), warnings: [] },
  },
];

// ---------------------------------------------------------------------------------------------
// Helpers to read the JSON

interface Property {
  name: string;
  value: string;
}
interface CdxComponent {
  type: string;
  name: string;
  version?: string;
  'bom-ref'?: string;
  purl?: string;
  description?: string;
  licenses?: unknown[];
  properties?: Property[];
  components?: CdxComponent[];
}
interface CdxDocument {
  bomFormat: string;
  specVersion: string;
  serialNumber: string;
  version: number;
  metadata: {
    timestamp: string;
    tools: { components: CdxComponent[] };
    component: CdxComponent;
    properties?: Property[];
  };
  components: CdxComponent[];
  dependencies: { ref: string; dependsOn?: string[] }[];
}

const cdx = (images: ImageInventory[], options: object = OPTIONS) =>
  toCycloneDX(images, options) as unknown as CdxDocument;

const prop = (c: { properties?: Property[] }, name: string) =>
  c.properties?.filter((p) => p.name === name).map((p) => p.value) ?? [];

function allComponents(doc: CdxDocument): CdxComponent[] {
  const out: CdxComponent[] = [];
  const walk = (cs: CdxComponent[] | undefined) => {
    for (const c of cs ?? []) {
      out.push(c);
      walk(c.components);
    }
  };
  walk(doc.components);
  return out;
}

const byPurl = (doc: CdxDocument, purl: string) =>
  allComponents(doc).filter((c) => c.purl === purl);

// ---------------------------------------------------------------------------------------------

describe('CycloneDX schema validator', () => {
  const dir = fileURLToPath(
    new URL('./fixtures/schemas/cyclonedx/test-resources/', import.meta.url),
  );
  it.each(readdirSync(dir).filter((f) => f.endsWith('.json')))('official test BOM %s', (file) => {
    const errors = validateCycloneDX16(JSON.parse(readFileSync(dir + file, 'utf8')));
    if (file.startsWith('valid-')) expect(errors).toEqual([]);
    else expect(errors.length).toBeGreaterThan(0);
  });

  it('rejects a broken regscan document', () => {
    const doc = structuredClone(cdx([debianImage])) as unknown as Record<string, unknown>;
    const components = doc.components as Record<string, unknown>[];
    (components[0] as Record<string, unknown>).type = 'banana';
    (components[1] as Record<string, unknown>).licenses = [{ license: { id: 'Not-A-Licence' } }];
    doc.unexpected = true;
    const errors = validateCycloneDX16(doc);
    expect(errors.join('\n')).toMatch(/components\/0\/type/);
    expect(errors.join('\n')).toMatch(/components\/1\/licenses/);
    expect(errors.join('\n')).toMatch(/additional properties/);
  });
});

describe('toCycloneDX', () => {
  const images = { debianImage, alpineImage, rpmImage, noDistroImage };

  it.each(Object.entries(images))('%s validates against the CycloneDX 1.6 schema', (_, image) => {
    expect(validateCycloneDX16(cdx([image]))).toEqual([]);
    expect(
      validateCycloneDX16(
        cdx([image], { ...OPTIONS, reportType: 'container_scanning_for_registry' }),
      ),
    ).toEqual([]);
  });

  it('has one component per package plus one for the operating system', () => {
    for (const image of [debianImage, alpineImage, rpmImage]) {
      const doc = cdx([image]);
      expect(doc.components).toHaveLength(image.inventory.packages.length + 1);
      expect(doc.components.filter((c) => c.type === 'operating-system')).toHaveLength(1);
      expect(doc.components.filter((c) => c.type === 'library')).toHaveLength(
        image.inventory.packages.length,
      );
    }
    expect(cdx([noDistroImage]).components).toHaveLength(1);
  });

  it('writes the document header and metadata', () => {
    const doc = cdx([debianImage]);
    expect(doc.bomFormat).toBe('CycloneDX');
    expect(doc.specVersion).toBe('1.6');
    expect(doc.serialNumber).toBe(SERIAL);
    expect(doc.version).toBe(1);
    expect(doc.metadata.timestamp).toBe('2025-01-02T03:04:05.678Z');
    expect(doc.metadata.tools.components).toEqual([
      { type: 'application', name: 'regscan', version: '0.1.0' },
    ]);
    expect(doc.metadata.properties).toBeUndefined();
    expect(cdx([debianImage], {}).serialNumber).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
  });

  it('writes regscan:report_type only when given', () => {
    const doc = cdx([debianImage], { ...OPTIONS, reportType: 'container_scanning_for_registry' });
    expect(doc.metadata.properties).toEqual([
      { name: 'regscan:report_type', value: 'container_scanning_for_registry' },
    ]);
    expect(JSON.stringify(cdx([debianImage]))).not.toContain('regscan:report_type');
  });

  it('describes the image in metadata.component', () => {
    const c = cdx([debianImage]).metadata.component;
    const purl = `pkg:oci/app@${sha('a')}?arch=amd64&repository_url=127.0.0.1:5000%2Fgroup%2Fapp&tag=1.0`;
    expect(c).toMatchObject({
      type: 'container',
      name: '127.0.0.1:5000/group/app',
      version: sha('a'),
      'bom-ref': purl,
      purl,
    });
    expect(c.properties).toEqual([
      { name: 'regscan:image:reference', value: 'docker://127.0.0.1:5000/group/app:1.0' },
      { name: 'regscan:image:tag', value: '1.0' },
      { name: 'regscan:image:digest', value: sha('a') },
      { name: 'regscan:image:config_digest', value: sha('c') },
      { name: 'regscan:image:platform', value: 'linux/amd64' },
      { name: 'regscan:image:created', value: '2025-01-01T00:00:00Z' },
      { name: 'regscan:image:layer', value: LAYER_1 },
      { name: 'regscan:image:layer', value: LAYER_2 },
    ]);
    // a local archive has no repository_url
    expect(cdx([rpmImage]).metadata.component.purl).toBe(
      `pkg:oci/rocky.tar@${sha('f')}?arch=amd64&tag=9`,
    );
  });

  it('describes the operating system', () => {
    const os = cdx([debianImage]).components[0] as CdxComponent;
    expect(os).toEqual({
      type: 'operating-system',
      name: 'debian',
      version: '12',
      'bom-ref': 'os:debian@12',
      description: 'Debian GNU/Linux 12 (bookworm)',
      properties: [
        { name: 'regscan:os:codename', value: 'bookworm' },
        { name: 'regscan:os:path', value: 'etc/os-release' },
      ],
    });
  });

  it('writes each package with its purl and properties', () => {
    const doc = cdx([debianImage]);
    const login =
      'pkg:deb/debian/login@1:4.13%2Bdfsg1-1%2Bb1?arch=amd64&distro=debian-12&upstream=shadow%401:4.13%2Bdfsg1-1';
    const [c] = byPurl(doc, login);
    expect(c).toMatchObject({
      type: 'library',
      name: 'login',
      version: '1:4.13+dfsg1-1+b1',
      'bom-ref': login,
    });
    expect(c?.properties).toEqual([
      { name: 'regscan:package:type', value: 'deb' },
      { name: 'regscan:package:source_name', value: 'shadow' },
      { name: 'regscan:package:source_version', value: '1:4.13+dfsg1-1' },
      { name: 'regscan:package:layer_diff_id', value: LAYER_2 },
      { name: 'regscan:package:path', value: DPKG },
      { name: 'regscan:package:arch', value: 'amd64' },
      { name: 'regscan:package:status', value: 'install ok installed' },
    ]);

    const purls = allComponents(doc)
      .map((x) => x.purl)
      .filter((p) => p?.startsWith('pkg:deb'));
    expect(new Set(purls)).toEqual(
      new Set([
        'pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12',
        'pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl',
        login,
        'pkg:deb/debian/libgcc-s1@12.2.0-14?arch=amd64&distro=debian-12&upstream=gcc-12',
        'pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12',
        'pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=amd64&distro=debian-12',
      ]),
    );

    const alpineDoc = cdx([alpineImage]);
    expect(alpineDoc.components.map((x) => x.purl)).toEqual([
      undefined,
      'pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=3.20.3&upstream=openssl',
      'pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=3.20.3',
    ]);
    const rpmDoc = cdx([rpmImage]);
    expect(rpmDoc.components.map((x) => x.purl)).toEqual([
      undefined,
      'pkg:rpm/rocky/bash@5.1.8-6.el9_1?arch=x86_64&distro=rocky-9.3',
      'pkg:rpm/rocky/openssl-libs@3.0.7-25.el9_3?arch=x86_64&distro=rocky-9.3&epoch=1&upstream=openssl',
    ]);
    // empty property values are left out
    expect(prop(rpmDoc.components[2] as CdxComponent, 'regscan:package:modularitylabel')).toEqual(
      [],
    );
  });

  it('writes licences as SPDX ids, one expression, or names', () => {
    const doc = cdx([debianImage]);
    const licenses = (name: string) => allComponents(doc).find((c) => c.name === name)?.licenses;
    expect(licenses('openssl')).toEqual([{ license: { id: 'Apache-2.0' } }]);
    expect(licenses('libssl3')).toEqual([{ license: { id: 'Apache-2.0' } }]); // case fixed
    expect(licenses('login')).toEqual([
      { license: { name: 'GPL-2+' } },
      { license: { id: 'BSD-3-Clause' } },
    ]);
    expect(licenses('libgcc-s1')).toEqual([
      { expression: 'GPL-3.0-or-later WITH GCC-exception-3.1 AND (LGPL-2.1-or-later OR MIT)' },
    ]);
    expect(licenses('tzdata')).toEqual([
      { license: { name: 'public-domain and <weird> "licence"' } },
    ]);
    expect(licenses('libc6')).toBeUndefined();
  });

  it('gives packages sharing a purl distinct, stable bom-refs', () => {
    const doc = cdx([debianImage]);
    const purl = 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=amd64&distro=debian-12';
    expect(byPurl(doc, purl).map((c) => c['bom-ref'])).toEqual([
      `${purl}|path=var/lib/dpkg/status`,
      `${purl}|path=var/lib/dpkg/status.d/libc6`,
    ]);
    const reversed: ImageInventory = {
      ...debianImage,
      inventory: {
        ...debianImage.inventory,
        packages: [...debianImage.inventory.packages].reverse(),
      },
    };
    expect(JSON.stringify(cdx([reversed]))).toBe(JSON.stringify(doc));
  });

  it('links image → operating system → packages in dependencies', () => {
    const doc = cdx([debianImage]);
    const image = doc.metadata.component['bom-ref'] as string;
    const refs = new Set([image, ...allComponents(doc).map((c) => c['bom-ref'])]);
    expect(refs.size).toBe(allComponents(doc).length + 1);
    for (const d of doc.dependencies) {
      expect(refs.has(d.ref)).toBe(true);
      for (const r of d.dependsOn ?? []) expect(refs.has(r)).toBe(true);
    }
    const deps = new Map(doc.dependencies.map((d) => [d.ref, d.dependsOn ?? []]));
    expect(deps.get(image)).toEqual(['os:debian@12']);
    expect(deps.get('os:debian@12')).toHaveLength(debianImage.inventory.packages.length);

    const bare = cdx([noDistroImage]);
    const bareDeps = new Map(bare.dependencies.map((d) => [d.ref, d.dependsOn ?? []]));
    expect(bareDeps.get(bare.metadata.component['bom-ref'] as string)).toEqual([
      'pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64',
    ]);
  });

  it('is deterministic for fixed timestamp and serial number', () => {
    expect(renderSbom('cyclonedx', [debianImage], OPTIONS)).toBe(
      renderSbom('cyclonedx', [debianImage], OPTIONS),
    );
  });

  it('puts each platform of an index in its own container component', () => {
    const doc = cdx(multiPlatform);
    expect(validateCycloneDX16(doc)).toEqual([]);
    expect(doc.metadata.component).toMatchObject({
      type: 'container',
      name: '127.0.0.1:5000/group/app',
      version: INDEX,
      purl: `pkg:oci/app@${INDEX}?repository_url=127.0.0.1:5000%2Fgroup%2Fapp&tag=1.0`,
    });
    expect(
      doc.components.map((c) => [c.type, c.version, prop(c, 'regscan:image:platform')]),
    ).toEqual([
      ['container', sha('a'), ['linux/amd64']],
      ['container', sha('8'), ['linux/arm64/v8']],
    ]);
    for (const platform of doc.components) {
      expect(platform.components).toHaveLength(debianImage.inventory.packages.length + 1);
    }
    const refs = allComponents(doc).map((c) => c['bom-ref']);
    expect(new Set(refs).size).toBe(refs.length);
    // the arch=all package is on both platforms: its bom-refs name the platform
    const tz = 'pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12';
    expect(byPurl(doc, tz).map((c) => c['bom-ref'])).toEqual([
      `${tz}|platform=linux/amd64`,
      `${tz}|platform=linux/arm64/v8`,
    ]);
    const deps = new Map(doc.dependencies.map((d) => [d.ref, d.dependsOn ?? []]));
    expect(deps.get(doc.metadata.component['bom-ref'] as string)).toHaveLength(2);
  });

  it('refuses an empty image list and a malformed serial number', () => {
    expect(() => toCycloneDX([])).toThrow(RangeError);
    expect(() => toCycloneDX([debianImage], { serialNumber: 'nope' })).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------

const SPDX_ID = /^SPDXRef-[A-Za-z0-9.-]+$/;

function checkSpdx(doc: SPDXDocument): void {
  expect(doc.spdxVersion).toBe('SPDX-2.3');
  expect(doc.dataLicense).toBe('CC0-1.0');
  expect(doc.SPDXID).toBe('SPDXRef-DOCUMENT');
  expect(doc.name).not.toBe('');
  expect(() => new URL(doc.documentNamespace)).not.toThrow();
  expect(doc.documentNamespace).not.toContain('#');
  expect(doc.creationInfo.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  expect(doc.creationInfo.creators).toEqual(['Tool: regscan-0.1.0']);

  const ids = doc.packages.map((p) => p.SPDXID);
  expect(new Set(ids).size).toBe(ids.length);
  for (const id of ids) expect(id).toMatch(SPDX_ID);
  const known = new Set(['SPDXRef-DOCUMENT', ...ids]);
  for (const r of doc.relationships) {
    expect(known.has(r.spdxElementId)).toBe(true);
    expect(known.has(r.relatedSpdxElement)).toBe(true);
  }
  expect(
    doc.relationships.filter((r) => r.relationshipType === 'DESCRIBES').length,
  ).toBeGreaterThan(0);
  // every package is reachable: described, or contained by something
  const related = new Set(doc.relationships.map((r) => r.relatedSpdxElement));
  for (const id of ids) expect(related.has(id)).toBe(true);

  for (const p of doc.packages) {
    expect(p.name).not.toBe('');
    expect(p.downloadLocation).toBe('NOASSERTION');
    expect(p.filesAnalyzed).toBe(false);
    expect(p.supplier).toBe('NOASSERTION');
    expect(p.licenseConcluded).toBe('NOASSERTION');
    expect(typeof p.licenseDeclared).toBe('string');
    expect(p.copyrightText).toBe('NOASSERTION');
    for (const c of p.checksums ?? []) {
      expect(c.algorithm).toBe('SHA256');
      expect(c.checksumValue).toMatch(/^[0-9a-f]{64}$/);
    }
    for (const a of p.annotations ?? []) {
      expect(a).toMatchObject({ annotationType: 'OTHER', annotator: 'Tool: regscan-0.1.0' });
    }
  }
}

describe('toSPDX', () => {
  it.each([
    ['debian', [debianImage]],
    ['alpine', [alpineImage]],
    ['rpm', [rpmImage]],
    ['no distro', [noDistroImage]],
    ['multi-platform', multiPlatform],
  ] as const)('%s: required fields, unique ids, relationships to existing ids', (_, images) => {
    checkSpdx(toSPDX(images, OPTIONS));
  });

  it('describes the image, which contains the OS, which contains the packages', () => {
    const doc = toSPDX([debianImage], {
      ...OPTIONS,
      reportType: 'container_scanning_for_registry',
    });
    const image = doc.packages.find((p) => p.primaryPackagePurpose === 'CONTAINER');
    const os = doc.packages.find((p) => p.primaryPackagePurpose === 'OPERATING-SYSTEM');
    const libs = doc.packages.filter((p) => p.primaryPackagePurpose === 'LIBRARY');
    expect(doc.packages).toHaveLength(debianImage.inventory.packages.length + 2);
    expect(image).toMatchObject({
      name: '127.0.0.1:5000/group/app',
      versionInfo: sha('a'),
      checksums: [{ algorithm: 'SHA256', checksumValue: 'a'.repeat(64) }],
      externalRefs: [
        {
          referenceCategory: 'PACKAGE-MANAGER',
          referenceType: 'purl',
          referenceLocator: `pkg:oci/app@${sha('a')}?arch=amd64&repository_url=127.0.0.1:5000%2Fgroup%2Fapp&tag=1.0`,
        },
      ],
    });
    expect(os).toMatchObject({
      name: 'debian',
      versionInfo: '12',
      description: 'Debian GNU/Linux 12 (bookworm)',
    });
    expect(doc.relationships).toContainEqual({
      spdxElementId: 'SPDXRef-DOCUMENT',
      relationshipType: 'DESCRIBES',
      relatedSpdxElement: image?.SPDXID,
    });
    expect(doc.relationships).toContainEqual({
      spdxElementId: image?.SPDXID,
      relationshipType: 'CONTAINS',
      relatedSpdxElement: os?.SPDXID,
    });
    for (const lib of libs) {
      expect(doc.relationships).toContainEqual({
        spdxElementId: os?.SPDXID,
        relationshipType: 'CONTAINS',
        relatedSpdxElement: lib.SPDXID,
      });
    }
    expect(doc.creationInfo).toEqual({
      creators: ['Tool: regscan-0.1.0'],
      created: '2025-01-02T03:04:05Z',
      comment: 'regscan:report_type=container_scanning_for_registry',
    });
    expect(doc.documentNamespace).toContain('3e671687-395b-41f5-a30f-a58921a69b79');
    expect(toSPDX([debianImage], OPTIONS).creationInfo.comment).toBeUndefined();
  });

  it('writes purls, declared licences when SPDX, NOASSERTION otherwise', () => {
    const doc = toSPDX([debianImage], OPTIONS);
    const find = (name: string) => doc.packages.filter((p) => p.name === name);
    const [login] = find('login');
    expect(login?.externalRefs?.[0]?.referenceLocator).toBe(
      'pkg:deb/debian/login@1:4.13%2Bdfsg1-1%2Bb1?arch=amd64&distro=debian-12&upstream=shadow%401:4.13%2Bdfsg1-1',
    );
    expect(login?.versionInfo).toBe('1:4.13+dfsg1-1+b1');
    expect(login?.sourceInfo).toBe('built package from: shadow 1:4.13+dfsg1-1');
    expect(login?.licenseDeclared).toBe('NOASSERTION');
    expect(login?.licenseComments).toContain('GPL-2+; BSD-3-clause');
    expect(login?.annotations?.map((a) => a.comment)).toContain(
      `regscan:package:layer_diff_id=${LAYER_2}`,
    );
    expect(find('openssl')[0]?.licenseDeclared).toBe('Apache-2.0');
    expect(find('libgcc-s1')[0]?.licenseDeclared).toBe(
      'GPL-3.0-or-later WITH GCC-exception-3.1 AND (LGPL-2.1-or-later OR MIT)',
    );
    expect(find('tzdata')[0]?.licenseDeclared).toBe('NOASSERTION');
    expect(find('libc6')).toHaveLength(2);
  });
});

describe('licences', () => {
  it.each([
    [['MIT'], [{ kind: 'id', id: 'MIT' }]],
    [['mit'], [{ kind: 'id', id: 'MIT' }]],
    [['GPL-2.0+'], [{ kind: 'id', id: 'GPL-2.0+' }]],
    [
      ['Apache-2.0 OR MIT'],
      [{ kind: 'expression', expression: 'Apache-2.0 OR MIT', usesRefs: false }],
    ],
    [['LGPL-2.1-only+'], [{ kind: 'expression', expression: 'LGPL-2.1-only+', usesRefs: false }]],
    [['LicenseRef-foo'], [{ kind: 'expression', expression: 'LicenseRef-foo', usesRefs: true }]],
    [
      ['(MIT AND BSD-2-Clause) OR GPL-2.0-only WITH Classpath-exception-2.0'],
      [
        {
          kind: 'expression',
          expression: '(MIT AND BSD-2-Clause) OR GPL-2.0-only WITH Classpath-exception-2.0',
          usesRefs: false,
        },
      ],
    ],
    [['MIT and BSD'], [{ kind: 'name', name: 'MIT and BSD' }]],
    [['GPLv2+'], [{ kind: 'name', name: 'GPLv2+' }]],
    [['MIT AND'], [{ kind: 'name', name: 'MIT AND' }]],
    [['(MIT'], [{ kind: 'name', name: '(MIT' }]],
    [['', '  ', 'MIT', 'MIT'], [{ kind: 'id', id: 'MIT' }]],
    [undefined, []],
  ])('%j', (input, expected) => {
    expect(classifyLicenses(input)).toEqual(expected);
  });

  it('declares SPDX expressions only without undefined LicenseRefs', () => {
    expect(declaredSpdxExpression(['MIT', 'Apache-2.0 OR MIT'])).toBe(
      'MIT AND (Apache-2.0 OR MIT)',
    );
    expect(declaredSpdxExpression(['LicenseRef-foo'])).toBeUndefined();
    expect(declaredSpdxExpression(['MIT', 'GPLv2'])).toBeUndefined();
    expect(declaredSpdxExpression([])).toBeUndefined();
  });
});

describe('renderSbom', () => {
  it('renders each format as parseable JSON', () => {
    const c = JSON.parse(renderSbom('cyclonedx', [debianImage], OPTIONS)) as unknown;
    expect(validateCycloneDX16(c)).toEqual([]);
    const s = JSON.parse(renderSbom('spdx-json', [debianImage], OPTIONS)) as SPDXDocument;
    checkSpdx(s);
  });

  it('renders the inventory itself as json with sorted keys', () => {
    const text = renderSbom('json', [debianImage]);
    expect(text.endsWith('}\n]\n')).toBe(true);
    expect(JSON.parse(text)).toEqual([debianImage]);
    const keys = Object.keys((JSON.parse(text) as Record<string, unknown>[])[0] as object);
    expect(keys).toEqual(['image', 'inventory']);
    const image = (JSON.parse(text) as { image: Record<string, unknown> }[])[0]?.image ?? {};
    expect(Object.keys(image)).toEqual([...Object.keys(image)].sort());
  });

  it('refuses an unknown format', () => {
    expect(() => renderSbom('xml' as never, [debianImage])).toThrow(RangeError);
  });
});
