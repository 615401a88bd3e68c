import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cargoAnalyzer, readLockTables } from '../../src/inventory/analyzers/cargo.js';
import { buildElf } from '../support/elf-builder.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/rust/${name}`, import.meta.url));

async function analyze(content: string | Buffer, path = 'app/Cargo.lock') {
  const buf = Buffer.isBuffer(content) ? content : Buffer.from(content);
  const out = await cargoAnalyzer.analyze({ path, content: buf }, new Map([[path, buf]]));
  expect(JSON.parse(JSON.stringify(out))).toEqual(out);
  return out;
}

/** `*.expected.json`: every [[package]] as Python's tomllib read it (see SOURCE.md). */
interface ExpectedRow {
  name: string;
  version: string;
  source: string | null;
}
const expected = (name: string) =>
  JSON.parse(fixture(`${name}.expected.json`).toString()) as ExpectedRow[];

const CRATES_IO = 'registry+https://github.com/rust-lang/crates.io-index';

describe('cargo analyzer: wants', () => {
  const MiB = 1024 * 1024;
  it.each([
    ['Cargo.lock', undefined, true],
    ['app/Cargo.lock', undefined, true],
    ['usr/src/app/Cargo.lock', { size: 3000, mode: 0o644 }, true],
    [
      'root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/ripgrep-14.1.0/Cargo.lock',
      undefined,
      false,
    ],
    ['usr/local/cargo/registry/src/x/y-1.0.0/Cargo.lock', undefined, false],
    ['usr/local/cargo/git/checkouts/z/abc/Cargo.lock', undefined, false],
    ['app/Cargo.toml', undefined, false],
    ['app/cargo.lock', undefined, false],
    ['app/Cargo.lock.bak', undefined, false],
    // binaries, decided by their bytes
    ['usr/local/bin/rg', { size: 5 * MiB, mode: 0o755 }, true],
    ['usr/local/bin/rg', { size: 5 * MiB, mode: 0o644 }, false],
    ['usr/bin/bash', undefined, false], // a link: see wantsExecutable
  ])('wants(%s, %o) = %s', (path, info, want) => {
    expect(cargoAnalyzer.wants(path, info)).toBe(want);
  });
});

describe('cargo analyzer: Cargo.lock', () => {
  it('a real lock file (v2 style): every crate, as tomllib reads it', async () => {
    const rows = expected('syft');
    expect(rows).toHaveLength(14);
    const out = await analyze(fixture('syft.Cargo.lock'));
    expect(out.warnings).toEqual([]);
    expect(out.packages).toEqual(
      rows.map((r) => ({ type: 'cargo', name: r.name, version: r.version })),
    );
    expect(rows.every((r) => r.source === CRATES_IO)).toBe(true);
  });

  it('a workspace (cargo generate-lockfile, v4): members and path crates are left out', async () => {
    const rows = expected('workspace');
    const out = await analyze(fixture('workspace.Cargo.lock'));
    expect(out.warnings).toEqual([]);
    expect(out.packages).toEqual(
      rows
        .filter((r) => r.source !== null)
        .map((r) => ({
          type: 'cargo',
          name: r.name,
          version: r.version,
          properties: { 'cargo:source': r.source },
        })),
    );
    expect(out.packages!.map((p) => p.name)).toEqual(['gitdep']);
  });

  it('the v1 format: [root], dependency strings, [metadata] checksums', async () => {
    const out = await analyze(`[root]
name = "myapp"
version = "0.1.0"
dependencies = [
 "libc 0.2.40 (registry+https://github.com/rust-lang/crates.io-index)",
]

[[package]]
name = "libc"
version = "0.2.40"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "local-lib"
version = "0.1.0"

[metadata]
"checksum libc 0.2.40 (registry+https://github.com/rust-lang/crates.io-index)" = "6fd41f331ac7c5b8ac259b8bf82c75c0fb2e469bbf37d2becbba9a6a2221965b"
`);
    expect(out).toEqual({
      packages: [{ type: 'cargo', name: 'libc', version: '0.2.40' }],
      warnings: [],
    });
  });

  it('sparse-index crates.io, other registries, [[patch.unused]]', async () => {
    const out = await analyze(`version = 3

[[package]]
name = "serde"
version = "1.0.200"
source = "sparse+https://index.crates.io/"

[[package]]
name = "internal-crate"
version = "2.1.0"
source = "sparse+https://cargo.example.com/index/"

[[patch.unused]]
name = "unused-patch"
version = "0.1.0"
source = "git+https://github.com/example/unused?branch=main#0123456789abcdef0123456789abcdef01234567"
`);
    expect(out.packages).toEqual([
      { type: 'cargo', name: 'serde', version: '1.0.200' },
      {
        type: 'cargo',
        name: 'internal-crate',
        version: '2.1.0',
        properties: { 'cargo:source': 'sparse+https://cargo.example.com/index/' },
      },
    ]);
  });

  it('broken lines: a warning each, the rest is read', async () => {
    const out = await analyze(`[[package]]
name = "good"
version = "1.0.0"
source = "${CRATES_IO}"

[[package]]
name = "unterminated
version = "1.0.0"
source = "${CRATES_IO}"

[[package]]
name = "nover"
source = "${CRATES_IO}"

[[package]]
name = "strange"
version = 3
source = "${CRATES_IO}"

[[package]]
name = "tabled" \t # a comment
version = 'literal'
source = "${CRATES_IO}"
checksum = { inline = "table" }
`);
    expect(out.packages).toEqual([
      { type: 'cargo', name: 'good', version: '1.0.0' },
      { type: 'cargo', name: 'tabled', version: 'literal' },
    ]);
    expect(out.warnings).toEqual([
      // syntax first (while reading), then the tables
      'app/Cargo.lock:7: unterminated string; line skipped',
      'app/Cargo.lock:24: unsupported value; line skipped',
      'app/Cargo.lock:6: [[package]] without a string name and version; skipped',
      'app/Cargo.lock:11: [[package]] without a string name and version; skipped',
      'app/Cargo.lock:15: [[package]] without a string name and version; skipped',
    ]);
  });

  it.each([
    ['text', 'hello\nworld\n'],
    ['random bytes', randomBytes(4096)],
  ])('%s: not a lock file (thrown, which becomes a warning)', async (_name, content) => {
    await expect(analyze(content)).rejects.toThrow(/not a Cargo.lock/);
  });

  it('an empty lock file: nothing', async () => {
    expect(await analyze('')).toEqual({ packages: [], warnings: [] });
    expect(await analyze('# just a comment\nversion = 4\n')).toEqual({
      packages: [],
      warnings: [],
    });
  });

  it('reads strings with escapes, arrays across lines with comments', () => {
    const warnings: string[] = [];
    const tables = readLockTables(
      `a = "tab\\there \\u00e9 \\"q\\""
b = [ # comment
  "x", 'y',
  ["nested", 1, true],
]
"quoted key" = false
`,
      (line, m) => warnings.push(`${line}: ${m}`),
    );
    expect(warnings).toEqual([]);
    expect(Object.fromEntries(tables[0]!.values)).toEqual({
      a: 'tab\there é "q"',
      b: ['x', 'y', ['nested', 1, true]],
      'quoted key': false,
    });
  });
});

