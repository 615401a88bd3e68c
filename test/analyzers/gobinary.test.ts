import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { zstdDecompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  gobinaryAnalyzer,
  parseModinfo,
  stdlibVersion,
  unquoteGo,
} from '../../src/inventory/analyzers/gobinary.js';
import type { AnalyzedPackage } from '../../src/inventory/types.js';
import { buildElf } from '../support/elf-builder.js';

const fixture = (name: string) => {
  const buf = readFileSync(new URL(`../fixtures/go/${name}`, import.meta.url));
  return name.endsWith('.zst') ? zstdDecompressSync(buf) : buf;
};

async function analyze(content: Buffer, path = 'usr/bin/app') {
  const out = await gobinaryAnalyzer.analyze({ path, content }, new Map([[path, content]]));
  // what the layer cache stores must survive JSON
  expect(JSON.parse(JSON.stringify(out))).toEqual(out);
  return out;
}

/** `go version -m` as make-fixtures.sh converted it to JSON. */
interface GoVersionM {
  toolchain: string;
  path: string | null;
  main: GoModuleJson | null;
  deps: (GoModuleJson & { replace?: GoModuleJson })[];
  build: Record<string, string>;
}
interface GoModuleJson {
  path: string;
  version: string;
  sum: string;
}
const expected = (name: string) =>
  JSON.parse(fixture(`${name}.expected.json`).toString()) as GoVersionM;

const names = (packages: AnalyzedPackage[] | undefined) =>
  packages?.map((p) => `${p.name}@${p.version}`);

// Go's sentinels around the module information (16 bytes each)
const START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const END = Buffer.from('f932433186182072008242104116d8f2', 'hex');
const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');

function uvarint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** The Go 1.18+ layout: header with flags 0x2, then varint-prefixed version and module info. */
function inlineBuildInfo(version: string, modinfo: string | Buffer, sentinels = true): Buffer {
  const header = Buffer.alloc(32);
  MAGIC.copy(header);
  header[14] = 8;
  header[15] = 0x2;
  const mod = Buffer.isBuffer(modinfo) ? modinfo : Buffer.from(modinfo);
  const wrapped = sentinels ? Buffer.concat([START, mod, END]) : mod;
  const v = Buffer.from(version);
  return Buffer.concat([header, uvarint(v.length), v, uvarint(wrapped.length), wrapped]);
}

const goElf = (blob: Buffer, name = '.go.buildinfo') =>
  buildElf({
    sections: [
      { name: '.text', data: Buffer.alloc(64, 0x90), addr: 0x401000, flags: 0x6 },
      { name, data: blob, addr: 0x500000 },
    ],
  });

const MODINFO = [
  'path\texample.com/tool/cmd/tool',
  'mod\texample.com/tool\tv1.5.0\th1:main=',
  'dep\tgolang.org/x/net\tv0.23.0\th1:net=',
  'dep\tgithub.com/old/lib\tv1.0.0',
  '=>\tgithub.com/fork/lib\tv1.0.1\th1:fork=',
  '',
  'build\t-compiler=gc',
  'build\tGOOS=linux',
  '',
].join('\n');

