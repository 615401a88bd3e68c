import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { sqlitePath, redactUrl, type Database } from '../../src/store/database.js';
import { BACKENDS, openTestDatabase } from '../support/postgres.js';

describe.each(BACKENDS)('database on %s', (dialect) => {
  let database: Database | undefined;
  afterEach(async () => {
    await database?.close();
    database = undefined;
  });

  it('migrates to the schema and round-trips a row with the shared column kinds', async () => {
    database = await openTestDatabase(dialect);
    expect(database.dialect).toBe(dialect);
    const { db } = database;
    const now = new Date().toISOString();
    const user = await db
      .insertInto('users')
      .values({ username: 'alice', name: 'Alice', is_admin: 1, created_at: now })
      .returning(['id'])
      .executeTakeFirstOrThrow();
    expect(typeof user.id).toBe('number');
    const row = await db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({
      id: user.id,
      username: 'alice',
      name: 'Alice',
      is_admin: 1,
      created_at: now,
    });
    const { n } = await db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(n).toBe(1); // a number on both, not PostgreSQL's bigint string
    await expect(
      db
        .insertInto('users')
        .values({ username: 'alice', name: 'x', is_admin: 0, created_at: now })
        .execute(),
    ).rejects.toThrow();
  });

  it('indexes registries by secret hash (migration 0002), for event authentication', async () => {
    database = await openTestDatabase(dialect);
    const { db } = database;
    const names =
      dialect === 'postgres'
        ? (
            await sql<{ name: string }>`
              select indexname as name from pg_indexes where tablename = 'registries'`.execute(db)
          ).rows
        : (
            await sql<{ name: string }>`select name from pragma_index_list('registries')`.execute(
              db,
            )
          ).rows;
    expect(names.map((r) => r.name)).toContain('registries_secret_hash');
    const ran = await sql<{
      name: string;
    }>`select name from kysely_migration order by name`.execute(db);
    expect(ran.rows.map((r) => r.name)).toEqual(['0001_initial', '0002_registry_secret_index']);
  });
});

describe('database URLs', () => {
  it.each([
    [undefined, '/data', '/data/regscan.db'],
    ['sqlite:/tmp/x.db', '/data', '/tmp/x.db'],
    ['/var/lib/regscan/r.db', '/data', '/var/lib/regscan/r.db'],
    [':memory:', '/data', ':memory:'],
  ])('%s in %s → %s', (url, dir, expected) => {
    expect(sqlitePath(url, dir)).toBe(expected);
  });
  it('refuses an unknown scheme', () => {
    expect(() => sqlitePath('mysql://u:p@h/db', '/d')).toThrow(
      /unsupported database URL scheme in mysql:\/\/u:\*\*\*@h\/db/,
    );
  });
  it('hides passwords', () => {
    expect(redactUrl('postgres://u:secret@h:5432/db')).toBe('postgres://u:***@h:5432/db');
  });
});