describe('cargo analyzer: cargo-auditable binaries', () => {
  const auditableElf = (json: string | Buffer, compress = true) => {
    const raw = Buffer.isBuffer(json) ? json : Buffer.from(json);
    return buildElf({
      sections: [
        { name: '.text', data: Buffer.alloc(32, 0x90), addr: 0x401000, flags: 0x6 },
        { name: '.dep-v0', data: compress ? deflateSync(raw) : raw, flags: 0 },
      ],
    });
  };

  it('the .dep-v0 section: crates that are not local, with kind and source', async () => {
    const json = JSON.parse(fixture('dep-v0.json').toString()) as {
      packages: { name: string; version: string; source: string; kind?: string }[];
    };
    const out = await analyze(fixture('auditable.elf'), 'usr/local/bin/auditable-hello');
    expect(out.warnings).toEqual([]);
    expect(out.packages).toEqual(
      json.packages
        .filter((p) => p.source !== 'local')
        .map((p) => {
          const properties: Record<string, string> = {};
          if (p.source !== 'crates.io') properties['cargo:source'] = p.source;
          if (p.kind === 'build') properties['cargo:kind'] = 'build';
          return {
            type: 'cargo',
            name: p.name,
            version: p.version,
            ...(Object.keys(properties).length > 0 ? { properties } : {}),
          };
        }),
    );
    expect(out.packages!.map((p) => p.name)).toEqual(['memchr', 'version_check', 'nom', 'forked']);
  });

  it('a root crate from crates.io (cargo install) is listed and marked', async () => {
    const out = await analyze(
      auditableElf(
        '{"packages":[{"name":"ripgrep","version":"14.1.0","source":"crates.io","root":true,"dependencies":[1]},{"name":"memchr","version":"2.7.4","source":"crates.io"}]}',
      ),
      'usr/local/bin/rg',
    );
    expect(out.packages).toEqual([
      { type: 'cargo', name: 'ripgrep', version: '14.1.0', properties: { 'cargo:root': 'true' } },
      { type: 'cargo', name: 'memchr', version: '2.7.4' },
    ]);
  });

  it.each([
    ['not zlib', auditableElf('{"packages":[]}', false), /unreadable cargo-auditable data/],
    ['not JSON', auditableElf('{"packages":'), /unreadable cargo-auditable data/],
    ['no packages array', auditableElf('{"pkgs":[]}'), /without a "packages" array/],
    ['null', auditableElf('null'), /without a "packages" array/],
  ])('%s: a warning', async (_name, elf, message) => {
    const out = await analyze(elf, 'usr/bin/x');
    expect(out.packages).toEqual([]);
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings![0]).toMatch(message);
  });

  it('bad entries are skipped with a warning', async () => {
    const out = await analyze(
      auditableElf(
        JSON.stringify({
          packages: [
            { name: 'ok', version: '1.0.0', source: 'crates.io' },
            { name: 'noversion', source: 'crates.io' },
            null,
            'string',
            { name: 'x', version: 1, source: 'crates.io' },
          ],
        }),
      ),
      'usr/bin/x',
    );
    expect(out.packages).toEqual([{ type: 'cargo', name: 'ok', version: '1.0.0' }]);
    expect(out.warnings).toEqual([
      'usr/bin/x: cargo-auditable packages[1] without a name, version and source; skipped',
      'usr/bin/x: cargo-auditable packages[2] without a name, version and source; skipped',
      'usr/bin/x: cargo-auditable packages[3] without a name, version and source; skipped',
      'usr/bin/x: cargo-auditable packages[4] without a name, version and source; skipped',
    ]);
  });

  it.each([
    ['a Go binary', fixture('../go/legacy-pointer.elf')],
    ['a truncated ELF file', fixture('auditable.elf').subarray(0, 200)],
    ['a script', Buffer.from('#!/bin/sh\necho hi\n')],
    ['random bytes', randomBytes(4096)],
  ])('%s: nothing', async (_name, content) => {
    expect(await analyze(content, 'usr/bin/x')).toEqual({});
  });
});
