import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryAdvisoryIndex } from '../../src/advisories/osv.js';
import { AdvisoryStore } from '../../src/advisories/store.js';
import { buildApp } from '../../src/http/app.js';
import type { ServiceConfig } from '../../src/service/config.js';
import type { ServiceLogger } from '../../src/service/context.js';
import { queueScan } from '../../src/service/scans.js';
import { startService, type RunningService } from '../../src/service/service.js';
import type { Dialect } from '../../src/store/database.js';
import { runCli } from '../support/cli.js';
import { BACKENDS, createPostgresDatabase } from '../support/postgres.js';
import { seedProject, seedUser } from '../support/seed.js';
import { eventually } from '../support/service.js';
import { makeTestContext } from '../support/service-context.js';

/**
 * The real service started by startService on each database: HTTP on a free port, the admin from
 * the configuration, registries from the configuration, the advisory store file, the durable
 * queue through a restart, and a clean stop. `regscan serve` itself runs as a child process.
 */
const ADMIN_TOKEN = 'rsp_service-test-admin-0123456789abcdef';
const REGISTRY_SECRET = 'service-test-registry-secret';
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OSV_GO = fileURLToPath(new URL('../fixtures/advisories/osv/go', import.meta.url));

function capturingLogger(): ServiceLogger & { lines: string[] } {
  const lines: string[] = [];
  const line = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(`${level}: ${msg}${fields ? ` ${JSON.stringify(fields)}` : ''}`);
  };
  return { lines, info: line('info'), warn: line('warn'), error: line('error') };
}

function get(base: string, path: string, token?: string): Promise<Response> {
  return fetch(base + path, token ? { headers: { authorization: `Bearer ${token}` } } : {});
}

/** A service on 127.0.0.1:0 with the test admin token and no workers, storing in `dataDir`. */
function serviceConfig(dataDir: string, overrides: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    dataDir,
    host: '127.0.0.1',
    port: 0,
    adminToken: ADMIN_TOKEN,
    advisoryDb: join(dataDir, 'advisories.db'),
    workers: 0,
    queue: { leaseMs: 30_000, maxAttempts: 3, backoffMs: 20, pollMs: 50 },
    scan: { platform: 'linux/amd64', registryTimeoutMs: 2_000, registryRetries: 0 },
    registries: [],
    ...overrides,
  };
}

