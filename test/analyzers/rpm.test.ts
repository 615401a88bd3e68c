import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { parseSourceRpm, rpmAnalyzer } from '../../src/inventory/analyzers/rpm.js';
import type { AnalyzedPackage } from '../../src/inventory/types.js';

const DIR = new URL('../fixtures/pkgdb/rpm/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, DIR));

const SQLITE = 'var/lib/rpm/rpmdb.sqlite';
const BDB = 'var/lib/rpm/Packages';
const NDB = 'usr/lib/sysimage/rpm/Packages.db';

async function analyze(path: string, content: Buffer, extra: [string, Buffer][] = []) {
  return rpmAnalyzer.analyze({ path, content }, new Map([[path, content], ...extra]));
}

/** The `expected*.json` rows (see test/fixtures/pkgdb/rpm/SOURCE.md). */
interface ExpectedRow {
  name: string;
  epoch: number | null;
  version: string;
  release: string;
  arch: string | null;
  sourceRpm: string | null;
  license?: string | null;
  modularitylabel?: string | null;
}

const rows = (name: string) => JSON.parse(fixture(name).toString()) as ExpectedRow[];

/**
 * What the analyzer must return for an expected row. The source package is split off the source
 * rpm's file name here with `lastIndexOf` (the analyzer uses a regular expression): the last two
 * dashes separate name, version and release.
 */
function expectedPackage(r: ExpectedRow, withLicense: boolean): AnalyzedPackage {
  const evr = `${r.version}-${r.release}`;
  const base = r.sourceRpm!.replace(/\.src\.rpm$/, '');
  const dash = base.lastIndexOf('-', base.lastIndexOf('-') - 1);
  const pkg: AnalyzedPackage = {
    type: 'rpm',
    name: r.name,
    version: r.epoch ? `${r.epoch}:${evr}` : evr,
    release: r.release,
    source: { name: base.slice(0, dash), version: base.slice(dash + 1) },
  };
  if (r.epoch !== null) pkg.epoch = r.epoch;
  if (r.arch !== null) pkg.arch = r.arch;
  if (withLicense && r.license) pkg.licenses = [r.license];
  if (r.modularitylabel) pkg.properties = { 'rpm:modularitylabel': r.modularitylabel };
  return pkg;
}

const byKey = (a: AnalyzedPackage, b: AnalyzedPackage) =>
  `${a.name} ${a.arch} ${a.version}`.localeCompare(`${b.name} ${b.arch} ${b.version}`);

/** Copies of test databases that the test changes are made in memory, never in place. */
function sqliteImage(name: string): Database.Database {
  const bytes = Buffer.from(fixture(name));
  bytes[18] = 1; // WAL → rollback journal, which sqlite3_deserialize accepts
  bytes[19] = 1;
  return new Database(bytes);
}

function regscanTempDirs(): Set<string> {
  return new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('regscan-rpmdb-')));
}