describe('gobinary analyzer', () => {
  const MiB = 1024 * 1024;
  it.each([
    ['usr/bin/docker-registry', { size: 20 * MiB, mode: 0o755 }, true],
    ['app', { size: 8 * MiB, mode: 0o711 }, true],
    ['usr/bin/docker-registry', { size: 20 * MiB, mode: 0o644 }, false],
    ['usr/bin/x', { size: 100, mode: 0o755 }, false],
    ['usr/local/bin/entrypoint.sh', { size: 4000, mode: 0o755 }, false],
    ['usr/bin/bash', undefined, false], // a link: see wantsExecutable
    ['var/lib/dpkg/status', undefined, false],
  ])('wants(%s, %o) = %s', (path, info, want) => {
    expect(gobinaryAnalyzer.wants(path, info)).toBe(want);
  });

  it('a real Debian binary (GOPATH build): the toolchain as stdlib, as `go version -m` reads it', async () => {
    const truth = expected('umoci');
    expect(truth).toMatchObject({ toolchain: 'go1.19.8', main: null, deps: [] });
    const out = await analyze(fixture('umoci.zst'));
    expect(out).toEqual({
      packages: [
        {
          type: 'golang',
          name: 'stdlib',
          version: '1.19.8',
          properties: { 'go:toolchain': truth.toolchain },
        },
      ],
      warnings: [],
    });
  });

  it('a module-mode binary: main module, dependencies, replacements, stdlib', async () => {
    const truth = expected('hello-modules');
    const out = await analyze(fixture('hello-modules.zst'));
    expect(out.warnings).toEqual([]);

    // every module `go version -m` lists, mapped by the documented rules
    const want: string[] = [];
    want.push(`${truth.main!.path}@v1.4.2`); // (devel) + -X main.version=1.4.2
    for (const d of truth.deps) {
      if (!d.replace) want.push(`${d.path}@${d.version}`);
      else if (d.replace.version === '(devel)' || d.replace.version === '')
        want.push(`${d.path}@(devel)`);
      else want.push(`${d.replace.path}@${d.replace.version}`);
    }
    want.push(`stdlib@${truth.toolchain.slice(2)}`);
    expect(names(out.packages)).toEqual(want);
    expect(want).toEqual([
      'example.com/hello@v1.4.2',
      'example.com/greet@v1.2.3',
      'example.com/local@(devel)',
      'example.com/new@v1.1.0',
      'example.com/util@v0.0.0-20240102030405-abcdef123456',
      'stdlib@1.19.8',
    ]);

    const byName = new Map(out.packages!.map((p) => [p.name, p]));
    expect(byName.get('example.com/hello')?.properties).toEqual({
      'go:main': 'true',
      'go:version_from': '-ldflags -X main.version',
      'go:build:GOOS': truth.build.GOOS,
      'go:build:GOARCH': truth.build.GOARCH,
      'go:build:vcs': 'git',
      'go:build:vcs.revision': truth.build['vcs.revision'],
      'go:build:vcs.time': truth.build['vcs.time'],
      'go:build:vcs.modified': 'false',
    });
    expect(byName.get('example.com/new')?.properties).toEqual({
      'go:replaces': 'example.com/old@v1.0.0',
    });
    expect(byName.get('example.com/local')?.properties).toEqual({
      'go:replaces': 'example.com/local@v0.0.0',
      'go:replaced_by': '../local',
    });
    expect(byName.get('example.com/greet')?.properties).toBeUndefined();
    expect(out.packages!.every((p) => p.type === 'golang')).toBe(true);
  });

  it.each(['hello-modules.zst', 'umoci.zst'])(
    '%s: found by the magic when the section headers are gone',
    async (name) => {
      const real = fixture(name);
      const stripped = Buffer.from(real);
      // what sstrip does to the ELF header: no section header table
      stripped.writeBigUInt64LE(0n, 0x28); // e_shoff
      stripped.writeUInt16LE(0, 0x3c); // e_shnum
      stripped.writeUInt16LE(0, 0x3e); // e_shstrndx
      const out = await analyze(stripped);
      expect(out.packages).not.toHaveLength(0);
      expect(out).toEqual(await analyze(real));
    },
  );

  it('without section headers, in a writable segment that starts unaligned in the file', async () => {
    // as gcc's ld lays out cgo binaries (skopeo's RW segment starts at file offset 0xee0db8):
    // the build information is aligned in the file, not from the segment's start
    const elf = buildElf({
      noSectionHeaders: true,
      sections: [{ name: '.data', data: inlineBuildInfo('go1.21.3', MODINFO), addr: 0x500000 }],
    });
    const ph = elf.readUInt32LE(0x20); // e_phoff (64-bit: at 0x20)
    elf.writeBigUInt64LE(elf.readBigUInt64LE(ph + 8) - 8n, ph + 8); // p_offset
    elf.writeBigUInt64LE(0x500000n - 8n, ph + 16); // p_vaddr
    elf.writeBigUInt64LE(elf.readBigUInt64LE(ph + 32) + 8n, ph + 32); // p_filesz
    expect(names((await analyze(elf)).packages)).toContain('stdlib@1.21.3');
  });

  it('the pre-Go 1.18 pointer layout, read through the program headers', async () => {
    const out = await analyze(fixture('legacy-pointer.elf'));
    expect(out).toEqual({
      packages: [
        {
          type: 'golang',
          name: 'example.com/legacy',
          version: '(devel)',
          properties: { 'go:main': 'true', 'go:path': 'example.com/legacy/cmd/legacy' },
        },
        { type: 'golang', name: 'example.com/alpha', version: 'v1.0.0' },
        {
          type: 'golang',
          name: 'example.com/beta-fork',
          version: 'v0.2.1',
          properties: { 'go:replaces': 'example.com/beta@v0.2.0' },
        },
        {
          type: 'golang',
          name: 'stdlib',
          version: '1.16.15',
          properties: { 'go:toolchain': 'go1.16.15' },
        },
      ],
      warnings: [],
    });
  });

  it.each([
    [32, true],
    [32, false],
    [64, false],
  ] as const)('the pointer layout in a %i-bit file, little-endian %s', async (bits, le) => {
    const ptr = bits / 8;
    const write = (buf: Buffer, at: number, v: number) => {
      if (ptr === 4) {
        if (le) buf.writeUInt32LE(v, at);
        else buf.writeUInt32BE(v, at);
      } else if (le) buf.writeBigUInt64LE(BigInt(v), at);
      else buf.writeBigUInt64BE(BigInt(v), at);
    };
    const version = Buffer.from('go1.17.13');
    const mod = Buffer.concat([START, Buffer.from(MODINFO), END]);
    // .data: [version header][modinfo header][version bytes][modinfo bytes]
    const dataAddr = 0x60000;
    const data = Buffer.alloc(4 * ptr + version.length + mod.length);
    write(data, 0, dataAddr + 4 * ptr);
    write(data, ptr, version.length);
    write(data, 2 * ptr, dataAddr + 4 * ptr + version.length);
    write(data, 3 * ptr, mod.length);
    version.copy(data, 4 * ptr);
    mod.copy(data, 4 * ptr + version.length);
    const header = Buffer.alloc(32);
    MAGIC.copy(header);
    header[14] = ptr;
    header[15] = le ? 0 : 1;
    write(header, 16, dataAddr);
    write(header, 16 + ptr, dataAddr + 2 * ptr);
    const elf = buildElf({
      bits,
      littleEndian: le,
      sections: [
        { name: '.go.buildinfo', data: header, addr: 0x50000 },
        { name: '.data', data, addr: dataAddr },
      ],
    });
    const out = await analyze(elf);
    expect(out.warnings).toEqual([]);
    expect(names(out.packages)).toEqual([
      'example.com/tool@v1.5.0',
      'golang.org/x/net@v0.23.0',
      'github.com/fork/lib@v1.0.1',
      'stdlib@1.17.13',
    ]);
  });

  it('a Go 1.18+ layout in a hand-made ELF file', async () => {
    const out = await analyze(goElf(inlineBuildInfo('go1.22.5 X:boringcrypto', MODINFO)));
    expect(out.packages).toEqual([
      {
        type: 'golang',
        name: 'example.com/tool',
        version: 'v1.5.0',
        properties: {
          'go:main': 'true',
          'go:path': 'example.com/tool/cmd/tool',
          'go:build:GOOS': 'linux',
        },
      },
      { type: 'golang', name: 'golang.org/x/net', version: 'v0.23.0' },
      {
        type: 'golang',
        name: 'github.com/fork/lib',
        version: 'v1.0.1',
        properties: { 'go:replaces': 'github.com/old/lib@v1.0.0' },
      },
      {
        type: 'golang',
        name: 'stdlib',
        version: '1.22.5',
        properties: { 'go:toolchain': 'go1.22.5 X:boringcrypto' },
      },
    ]);
  });

  it('skips a magic that does not start a readable header and takes the next one', async () => {
    // no section headers: the writable segment is searched; a stray aligned magic comes first
    const stray = Buffer.concat([MAGIC, Buffer.from([0x99, 0x00]), Buffer.alloc(16, 0xff)]);
    const blob = Buffer.concat([stray, inlineBuildInfo('go1.21.0', MODINFO)]);
    const elf = buildElf({
      noSectionHeaders: true,
      sections: [{ name: '.data', data: blob, addr: 0x500000 }],
    });
    expect(names((await analyze(elf)).packages)).toContain('stdlib@1.21.0');
  });

  it('finds the Go 1.18+ layout in PE and Mach-O files', async () => {
    const info = inlineBuildInfo('go1.23.1', MODINFO);
    const pe = Buffer.alloc(0x400);
    pe.write('MZ', 0, 'latin1');
    pe.writeUInt32LE(0x80, 0x3c);
    pe.write('PE\0\0', 0x80, 'latin1');
    const macho = Buffer.alloc(0x400);
    macho.writeUInt32LE(0xfeedfacf, 0);
    for (const head of [pe, macho]) {
      const out = await analyze(Buffer.concat([head, info]));
      expect(names(out.packages)).toEqual([
        'example.com/tool@v1.5.0',
        'golang.org/x/net@v0.23.0',
        'github.com/fork/lib@v1.0.1',
        'stdlib@1.23.1',
      ]);
    }
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['a shell script', Buffer.from('#!/bin/sh\nexec /app/server "$@"\n')],
    ['random bytes', randomBytes(8192)],
    ['an ELF without Go', fixture('../rust/auditable.elf')],
    ['a magic in a text file', Buffer.concat([MAGIC, Buffer.alloc(64)])],
  ])('%s: no packages, no warning', async (_name, content) => {
    expect(await analyze(content)).toEqual({});
  });

  it('a truncated ELF file: a warning', async () => {
    const real = fixture('hello-modules.zst');
    const out = await analyze(real.subarray(0, 4096));
    expect(out.packages).toBeUndefined();
    expect(out.warnings).toEqual([
      expect.stringMatching(/^usr\/bin\/app: unreadable ELF file: .*beyond the end of the file/),
    ]);
  });

  it('a .go.buildinfo section cut short: a warning', async () => {
    const blob = inlineBuildInfo('go1.22.0', MODINFO);
    const out = await analyze(goElf(blob.subarray(0, 60)));
    expect(out.warnings).toEqual([
      'usr/bin/app: unreadable Go build information: module information runs past the end of the data (truncated?)',
    ]);
  });

  it.each([
    ['a varint longer than any length', Buffer.alloc(12, 0xff), /not a valid varint/],
    ['a varint cut short', Buffer.from([0x80, 0x80]), /string length cut short/],
    ['a huge length', uvarint(2 ** 40), /module information of|Go version of/],
  ])('malformed varints (%s): a warning, no crash', async (_name, bad, message) => {
    const header = Buffer.alloc(32);
    MAGIC.copy(header);
    header[14] = 8;
    header[15] = 2;
    const v = Buffer.from('go1.22.0');
    for (const blob of [
      Buffer.concat([header, bad]),
      Buffer.concat([header, uvarint(v.length), v, bad]),
    ]) {
      const out = await analyze(goElf(blob));
      expect(out.packages).toBeUndefined();
      expect(out.warnings).toHaveLength(1);
      expect(out.warnings![0]).toMatch(message);
    }
  });

  it('an unprintable version or a bad pointer size: a warning', async () => {
    const bad = inlineBuildInfo('go1.22.0', MODINFO);
    bad[33] = 0x01;
    expect((await analyze(goElf(bad))).warnings).toEqual([
      'usr/bin/app: unreadable Go build information: the Go version is not printable text',
    ]);
    const pointers = Buffer.alloc(32);
    MAGIC.copy(pointers);
    pointers[14] = 3;
    expect((await analyze(goElf(pointers))).warnings).toEqual([
      'usr/bin/app: unreadable Go build information: pointer size 3',
    ]);
    // pointers to nowhere
    pointers[14] = 8;
    pointers.writeBigUInt64LE(0x900000n, 16);
    expect((await analyze(goElf(pointers))).warnings).toEqual([
      'usr/bin/app: unreadable Go build information: Go version: string header at 0x900000 is not in the file',
    ]);
  });

  it('module information without sentinels, or garbage: what can be read, and a warning', async () => {
    const bare = await analyze(goElf(inlineBuildInfo('go1.22.0', MODINFO, false)));
    expect(names(bare.packages)).toContain('golang.org/x/net@v0.23.0');
    const garbage = await analyze(goElf(inlineBuildInfo('go1.22.0', randomBytes(10), false)));
    expect(garbage.packages).toEqual([
      {
        type: 'golang',
        name: 'stdlib',
        version: '1.22.0',
        properties: { 'go:toolchain': 'go1.22.0' },
      },
    ]);
    expect(garbage.warnings).toEqual([
      'usr/bin/app: module information is not in the expected form; ignored',
    ]);
    // no module information at all: a Go binary built outside module mode before Go 1.18
    const none = await analyze(goElf(inlineBuildInfo('go1.22.0', '', false)));
    expect(names(none.packages)).toEqual(['stdlib@1.22.0']);
    expect(none.warnings).toEqual([]);
  });

  it('a development toolchain: no stdlib, a warning', async () => {
    const out = await analyze(goElf(inlineBuildInfo('devel go1.23-a2f5c9f Fri Mar 1', MODINFO)));
    expect(names(out.packages)).not.toContain(expect.stringMatching(/^stdlib@/));
    expect(out.warnings).toEqual([
      'usr/bin/app: Go toolchain "devel go1.23-a2f5c9f Fri Mar 1" is not a release: standard library not listed',
    ]);
  });

  it('corrupted build information never throws', async () => {
    // deterministic pseudo-random corruption of the header, the string headers and the strings
    let seed = 777;
    const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    const pointerFile = fixture('legacy-pointer.elf');
    const inlineFile = goElf(inlineBuildInfo('go1.22.5', MODINFO));
    for (const [file, from, to] of [
      [pointerFile, 0x3000, 0x3050], // .data (string headers) and .go.buildinfo
      [inlineFile, 0, inlineFile.length],
    ] as const) {
      for (let round = 0; round < 1000; round++) {
        const buf = Buffer.from(file);
        for (let k = 0; k < 3; k++) buf[from + (next() % (to - from))] = next() & 0xff;
        const out = await gobinaryAnalyzer.analyze({ path: 'x', content: buf }, new Map());
        expect(JSON.parse(JSON.stringify(out))).toEqual(out);
      }
    }
  });

  it('is deterministic', async () => {
    const content = fixture('hello-modules.zst');
    expect(await analyze(content)).toEqual(await analyze(content));
  });
});

