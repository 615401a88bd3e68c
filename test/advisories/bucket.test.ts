import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Advisory } from '../../src/advisories/osv.js';
import {
  AdvisoryHttp,
  isLoopback,
  OsvBucketSource,
  parseModifiedIds,
} from '../../src/advisories/sources.js';
import { AdvisoryStore } from '../../src/advisories/store.js';
import { startOsvBucket, type OsvBucketServer } from './osv-bucket-server.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/advisories/osv', import.meta.url));

/** The fixture records of one folder, by id, as the bucket serves them. */
function bodies(folder: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(join(FIXTURE, folder)).sort()) {
    const body = readFileSync(join(FIXTURE, folder, name), 'utf8');
    out.set((JSON.parse(body) as Advisory).id, body);
  }
  return out;
}

let tmp: string;
let bucket: OsvBucketServer;
let store: AdvisoryStore;
let http: AdvisoryHttp;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'regscan-bucket-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
beforeEach(async () => {
  bucket = await startOsvBucket();
  bucket.records.set('PyPI', bodies('pypi'));
  bucket.records.set('crates.io', bodies('crates.io'));
  store = new AdvisoryStore(join(tmp, `bucket-${++n}.db`));
  http = new AdvisoryHttp({ retries: 2 });
});
afterEach(async () => {
  store.close();
  await http.close();
  await bucket.close();
});

const pypi = (options: Partial<ConstructorParameters<typeof OsvBucketSource>[0]> = {}) =>
  new OsvBucketSource({ baseUrl: bucket.url, ecosystem: 'PyPI', http, ...options });

/** Changes a record in the bucket: a later `modified` and new details. */
function touch(id: string, modified: string, details: string): void {
  const eco = bucket.records.get('PyPI')!;
  const record = JSON.parse(eco.get(id)!) as Advisory;
  eco.set(id, JSON.stringify({ ...record, modified, details }));
}

