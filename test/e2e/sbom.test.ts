import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryLayerCache } from '../../src/inventory/cache.js';
import type { IndexEvent } from '../../src/inventory/indexer.js';
import { inventoryImage } from '../../src/inventory/inventory-image.js';
import type { ImageInventory, Inventory } from '../../src/inventory/types.js';
import { runCli } from '../support/cli.js';
import { validateCycloneDX16 } from '../support/cyclonedx-schema.js';
import { parseDpkgTruth, testImages, type TestImages } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

/**
 * The scanning core end to end, on real images built from real Debian packages: read from an OCI
 * layout, an oci-archive, a docker-archive and a real registry, compared with what dpkg-query
 * itself reports for the same root filesystems.
 */
let images: TestImages;
let registry: TestRegistry;
let work: string;

beforeAll(async () => {
  images = await testImages();
  work = await mkdtemp(join(tmpdir(), 'regscan-e2e-'));
  registry = await startRegistry();
  await registry.push(`oci:${images.ociLayout}:base-jq`, 'group/app:1.0');
  await registry.push(`oci:${images.ociLayout}:multi`, 'group/multi:1.0');
});

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const oci = (tag: string) => `oci:${images.ociLayout}:${tag}`;

async function only(
  reference: string,
  options: Parameters<typeof inventoryImage>[1] = {},
): Promise<ImageInventory> {
  const results = await inventoryImage(reference, { ...options, registry: { insecure: true } });
  expect(results).toHaveLength(1);
  return results[0]!;
}

/** The comparable part of a package list: what dpkg-query prints. */
function dpkgView(inv: Inventory) {
  return inv.packages
    .filter((p) => p.type === 'deb')
    .map((p) =>
      [p.name, p.version, p.arch ?? '', p.source?.name ?? '', p.source?.version ?? ''].join('\t'),
    )
    .sort();
}

async function truth(tag: string) {
  const text = await readFile(join(images.truthDir, `${tag}.dpkg.tsv`), 'utf8');
  return parseDpkgTruth(text)
    .map((p) => [p.name, p.version, p.arch, p.source.name, p.source.version].join('\t'))
    .sort();
}

describe('dpkg inventory equals dpkg-query on the same root filesystem', () => {
  it.each(['base', 'base-jq', 'base-zstd', 'distroless'])('%s', async (tag) => {
    const { inventory } = await only(oci(tag));
    const expected = await truth(tag);
    expect(expected.length).toBeGreaterThan(4);
    expect(dpkgView(inventory)).toEqual(expected);
    expect(inventory.distro).toMatchObject({ id: 'debian', versionId: '12', codename: 'bookworm' });
    expect(inventory.warnings).toEqual([]);
  });

  it('base-arm64, chosen from the multi-platform index', async () => {
    const { inventory, image } = await only(oci('multi'), {
      platform: { os: 'linux', architecture: 'arm64' },
    });
    expect(image.platform.architecture).toBe('arm64');
    expect(image.indexDigest).toBe(images.images.images.multi.manifest);
    expect(dpkgView(inventory)).toEqual(await truth('base-arm64'));
    expect(inventory.packages.every((p) => p.arch === 'arm64' || p.arch === 'all')).toBe(true);
  });
});

describe('the same image from every source', () => {
  it('registry, OCI layout, oci-archive and docker-archive give identical inventories', async () => {
    const fromLayout = await only(oci('base-jq'));
    const sources = [
      `docker://${registry.host}/group/app:1.0`,
      `oci-archive:${images.archives.baseJqOci}`,
      `docker-archive:${images.archives.baseJqDocker}`,
    ];
    for (const reference of sources) {
      const other = await only(reference);
      expect({ reference, inventory: other.inventory }).toEqual({
        reference,
        inventory: fromLayout.inventory,
      });
      expect(other.image.layers.map((l) => l.diffId)).toEqual(
        fromLayout.image.layers.map((l) => l.diffId),
      );
    }
  });

  it('zstd layers give the same inventory as their gzip twins', async () => {
    const zstd = await only(oci('base-zstd'));
    const gzip = await only(oci('base-jq'));
    expect(zstd.image.layers.map((l) => l.digest)).not.toEqual(
      gzip.image.layers.map((l) => l.digest),
    );
    expect(zstd.inventory).toEqual(gzip.inventory);
  });

  it('every platform of an index from the registry with platform "all"', async () => {
    const results = await inventoryImage(`docker://${registry.host}/group/multi:1.0`, {
      platform: 'all',
      registry: { insecure: true },
    });
    expect(results.map((r) => r.image.platform.architecture).sort()).toEqual(['amd64', 'arm64']);
    const amd = results.find((r) => r.image.platform.architecture === 'amd64')!;
    expect(dpkgView(amd.inventory)).toEqual(await truth('base'));
  });
});