describe('stdlibVersion: the Go vulnerability database form', () => {
  it.each([
    ['go1.22.5', '1.22.5'],
    ['go1.20', '1.20.0'],
    ['go1', '1.0.0'],
    ['go1.21.0', '1.21.0'],
    ['go1.21rc2', '1.21.0-rc.2'],
    ['go1.9beta1', '1.9.0-beta.1'],
    ['go1.22.5 X:boringcrypto', '1.22.5'],
    ['go1.22.5-bigcorp', '1.22.5'],
    ['go1.23.4+auto', '1.23.4'],
    ['devel go1.23-a2f5c9f Fri Mar 1 00:00:00 2024 +0000', undefined],
    ['devel +b7a85e0003 Tue Jan 1', undefined],
    ['go1.22.5x', undefined],
    ['', undefined],
  ])('%s → %s', (raw, want) => {
    expect(stdlibVersion(raw)).toBe(want);
  });
});

describe('parseModinfo', () => {
  it('reads quoted build settings', () => {
    const info = parseModinfo(
      'go1.22.0',
      [
        'path\tx',
        'build\t-ldflags="-s -w -X \\"main.version=1.2.3\\""',
        'build\t"-gcflags=all"=-N',
        'build\t-tags=netgo,osusergo',
        'build\tDEFAULT_GODEBUG=httpmuxgo121=1',
      ].join('\n'),
    );
    expect(info.settings).toEqual([
      ['-ldflags', '-s -w -X "main.version=1.2.3"'],
      ['-gcflags=all', '-N'],
      ['-tags', 'netgo,osusergo'],
      ['DEFAULT_GODEBUG', 'httpmuxgo121=1'],
    ]);
  });

  it('warns about what it cannot read and goes on', () => {
    const warnings: string[] = [];
    const info = parseModinfo(
      'go1.22.0',
      [
        '=>\torphan\tv1.0.0',
        'dep\t\tv1.0.0',
        'dep\ta\tv1\tsum\textra',
        'dep\tgood\tv1.0.0\th1:x=',
        '=>\tfork\tv1.0.1',
        '=>\tsecond\tv1.0.2',
        'build\tnoequals',
        'future\tthing',
        'dep\tlast\tv2.0.0\r',
      ].join('\n'),
      (m) => warnings.push(m),
    );
    expect(info.deps).toEqual([
      {
        path: 'good',
        version: 'v1.0.0',
        sum: 'h1:x=',
        replace: { path: 'fork', version: 'v1.0.1' },
      },
      { path: 'last', version: 'v2.0.0' },
    ]);
    expect(warnings).toEqual([
      'module information line 1: a replacement without a module line before it; skipped',
      'module information line 2: not "dep<TAB>path<TAB>version[<TAB>sum]"; skipped',
      'module information line 3: not "dep<TAB>path<TAB>version[<TAB>sum]"; skipped',
      'module information line 6: a replacement without a module line before it; skipped',
      'module information line 7: unreadable build setting; skipped',
      'module information line 8: unknown record "future"; skipped',
    ]);
  });
});

