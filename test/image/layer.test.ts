import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { normalizeEntryPath, walkLayer, type LayerLimits } from '../../src/image/layer.js';
import { ImageError } from '../../src/image/types.js';
import { makeTar } from '../support/tar.js';

const wantAll = () => true;
const from = (buf: Buffer) => Readable.from([buf]);
const text = (m: Map<string, Buffer>) =>
  Object.fromEntries([...m].map(([k, v]) => [k, v.toString()]));

describe('walkLayer', () => {
  it('reads wanted files from plain, gzip and zstd layers alike', async () => {
    const tar = await makeTar([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/os-release', content: 'ID=debian\n' },
      { name: './var/lib/dpkg/status', content: 'Package: a\n' },
      { name: 'usr/bin/big', content: Buffer.alloc(100_000, 1) },
    ]);
    const wants = (p: string) => p === 'etc/os-release' || p === 'var/lib/dpkg/status';
    for (const blob of [tar, gzipSync(tar), zstdCompressSync(tar)]) {
      const out = await walkLayer(from(blob), wants);
      expect(text(out.files)).toEqual({
        'etc/os-release': 'ID=debian\n',
        'var/lib/dpkg/status': 'Package: a\n',
      });
    }
  });

  it('collects whiteouts and opaque directories whatever is wanted', async () => {
    const tar = await makeTar([
      { name: 'etc/.wh.issue.net', content: '' },
      { name: 'var/lib/dpkg/info/.wh.less.list', content: '' },
      { name: 'usr/share/doc/curl/.wh..wh..opq', content: '' },
      { name: '.wh.top', content: '' },
      { name: 'x/.wh..wh.plnk', content: '' },
    ]);
    const out = await walkLayer(from(tar), () => false);
    expect(out.whiteouts).toEqual(['etc/issue.net', 'var/lib/dpkg/info/less.list', 'top']);
    expect(out.opaqueDirs).toEqual(['usr/share/doc/curl']);
    expect(out.files.size).toBe(0);
  });

  it('records wanted links and copies hard links to files read before them', async () => {
    const tar = await makeTar([
      { name: 'usr/lib/os-release', content: 'ID=debian\n' },
      { name: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
      { name: 'var/lib/dpkg/status', type: 'link', linkname: 'usr/lib/os-release' },
      { name: 'var/lib/dpkg/status.d/x', type: 'link', linkname: 'not/read' },
    ]);
    const out = await walkLayer(from(tar), wantAll);
    expect(text(out.files)).toEqual({
      'usr/lib/os-release': 'ID=debian\n',
      'var/lib/dpkg/status': 'ID=debian\n',
    });
    expect(Object.fromEntries(out.links)).toEqual({
      'etc/os-release': '../usr/lib/os-release',
      'var/lib/dpkg/status.d/x': '/not/read',
    });
  });

  it('a later entry for the same path wins', async () => {
    const tar = await makeTar([
      { name: 'a', content: 'one' },
      { name: 'a', content: 'two' },
    ]);
    expect(text((await walkLayer(from(tar), wantAll)).files)).toEqual({ a: 'two' });
  });

  it('skips wanted files over the size limit with a warning', async () => {
    const tar = await makeTar([{ name: 'var/lib/dpkg/status', content: Buffer.alloc(2000) }]);
    const limits: LayerLimits = { maxLayerBytes: 1 << 30, maxFileBytes: 1000 };
    const out = await walkLayer(from(tar), wantAll, limits);
    expect(out.files.size).toBe(0);
    expect(out.warnings).toEqual([
      'var/lib/dpkg/status: 2000 bytes is more than the 1000 allowed; skipped',
    ]);
  });

  it.each([['../../etc/passwd'], ['a/../../b'], ['/../x']])(
    'refuses path traversal in %s',
    async (name) => {
      const tar = await makeTar([{ name, content: 'root:x:0:0' }]);
      await expect(walkLayer(from(gzipSync(tar)), wantAll)).rejects.toThrow(
        /escapes the image root/,
      );
    },
  );

  it('refuses a hard link that climbs out of the root', async () => {
    const tar = await makeTar([
      { name: 'etc/os-release', type: 'link', linkname: '../../../etc/passwd' },
    ]);
    await expect(walkLayer(from(tar), wantAll)).rejects.toThrow(/escapes the image root/);
  });

  it('stops a decompression bomb at the layer limit', async () => {
    // 64 MiB of zeros compress to about 64 KiB
    const tar = await makeTar([{ name: 'zeros', content: Buffer.alloc(64 * 1024 * 1024) }]);
    const bomb = gzipSync(tar, { level: 9 });
    expect(bomb.length).toBeLessThan(200 * 1024);
    const limits: LayerLimits = { maxLayerBytes: 8 * 1024 * 1024, maxFileBytes: 1024 };
    await expect(walkLayer(from(bomb), () => false, limits)).rejects.toThrow(
      /decompresses to more than 8388608 bytes/,
    );
  });

  it.each([
    [
      'a truncated gzip layer',
      async () =>
        gzipSync(await makeTar([{ name: 'a', content: randomBytes(50_000) }])).subarray(0, 20_000),
    ],
    [
      'a truncated tar',
      async () =>
        (await makeTar([{ name: 'a', content: Buffer.alloc(50_000, 7) }])).subarray(0, 3000),
    ],
    [
      'xz compression',
      () => Promise.resolve(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3])),
    ],
    [
      'random bytes',
      () =>
        Promise.resolve(Buffer.from('this is not a tar archive at all, not even close'.repeat(20))),
    ],
  ])('fails cleanly on %s', async (_name, make) => {
    const err = await walkLayer(from(await make()), wantAll).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageError);
  });

  it('passes on errors of the blob stream (such as a digest mismatch)', async () => {
    const tar = await makeTar([{ name: 'a', content: 'x' }]);
    const failing = new Readable({
      read() {
        this.push(tar.subarray(0, 512));
        this.destroy(new ImageError('digest mismatch for blob sha256:abc'));
      },
    });
    await expect(walkLayer(failing, wantAll)).rejects.toThrow(/digest mismatch/);
  });
});

describe('normalizeEntryPath', () => {
  it.each([
    ['./etc/os-release', 'etc/os-release'],
    ['/etc//os-release', 'etc/os-release'],
    ['etc/./x/', 'etc/x'],
    ['./', ''],
  ])('%s → %s', (input, expected) => {
    expect(normalizeEntryPath(input)).toBe(expected);
  });
});