describe('layers', () => {
  it('each package names the layer that introduced it, and whiteouts remove what a layer deleted', async () => {
    const { inventory, image } = await only(oci('base-jq'));
    const [bottom, top] = image.layers.map((l) => l.diffId);
    const byName = new Map(inventory.packages.map((p) => [p.name, p]));
    expect(byName.get('jq')?.layer).toBe(top);
    expect(byName.get('libc6')?.layer).toBe(bottom);
    expect(byName.has('less')).toBe(false); // purged in the top layer
    expect(byName.get('libssl3')).toMatchObject({
      path: 'var/lib/dpkg/status',
      source: { name: 'openssl' },
      purl: expect.stringMatching(
        /^pkg:deb\/debian\/libssl3@.+\?arch=amd64&distro=debian-12/,
      ) as string,
    });
  });

  it('a warm scan reads no layer and gives the same inventory', async () => {
    const cache = new MemoryLayerCache();
    const events: IndexEvent[] = [];
    const cold = await only(oci('base-jq'), { cache, onEvent: (e) => events.push(e) });
    const coldStates = events.filter((e) => e.type === 'layer').map((e) => e.state);
    expect(coldStates.filter((s) => s === 'done')).toHaveLength(2);
    events.length = 0;
    const warm = await only(oci('base-jq'), { cache, onEvent: (e) => events.push(e) });
    expect(events.filter((e) => e.type === 'layer').map((e) => e.state)).toEqual([
      'cached',
      'cached',
    ]);
    expect(events.some((e) => e.type === 'bytes')).toBe(false);
    expect(warm.inventory).toEqual(cold.inventory);
  });

  it('a base layer cached by one image is not read again for another', async () => {
    const cache = new MemoryLayerCache();
    await only(oci('base'), { cache });
    const events: IndexEvent[] = [];
    await only(oci('base-jq'), { cache, onEvent: (e) => events.push(e) });
    const states = events.filter((e) => e.type === 'layer').map((e) => [e.index, e.state]);
    expect(states).toContainEqual([0, 'cached']);
    expect(states).toContainEqual([1, 'done']);
  });
});

describe('regscan sbom', () => {
  it.each([
    ['OCI layout', () => oci('base-jq')],
    ['oci-archive', () => `oci-archive:${images.archives.baseJqOci}`],
    ['docker-archive', () => `docker-archive:${images.archives.baseJqDocker}`],
    ['registry', () => `docker://${registry.host}/group/app:1.0`],
  ])('writes schema-valid CycloneDX 1.6 for an image from the %s', async (_name, reference) => {
    const out = join(work, `${_name}.cdx.json`);
    const r = await runCli(['sbom', '--insecure', '--no-cache', reference(), '--output', out]);
    expect(r.stderr).not.toMatch(/regscan:/);
    expect(r.code).toBe(0);
    const bom = JSON.parse(await readFile(out, 'utf8')) as {
      specVersion: string;
      metadata: { component: { type: string; name: string; version: string } };
      components: { type: string; purl?: string; name: string }[];
    };
    expect(validateCycloneDX16(bom)).toEqual([]);
    expect(bom.specVersion).toBe('1.6');
    expect(bom.metadata.component.type).toBe('container');
    expect(bom.metadata.component.version).toMatch(/^sha256:[0-9a-f]{64}$/);
    const os = bom.components.filter((c) => c.type === 'operating-system');
    expect(os.map((c) => c.name)).toEqual(['debian']);
    const debs = bom.components.filter((c) => c.purl?.startsWith('pkg:deb/debian/'));
    expect(debs).toHaveLength((await truth('base-jq')).length);
  });

  it('writes SPDX and plain JSON too, and logs progress lines when stderr is not a terminal', async () => {
    const spdx = await runCli(['sbom', '--no-cache', '--format', 'spdx-json', oci('distroless')]);
    expect(spdx.code).toBe(0);
    const doc = JSON.parse(spdx.stdout) as { spdxVersion: string; packages: { name: string }[] };
    expect(doc.spdxVersion).toBe('SPDX-2.3');
    expect(doc.packages.map((p) => p.name)).toEqual(
      expect.arrayContaining(['libc6', 'libssl3', 'zlib1g']),
    );
    expect(spdx.stderr).toMatch(/^layer 1\/1 [0-9a-f]{12} \([\d.]+ MiB\): reading$/m);

    const json = await runCli(['sbom', '-q', '--no-cache', '--format', 'json', oci('distroless')]);
    const parsed = JSON.parse(json.stdout) as ImageInventory[];
    expect(parsed[0]?.inventory.packages).toHaveLength((await truth('distroless')).length);
    expect(json.stderr).toBe('');
  });

  it('explains a missing tag and a missing registry image in one line', async () => {
    const noTag = await runCli(['sbom', '-q', oci('nope')]);
    expect(noTag.code).toBe(1);
    expect(noTag.stderr).toMatch(/tag "nope" not found in .* \(tags: .*base-jq.*\)/);
    const noImage = await runCli(['sbom', '-q', '--insecure', `${registry.host}/group/missing:1`]);
    expect(noImage.code).toBe(1);
    expect(noImage.stderr).toMatch(/NAME_UNKNOWN|MANIFEST_UNKNOWN/);
  });
});