describe('OsvBucketSource over loopback HTTP', () => {
  it('loads all.zip first, then fetches only the records modified since', async () => {
    const first = await store.update(pypi());
    expect(first).toMatchObject({ mode: 'full', added: 80, invalid: 0, removed: 0 });
    expect(bucket.requests).toEqual(['/PyPI/all.zip']);
    expect(store.status().sources).toEqual([
      expect.objectContaining({ name: `${bucket.url}/PyPI`, kind: 'osv-bucket', records: 80 }),
    ]);

    touch('PYSEC-2018-49', '2031-05-01T10:00:00.123456Z', 'Changed upstream.');
    touch('PYSEC-2020-96', '2031-05-02T10:00:00Z', 'Changed upstream too.');
    bucket.requests.length = 0;
    const second = await store.update(pypi());
    expect(second).toMatchObject({
      mode: 'incremental',
      description: 'modified_id.csv: 2 of 80 records changed',
      added: 0,
      changed: 2,
      unchanged: 0,
      removed: 0,
    });
    expect(bucket.requests.sort()).toEqual([
      '/PyPI/PYSEC-2018-49.json',
      '/PyPI/PYSEC-2020-96.json',
      '/PyPI/modified_id.csv',
    ]);
    expect(store.get('PYSEC-2018-49')?.details).toBe('Changed upstream.');
    expect(store.forPackage('PyPI', 'pyyaml').find((a) => a.id === 'PYSEC-2020-96')?.details).toBe(
      'Changed upstream too.',
    );
    expect(store.status().sources[0]?.lastModified).toBe('2031-05-02T10:00:00.000000000Z');

    bucket.requests.length = 0;
    const third = await store.update(pypi());
    expect(third).toMatchObject({ mode: 'incremental', added: 0, changed: 0, removed: 0 });
    expect(bucket.requests).toEqual(['/PyPI/modified_id.csv']);
  });

  it('notices new, withdrawn and deleted records from the listing alone', async () => {
    await store.update(pypi());
    const eco = bucket.records.get('PyPI')!;
    eco.set(
      'PYSEC-2099-1',
      JSON.stringify({
        id: 'PYSEC-2099-1',
        modified: '2099-01-01T00:00:00Z',
        affected: [{ package: { ecosystem: 'PyPI', name: 'Brand_New' } }],
      }),
    );
    const withdrawn = JSON.parse(eco.get('PYSEC-2021-142')!) as Advisory;
    eco.set(
      'PYSEC-2021-142',
      JSON.stringify({
        ...withdrawn,
        modified: '2099-01-01T00:00:00Z',
        withdrawn: '2099-01-01T00:00:00Z',
      }),
    );
    const deleted = [...eco.keys()][0]!;
    eco.delete(deleted);
    bucket.requests.length = 0;

    const result = await store.update(pypi());
    expect(result).toMatchObject({ mode: 'incremental', added: 1, withdrawn: 1, removed: 1 });
    expect(bucket.requests).not.toContain('/PyPI/all.zip');
    expect(store.forPackage('PyPI', 'brand-new').map((a) => a.id)).toEqual(['PYSEC-2099-1']);
    expect(store.get('PYSEC-2021-142')?.withdrawn).toBe('2099-01-01T00:00:00Z');
    expect(store.get(deleted)).toBeUndefined();
  });

  it('treats a listed record that is gone (404) as deleted, and a bad one as invalid', async () => {
    await store.update(pypi());
    touch('PYSEC-2018-49', '2031-01-01T00:00:00Z', 'x');
    touch('PYSEC-2020-96', '2031-01-01T00:00:00Z', 'y');
    bucket.vanished.add('PYSEC-2018-49');
    bucket.records
      .get('PyPI')!
      .set(
        'PYSEC-2020-176',
        '{"id": "PYSEC-2020-176", "modified": "2031-01-01T00:00:00Z", "affected": 3}',
      );
    const result = await store.update(pypi());
    expect(result).toMatchObject({ changed: 1, removed: 1, invalid: 1, warnings: 1 });
    expect(result.warningMessages).toEqual([
      `${bucket.url}/PyPI/PYSEC-2018-49.json: listed but no longer there`,
    ]);
    expect(result.invalidRecords).toEqual([
      {
        origin: `${bucket.url}/PyPI/PYSEC-2020-176.json`,
        id: 'PYSEC-2020-176',
        errors: ['/affected: must be array'],
      },
    ]);
    expect(store.get('PYSEC-2018-49')).toBeUndefined();
    // The invalid new version does not replace the good stored one, nor remove it.
    expect(store.get('PYSEC-2020-176')?.affected).toBeInstanceOf(Array);
  });

  it('loads all.zip instead of fetching more records than the limit', async () => {
    await store.update(pypi());
    for (const id of [...bucket.records.get('PyPI')!.keys()].slice(0, 5)) {
      touch(id, '2031-01-01T00:00:00Z', 'many changes');
    }
    bucket.requests.length = 0;
    const result = await store.update(pypi({ incrementalLimit: 4 }));
    expect(result).toMatchObject({ mode: 'full', changed: 5, unchanged: 75 });
    expect(bucket.requests).toEqual(['/PyPI/modified_id.csv', '/PyPI/all.zip']);
  });

  it('keeps each ecosystem apart', async () => {
    const crates = new OsvBucketSource({ baseUrl: bucket.url, ecosystem: 'crates.io', http });
    await store.update(pypi());
    await store.update(crates);
    expect(store.status().sources.map((s) => [s.name, s.records])).toEqual([
      [`${bucket.url}/PyPI`, 80],
      [`${bucket.url}/crates.io`, 80],
    ]);
    bucket.records.get('crates.io')!.clear();
    bucket.records
      .get('crates.io')!
      .set('x_KEEP-1', JSON.stringify({ id: 'x_KEEP-1', modified: '2024-01-01T00:00:00Z' }));
    const result = await store.update(crates);
    expect(result).toMatchObject({ added: 1, removed: 80 });
    expect(store.status().advisories).toBe(81);
  });

  it('retries a transient failure, and fails clearly on a missing ecosystem', async () => {
    bucket.failOnce.set('/PyPI/all.zip', 503);
    await expect(store.update(pypi())).resolves.toMatchObject({ added: 80 });
    expect(bucket.requests).toEqual(['/PyPI/all.zip', '/PyPI/all.zip']);

    const missing = new OsvBucketSource({ baseUrl: bucket.url, ecosystem: 'Nope', http });
    await expect(store.update(missing)).rejects.toThrow(`GET ${bucket.url}/Nope/all.zip: HTTP 404`);
    // A failed update leaves no trace of a completed sync.
    expect(store.status().sources.find((s) => s.name.endsWith('/Nope'))?.lastSync).toBeUndefined();
  });

  it('does a full load again when asked', async () => {
    await store.update(pypi());
    bucket.requests.length = 0;
    const result = await store.update(pypi({ full: true }));
    expect(result).toMatchObject({ mode: 'full', unchanged: 80 });
    expect(bucket.requests).toEqual(['/PyPI/all.zip']);
  });

  it('makes and closes its own HTTP client when given none', async () => {
    const source = new OsvBucketSource({ baseUrl: bucket.url, ecosystem: 'PyPI' });
    await expect(store.update(source)).resolves.toMatchObject({ added: 80 });
    await expect(store.update(source)).resolves.toMatchObject({
      unchanged: 0,
      mode: 'incremental',
    });
  });
});

