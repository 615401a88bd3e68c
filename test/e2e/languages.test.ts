import { beforeAll, describe, expect, it } from 'vitest';
import { inventoryImage } from '../../src/inventory/inventory-image.js';
import type { ImageInventory, Package } from '../../src/inventory/types.js';
import { toCycloneDX } from '../../src/sbom/cyclonedx.js';
import { toSPDX } from '../../src/sbom/spdx.js';
import { validateCycloneDX16 } from '../support/cyclonedx-schema.js';
import { testImages, type TestImages } from '../support/images.js';

/**
 * Language packages in real images, against the ground truth taken from the same files by the
 * tools that made them (npm ls, importlib.metadata, go version -m, the jars' pom.properties).
 */
let images: TestImages;
const scans = new Map<string, ImageInventory>();

beforeAll(async () => {
  images = await testImages();
  for (const tag of ['node-app', 'python-app', 'go-java-app']) {
    const [result] = await inventoryImage(`oci:${images.ociLayout}:${tag}`);
    scans.set(tag, result!);
  }
});

const of = (tag: string, type: Package['type']) =>
  scans.get(tag)!.inventory.packages.filter((p) => p.type === type);
const locations = (p: Package) => p.locations ?? [{ path: p.path, layer: p.layer }];
const pep503 = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '-');

describe('language packages in real images equal their ground truth', () => {
  it('npm: every package npm installed in /app, none extra', async () => {
    const truth = await images.readNpmTruth('node-app');
    const inApp = of('node-app', 'npm').filter((p) =>
      locations(p).some((l) => l.path.startsWith('app/')),
    );
    expect(inApp.map((p) => `${p.name}@${p.version}`).sort()).toEqual(
      [...new Set(truth.map((p) => `${p.name}@${p.version}`))].sort(),
    );
    const lodash = inApp.find((p) => p.name === 'lodash')!;
    expect(lodash.version).toBe('4.17.15');
    expect(lodash.purl).toBe('pkg:npm/lodash@4.17.15');
    // installed in node_modules and listed in the lockfile: one package, two places
    expect(locations(lodash).map((l) => l.path)).toEqual(
      expect.arrayContaining(['app/node_modules/lodash/package.json', 'app/package-lock.json']),
    );
    expect(lodash.layer).toBe(images.images.images['node-app'].layers[2]!.diffId);
  });

  it('pypi: every distribution importlib.metadata sees, dpkg-installed ones marked', async () => {
    const truth = await images.readPypiTruth('python-app');
    const found = of('python-app', 'pypi');
    expect(found.map((p) => `${pep503(p.name)}@${p.version}`).sort()).toEqual(
      [...new Set(truth.map((p) => `${pep503(p.name)}@${p.version}`))].sort(),
    );
    const requests = found.find((p) => pep503(p.name) === 'requests')!;
    expect(requests.properties?.['python:installer']).toBe('dpkg');
    expect(found.find((p) => p.name === 'pip')?.properties?.['python:installer']).toBeUndefined();
  });

  it('go: the modules compiled into a real Go binary, and its toolchain as stdlib', async () => {
    const truth = await images.readGoTruth('go-java-app');
    const found = of('go-java-app', 'golang');
    for (const binary of truth) {
      const here = found.filter((p) => locations(p).some((l) => l.path === binary.file));
      const names = here.map((p) => `${p.name}@${p.version}`);
      for (const dep of binary.deps) {
        const used = dep.replace ?? dep;
        expect(names).toContain(`${used.path}@${used.version}`);
      }
      expect(names).toContain(`stdlib@${binary.goVersion.replace(/^go/, '')}`);
    }
  });

  it('maven: every pom.properties of the jars', async () => {
    const truth = await images.readMavenTruth('go-java-app');
    const found = of('go-java-app', 'maven').map((p) => `${p.name}@${p.version}`);
    expect(truth.length).toBeGreaterThan(0);
    for (const t of truth) expect(found).toContain(`${t.groupId}:${t.artifactId}@${t.version}`);
  });

  it('every package, language ones included, is in schema-valid CycloneDX and SPDX', () => {
    for (const scan of scans.values()) {
      const bom = toCycloneDX([scan]) as { components: { purl?: string }[] };
      expect(validateCycloneDX16(bom)).toEqual([]);
      const purls = new Set(bom.components.map((c) => c.purl));
      for (const p of scan.inventory.packages) expect(purls.has(p.purl)).toBe(true);
      const spdx = toSPDX([scan]);
      expect(spdx.packages.length).toBeGreaterThan(scan.inventory.packages.length);
    }
  });

  it('OS packages are unchanged by the application layers', async () => {
    for (const tag of ['node-app', 'python-app', 'go-java-app'] as const) {
      const truth = await images.readTruth(tag);
      expect(
        of(tag, 'deb')
          .map((p) => `${p.name}@${p.version}`)
          .sort(),
      ).toEqual(truth.map((p) => `${p.name}@${p.version}`).sort());
    }
  });
});
