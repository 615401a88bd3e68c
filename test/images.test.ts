import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_TAGS, parseDpkgTruth, testImages, type TestImages } from './support/images.js';

/** Sanity tests of the test-image fixture itself (test/images/build.sh). */
describe('test images', () => {
  let t: TestImages;
  beforeAll(async () => {
    t = await testImages();
  });

  const blob = (digest: string) => path.join(t.ociLayout, 'blobs', ...digest.split(':'));
  const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as unknown;

  it('resolves every tag in the OCI layout index.json to the digest images.json records', async () => {
    const index = (await readJson(path.join(t.ociLayout, 'index.json'))) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    const byTag = new Map(
      index.manifests.map((m) => [m.annotations?.['org.opencontainers.image.ref.name'], m.digest]),
    );
    for (const [tag, image] of Object.entries(t.images.images)) {
      expect(byTag.get(tag), tag).toBe(image.manifest);
      await expect(stat(blob(image.manifest))).resolves.toBeTruthy();
    }
    expect(Object.keys(t.images.images).sort()).toEqual([...IMAGE_TAGS, 'multi'].sort());
  });

  it('base-jq has 2 layers, real whiteouts, jq and no less', async () => {
    const image = t.images.images['base-jq'];
    expect(image.layers).toHaveLength(2);
    expect(image.layers[1]?.whiteouts).toContain('usr/bin/.wh.less');
    const names = (await t.readTruth('base-jq')).map((p) => p.name);
    expect(names).toContain('jq');
    expect(names).not.toContain('less');
    expect((await t.readTruth('base')).map((p) => p.name)).toContain('less');
  });

  it('base has > 50 packages, libssl3 built from openssl', async () => {
    const truth = await t.readTruth('base');
    expect(truth.length).toBeGreaterThan(50);
    expect(truth.find((p) => p.name === 'libssl3')?.source.name).toBe('openssl');
    expect(await readFile(t.osReleasePath('base'), 'utf8')).toMatch(/^ID=debian$/m);
  });

  it('base-zstd is base-jq with zstd layers', async () => {
    const jq = t.images.images['base-jq'];
    const zstd = t.images.images['base-zstd'];
    expect(zstd.layers.map((l) => l.mediaType)).toEqual(
      Array(2).fill('application/vnd.oci.image.layer.v1.tar+zstd'),
    );
    expect(zstd.layers.map((l) => l.diffId)).toEqual(jq.layers.map((l) => l.diffId));
    expect(await t.readTruth('base-zstd')).toEqual(await t.readTruth('base-jq'));
  });

  it('distroless records its packages in status.d only', async () => {
    const names = (await t.readTruth('distroless')).map((p) => p.name);
    expect(names).toEqual(['base-files', 'ca-certificates', 'libc6', 'libssl3', 'zlib1g']);
    expect(t.images.images.distroless.layers).toHaveLength(1);
  });

  it('multi is an index of linux/amd64 base and linux/arm64 base-arm64', async () => {
    const multi = t.images.images.multi;
    const index = (await readJson(blob(multi.manifest))) as {
      manifests: { digest: string; platform: { os: string; architecture: string } }[];
    };
    expect(index.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`)).toEqual([
      'linux/amd64',
      'linux/arm64',
    ]);
    expect(index.manifests.map((m) => m.digest)).toEqual([
      t.images.images.base.manifest,
      t.images.images['base-arm64'].manifest,
    ]);
    const arm = await t.readTruth('base-arm64');
    expect(arm.every((p) => p.arch === 'arm64' || p.arch === 'all')).toBe(true);
  });

  it('writes non-empty tar archives', async () => {
    for (const file of Object.values(t.archives)) {
      const handle = await open(file, 'r');
      try {
        const header = Buffer.alloc(512);
        await handle.read(header, 0, 512, 0);
        expect(header.subarray(257, 262).toString('latin1'), file).toBe('ustar');
        expect((await handle.stat()).size).toBeGreaterThan(1_000_000);
      } finally {
        await handle.close();
      }
    }
  });

  it('parses truth lines and rejects malformed ones', () => {
    expect(parseDpkgTruth('zlib1g\t1:1.2.13.dfsg-1\tamd64\tzlib\t1:1.2.13.dfsg-1\n')).toEqual([
      {
        name: 'zlib1g',
        version: '1:1.2.13.dfsg-1',
        arch: 'amd64',
        source: { name: 'zlib', version: '1:1.2.13.dfsg-1' },
      },
    ]);
    expect(() => parseDpkgTruth('jq\t1.6\tamd64\n')).toThrow(/5 non-empty fields/);
  });
});
