import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { digestOf } from '../../src/image/digest.js';
import { parseManifest, parsePlatform, resolveImages } from '../../src/image/resolve.js';
import {
  ImageError,
  type Descriptor,
  type ImageSource,
  type RawManifest,
} from '../../src/image/types.js';

/** An in-memory source: resolution logic is the same for every real source. */
function memorySource(docs: Record<string, object | Buffer>, top: string): ImageSource {
  const blobs = new Map<string, Buffer>();
  const add = (value: object | Buffer) => {
    const bytes = Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value));
    const digest = digestOf(bytes);
    blobs.set(digest, bytes);
    return digest;
  };
  const names = new Map<string, string>();
  for (const [name, value] of Object.entries(docs)) names.set(name, add(value));
  return {
    reference: 'memory:test',
    name: 'test',
    manifest(digest?: string): Promise<RawManifest> {
      const d = digest ?? names.get(top)!;
      return Promise.resolve({ mediaType: '', digest: d, bytes: blobs.get(d)! });
    },
    blob(desc: Descriptor): Promise<Readable> {
      return Promise.resolve(Readable.from([blobs.get(desc.digest)!]));
    },
    close: () => Promise.resolve(),
  };
}

const D = (b: object) => ({
  digest: digestOf(Buffer.from(JSON.stringify(b))),
  size: Buffer.from(JSON.stringify(b)).length,
});
const layer = {
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
  digest: `sha256:${'1'.repeat(64)}`,
  size: 10,
};
const config = (arch: string, variant?: string) => ({
  os: 'linux',
  architecture: arch,
  ...(variant ? { variant } : {}),
  rootfs: { type: 'layers', diff_ids: [`sha256:${'2'.repeat(64)}`] },
});
const manifest = (cfg: object) => ({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...D(cfg) },
  layers: [layer],
});

function multiArch() {
  const amd = config('amd64');
  const arm = config('arm64', 'v8');
  const mAmd = manifest(amd);
  const mArm = manifest(arm);
  const attestation = manifest(config('unknown'));
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ...D(mAmd),
        platform: { os: 'linux', architecture: 'amd64' },
      },
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ...D(mArm),
        platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
      },
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ...D(attestation),
        platform: { os: 'unknown', architecture: 'unknown' },
      },
    ],
  };
  return memorySource({ amd, arm, mAmd, mArm, attestation, index }, 'index');
}

describe('resolveImages', () => {
  it('picks linux/amd64 from an index by default', async () => {
    const [img, ...rest] = await resolveImages(multiArch(), undefined);
    expect(rest).toEqual([]);
    expect(img?.platform).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(img?.indexDigest).toMatch(/^sha256:/);
    expect(img?.layers[0]?.diffId).toBe(`sha256:${'2'.repeat(64)}`);
  });

  it.each([
    ['linux/arm64', 'arm64'],
    ['linux/arm64/v8', 'arm64'],
  ])('picks %s', async (platform, arch) => {
    const images = await resolveImages(multiArch(), parsePlatform(platform));
    expect(images.map((i) => i.platform.architecture)).toEqual([arch]);
  });

  it('takes every real platform with "all", never attestations', async () => {
    const images = await resolveImages(multiArch(), 'all');
    expect(images.map((i) => i.platform.architecture)).toEqual(['amd64', 'arm64']);
  });

  it('names the platforms there are when the wanted one is missing', async () => {
    await expect(resolveImages(multiArch(), parsePlatform('linux/s390x'))).rejects.toThrow(
      'has no image for platform linux/s390x (platforms: linux/amd64, linux/arm64/v8)',
    );
  });

  it('refuses a single-platform image of another platform when one is asked for', async () => {
    const cfg = config('arm64');
    const src = memorySource({ cfg, m: manifest(cfg) }, 'm');
    await expect(resolveImages(src, parsePlatform('linux/amd64'))).rejects.toThrow(
      /single-platform image for linux\/arm64/,
    );
    expect((await resolveImages(src, undefined))[0]?.platform.architecture).toBe('arm64');
  });

  it('refuses a child manifest whose bytes do not match the index digest', async () => {
    const cfg = config('amd64');
    const m = manifest(cfg);
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${'9'.repeat(64)}`,
          size: 10,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    };
    const src = memorySource({ cfg, m, index }, 'index');
    const original = src.manifest.bind(src);
    src.manifest = (digest?: string) => (digest ? original(D(m).digest) : original());
    await expect(resolveImages(src, undefined)).rejects.toThrow(
      /digest mismatch for manifest sha256:9999/,
    );
  });
});

describe('parseManifest', () => {
  const raw = (doc: unknown, mediaType = ''): RawManifest => ({
    mediaType,
    digest: 'sha256:x',
    bytes: Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc)),
  });
  it.each([
    [
      'schema 1',
      raw({ schemaVersion: 1, name: 'x', fsLayers: [] }),
      /schema 1 manifest, which is not supported/,
    ],
    [
      'schema 1 by media type',
      raw({}, 'application/vnd.docker.distribution.manifest.v1+prettyjws'),
      /schema 1/,
    ],
    ['not JSON', raw('<html>'), /is not valid JSON/],
    ['a JSON array', raw([1, 2]), /is not a JSON object/],
    [
      'unknown media type',
      raw({ mediaType: 'text/plain' }),
      /unsupported media type "text\/plain"/,
    ],
    [
      'bad digest',
      raw({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { digest: 'md5:x', size: 1 },
        layers: [],
      }),
      /invalid digest/,
    ],
    [
      'negative size',
      raw({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { digest: `sha256:${'a'.repeat(64)}`, size: -1 },
        layers: [],
      }),
      /invalid size/,
    ],
  ])('%s', (_name, input, message) => {
    expect(() => parseManifest(input, 'manifest')).toThrow(message);
    expect(() => parseManifest(input, 'manifest')).toThrow(ImageError);
  });

  it('recognises a manifest without mediaType by its shape (Docker v2 list too)', () => {
    expect(parseManifest(raw({ schemaVersion: 2, manifests: [] }), 'm').mediaType).toBe(
      'application/vnd.oci.image.index.v1+json',
    );
    expect(
      parseManifest(
        raw({
          schemaVersion: 2,
          mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
          manifests: [],
        }),
        'm',
      ).manifests,
    ).toEqual([]);
  });
});

describe('parsePlatform', () => {
  it.each([
    ['linux/amd64', { os: 'linux', architecture: 'amd64' }],
    ['linux/arm/v7', { os: 'linux', architecture: 'arm', variant: 'v7' }],
    ['all', 'all'],
  ])('%s', (text, expected) => expect(parsePlatform(text)).toEqual(expected));
  it.each(['linux', 'linux/', 'a/b/c/d'])('rejects %s', (text) =>
    expect(() => parsePlatform(text)).toThrow(ImageError),
  );
});