describe('rpm analyzer', () => {
  it.each([
    ['var/lib/rpm/Packages', true],
    ['var/lib/rpm/Packages.db', true],
    ['var/lib/rpm/rpmdb.sqlite', true],
    ['var/lib/rpm/rpmdb.sqlite-wal', true],
    ['usr/lib/sysimage/rpm/Packages', true],
    ['usr/lib/sysimage/rpm/Packages.db', true],
    ['usr/lib/sysimage/rpm/rpmdb.sqlite', true],
    ['usr/lib/sysimage/rpm/rpmdb.sqlite-wal', true],
    ['var/lib/rpm/rpmdb.sqlite-shm', false],
    ['var/lib/rpm/rpmdb.sqlite-journal', false],
    ['var/lib/rpm/Packages.bak', false],
    ['var/lib/rpm/Packages-wal', false],
    ['var/lib/rpm/Name', false],
    ['var/lib/rpm/Basenames', false],
    ['var/lib/rpm/.rpm.lock', false],
    ['var/lib/rpm/__db.001', false],
    ['var/lib/rpmrebuilddb.123/Packages', false],
    ['usr/share/rpm/Packages', false],
    ['/var/lib/rpm/Packages', false],
    ['root/var/lib/rpm/Packages', false],
  ])('wants(%s) = %s', (path, expected) => {
    expect(rpmAnalyzer.wants(path)).toBe(expected);
  });

  it.each([
    ['openssl-3.0.7-27.el9.src.rpm', { name: 'openssl', version: '3.0.7-27.el9' }],
    ['python-pip-21.3.1-2.el9.src.rpm', { name: 'python-pip', version: '21.3.1-2.el9' }],
    ['my-lib-0.9~rc1-1.el9_2.src.rpm', { name: 'my-lib', version: '0.9~rc1-1.el9_2' }],
    ['kernel-5.14.0-70.el9.nosrc.rpm', { name: 'kernel', version: '5.14.0-70.el9' }],
    ['a-1-2.src.rpm', { name: 'a', version: '1-2' }],
    ['openssl-3.0.7.src.rpm', undefined],
    ['openssl-3.0.7-27.el9.x86_64.rpm', undefined],
    ['-1-2.src.rpm', undefined],
    ['(none)', undefined],
    ['', undefined],
  ])('parseSourceRpm(%s)', (file, expected) => {
    expect(parseSourceRpm(file)).toEqual(expected);
  });

  // Each real database → its whole package list (gpg-pubkey left out), field by field.
  it.each([
    // [fixture, image path, expected list, licences from that list?, packages]
    ['sle15-bci-ndb/Packages.db (NDB, SLE 15 SP3)', NDB, 'sle15-bci-ndb/expected.json', false, 35],
    [
      'amazonlinux2023-sqlite/rpmdb.sqlite',
      SQLITE,
      'amazonlinux2023-sqlite/expected.json',
      false,
      102,
    ],
    [
      'amazonlinux2023-sqlite/rpmdb.sqlite',
      'usr/lib/sysimage/rpm/rpmdb.sqlite',
      'amazonlinux2023-sqlite/expected-rpm418.json',
      true,
      102,
    ],
    [
      'cbl-mariner2-sqlite/rpmdb.sqlite',
      SQLITE,
      'cbl-mariner2-sqlite/expected-rpm418.json',
      true,
      129,
    ],
    [
      'hummingbird-sqlite/rpmdb.sqlite',
      'usr/lib/sysimage/rpm/rpmdb.sqlite',
      'hummingbird-sqlite/expected-rpm418.json',
      true,
      5,
    ],
    ['libuuid-bdb/Packages', BDB, 'libuuid-bdb/expected-rpm418.json', true, 1],
    ['scalibr-epoch-bdb/Packages', BDB, 'scalibr-epoch-bdb/expected-rpm418.json', true, 1],
    ['syft-dive-bdb/Packages', BDB, 'syft-dive-bdb/expected-rpm418.json', true, 1],
    ['regscan-sqlite/rpmdb.sqlite', SQLITE, 'regscan-sqlite/expected.json', true, 4],
    ['regscan-bdb/Packages', 'usr/lib/sysimage/rpm/Packages', 'regscan-bdb/expected.json', true, 4],
  ])('%s read as %s', async (file, path, expectedFile, withLicense, count) => {
    const dbFile = file.split(' ')[0]!;
    const expected = rows(expectedFile)
      .filter((r) => r.name !== 'gpg-pubkey')
      .map((r) => expectedPackage(r, withLicense));
    expect(expected).toHaveLength(count);
    const out = await analyze(path, fixture(dbFile));
    expect(out.warnings).toEqual([]);
    const got = out.packages ?? [];
    const compared = withLicense ? got : got.map(({ licenses: _, ...rest }) => rest);
    expect([...compared].sort(byKey)).toEqual([...expected].sort(byKey));
    if (!withLicense) expect(got.every((p) => p.licenses?.length === 1)).toBe(true);
  });

  it("includes the one package go-rpmdb's test lists for CBL-Mariner", async () => {
    const out = await analyze(SQLITE, fixture('cbl-mariner2-sqlite/rpmdb.sqlite'));
    const [curl] = rows('cbl-mariner2-sqlite/expected-subset-curl.json');
    expect(out.packages?.map(({ licenses: _, ...p }) => p)).toContainEqual(
      expectedPackage(curl!, false),
    );
  });

  it('keeps epoch 0 as a field but not in the version, and the modularity label', async () => {
    const out = await analyze(SQLITE, fixture('regscan-sqlite/rpmdb.sqlite'));
    const find = (name: string) => out.packages?.find((p) => p.name === name);
    expect(find('my-lib')).toEqual({
      type: 'rpm',
      name: 'my-lib',
      version: '0.9~rc1-1.el9_2',
      epoch: 0,
      release: '1.el9_2',
      arch: 'x86_64',
      source: { name: 'my-lib', version: '0.9~rc1-1.el9_2' },
      licenses: ['GPL-2.0-or-later'],
    });
    expect(find('my-lib-tools')?.source).toEqual({ name: 'my-lib', version: '0.9~rc1-1.el9_2' });
    expect(find('regscan-hello')).toMatchObject({
      version: '2:1.2.3-4.rs1',
      epoch: 2,
      properties: { 'rpm:modularitylabel': 'regscan:1.0:20240101:c0ffee' },
    });
    expect(find('plain')).not.toHaveProperty('epoch');
    expect(find('gpg-pubkey')).toBeUndefined();
  });

  describe('rpmdb.sqlite with its write-ahead log', () => {
    const db = fixture('regscan-sqlite-wal/rpmdb.sqlite');
    const wal = fixture('regscan-sqlite-wal/rpmdb.sqlite-wal');
    const names = (out: { packages?: AnalyzedPackage[] }) =>
      (out.packages ?? []).map((p) => p.name).sort();
    const expectedNames = (file: string) =>
      rows(file)
        .map((r) => r.name)
        .filter((n) => n !== 'gpg-pubkey')
        .sort();

    it('sees the package only the WAL holds', async () => {
      const before = regscanTempDirs();
      const out = await analyze(SQLITE, db, [[`${SQLITE}-wal`, wal]]);
      expect(out.warnings).toEqual([]);
      expect(names(out)).toEqual(expectedNames('regscan-sqlite-wal/expected.json'));
      expect(names(out)).toContain('plain');
      // the private copy is gone, and nothing was written next to the fixture
      expect([...regscanTempDirs()].filter((d) => !before.has(d))).toEqual([]);
      expect(existsSync(new URL('regscan-sqlite-wal/rpmdb.sqlite-shm', DIR))).toBe(false);
    });

    it('without the WAL, reads what the main file holds', async () => {
      const out = await analyze(SQLITE, db);
      expect(names(out)).toEqual(expectedNames('regscan-sqlite-wal/expected-without-wal.json'));
      expect(names(out)).not.toContain('plain');
    });

    it('an empty WAL changes nothing', async () => {
      const out = await analyze(SQLITE, db, [[`${SQLITE}-wal`, Buffer.alloc(0)]]);
      expect(names(out)).toEqual(expectedNames('regscan-sqlite-wal/expected-without-wal.json'));
    });

    it('a garbage WAL is ignored by SQLite', async () => {
      const out = await analyze(SQLITE, db, [[`${SQLITE}-wal`, Buffer.alloc(8192, 0x5a)]]);
      expect(names(out)).toEqual(expectedNames('regscan-sqlite-wal/expected-without-wal.json'));
    });

    it('the WAL file itself yields nothing when its database is beside it', async () => {
      const path = `${SQLITE}-wal`;
      expect(await analyze(path, wal, [[SQLITE, db]])).toEqual({});
    });

    it('a WAL without its database in the layer is reported', async () => {
      const out = await analyze(`${SQLITE}-wal`, wal);
      expect(out.packages).toBeUndefined();
      expect(out.warnings).toEqual([
        `${SQLITE}-wal: write-ahead log without ${SQLITE} in the same layer; the changes it holds are not seen`,
      ]);
    });
  });

  describe('damaged and foreign files', () => {
    const bdb = fixture('regscan-bdb/Packages');
    const ndb = fixture('sle15-bci-ndb/Packages.db');
    const al2023 = fixture('amazonlinux2023-sqlite/rpmdb.sqlite');

    it.each([
      ['empty file', BDB, Buffer.alloc(0)],
      ['empty sqlite file', SQLITE, Buffer.alloc(0)],
    ])('%s → a warning', async (_name, path, content) => {
      const out = await analyze(path, content);
      expect(out.packages).toBeUndefined();
      expect(out.warnings).toEqual([`${path}: empty file; no packages`]);
    });

    it.each([
      ['text', BDB, Buffer.from('hello, world\n'), /not an rpm database/],
      ['zeros', BDB, Buffer.alloc(8192), /not an rpm database/],
      ['an apk database', SQLITE, Buffer.from('P:musl\nV:1.2.4-r0\n\n'), /not an rpm database/],
      ['a gzip stream', NDB, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]), /not an rpm database/],
      ['a sqlite header only', SQLITE, al2023.subarray(0, 60), /truncated SQLite database/],
      ['sqlite cut in half', SQLITE, al2023.subarray(0, al2023.length / 2), /truncated SQLite/],
      ['sqlite cut short by a byte', SQLITE, al2023.subarray(0, al2023.length - 1), /truncated/],
      ['a BDB header only', BDB, bdb.subarray(0, 100), /truncated Berkeley DB/],
      ['an NDB header only', NDB, ndb.subarray(0, 1000), /too small/],
      [
        'a big-endian BDB',
        BDB,
        Buffer.concat([Buffer.alloc(12), Buffer.from([0, 6, 0x15, 0x61]), Buffer.alloc(4080)]),
        /big-endian Berkeley DB/,
      ],
      [
        'a BDB btree, not a hash database',
        BDB,
        Buffer.concat([Buffer.alloc(12), Buffer.from([0x62, 0x31, 5, 0]), Buffer.alloc(4080)]),
        /not an rpm database/,
      ],
    ])('%s → a clear error', async (_name, path, content, message) => {
      await expect(analyze(path, content)).rejects.toThrow(message);
    });

    it('a SQLite database that is not an rpm database', async () => {
      const db = new Database(':memory:');
      db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)');
      const bytes = db.serialize();
      db.close();
      await expect(analyze(SQLITE, bytes)).rejects.toThrow(
        'SQLite database without a Packages table',
      );
    });

    it('bad rows in rpmdb.sqlite cost one package each', async () => {
      const db = sqliteImage('regscan-sqlite/rpmdb.sqlite');
      const hnums = db.prepare('SELECT hnum FROM Packages ORDER BY hnum').pluck().all();
      expect(hnums.length).toBeGreaterThanOrEqual(3);
      db.prepare('UPDATE Packages SET blob = ? WHERE hnum = ?').run(
        Buffer.from('not a header'),
        hnums[1],
      );
      db.prepare("UPDATE Packages SET blob = 'text' WHERE hnum = ?").run(hnums[2]);
      const bytes = db.serialize();
      db.close();
      const out = await analyze(SQLITE, bytes);
      expect(out.packages).toHaveLength(2);
      expect(out.warnings).toEqual([
        `${SQLITE}: package ${String(hnums[2])} has no header blob; skipped`,
        expect.stringMatching(/^var\/lib\/rpm\/rpmdb.sqlite: package header #2 (unreadable|lacks)/),
      ]);
    });

    it('a header whose overflow pages are destroyed costs that package only', async () => {
      const bytes = Buffer.from(fixture('regscan-sqlite/rpmdb.sqlite'));
      // the long description of regscan-hello lives in overflow pages of its blob
      const at = bytes.indexOf('A long description so');
      const page = Math.floor(at / 4096);
      bytes.fill(0xff, page * 4096, page * 4096 + 4096);
      const out = await analyze(SQLITE, bytes);
      expect(out.packages?.map((p) => p.name).sort()).toEqual(['my-lib', 'my-lib-tools', 'plain']);
      expect(out.warnings).toEqual([
        expect.stringMatching(
          /^var\/lib\/rpm\/rpmdb.sqlite: 1 of 5 packages unreadable \(.*malformed.*\); skipped$/,
        ),
      ]);
    });

    it('a truncated BDB keeps the packages on the pages it still has', async () => {
      const out = await analyze(BDB, bdb.subarray(0, 8 * 4096));
      expect(out.packages?.length).toBeGreaterThan(0);
      expect(out.packages?.length).toBeLessThan(4);
      expect(out.warnings?.[0]).toBe(`${BDB}: truncated: 8 of 10 pages present`);
      expect(out.warnings?.slice(1)).toEqual(
        Array(4 - (out.packages?.length ?? 0)).fill(
          expect.stringMatching(/overflow chain unreadable/),
        ),
      );
    });

    it('a BDB item announcing more bytes than the file holds is skipped', async () => {
      const bytes = Buffer.from(bdb);
      // the first overflow item (type 3) referenced from hash page 1
      const page = 4096;
      const entries = bytes.readUInt16LE(page + 20);
      const values = Array.from({ length: entries / 2 }, (_, i) =>
        bytes.readUInt16LE(page + 26 + (2 * i + 1) * 2),
      );
      const item = values.find((v) => bytes[page + v] === 3);
      expect(item).toBeDefined();
      bytes.writeUInt32LE(0xfffffff0, page + item! + 8);
      const out = await analyze(BDB, bytes);
      expect(out.packages).toHaveLength(3);
      expect(out.warnings).toEqual([
        `${BDB}: hash page 1: item of 4294967280 bytes is larger than the file; skipped`,
      ]);
    });

    it('a truncated NDB reports the packages it lost', async () => {
      const out = await analyze(NDB, ndb.subarray(0, ndb.length / 2));
      expect(out.packages?.length).toBeGreaterThan(0);
      expect(out.warnings).toEqual([
        `${NDB}: ${35 - (out.packages?.length ?? 0)} of 35 packages unreadable (damaged or truncated file)`,
      ]);
    });

    it('survives random damage to every format: packages, warnings or an Error, never a crash', async () => {
      let seed = 20261124;
      const random = () => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed / 0x80000000;
      };
      const formats: [Buffer, string][] = [
        [bdb, BDB],
        [fixture('libuuid-bdb/Packages'), BDB],
        [ndb, NDB],
        [fixture('regscan-sqlite/rpmdb.sqlite'), SQLITE],
      ];
      for (const [original, path] of formats) {
        for (let i = 0; i < 50; i++) {
          const bytes = Buffer.from(original);
          const changes = 1 + Math.floor(random() * 16);
          for (let k = 0; k < changes; k++) {
            // mostly in the first pages, where the structure is
            const span = random() < 0.7 ? Math.min(bytes.length, 16384) : bytes.length;
            bytes[Math.floor(random() * span)] = Math.floor(random() * 256);
          }
          try {
            const out = await analyze(path, bytes);
            expect(JSON.parse(JSON.stringify(out))).toEqual(out);
          } catch (err) {
            expect(err).toBeInstanceOf(Error);
            expect((err as Error).message).not.toBe('');
          }
        }
      }
    });

    it('NDB headers with garbage inside are skipped one by one', async () => {
      const bytes = Buffer.from(ndb);
      // the first blob: slot 0 → blkOffset × 16 is its blob header, the header data follows it
      const blob = bytes.readUInt32LE(32 + 8) * 16 + 16;
      bytes.writeUInt32BE(0x7fffffff, blob); // header index length
      const out = await analyze(NDB, bytes);
      expect(out.packages).toHaveLength(34);
      expect(out.warnings).toEqual([
        expect.stringMatching(
          /^usr\/lib\/sysimage\/rpm\/Packages.db: package header #1 unreadable/,
        ),
      ]);
    });
  });
});
