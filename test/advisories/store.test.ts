import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { zipSync, type Zippable } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MemoryAdvisoryIndex,
  normalizePackageName,
  type Advisory,
} from '../../src/advisories/osv.js';
import {
  listJsonFiles,
  OsvDirectorySource,
  OsvZipSource,
  SOURCE_KINDS,
  sourcesFor,
  type AdvisorySource,
  type SourceItem,
  type SourcePlan,
} from '../../src/advisories/sources.js';
import { parseAdvisory } from '../../src/advisories/schema.js';
import {
  AdvisoryStore,
  STORE_SCHEMA_VERSION,
  type UpdateResult,
} from '../../src/advisories/store.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/advisories/osv', import.meta.url));
const NATIVE = fileURLToPath(new URL('../fixtures/advisories/native', import.meta.url));

let tmp: string;
let records: { file: string; advisory: Advisory }[];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'regscan-store-'));
  const files = await listJsonFiles(FIXTURE);
  records = files.map((file) => ({
    file: relative(FIXTURE, file),
    advisory: JSON.parse(readFileSync(file, 'utf8')) as Advisory,
  }));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let counter = 0;
/** A fresh copy of the fixture records, to change without touching the fixtures. */
function fixtureCopy(): string {
  const dir = join(tmp, `osv-${++counter}`);
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}
const dbFile = () => join(tmp, `store-${++counter}.db`);
const counts = (r: UpdateResult) => ({
  added: r.added,
  changed: r.changed,
  withdrawn: r.withdrawn,
  unchanged: r.unchanged,
  removed: r.removed,
  invalid: r.invalid,
});

/** Every (ecosystem, name) the records name, as the matcher would look them up. */
function packageKeys(advisories: Advisory[]): [string, string][] {
  const keys = new Map<string, [string, string]>();
  for (const a of advisories) {
    for (const affected of a.affected ?? []) {
      const p = affected.package;
      if (p) keys.set(`${p.ecosystem}\0${p.name}`, [p.ecosystem, p.name]);
    }
  }
  return [...keys.values()];
}
const ids = (list: Advisory[]) => list.map((a) => a.id).sort();

