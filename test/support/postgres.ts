/**
 * PostgreSQL for tests, never skipped: `REGSCAN_TEST_DATABASE_URL` when set (a server the tests may
 * create databases on), otherwise a throwaway server started here (initdb into a temporary
 * directory, on a free loopback port, trust auth), stopped and removed when the run ends. Every
 * test database is a fresh `CREATE DATABASE`, so test files never see each other's rows.
 *
 * The throwaway server is started once per run by the vitest globalSetup (startTestPostgres) and
 * its URL handed to the test workers through the environment variable.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { openDatabase, type Database, type Dialect } from '../../src/store/database.js';

const run = promisify(execFile);

export const BACKENDS: readonly Dialect[] = ['sqlite', 'postgres'];
export const TEST_DATABASE_ENV = 'REGSCAN_TEST_DATABASE_URL';

function postgresBin(name: string): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, 'bin', name)))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0]) return join(base, versions[0], 'bin', name);
  throw new Error(
    `PostgreSQL's ${name} is not installed: run scripts/setup as root (it installs Debian's postgresql), ` +
      `or set ${TEST_DATABASE_ENV} to a server the tests may create databases on`,
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface TestPostgres {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts a throwaway PostgreSQL (as the `postgres` user when running as root, since initdb refuses
 * root). Resolves once it accepts connections.
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const initdb = postgresBin('initdb');
  const postgres = postgresBin('postgres');
  const dir = await mkdtemp(join(tmpdir(), 'regscan-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const wrap = (cmd: string, args: string[]): [string, string[]] =>
    asRoot
      ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--clear-groups', cmd, ...args]]
      : [cmd, args];

  const [c1, a1] = wrap(initdb, [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  await run(c1, a1, { env: { ...process.env, LC_ALL: 'C' } });
  const port = await freePort();
  const [c2, a2] = wrap(postgres, [
    '-D',
    data,
    '-p',
    String(port),
    '-h',
    '127.0.0.1',
    '-k',
    dir,
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=200',
  ]);
  const child: ChildProcess = spawn('setpriv', ['--pdeathsig', 'SIGKILL', c2, ...a2], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited: ${stderr}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      break;
    } catch {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`postgres did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const kill = () => {
    try {
      child.kill('SIGKILL');
    } catch {
      // gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', kill);
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => {
        if (child.exitCode !== null) r(undefined);
        else child.once('exit', r);
      });
      kill();
    },
  };
}

function serverUrl(): string {
  const url = process.env[TEST_DATABASE_ENV];
  if (!url) {
    throw new Error(
      `${TEST_DATABASE_ENV} is not set: the vitest globalSetup starts a throwaway PostgreSQL and sets it`,
    );
  }
  return url;
}

let counter = 0;

/** A fresh, empty, migrated PostgreSQL database; returns its URL. */
export async function createPostgresDatabase(): Promise<string> {
  const base = new URL(serverUrl());
  const name = `regscan_t_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  base.pathname = `/${name}`;
  return base.toString();
}

/** A fresh database of the given kind, migrated. SQLite lives in a temporary directory. */
export async function openTestDatabase(dialect: Dialect): Promise<Database> {
  if (dialect === 'postgres') {
    return openDatabase({ url: await createPostgresDatabase(), poolSize: 20 });
  }
  const dir = await mkdtemp(join(tmpdir(), 'regscan-sqlite-'));
  const database = await openDatabase({ dataDir: dir });
  return {
    ...database,
    close: async () => {
      await database.db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** For the globalSetup: ensure a server exists and its URL is in the environment. */
export async function ensureTestPostgres(): Promise<(() => Promise<void>) | undefined> {
  if (process.env[TEST_DATABASE_ENV]) return undefined;
  const server = await startTestPostgres();
  process.env[TEST_DATABASE_ENV] = server.url;
  return () => server.stop();
}