describe('the main module version from -ldflags', () => {
  const run = async (ldflags: string, main = 'example.com/tool') => {
    const modinfo = [
      `path\t${main}`,
      `mod\t${main}\t(devel)\t`,
      `build\t-ldflags=${JSON.stringify(ldflags)}`,
      '',
    ].join('\n');
    const out = await analyze(goElf(inlineBuildInfo('go1.22.0', modinfo)));
    const p = out.packages![0]!;
    return [p.version, p.properties?.['go:version_from']];
  };

  it.each([
    ['-s -w -X main.version=1.2.3 -X main.commit=abc', ['v1.2.3', '-ldflags -X main.version']],
    ["-X 'main.Version=v2.0.0-rc.1'", ['v2.0.0-rc.1', '-ldflags -X main.Version']],
    ['-X=main.version=3.1.4', ['v3.1.4', '-ldflags -X main.version']],
    [
      '-X k8s.io/component-base/version.gitVersion=v1.30.2 -X k8s.io/client-go/pkg/version.gitVersion=v1.30.2',
      ['v1.30.2', '-ldflags -X k8s.io/component-base/version.gitVersion'],
    ],
    [
      '-X github.com/lib/version.Version=9.9.9 -X example.com/tool/internal/version.Version=1.0.0',
      ['v1.0.0', '-ldflags -X example.com/tool/internal/version.Version'],
    ],
    // ambiguous or not a version: left as Go recorded it
    ['-X main.version=1.0.0 -X main.Version=2.0.0', ['(devel)', undefined]],
    ['-X main.version=dev', ['(devel)', undefined]],
    ['-X main.version=1.2', ['(devel)', undefined]],
    ['-X main.commit=1.2.3', ['(devel)', undefined]],
    ['-s -w', ['(devel)', undefined]],
  ])('%s', async (ldflags, want) => {
    expect(await run(ldflags)).toEqual(want);
  });

  it('does not replace a version Go recorded', async () => {
    const modinfo = 'path\tx\nmod\tx\tv0.9.0\t\nbuild\t-ldflags="-X main.version=1.0.0"\n';
    const out = await analyze(goElf(inlineBuildInfo('go1.24.0', modinfo)));
    expect(out.packages![0]).toMatchObject({ name: 'x', version: 'v0.9.0' });
  });
});

describe('unquoteGo', () => {
  it.each([
    ['"plain"', 'plain'],
    ['"a\\"b\\\\c"', 'a"b\\c'],
    ['"\\t\\n\\x41\\u00e9\\U0001F600\\101"', '\t\nAé😀A'],
    ['"unterminated', undefined],
    ['"bad \\q escape"', undefined],
    ['"inner " quote"', undefined],
  ])('%s', (input, want) => {
    expect(unquoteGo(input)).toBe(want);
  });
});