describe('AdvisoryStore: a directory of real OSV records', () => {
  let dir: string;
  let store: AdvisoryStore;
  let file: string;

  beforeAll(async () => {
    dir = fixtureCopy();
    file = dbFile();
    store = new AdvisoryStore(file);
    const result = await store.update(new OsvDirectorySource(dir));
    expect(result.mode).toBe('full');
    expect(counts(result)).toEqual({
      added: records.length,
      changed: 0,
      withdrawn: 0,
      unchanged: 0,
      removed: 0,
      invalid: 0,
    });
  });
  afterAll(() => store.close());

  it('finds every advisory by ecosystem and name, exactly as the in-memory index does', () => {
    const all = records.map((r) => r.advisory);
    const memory = new MemoryAdvisoryIndex(all);
    const keys = packageKeys(all);
    expect(keys.length).toBeGreaterThan(300);
    for (const [ecosystem, name] of keys) {
      expect([ecosystem, name, ids(store.forPackage(ecosystem, name))]).toEqual([
        ecosystem,
        name,
        ids(memory.forPackage(ecosystem, name)),
      ]);
    }
    expect(store.forPackage('npm', 'no-such-package-anywhere')).toEqual([]);
  });

  it('normalises PyPI names (PEP 503) and stores ecosystems as written', () => {
    const pyyaml = ids(store.forPackage('PyPI', 'PyYAML'));
    expect(pyyaml).toEqual(['PYSEC-2018-49', 'PYSEC-2020-176', 'PYSEC-2020-96', 'PYSEC-2021-142']);
    expect(ids(store.forPackage('PyPI', 'pyyaml'))).toEqual(pyyaml);
    expect(ids(store.forPackage('PyPI', 'py.yaml'))).toEqual([]);
    expect(normalizePackageName('PyPI', 'Py_YAML')).toBe('py-yaml');
    // Other ecosystems compare names exactly.
    expect(store.forPackage('npm', 'lodash').map((a) => a.id)).toContain('GHSA-jf85-cpcp-j695');
    expect(store.forPackage('npm', 'Lodash')).toEqual([]);
    // A release-qualified ecosystem is its own key.
    expect(store.forPackage('Debian:10', 'chromium').length).toBeGreaterThan(0);
    expect(store.forPackage('Debian', 'chromium')).toEqual([]);
    expect(store.forPackage('Ubuntu:22.04:LTS', 'glibc').length).toBeGreaterThan(0);
  });

  it('returns the records as they were imported (null fields dropped, as parseAdvisory does)', () => {
    for (const { advisory } of records) {
      expect(store.get(advisory.id)).toEqual(parseAdvisory(advisory).advisory);
    }
    expect(JSON.stringify(store.get('CVE-2012-2812'))).not.toContain('null');
  });

  it('finds advisories by alias', () => {
    const withAlias = records.find((r) => (r.advisory.aliases?.length ?? 0) > 0)!.advisory;
    expect(store.byAlias(withAlias.aliases![0]!).map((a) => a.id)).toContain(withAlias.id);
    expect(store.byAlias(withAlias.id).map((a) => a.id)).toEqual([withAlias.id]);
  });

  it('looks up 500 packages in well under 50 ms', () => {
    const keys = packageKeys(records.map((r) => r.advisory)).slice(0, 500);
    store.forPackage('npm', 'warm-up');
    const started = performance.now();
    let found = 0;
    for (const [ecosystem, name] of keys) found += store.forPackage(ecosystem, name).length;
    const ms = performance.now() - started;
    expect(found).toBeGreaterThan(keys.length);
    expect(ms).toBeLessThan(50);
  });

  it('says what it holds', () => {
    const status = store.status();
    expect(status.schemaVersion).toBe(STORE_SCHEMA_VERSION);
    expect(status.advisories).toBe(records.length);
    expect(status.withdrawn).toBe(records.filter((r) => r.advisory.withdrawn).length);
    const pypi = status.ecosystems.find((e) => e.ecosystem === 'PyPI')!;
    expect(pypi.advisories).toBe(
      records.filter((r) => r.advisory.affected?.some((a) => a.package?.ecosystem === 'PyPI'))
        .length,
    );
    expect(status.ecosystems.map((e) => e.ecosystem)).toEqual(
      expect.arrayContaining([
        'Go',
        'PyPI',
        'crates.io',
        'npm',
        'Maven',
        'Debian:10',
        'Alpine:v3.10',
      ]),
    );
    expect(status.sources).toEqual([
      expect.objectContaining({
        name: dir,
        kind: 'osv-directory',
        records: records.length,
        lastSync: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
        lastFullSync: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
        lastResult: expect.objectContaining({ added: records.length }) as unknown,
      }),
    ]);
  });

  it('is a file: reopened, it holds the same', () => {
    const again = new AdvisoryStore(file, { readonly: true });
    try {
      expect(again.status().advisories).toBe(records.length);
      expect(ids(again.forPackage('PyPI', 'pyyaml'))).toHaveLength(4);
    } finally {
      again.close();
    }
  });
});

