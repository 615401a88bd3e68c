import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IndexEvent } from '../../src/inventory/indexer.js';
import { inventoryImage } from '../../src/inventory/inventory-image.js';
import { ImageError } from '../../src/image/types.js';
import {
  sha256,
  singleLayerManifest,
  writeOciLayout,
  type HandmadeImage,
} from '../support/oci-layout.js';
import { makeTar } from '../support/tar.js';
import { runCli } from '../support/cli.js';

/**
 * Hostile and broken images: each must fail its scan with a clear reason, never crash, hang or
 * read anything outside the image.
 */
let dir: string;
const STATUS = 'Package: a\nStatus: install ok installed\nVersion: 1\n';

function flipLastByte(b: Buffer): Buffer {
  const copy = Buffer.from(b);
  copy[copy.length - 1] = copy[copy.length - 1]! ^ 0xff;
  return copy;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'regscan-hostile-'));
  const good = await makeTar([
    { name: 'etc/os-release', content: 'ID=debian\nVERSION_ID=12\n' },
    { name: 'var/lib/dpkg/status', content: STATUS },
  ]);
  const bigRandom = gzipSync(
    await makeTar([{ name: 'var/lib/dpkg/status', content: randomBytes(200_000) }]),
  );
  const other = gzipSync(
    await makeTar([{ name: 'var/lib/dpkg/status', content: STATUS.replace('a', 'b') }]),
  );
  const truncated = bigRandom.subarray(0, 50_000);
  const images: HandmadeImage[] = [
    { tag: 'good', layers: [gzipSync(good)] },
    {
      tag: 'traversal',
      layers: [
        gzipSync(
          await makeTar([{ name: '../../etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n' }]),
        ),
      ],
    },
    {
      tag: 'symlink-out',
      layers: [
        gzipSync(
          await makeTar([
            { name: 'etc/os-release', type: 'symlink', linkname: '../../../../../etc/os-release' },
          ]),
        ),
      ],
    },
    {
      tag: 'symlink-absolute-out',
      layers: [
        gzipSync(
          await makeTar([
            {
              name: 'var/lib/dpkg/status',
              type: 'symlink',
              linkname: '/../../../../var/lib/dpkg/status',
            },
          ]),
        ),
      ],
    },
    {
      tag: 'symlink-loop',
      layers: [
        gzipSync(
          await makeTar([
            { name: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
            { name: 'usr/lib/os-release', type: 'symlink', linkname: '/etc/os-release' },
          ]),
        ),
      ],
    },
    {
      tag: 'bomb',
      layers: [
        gzipSync(await makeTar([{ name: 'zeros', content: Buffer.alloc(64 * 1024 * 1024) }]), {
          level: 9,
        }),
      ],
    },
    // the blob is cut short but its descriptor claims it whole
    { tag: 'truncated', layers: [bigRandom], tamper: { 0: truncated } },
    // the blob is cut short and its descriptor says so: the gzip stream itself ends early
    { tag: 'truncated-gzip', layers: [truncated] },
    // same size, one byte changed (a layer of its own: blobs are shared by digest in a layout)
    { tag: 'digest-mismatch', layers: [other], tamper: { 0: flipLastByte(other) } },
    {
      tag: 'manifest-not-json',
      layers: [],
      manifestBytes: Buffer.from('<html>not a manifest</html>'),
    },
    { tag: 'diff-ids-mismatch', layers: [gzipSync(good)], diffIds: [] },
  ];
  await writeOciLayout(join(dir, 'oci'), images);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ref = (tag: string) => `oci:${join(dir, 'oci')}:${tag}`;

describe('hostile images', () => {
  it('the well-formed control image scans', async () => {
    const [result] = await inventoryImage(ref('good'));
    expect(result?.inventory.distro?.id).toBe('debian');
    expect(result?.inventory.packages.map((p) => p.name)).toEqual(['a']);
  });

  const cases: [string, RegExp, object?][] = [
    ['traversal', /escapes the image root \(path traversal\)/],
    ['symlink-out', /points outside the image root/],
    ['symlink-absolute-out', /points outside the image root/],
    ['symlink-loop', /symlink loop/],
    [
      'bomb',
      /decompresses to more than 8388608 bytes/,
      { limits: { maxLayerBytes: 8 * 1024 * 1024, maxFileBytes: 1 << 20 } },
    ],
    ['truncated', /truncated: 50000 of \d+ bytes/],
    ['truncated-gzip', /unexpected end of file/],
    ['digest-mismatch', /digest mismatch for blob sha256:/],
    ['manifest-not-json', /is not valid JSON/],
    ['diff-ids-mismatch', /lists 0 diff ids for 1 layers/],
  ];
  it.each(cases)('%s fails with a clear reason', async (tag, message, options) => {
    const err = await inventoryImage(ref(tag), options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ImageError);
    expect((err as Error).message).toMatch(message);
  });

  it('the CLI reports a hostile image in one line and exits 1', async () => {
    const r = await runCli(['sbom', '--no-cache', '-q', ref('traversal')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^regscan: ImageError: layer sha256:[0-9a-f]{64}: layer entry "..\/..\/etc\/passwd" escapes the image root/,
    );
  });
});

/**
 * A tiny registry serving one image per repository, whose layer blob as served (`served`) need
 * not be what its descriptor says (`layer`). Each response goes out in one write, so the whole
 * blob reaches the client at once and its verification fails right at the start of the walk.
 */
async function serveTampered(
  images: Record<string, { layer: Buffer; served: Buffer }>,
): Promise<{ host: string; server: Server }> {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, Buffer>();
  for (const [repository, { layer, served }] of Object.entries(images)) {
    const { config, manifest } = singleLayerManifest(layer);
    blobs.set(sha256(config), config);
    blobs.set(sha256(layer), served);
    manifests.set(repository, manifest);
  }
  const server = createServer((req, res) => {
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(req.url ?? '');
    const body = !m ? undefined : m[2] === 'manifests' ? manifests.get(m[1]!) : blobs.get(m[3]!);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type':
        m![2] === 'manifests'
          ? 'application/vnd.oci.image.manifest.v1+json'
          : 'application/octet-stream',
      'content-length': body.length,
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('layer blobs that fail verification after the layer was walked', () => {
  let host: string;
  let server: Server;
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => void uncaught.push(err);

  beforeAll(async () => {
    // one layer per case: blobs are served by digest
    const layerOf = async (status: string) =>
      gzipSync(await makeTar([{ name: 'var/lib/dpkg/status', content: status }]));
    const layer = await layerOf(STATUS);
    const other = await layerOf(STATUS.replace('a', 'b'));
    // bytes after the end of the gzip stream: the tar is complete before they arrive
    const padded = Buffer.concat([await layerOf(STATUS.replace('a', 'c')), Buffer.alloc(512)]);
    const paddedChanged = Buffer.from(padded);
    paddedChanged[paddedChanged.length - 1] = 1;
    ({ host, server } = await serveTampered({
      'changed/trailer': { layer, served: flipLastByte(layer) },
      'changed/padding': { layer: padded, served: paddedChanged },
      'cut/short': { layer: other, served: other.subarray(0, other.length - 8) },
    }));
    process.on('uncaughtException', onUncaught);
  });
  afterAll(async () => {
    process.off('uncaughtException', onUncaught);
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  const cases: [repository: string, reason: RegExp][] = [
    ['changed/trailer', /digest mismatch for blob sha256:/],
    ['changed/padding', /digest mismatch for blob sha256:/],
    ['cut/short', /is truncated: \d+ of \d+ bytes/],
  ];
  describe.each([
    ['with progress events', true],
    ['without progress events', false],
  ])('%s', (_name, withEvents) => {
    it.each(cases)('%s: the scan fails with the reason, nothing escapes', async (repo, reason) => {
      uncaught.length = 0;
      const events: IndexEvent[] = [];
      const err = await inventoryImage(`${host}/${repo}:1`, {
        registry: { insecure: true, retries: 0 },
        ...(withEvents ? { onEvent: (e: IndexEvent) => void events.push(e) } : {}),
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ImageError);
      expect((err as Error).message).toMatch(reason);
      if (withEvents) expect(events.some((e) => e.type === 'bytes')).toBe(true);
      // a late error would surface here as an uncaught exception
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(uncaught).toEqual([]);
    });
  });
});
