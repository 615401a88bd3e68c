import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apkAnalyzer } from '../../src/inventory/analyzers/apk.js';
import type { AnalyzedPackage } from '../../src/inventory/types.js';

const DB = 'lib/apk/db/installed';
const USR_DB = 'usr/lib/apk/db/installed';

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/pkgdb/${name}`, import.meta.url));

async function analyze(text: string | Buffer, path = DB) {
  const content = Buffer.isBuffer(text) ? text : Buffer.from(text);
  return apkAnalyzer.analyze({ path, content }, new Map([[path, content]]));
}

/** The `*.expected.json` rows (see test/fixtures/pkgdb/apk/SOURCE.md). */
interface ExpectedRow {
  name: string;
  version: string;
  arch: string;
  origin: string;
  license: string;
}

describe('apk analyzer', () => {
  it.each([
    ['lib/apk/db/installed', true],
    ['usr/lib/apk/db/installed', true],
    ['lib/apk/db/installed.old', false],
    ['lib/apk/db/installed.adb', false],
    ['lib/apk/db/scripts.tar', false],
    ['lib/apk/db/triggers', false],
    ['var/lib/apk/db/installed', false],
    ['etc/apk/world', false],
    ['/lib/apk/db/installed', false],
    ['x/lib/apk/db/installed', false],
  ])('wants(%s) = %s', (path, expected) => {
    expect(apkAnalyzer.wants(path)).toBe(expected);
  });

  // Each real database → its whole package list, field by field, in file order.
  it.each([
    ['apk/alpine-3.16-x86_64', DB, 14],
    ['apk/alpine-3.16-aarch64', USR_DB, 14],
    ['apk/alpine-3.18-x86_64', DB, 15],
    ['apk/alpine-3.19-x86_64-partial', DB, 4],
    ['wolfi/wolfi-base-x86_64', USR_DB, 15],
    ['wolfi/wolfi-redis-operator-compat-x86_64', USR_DB, 16],
  ])('%s', async (name, path, count) => {
    const rows = JSON.parse(fixture(`${name}.expected.json`).toString()) as ExpectedRow[];
    const out = await analyze(fixture(`${name}.installed`), path);
    expect(out.warnings).toEqual([]);
    expect(rows).toHaveLength(count);
    expect(
      out.packages?.map(({ type, name, version, arch, source, licenses }) => ({
        type,
        name,
        version,
        arch,
        source,
        licenses,
      })),
    ).toEqual(
      rows.map((r) => ({
        type: 'apk',
        name: r.name,
        version: r.version,
        arch: r.arch,
        source: { name: r.origin },
        licenses: [r.license],
      })),
    );
  });

  it('keeps the commit and build time of a real record', async () => {
    const out = await analyze(fixture('apk/alpine-3.18-x86_64.installed'));
    expect(out.packages?.find((p) => p.name === 'musl')).toEqual({
      type: 'apk',
      name: 'musl',
      version: '1.2.4-r0',
      arch: 'x86_64',
      source: { name: 'musl' },
      licenses: ['MIT'],
      properties: {
        'apk:commit': 'b0d8a9d948174e28a4aefcee4ef6be872225ccce',
        'apk:buildtime': '1682999359',
      },
    });
  });

  it('reads the deliberately edited 3.4 database, skipping the record without a version', async () => {
    const rows = JSON.parse(
      fixture('apk/alpine-3.4-x86_64-edited.expected.json').toString(),
    ) as ExpectedRow[];
    const out = await analyze(fixture('apk/alpine-3.4-x86_64-edited.installed'));
    expect(out.packages?.map((p) => [p.name, p.version, p.source?.name])).toEqual(
      rows.map((r) => [r.name, r.version, r.origin]),
    );
    expect(out.packages?.find((p) => p.name === 'test')?.source).toEqual({ name: 'test-parent' });
    expect(out.packages?.find((p) => p.name === 'ada-libs')?.licenses).toEqual([
      '( Apache-2.0 OR MIT ) AND MPL-2.0',
    ]);
    expect(out.warnings).toEqual([
      `${DB}:23: package invalidPackageWithoutAVersion has no version (V:); skipped`,
    ]);
  });

  const pkg = (name: string, version: string, extra: Partial<AnalyzedPackage> = {}) => ({
    type: 'apk',
    name,
    version,
    ...extra,
  });

  const cases: [string, string, object[], string[]][] = [
    [
      'record without origin has no source',
      'P:a\nV:1.0-r0\nA:x86_64\n\n',
      [pkg('a', '1.0-r0', { arch: 'x86_64' })],
      [],
    ],
    [
      'no blank line or newline after the last record',
      'P:a\nV:1-r0\n\nP:b\nV:2-r1\no:bee',
      [pkg('a', '1-r0'), pkg('b', '2-r1', { source: { name: 'bee' } })],
      [],
    ],
    [
      'CRLF line ends and several blank lines',
      'P:a\r\nV:1-r0\r\nL:MIT AND BSD-2-Clause\r\n\r\n\r\n\r\nP:b\r\nV:2-r0\r\n',
      [pkg('a', '1-r0', { licenses: ['MIT AND BSD-2-Clause'] }), pkg('b', '2-r0')],
      [],
    ],
    [
      'garbage lines are ignored with a warning, the record is kept',
      'P:a\nthis is not a field\nV:1-r0\n\n\u0000\u0001\n\nP:b\nV:2-r0\n',
      [pkg('a', '1-r0'), pkg('b', '2-r0')],
      [`${DB}:2: not a "K:value" line; ignored`, `${DB}:5: not a "K:value" line; ignored`],
    ],
    [
      'a missing blank line between records loses neither package',
      'P:a\nV:1-r0\nP:b\nV:2-r0\n',
      [pkg('a', '1-r0'), pkg('b', '2-r0')],
      [`${DB}:3: second P: in one record (missing blank line?); starting a new record`],
    ],
    [
      'record without a name is skipped with a warning',
      'C:Q1abc=\nV:1-r0\n\nP:b\nV:2-r0\n',
      [pkg('b', '2-r0')],
      [`${DB}:1: record without a package name (P:); skipped`],
    ],
    [
      'empty values count as missing; empty A:/o:/L:/U: are left out',
      'P:a\nV:\n\nP:b\nV:1-r0\nA:\no:\nL:\nU:\n',
      [pkg('b', '1-r0')],
      [`${DB}:1: package a has no version (V:); skipped`],
    ],
    [
      'values keep colons and spaces',
      'P:a\nV:1-r0\nL:GPL-2.0-or-later WITH Linux-syscall-note\nc:abc:def\n',
      [
        pkg('a', '1-r0', {
          licenses: ['GPL-2.0-or-later WITH Linux-syscall-note'],
          properties: { 'apk:commit': 'abc:def' },
        }),
      ],
      [],
    ],
    ['empty file', '', [], []],
    ['only blank lines', '\n\n\r\n', [], []],
  ];
  it.each(cases)('%s', async (_name, text, packages, warnings) => {
    const out = await analyze(text);
    expect(out.packages).toEqual(packages);
    expect(out.warnings).toEqual(warnings);
  });

  it('caps the warnings for a badly broken file', async () => {
    const text = Array.from({ length: 50 }, (_, i) => `P:p${i}\n`).join('\n');
    const out = await analyze(text);
    expect(out.packages).toEqual([]);
    expect(out.warnings).toHaveLength(21);
    expect(out.warnings?.at(-1)).toBe(`${DB}: 30 more warnings not shown`);
  });

  it('refuses a file that is not an installed database at all', () => {
    expect(() =>
      apkAnalyzer.analyze(
        { path: DB, content: Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x0a, 0xff, 0xfe]) },
        new Map(),
      ),
    ).toThrow(/not an apk installed database/);
  });
});