describe.each(BACKENDS)('startService on %s', (dialect: Dialect) => {
  let dataDir: string;
  let databaseUrl: string | undefined;
  const running: RunningService[] = [];

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'regscan-service-'));
    databaseUrl = dialect === 'postgres' ? await createPostgresDatabase() : undefined;
  });
  afterEach(async () => {
    for (const s of running.splice(0)) await s.stop({ timeoutMs: 2_000 });
    await rm(dataDir, { recursive: true, force: true });
  });

  function config(overrides: Partial<ServiceConfig> = {}): ServiceConfig {
    return serviceConfig(dataDir, {
      ...(databaseUrl !== undefined ? { databaseUrl } : {}),
      ...overrides,
    });
  }

  async function start(
    overrides: Partial<ServiceConfig> = {},
    logger?: ServiceLogger,
  ): Promise<RunningService> {
    const service = await startService(
      config(overrides),
      logger ? { logger, stopTimeoutMs: 2_000 } : { quiet: true, stopTimeoutMs: 2_000 },
    );
    running.push(service);
    return service;
  }

  async function stop(service: RunningService): Promise<void> {
    running.splice(running.indexOf(service), 1);
    await service.stop();
  }

  it('serves /healthz, and the configured admin token authenticates', async () => {
    const service = await start();
    expect(service.url).toBe(`http://127.0.0.1:${service.port}`);
    expect(service.port).toBeGreaterThan(0);
    expect(service.ctx.database.dialect).toBe(dialect);
    expect((await get(service.url, '/healthz')).status).toBe(200);

    const me = await get(service.url, '/api/v1/user', ADMIN_TOKEN);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ username: 'admin', is_admin: true });
    expect((await get(service.url, '/api/v1/user')).status).toBe(401);
    expect((await get(service.url, '/api/v1/user', `${ADMIN_TOKEN}x`)).status).toBe(401);
    expect(service.initialAdminToken).toBeUndefined();
    if (dialect === 'sqlite') expect(existsSync(join(dataDir, 'regscan.db'))).toBe(true);
  });

  it('generates an admin token at the first start only', async () => {
    const first = await start({ adminToken: undefined });
    const token = first.initialAdminToken;
    expect(token).toMatch(/^rsp_[A-Za-z0-9_-]{43}$/);
    expect((await get(first.url, '/api/v1/user', token)).status).toBe(200);
    await stop(first);

    const second = await start({ adminToken: undefined });
    expect(second.initialAdminToken).toBeUndefined();
    expect((await get(second.url, '/api/v1/user', token)).status).toBe(200);
    const users = await second.ctx.database.db.selectFrom('users').select('username').execute();
    expect(users).toEqual([{ username: 'admin' }]);
  });

  it('creates the registries of the configuration, and updates them at the next start', async () => {
    const registry = { name: 'cfg', url: 'http://127.0.0.1:5999', secret: REGISTRY_SECRET };
    const first = await start({ registries: [registry] });
    const read = (s: RunningService) =>
      s.ctx.database.db
        .selectFrom('registries')
        .select(['name', 'url', 'project_id', 'username'])
        .execute();
    expect(await read(first)).toEqual([
      { name: 'cfg', url: 'http://127.0.0.1:5999', project_id: null, username: null },
    ]);
    await stop(first);
    const second = await start({
      registries: [{ ...registry, url: 'https://registry.example.com', username: 'puller' }],
    });
    expect(await read(second)).toEqual([
      { name: 'cfg', url: 'https://registry.example.com', project_id: null, username: 'puller' },
    ]);
  });

  it('opens the advisory store file, warning when it is empty', async () => {
    const logger = capturingLogger();
    const service = await start({}, logger);
    const file = join(dataDir, 'advisories.db');
    expect(existsSync(file)).toBe(true);
    expect(logger.lines).toContainEqual(
      expect.stringContaining(
        `warn: the advisory database is empty: run \`regscan db update --db ${file}\` or POST /api/v1/admin/advisories/sync`,
      ),
    );
    // filled through the admin endpoint, the next start finds it filled
    const sync = await fetch(`${service.url}/api/v1/admin/advisories/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sources: [OSV_GO] }),
    });
    expect(sync.status).toBe(200);
    await stop(service);
    const again = capturingLogger();
    await start({}, again);
    expect(again.lines.some((l) => l.includes('advisory database is empty'))).toBe(false);
    expect(again.lines).toContainEqual(
      expect.stringMatching(/^info: advisory database .*"advisories":80/),
    );
  });

  it('a queued scan job survives a restart and the restarted workers run it', async () => {
    const first = await start({ workers: 0 });
    const ctx = first.ctx;
    const { id: projectId } = await seedProject(ctx.database.db, 'group/app');
    const scan = await ctx.database.db.transaction().execute((trx) =>
      queueScan(ctx, trx, {
        projectId,
        registryId: null,
        repository: 'group/app',
        tag: 'latest',
        digest: `sha256:${'a'.repeat(64)}`,
        trigger: 'manual',
      }),
    );
    await stop(first);

    // nothing ran it while the process was down, and it is still there after the restart
    const second = await start({ workers: 0 });
    const jobs = await second.ctx.database.db.selectFrom('jobs').selectAll().execute();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      queue: 'scan',
      status: 'queued',
      attempts: 0,
      payload: JSON.stringify({ scanId: scan.id }),
    });
    await stop(second);

    // a start with workers takes it; this scan names no registry, so every attempt fails with
    // that reason and the scan ends failed after the configured attempts
    const third = await start({ workers: 1 });
    const failed = await eventually(async () => {
      const row = await third.ctx.database.db
        .selectFrom('scans')
        .selectAll()
        .where('id', '=', scan.id)
        .executeTakeFirstOrThrow();
      return row.status === 'failed' ? row : undefined;
    }, 'the scan to fail');
    expect(failed.error).toBe('the scan names no registry to pull from');
    expect(failed.attempts).toBe(3);
    const job = await third.ctx.database.db
      .selectFrom('jobs')
      .selectAll()
      .executeTakeFirstOrThrow();
    expect(job).toMatchObject({ status: 'failed', attempts: 3 });
  });

  it('ctx.wake() makes the workers take a new job at once', async () => {
    // polling once an hour: only the wake can explain a prompt take
    const service = await start({
      workers: 1,
      queue: { leaseMs: 30_000, maxAttempts: 1, backoffMs: 20, pollMs: 3_600_000 },
    });
    const ctx = service.ctx;
    const { id: projectId } = await seedProject(ctx.database.db, 'group/woken');
    // let the worker's first look at the empty queue pass, so that it is asleep
    await new Promise((r) => setTimeout(r, 200));
    const scan = await ctx.database.db.transaction().execute((trx) =>
      queueScan(ctx, trx, {
        projectId,
        registryId: null,
        repository: 'group/woken',
        tag: 'latest',
        digest: null,
        trigger: 'manual',
      }),
    );
    ctx.wake();
    const done = await eventually(
      async () => {
        const row = await ctx.database.db
          .selectFrom('scans')
          .select(['status', 'error'])
          .where('id', '=', scan.id)
          .executeTakeFirstOrThrow();
        return row.status === 'failed' ? row : undefined;
      },
      'the woken worker to run the job',
      10_000,
    );
    expect(done.error).toBe('the scan names no manifest digest to pull');
  });

  it('stops cleanly: the port is closed, the stores are closed, stop is idempotent', async () => {
    const service = await start({ workers: 2 });
    const { url } = service;
    expect((await get(url, '/healthz')).status).toBe(200);
    const stopping = service.stop();
    expect(service.stop()).toBe(stopping);
    await stopping;
    running.splice(running.indexOf(service), 1);
    await expect(get(url, '/healthz')).rejects.toThrow();
    await expect(
      service.ctx.database.db.selectFrom('users').select('id').execute(),
    ).rejects.toThrow();
    // the SQLite advisory store is closed too
    expect(service.ctx.advisories).toBeInstanceOf(AdvisoryStore);
    expect(() => (service.ctx.advisories as AdvisoryStore).status()).toThrow();
  });

  it('a port in use fails the start with the reason, and another start on the data works', async () => {
    const first = await start();
    await expect(start({ port: first.port })).rejects.toThrow(/EADDRINUSE/);
    // the failed start released what it had opened: a new start on the same data works
    await stop(first);
    const again = await start();
    expect((await get(again.url, '/api/v1/user', ADMIN_TOKEN)).status).toBe(200);
  });
});

describe.each(BACKENDS)('regscan serve on %s', (dialect: Dialect) => {
  it('starts, prints where it listens and the one-time admin token, and stops on SIGTERM', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'regscan-serve-'));
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      REGSCAN_DATA_DIR: dataDir,
      REGSCAN_HOST: '127.0.0.1',
      REGSCAN_PORT: '8', // the flag below wins
      REGSCAN_WORKERS: '1',
    };
    delete env.REGSCAN_ADMIN_TOKEN;
    delete env.REGSCAN_CONFIG;
    if (dialect === 'postgres') env.REGSCAN_DATABASE_URL = await createPostgresDatabase();
    else delete env.REGSCAN_DATABASE_URL;
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--port', '0'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const port = await eventually(
        () => {
          if (child.exitCode !== null) throw new Error(`serve exited: ${stderr}`);
          return Promise.resolve(
            /regscan listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)?.[1],
          );
        },
        'regscan serve to listen',
        60_000,
      );
      const base = `http://127.0.0.1:${port}`;
      expect(stdout).toContain(
        dialect === 'sqlite' ? `database: ${join(dataDir, 'regscan.db')} (sqlite)` : '(postgres)',
      );
      expect(stdout).toContain(`advisories: ${join(dataDir, 'advisories.db')}`);
      const token =
        /regscan: created user admin with token (rsp_\S+) — store it now, it is not shown again/.exec(
          stderr,
        )?.[1];
      expect(token).toBeDefined();
      expect(stderr.split(token!).length - 1).toBe(1); // printed once, never logged again
      const me = await get(base, '/api/v1/user', token);
      expect(me.status).toBe(200);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toContain('regscan: SIGTERM: stopping');
      expect(stderr).toContain('regscan: stopped');
      await expect(get(base, '/healthz')).rejects.toThrow();
    } finally {
      child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('regscan db with the service data directory', () => {
  it('updates <REGSCAN_DATA_DIR>/advisories.db unless REGSCAN_ADVISORY_DB or --db says otherwise', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'regscan-dbdir-'));
    try {
      const update = (env: Record<string, string>, ...args: string[]) =>
        runCli(['db', 'update', '-q', '--json', '--source', OSV_GO, ...args], {
          REGSCAN_ADVISORY_DB: '',
          ...env,
        });
      const byDataDir = await update({ REGSCAN_DATA_DIR: dataDir });
      expect(byDataDir.code).toBe(0);
      expect(JSON.parse(byDataDir.stdout)).toMatchObject({ db: join(dataDir, 'advisories.db') });
      const status = await runCli(['db', 'status', '--json'], {
        REGSCAN_DATA_DIR: dataDir,
        REGSCAN_ADVISORY_DB: '',
      });
      expect(JSON.parse(status.stdout)).toMatchObject({
        file: join(dataDir, 'advisories.db'),
        advisories: 80,
      });

      const named = join(dataDir, 'named.db');
      const byVariable = await update({ REGSCAN_DATA_DIR: dataDir, REGSCAN_ADVISORY_DB: named });
      expect(JSON.parse(byVariable.stdout)).toMatchObject({ db: named });
      const flag = join(dataDir, 'flag.db');
      const byFlag = await update(
        { REGSCAN_DATA_DIR: dataDir, REGSCAN_ADVISORY_DB: named },
        '--db',
        flag,
      );
      expect(JSON.parse(byFlag.stdout)).toMatchObject({ db: flag });
      expect(existsSync(flag)).toBe(true);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('regscan serve with an invalid configuration', () => {
  it('exits 1 with every problem and no stack trace', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, 'serve', '--port', 'http', '--data-dir', ''],
      {
        cwd: ROOT,
        env: { ...process.env, REGSCAN_WORKERS: 'many', REGSCAN_CONFIG: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    expect(stderr).toBe(
      'regscan: invalid configuration (3 problems):\n' +
        "  - dataDir: must be a non-empty path (got '' from --data-dir)\n" +
        "  - port: must be an integer 0..65535 (got 'http' from --port)\n" +
        "  - workers: must be an integer 0..64 (got 'many' from REGSCAN_WORKERS)\n",
    );
  });
});

describe('admin advisory endpoints', () => {
  it('answer 409 when the context has no advisory store file', async () => {
    const ctx = await makeTestContext('sqlite');
    try {
      expect(ctx.advisories).toBeInstanceOf(MemoryAdvisoryIndex);
      const { token } = await seedUser(ctx.database.db, 'root', { isAdmin: true });
      const app = await buildApp(ctx);
      const headers = { authorization: `Bearer ${token}` };
      const status = await app.inject({ method: 'GET', url: '/api/v1/admin/advisories', headers });
      expect(status.statusCode).toBe(409);
      expect(status.json()).toEqual({ error: 'no advisory store configured' });
      const sync = await app.inject({
        method: 'POST',
        url: '/api/v1/admin/advisories/sync',
        headers,
        payload: { sources: [OSV_GO] },
      });
      expect(sync.statusCode).toBe(409);
      await app.close();
    } finally {
      await ctx.close();
    }
  });

  it('refuse non-admins, bad bodies and unusable sources with 4xx', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'regscan-admin-'));
    const service = await startService(serviceConfig(dataDir), { quiet: true });
    try {
      const db = service.ctx.database.db;
      const { token: devToken } = await seedUser(db, 'dev');
      const post = (token: string, body: unknown) =>
        service.app.inject({
          method: 'POST',
          url: '/api/v1/admin/advisories/sync',
          headers: { authorization: `Bearer ${token}` },
          payload: body as object,
        });
      // [who, body, status, error text]
      const cases: [string, unknown, number, RegExp][] = [
        [devToken, { sources: [OSV_GO] }, 403, /instance administrators only/],
        [ADMIN_TOKEN, {}, 400, /sources/],
        [ADMIN_TOKEN, { sources: [OSV_GO], typo: 1 }, 400, /additional/],
        [ADMIN_TOKEN, { sources: [OSV_GO], format: 'csv' }, 400, /format/],
        [ADMIN_TOKEN, { sources: ['/nonexistent/osv'] }, 400, /^cannot use the sources: .*ENOENT/],
        [
          ADMIN_TOKEN,
          { sources: ['http://advisories.example.com/all.zip'] },
          200,
          /plain http is only used for loopback/,
        ],
      ];
      for (const [token, body, status, error] of cases) {
        const r = await post(token, body);
        expect({ body, status: r.statusCode }).toEqual({ body, status });
        const json = r.json<{ error?: string; failures?: { error: string }[] }>();
        expect(json.error ?? json.failures?.[0]?.error).toMatch(error);
      }
      const status = await service.app.inject({
        method: 'GET',
        url: '/api/v1/admin/advisories',
        headers: { authorization: `Bearer ${devToken}` },
      });
      expect(status.statusCode).toBe(403);
    } finally {
      await service.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('sync the same source again: unchanged records, and the store counts them once', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'regscan-admin-'));
    const osv = join(dataDir, 'osv');
    await cp(OSV_GO, osv, { recursive: true });
    const records = (await readdir(osv)).filter((f) => f.endsWith('.json')).length;
    const service = await startService(serviceConfig(dataDir), { quiet: true });
    try {
      const sync = () =>
        service.app.inject({
          method: 'POST',
          url: '/api/v1/admin/advisories/sync',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          payload: { sources: [osv] },
        });
      const first = (await sync()).json<{ results: { added: number; unchanged: number }[] }>();
      expect(first.results[0]).toMatchObject({ added: records, unchanged: 0 });
      const second = (await sync()).json<{ results: { added: number; unchanged: number }[] }>();
      expect(second.results[0]).toMatchObject({ added: 0, unchanged: records });
      const status = await service.app.inject({
        method: 'GET',
        url: '/api/v1/admin/advisories',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(status.json()).toMatchObject({ advisories: records, syncing: false });
    } finally {
      await service.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
