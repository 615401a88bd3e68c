/**
 * Opening the service's database: an SQLite file (the embedded default) or PostgreSQL, both behind
 * one Kysely instance, migrated to the current schema before anything else uses it.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import { StaticMigrations } from './migrations.js';
import type { DB } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<DB>;
  dialect: Dialect;
  /** Where the data is, without credentials (for logs and /readyz). */
  location: string;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** `postgres://…` / `postgresql://…`, `sqlite:PATH`, or a file path. Default `<dataDir>/regscan.db`. */
  url?: string;
  dataDir?: string;
  /** PostgreSQL pool size. Default 10. */
  poolSize?: number;
  /** Run the migrations (default true). */
  migrate?: boolean;
}

export class DatabaseConfigError extends Error {}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** The SQLite file a URL or path names. */
export function sqlitePath(url: string | undefined, dataDir: string): string {
  if (!url) return join(dataDir, 'regscan.db');
  if (url === ':memory:' || url === 'sqlite::memory:') return ':memory:';
  if (url.startsWith('sqlite://')) return resolve(url.slice('sqlite://'.length));
  if (url.startsWith('sqlite:')) return resolve(url.slice('sqlite:'.length));
  if (url.startsWith('file:')) return resolve(url.slice('file:'.length));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new DatabaseConfigError(
      `unsupported database URL scheme in ${redactUrl(url)}: use postgres://… or a SQLite file path`,
    );
  }
  return resolve(url);
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
  const dataDir = options.dataDir ?? './data';
  let database: Database;
  if (options.url && isPostgresUrl(options.url)) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      // count(*) and bigint come back as numbers, as they do from SQLite
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === 20 || oid === 1700
            ? (v: string) => Number(v)
            : (pg.types.getTypeParser(
                oid,
                format,
              ) as unknown)) as pg.CustomTypesConfig['getTypeParser'],
      },
    });
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    database = {
      db,
      dialect: 'postgres',
      location: redactUrl(options.url),
      close: () => db.destroy(),
    };
  } else {
    const file = sqlitePath(options.url, dataDir);
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
    database = { db, dialect: 'sqlite', location: file, close: () => db.destroy() };
  }
  try {
    // fail early with the real reason (wrong password, no such database) rather than at first use
    await sql`select 1`.execute(database.db);
    if (options.migrate !== false) await migrate(database);
  } catch (e) {
    await database.close().catch(() => undefined);
    throw new DatabaseConfigError(
      `cannot open the database ${database.location}: ${(e as Error).message}`,
    );
  }
  return database;
}

export async function migrate(database: Database): Promise<void> {
  const migrator = new Migrator({
    db: database.db,
    provider: new StaticMigrations(database.dialect),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(
      `migration ${failed} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`,
    );
  }
}

/** The current time as stored: ISO 8601 UTC. */
export function timestamp(date: Date = new Date()): string {
  return date.toISOString();
}