describe('AdvisoryStore: updates', () => {
  it('re-imports as unchanged, then notices a changed, a withdrawn and a removed record', async () => {
    const dir = fixtureCopy();
    const store = new AdvisoryStore(dbFile());
    try {
      await store.update(new OsvDirectorySource(dir));
      const again = await store.update(new OsvDirectorySource(dir));
      expect(counts(again)).toEqual({
        added: 0,
        changed: 0,
        withdrawn: 0,
        unchanged: records.length,
        removed: 0,
        invalid: 0,
      });

      const change = 'pypi/PYSEC-2018-49.json';
      const withdraw = 'go/GO-2020-0001.json';
      const remove = 'crates.io/RUSTSEC-2016-0001.json';
      const edit = (path: string, fn: (a: Advisory) => void) => {
        const a = JSON.parse(readFileSync(join(dir, path), 'utf8')) as Advisory;
        fn(a);
        writeFileSync(join(dir, path), JSON.stringify(a, null, 2));
        return a;
      };
      const changed = edit(change, (a) => {
        a.modified = '2030-01-01T00:00:00Z';
        a.details = 'A new description.';
        a.affected = a.affected?.map((x) => ({
          ...x,
          package: { ecosystem: 'PyPI', name: 'Py_Yaml2' },
        }));
      });
      const withdrawn = edit(withdraw, (a) => {
        a.modified = '2030-01-01T00:00:00Z';
        a.withdrawn = '2030-01-01T00:00:00Z';
      });
      const removedId = (JSON.parse(readFileSync(join(dir, remove), 'utf8')) as Advisory).id;
      rmSync(join(dir, remove));

      const result = await store.update(new OsvDirectorySource(dir));
      expect(counts(result)).toEqual({
        added: 0,
        changed: 1,
        withdrawn: 1,
        unchanged: records.length - 3,
        removed: 1,
        invalid: 0,
      });
      expect(store.get(changed.id)?.details).toBe('A new description.');
      // The package index follows the record: the old name no longer finds it, the new one does.
      expect(ids(store.forPackage('PyPI', 'PyYAML'))).not.toContain(changed.id);
      expect(ids(store.forPackage('PyPI', 'py-yaml2'))).toEqual([changed.id]);
      // A withdrawn record stays findable (the matcher skips it) and flagged.
      expect(store.get(withdrawn.id)?.withdrawn).toBe('2030-01-01T00:00:00Z');
      expect(
        store.forPackage('Go', withdrawn.affected![0]!.package!.name).map((a) => a.id),
      ).toContain(withdrawn.id);
      expect(store.get(removedId)).toBeUndefined();
      expect(store.byAlias(removedId)).toEqual([]);
      expect(store.status().advisories).toBe(records.length - 1);
    } finally {
      store.close();
    }
  });

  it('keeps the stored version of a record that became invalid, and reports it', async () => {
    const dir = fixtureCopy();
    const store = new AdvisoryStore(dbFile());
    try {
      await store.update(new OsvDirectorySource(dir));
      const path = join(dir, 'ghsa-sample/GHSA-jf85-cpcp-j695.json');
      const record = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      writeFileSync(path, JSON.stringify({ ...record, modified: 'last Tuesday' }));
      writeFileSync(join(dir, 'broken.json'), '{"id": "GHSA-xxxx", "modified": ');
      const result = await store.update(new OsvDirectorySource(dir));
      expect(counts(result)).toMatchObject({
        invalid: 2,
        removed: 0,
        unchanged: records.length - 1,
      });
      expect(result.invalidRecords).toEqual([
        { origin: 'broken.json', errors: [expect.stringMatching(/^not JSON/) as unknown] },
        {
          origin: 'ghsa-sample/GHSA-jf85-cpcp-j695.json',
          id: 'GHSA-jf85-cpcp-j695',
          errors: ['/modified: must be an RFC 3339 date-time such as 2024-05-01T12:00:00Z'],
        },
      ]);
      expect(store.get('GHSA-jf85-cpcp-j695')?.modified).toBe(record.modified);
    } finally {
      store.close();
    }
  });

  it('keeps what it has when a full read finds nothing (a wrong path, not a deleted database)', async () => {
    const dir = fixtureCopy();
    const store = new AdvisoryStore(dbFile());
    try {
      await store.update(new OsvDirectorySource(dir));
      rmSync(dir, { recursive: true });
      mkdirSync(dir);
      const result = await store.update(new OsvDirectorySource(dir));
      expect(result.removed).toBe(0);
      expect(result.warningMessages).toEqual([
        `${dir}: read no records; kept the ${records.length} it gave before`,
      ]);
      expect(store.status().advisories).toBe(records.length);
    } finally {
      store.close();
    }
  });

  it('keeps the later version when two sources give the same id, and a record until no source has it', async () => {
    const a = join(tmp, `two-a-${++counter}`);
    const b = join(tmp, `two-b-${counter}`);
    mkdirSync(a);
    mkdirSync(b);
    const record = (modified: string, summary: string): Advisory => ({
      id: 'x_TWO-1',
      modified,
      summary,
      affected: [
        {
          package: { ecosystem: 'npm', name: 'two' },
          ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }] }],
        },
      ],
    });
    writeFileSync(join(a, 'x.json'), JSON.stringify(record('2024-02-01T00:00:00Z', 'newer')));
    writeFileSync(join(b, 'x.json'), JSON.stringify(record('2024-01-01T00:00:00Z', 'older')));
    const store = new AdvisoryStore(dbFile());
    try {
      expect((await store.update(new OsvDirectorySource(a))).added).toBe(1);
      const fromB = await store.update(new OsvDirectorySource(b));
      expect(fromB.older).toBe(1);
      expect(store.get('x_TWO-1')?.summary).toBe('newer');
      // Gone from a, still in b: kept (a's version stays until b gives another).
      rmSync(join(a, 'x.json'));
      writeFileSync(
        join(a, 'other.json'),
        JSON.stringify({ id: 'x_OTHER-1', modified: '2024-01-01T00:00:00Z' }),
      );
      expect((await store.update(new OsvDirectorySource(a))).removed).toBe(1);
      expect(store.get('x_TWO-1')).toBeDefined();
      // Gone from b too: deleted.
      rmSync(join(b, 'x.json'));
      writeFileSync(
        join(b, 'other.json'),
        JSON.stringify({ id: 'x_OTHER-2', modified: '2024-01-01T00:00:00Z' }),
      );
      expect((await store.update(new OsvDirectorySource(b))).removed).toBe(1);
      expect(store.get('x_TWO-1')).toBeUndefined();
      expect(store.forPackage('npm', 'two')).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('counts an id given twice by one source once, keeping its later version', async () => {
    const dir = join(tmp, `dup-${++counter}`);
    mkdirSync(join(dir, 'a'), { recursive: true });
    mkdirSync(join(dir, 'b'));
    const base = { id: 'x_DUP-1', affected: [{ package: { ecosystem: 'npm', name: 'dup' } }] };
    writeFileSync(
      join(dir, 'a/x.json'),
      JSON.stringify({ ...base, modified: '2024-01-01T00:00:00Z', summary: 'old' }),
    );
    writeFileSync(
      join(dir, 'b/x.json'),
      JSON.stringify({ ...base, modified: '2024-03-01T00:00:00Z', summary: 'new' }),
    );
    const store = new AdvisoryStore(dbFile());
    try {
      const first = await store.update(new OsvDirectorySource(dir));
      expect(first).toMatchObject({ added: 1, changed: 0, duplicates: 1 });
      const second = await store.update(new OsvDirectorySource(dir));
      expect(second).toMatchObject({ added: 0, changed: 0, unchanged: 1, older: 0, duplicates: 1 });
      expect(store.get('x_DUP-1')?.summary).toBe('new');
    } finally {
      store.close();
    }
  });

  it('migrates with user_version and refuses a database from a newer regscan', () => {
    const file = dbFile();
    new AdvisoryStore(file).close();
    const raw = new Database(file);
    expect(raw.pragma('user_version', { simple: true })).toBe(STORE_SCHEMA_VERSION);
    expect(
      raw
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .all()
        .map((r) => (r as { name: string }).name),
    ).toEqual(['advisories', 'affected', 'aliases', 'source_records', 'sources']);
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => new AdvisoryStore(file)).toThrow(/schema 99 is newer than this regscan knows/);
  });

  it('puts the database under XDG_CACHE_HOME by default', async () => {
    const { defaultAdvisoryDbPath } = await import('../../src/advisories/store.js');
    const saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = '/somewhere/cache';
    try {
      expect(defaultAdvisoryDbPath()).toBe('/somewhere/cache/regscan/advisories.db');
    } finally {
      if (saved === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved;
    }
  });
});