describe('AdvisoryHttp', () => {
  it('uses plain http only for loopback unless allowed', async () => {
    const client = new AdvisoryHttp({ retries: 0 });
    try {
      await expect(client.get(new URL('http://osv.example/PyPI/all.zip'))).rejects.toThrow(
        /plain http is only used for loopback/,
      );
      await expect(client.get(new URL('ftp://osv.example/x'))).rejects.toThrow(
        /only http and https/,
      );
    } finally {
      await client.close();
    }
  });

  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['[::1]', true],
    ['localhost', true],
    ['osv.localhost', true],
    ['10.0.0.1', false],
    ['osv-vulnerabilities.storage.googleapis.com', false],
    ['127.0.0.1.example.com', false],
  ])('isLoopback(%s) = %s', (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
  });
});

describe('parseModifiedIds', () => {
  it('reads "<modified>,<id>" lines, newest first, in the forms the bucket writes', () => {
    const text = [
      '2024-05-02T10:00:00.123456Z,PYSEC-2024-2',
      '2024-05-01T10:00:00Z,PyPI/PYSEC-2024-1\r',
      '',
      '2024-04-30T10:00:00Z,GHSA-aaaa-bbbb-cccc',
    ].join('\n');
    expect(parseModifiedIds(text)).toEqual({
      entries: [
        { id: 'PYSEC-2024-2', modified: '2024-05-02T10:00:00.123456000Z' },
        { id: 'PYSEC-2024-1', modified: '2024-05-01T10:00:00.000000000Z' },
        { id: 'GHSA-aaaa-bbbb-cccc', modified: '2024-04-30T10:00:00.000000000Z' },
      ],
      rejected: [],
    });
  });

  it('skips a header and reports lines that are no entry', () => {
    const text =
      'modified,id\n2024-05-01T10:00:00Z,OK-1\nnot a line\n2024-05-01T10:00:00Z,../../etc\n';
    expect(parseModifiedIds(text)).toEqual({
      entries: [{ id: 'OK-1', modified: '2024-05-01T10:00:00.000000000Z' }],
      rejected: [
        'line 3: not "<modified>,<id>": "not a line"',
        'line 4: not "<modified>,<id>": "2024-05-01T10:00:00Z,../../etc"',
      ],
    });
  });
});
