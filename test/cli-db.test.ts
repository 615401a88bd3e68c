import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreStatus, UpdateResult } from '../src/advisories/store.js';
import { startOsvBucket, type OsvBucketServer } from './advisories/osv-bucket-server.js';
import type { CliResult } from './support/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = fileURLToPath(new URL('./support/run-db-cli.ts', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/advisories/osv', import.meta.url));
const NATIVE = fileURLToPath(new URL('./fixtures/advisories/native', import.meta.url));

/** `regscan db …` from source, through the tiny entry that wires only dbCommand(). */
function runDb(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'db', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'regscan-cli-db-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('regscan db', () => {
  it('updates from a directory, then reports its status as JSON', async () => {
    const db = join(tmp, 'dir.db');
    const update = await runDb(['update', '--source', FIXTURE, '--db', db]);
    expect(update.stderr).toContain(`${FIXTURE}: reading 356 files`);
    expect(update.stderr).toContain(`${FIXTURE}: 356 added, 0 changed, 0 withdrawn, 0 unchanged`);
    expect(update.code).toBe(0);
    expect(update.stdout.split('\n')[0]).toMatch(
      /^SOURCE +READ +ADDED +CHANGED +WITHDRAWN +UNCHANGED +REMOVED +INVALID$/,
    );
    expect(update.stdout).toMatch(new RegExp(`${FIXTURE} +full +356 +0 +0 +0 +0 +0`));

    const status = await runDb(['status', '--db', db, '--json']);
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as StoreStatus;
    expect(parsed).toMatchObject({ file: db, schemaVersion: 1, advisories: 356 });
    expect(parsed.sources).toEqual([
      expect.objectContaining({ name: FIXTURE, kind: 'osv-directory', records: 356 }),
    ]);
    expect(parsed.ecosystems.find((e) => e.ecosystem === 'PyPI')?.advisories).toBeGreaterThan(80);

    const text = await runDb(['status', '--db', db]);
    expect(text.stdout).toContain('356 advisories');
    expect(text.stdout).toMatch(/^PyPI +\d+ +\d+$/m);

    const again = await runDb(['update', '--source', FIXTURE, '--db', db, '--json', '--quiet']);
    expect(again.stderr).toBe('');
    const results = JSON.parse(again.stdout) as { results: UpdateResult[]; failures: unknown[] };
    expect(results.failures).toEqual([]);
    expect(results.results[0]).toMatchObject({ unchanged: 356, added: 0, changed: 0 });
  });

  it('updates from native feeds, sniffed or named, into the same database', async () => {
    const db = join(tmp, 'native.db');
    const result = await runDb([
      'update',
      '--source',
      join(NATIVE, 'alpine-secdb'),
      '--source',
      join(NATIVE, 'debian-tracker'),
      '--db',
      db,
      '--json',
    ]);
    expect(result.code).toBe(0);
    const { results } = JSON.parse(result.stdout) as { results: UpdateResult[] };
    expect(results.map((r) => r.kind)).toEqual(['alpine-secdb', 'debian-tracker']);
    const named = await runDb([
      'update',
      '--source',
      join(NATIVE, 'alpine-secdb'),
      '--format',
      'alpine-secdb',
      '--db',
      db,
      '--json',
    ]);
    expect((JSON.parse(named.stdout) as { results: UpdateResult[] }).results[0]).toMatchObject({
      added: 0,
      changed: 0,
    });
  });

  describe('against an OSV bucket', () => {
    let bucket: OsvBucketServer;
    beforeAll(async () => {
      bucket = await startOsvBucket();
      const { readdirSync, readFileSync } = await import('node:fs');
      for (const [eco, folder] of [
        ['PyPI', 'pypi'],
        ['Go', 'go'],
      ] as const) {
        const records = new Map<string, string>();
        for (const name of readdirSync(join(FIXTURE, folder))) {
          const body = readFileSync(join(FIXTURE, folder, name), 'utf8');
          records.set((JSON.parse(body) as { id: string }).id, body);
        }
        bucket.records.set(eco, records);
      }
    });
    afterAll(() => bucket.close());

    it('loads the named ecosystems, incrementally the second time, and says when one fails', async () => {
      const db = join(tmp, 'bucket.db');
      const args = ['update', '--source', bucket.url, '--ecosystem', 'PyPI,Go', '--db', db];
      const first = await runDb([...args, '--json']);
      expect(first.code).toBe(0);
      const firstResults = (JSON.parse(first.stdout) as { results: UpdateResult[] }).results;
      expect(firstResults.map((r) => [r.source, r.mode, r.added])).toEqual([
        [`${bucket.url}/PyPI`, 'full', 80],
        [`${bucket.url}/Go`, 'full', 80],
      ]);
      bucket.requests.length = 0;
      const second = await runDb(args);
      expect(second.code).toBe(0);
      expect(bucket.requests.sort()).toEqual(['/Go/modified_id.csv', '/PyPI/modified_id.csv']);
      expect(second.stdout).toMatch(
        new RegExp(`${bucket.url}/PyPI +incremental +0 +0 +0 +0 +0 +0`),
      );

      const failing = await runDb([...args, '--ecosystem', 'Missing']);
      expect(failing.code).toBe(1);
      expect(failing.stdout).toContain(
        `failed: ${bucket.url}/Missing: GET ${bucket.url}/Missing/all.zip: HTTP 404`,
      );
      expect(failing.stdout).toMatch(new RegExp(`${bucket.url}/Go +incremental`));
    });
  });

  it('says so when there is no database yet', async () => {
    const missing = join(tmp, 'nothing-here.db');
    const result = await runDb(['status', '--db', missing]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `regscan: no advisory database at ${missing}; run "regscan db update" first\n`,
    );
  });

  it('rejects an unknown format', async () => {
    const result = await runDb([
      'update',
      '--source',
      FIXTURE,
      '--format',
      'yaml',
      '--db',
      join(tmp, 'x.db'),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("option '--format <format>' argument 'yaml' is invalid");
  });
});