describe('OsvZipSource', () => {
  /** The fixture records as an all.zip, some entries stored and some deflated. */
  function fixtureZip(extra: Record<string, Uint8Array> = {}): string {
    const files: Zippable = {};
    records.forEach(({ file }, i) => {
      const data = readFileSync(join(FIXTURE, file));
      files[file.split('/').pop()!] = [data, { level: i % 3 === 0 ? 0 : 6 }];
    });
    for (const [name, data] of Object.entries(extra)) files[name] = data;
    const path = join(tmp, `all-${++counter}.zip`);
    writeFileSync(path, zipSync(files));
    return path;
  }

  it('gives the same store content as the directory', async () => {
    const fromDir = new AdvisoryStore(dbFile());
    const fromZip = new AdvisoryStore(dbFile());
    try {
      await fromDir.update(new OsvDirectorySource(FIXTURE));
      const result = await fromZip.update(new OsvZipSource(fixtureZip()));
      expect(counts(result)).toMatchObject({ added: records.length, invalid: 0 });
      for (const { advisory } of records) {
        expect(fromZip.get(advisory.id)).toEqual(fromDir.get(advisory.id));
      }
      for (const [ecosystem, name] of packageKeys(records.map((r) => r.advisory))) {
        expect(ids(fromZip.forPackage(ecosystem, name))).toEqual(
          ids(fromDir.forPackage(ecosystem, name)),
        );
      }
      const { ecosystems, advisories, withdrawn } = fromZip.status();
      expect({ ecosystems, advisories, withdrawn }).toEqual({
        ecosystems: fromDir.status().ecosystems,
        advisories: fromDir.status().advisories,
        withdrawn: fromDir.status().withdrawn,
      });
    } finally {
      fromDir.close();
      fromZip.close();
    }
  });

  it('reports bad entries and skips what is not JSON, without stopping', async () => {
    const path = fixtureZip({
      'bad.json': new TextEncoder().encode('{"id": '),
      'latin1.json': new Uint8Array([0x7b, 0xe9, 0x7d]),
      'README.txt': new TextEncoder().encode('not a record'),
    });
    const store = new AdvisoryStore(dbFile());
    try {
      const result = await store.update(new OsvZipSource(path));
      expect(counts(result)).toMatchObject({ added: records.length, invalid: 2 });
      expect(
        result.invalidRecords.map((r) => [r.origin.split(':').pop(), r.errors[0]?.slice(0, 11)]),
      ).toEqual([
        ['bad.json', 'not JSON (U'],
        ['latin1.json', 'not UTF-8'],
      ]);
    } finally {
      store.close();
    }
  });

  it('refuses a zip cut short, and removes nothing for it', async () => {
    const whole = fixtureZip();
    const store = new AdvisoryStore(dbFile());
    try {
      await store.update(new OsvZipSource(whole));
      const bytes = readFileSync(whole);
      // Cut inside the central directory (all entries complete), then inside an entry.
      for (const keep of [bytes.length - 40, Math.floor(bytes.length / 2)]) {
        writeFileSync(whole, bytes.subarray(0, keep));
        await expect(store.update(new OsvZipSource(whole))).rejects.toThrow(
          /cut short|lists \d+ entries but \d+ were read|not a readable zip/,
        );
      }
      expect(store.status().advisories).toBe(records.length);
    } finally {
      store.close();
    }
  });

  it('fails on a file that is not a zip', async () => {
    const path = join(tmp, `not-${++counter}.zip`);
    writeFileSync(path, 'PK\u0003\u0004 but not really a zip at all, just text');
    const store = new AdvisoryStore(dbFile());
    try {
      await expect(store.update(new OsvZipSource(path))).rejects.toThrow();
    } finally {
      store.close();
    }
  });
});

