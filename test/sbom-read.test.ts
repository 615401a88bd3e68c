import { describe, expect, it } from 'vitest';
import { inventoryImage } from '../src/inventory/inventory-image.js';
import type { ImageInventory, Package } from '../src/inventory/types.js';
import { toCycloneDX } from '../src/sbom/cyclonedx.js';
import { fromCycloneDX, SbomError } from '../src/sbom/read-cyclonedx.js';
import { testImages } from './support/images.js';

const view = (p: Package) => ({
  type: p.type,
  name: p.name,
  version: p.version,
  arch: p.arch,
  source: p.source,
  layer: p.layer,
  path: p.path,
  purl: p.purl,
});

describe('reading CycloneDX back', () => {
  it('gives back the inventory of a real image written by regscan', async () => {
    const { ociLayout } = await testImages();
    const [scanned] = await inventoryImage(`oci:${ociLayout}:base-jq`);
    const [read] = fromCycloneDX(JSON.parse(JSON.stringify(toCycloneDX([scanned!]))));
    expect(read!.inventory.packages.map(view)).toEqual(scanned!.inventory.packages.map(view));
    expect(read!.inventory.distro).toEqual(scanned!.inventory.distro);
    expect(read!.image).toMatchObject({
      manifestDigest: scanned!.image.manifestDigest,
      tag: 'base-jq',
      platform: scanned!.image.platform,
    });
  });

  it('keeps rpm epochs, and reads source packages from Trivy properties and Syft qualifiers', () => {
    const doc = {
      bomFormat: 'CycloneDX',
      specVersion: '1.5',
      metadata: {
        component: { type: 'container', name: 'registry.example/app', version: 'sha256:abc' },
      },
      components: [
        { type: 'operating-system', name: 'rocky', version: '9.4' },
        {
          type: 'library',
          name: 'openssl-libs',
          version: '3.0.7-27.el9',
          purl: 'pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1&distro=rocky-9.4',
          properties: [
            { name: 'aquasecurity:trivy:SrcName', value: 'openssl' },
            { name: 'aquasecurity:trivy:SrcVersion', value: '3.0.7' },
            { name: 'aquasecurity:trivy:SrcRelease', value: '27.el9' },
            { name: 'aquasecurity:trivy:LayerDiffID', value: 'sha256:1' },
          ],
        },
        {
          type: 'library',
          name: 'libgcrypt20',
          purl: 'pkg:deb/debian/libgcrypt20@1.10.1-3?arch=amd64&upstream=libgcrypt20-src%401.10.1-3',
        },
        { type: 'library', name: 'core', purl: 'pkg:npm/%40babel/core@7.24.0' },
        { type: 'library', name: 'snakeyaml', purl: 'pkg:maven/org.yaml/snakeyaml@1.33' },
        { type: 'library', name: 'x', purl: 'pkg:swift/github.com/x/y@1.0.0' },
        { type: 'library', name: 'broken', purl: 'not a purl' },
      ],
    };
    const [read] = fromCycloneDX(doc);
    expect(read!.inventory.distro).toEqual({ id: 'rocky', versionId: '9.4', path: '' });
    expect(read!.inventory.packages.slice(0, 2).map(view)).toEqual([
      {
        type: 'rpm',
        name: 'openssl-libs',
        version: '1:3.0.7-27.el9',
        arch: 'x86_64',
        source: { name: 'openssl', version: '3.0.7-27.el9' },
        layer: 'sha256:1',
        path: '',
        purl: doc.components[1]!.purl,
      },
      {
        type: 'deb',
        name: 'libgcrypt20',
        version: '1.10.1-3',
        arch: 'amd64',
        source: { name: 'libgcrypt20-src', version: '1.10.1-3' },
        layer: '',
        path: '',
        purl: doc.components[2]!.purl,
      },
    ]);
    expect(read!.inventory.packages.slice(2).map((p) => [p.type, p.name, p.version])).toEqual([
      ['npm', '@babel/core', '7.24.0'],
      ['maven', 'org.yaml:snakeyaml', '1.33'],
    ]);
    expect(read!.inventory.warnings.map((w) => w.message)).toEqual([
      'component broken: unreadable purl not a purl',
    ]);
  });

  it.each([[null], [[]], [{ bomFormat: 'SPDX' }], ['{}']])('refuses %j', (doc) => {
    expect(() => fromCycloneDX(doc)).toThrow(SbomError);
  });

  it('reads every platform of a multi-platform document', async () => {
    const { ociLayout } = await testImages();
    const all: ImageInventory[] = await inventoryImage(`oci:${ociLayout}:multi`, {
      platform: 'all',
    });
    const read = fromCycloneDX(JSON.parse(JSON.stringify(toCycloneDX(all))));
    expect(read.map((r) => r.image.platform.architecture).sort()).toEqual(['amd64', 'arm64']);
    for (const r of read) {
      const original = all.find(
        (a) => a.image.platform.architecture === r.image.platform.architecture,
      )!;
      expect(r.inventory.packages.map(view)).toEqual(original.inventory.packages.map(view));
    }
  });
});