describe('native feeds through sourcesFor', () => {
  it('sniffs Alpine secdb and the Debian tracker, imports them, and re-imports as unchanged', async () => {
    const sources = await sourcesFor([
      join(NATIVE, 'alpine-secdb'),
      join(NATIVE, 'debian-tracker'),
    ]);
    expect(sources.map((s) => s.kind)).toEqual(['alpine-secdb', 'debian-tracker']);
    const store = new AdvisoryStore(dbFile());
    try {
      for (const source of sources) {
        const result = await store.update(source);
        expect(result.added).toBeGreaterThan(0);
        expect(result.invalid).toBe(0);
      }
      const ecosystems = store.status().ecosystems.map((e) => e.ecosystem);
      expect(ecosystems).toEqual(expect.arrayContaining(['Alpine:v3.15', 'Debian:12']));
      for (const source of await sourcesFor([
        join(NATIVE, 'alpine-secdb'),
        join(NATIVE, 'debian-tracker'),
      ])) {
        const again = await store.update(source);
        expect(counts(again)).toMatchObject({ added: 0, changed: 0, removed: 0 });
        expect(again.unchanged).toBeGreaterThan(0);
      }
    } finally {
      store.close();
    }
  });

  it('classifies places: a directory of OSV records, a zip, a bucket URL per ecosystem', async () => {
    const sources = await sourcesFor(
      [FIXTURE, join(NATIVE, 'alpine-secdb', 'v3.15-main.json'), 'https://mirror.example/osv/'],
      { ecosystems: ['Debian', 'PyPI'] },
    );
    expect(sources.map((s) => [s.kind, s.name])).toEqual([
      ['osv-directory', FIXTURE],
      ['osv-bucket', 'https://mirror.example/osv/Debian'],
      ['osv-bucket', 'https://mirror.example/osv/PyPI'],
      ['alpine-secdb', join(NATIVE, 'alpine-secdb', 'v3.15-main.json')],
    ]);
    await expect(sourcesFor([join(tmp)], { format: 'osv' })).resolves.toHaveLength(1);
  });
});

describe('every source kind (contract)', () => {
  /** A source of each kind over the same few records, where the kind allows it. */
  it('lists each kind once', () => {
    expect(new Set(SOURCE_KINDS).size).toBe(SOURCE_KINDS.length);
  });

  it('yields items a store can take, and says whether they are the whole content', async () => {
    const plans: [AdvisorySource, SourcePlan][] = [];
    for (const source of [
      new OsvDirectorySource(FIXTURE),
      ...(await sourcesFor([join(NATIVE, 'alpine-secdb'), join(NATIVE, 'debian-tracker')])),
    ]) {
      plans.push([source, await source.open({ storedModified: () => undefined })]);
    }
    for (const [source, plan] of plans) {
      expect(SOURCE_KINDS).toContain(source.kind);
      expect(source.version).toBeGreaterThan(0);
      expect(['full', 'incremental']).toContain(plan.mode);
      const items: SourceItem[] = [];
      for await (const item of plan.items) items.push(item);
      const good = items.filter((i) => i.type === 'advisory');
      expect(good.length).toBeGreaterThan(0);
      for (const item of good) expect(item.fingerprint).toMatch(/^[\w-]{43}$/);
    }
  });
});
