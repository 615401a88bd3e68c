/**
 * Users and personal access tokens through the real app on both databases: who am I, users
 * created by admins, tokens shown once and stored hashed, expiry and revocation (401 from then
 * on), read-only tokens (GET yes, writes 403), admin tokens for other users, and the first start
 * (bootstrapAdmin) with and without REGSCAN_ADMIN_TOKEN.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/http/app.js';
import { bootstrapAdmin } from '../../src/service/users.js';
import { BACKENDS } from '../support/postgres.js';
import { seedUser, type SeededUser } from '../support/seed.js';
import { makeTestContext, type TestContext } from '../support/service-context.js';

interface UserBody {
  id: number;
  username: string;
  name: string;
  is_admin: boolean;
}
interface TokenBody {
  id: number;
  user_id: number;
  name: string;
  token_prefix: string;
  read_only: boolean;
  expires_at: string | null;
  revoked: boolean;
  active: boolean;
  token?: string;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const DAY = 24 * 60 * 60 * 1000;

describe.each(BACKENDS)('users and tokens API on %s', (dialect) => {
  let ctx: TestContext;
  let app: App;
  let admin: SeededUser;
  let alice: SeededUser;
  let bob: SeededUser;
  let reader: SeededUser;

  beforeAll(async () => {
    ctx = await makeTestContext(dialect);
    app = await buildApp(ctx);
    const db = ctx.database.db;
    admin = await seedUser(db, 'root', { isAdmin: true });
    alice = await seedUser(db, 'alice');
    bob = await seedUser(db, 'bob');
    reader = await seedUser(db, 'reader', { readOnly: true });
  });
  afterAll(async () => {
    await app?.close();
    await ctx?.close();
  });

  const call = (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    headers: Record<string, string>,
    payload?: unknown,
  ) =>
    app.inject({
      method,
      url,
      headers,
      ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
    });

  const newToken = async (who: SeededUser, body: Record<string, unknown>) => {
    const res = await call('POST', '/api/v1/user/personal_access_tokens', who.headers, body);
    expect(res.statusCode, res.body).toBe(201);
    return res.json<TokenBody>();
  };

  describe('who am I', () => {
    it('GET /api/v1/user names the token owner and the token', async () => {
      const res = await call('GET', '/api/v1/user', alice.headers);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        id: alice.user.id,
        username: 'alice',
        is_admin: false,
        token: { read_only: false },
      });
    });

    it.each([
      ['no token', {}],
      ['an unknown token', bearer('rsp_unknown')],
      ['a malformed header', { authorization: 'Basic YWxpY2U6cHc=' }],
      ['PRIVATE-TOKEN with an unknown token', { 'private-token': 'nope' }],
    ])('answers 401 to %s', async (_what, headers) => {
      const res = await call('GET', '/api/v1/user', headers);
      expect(res.statusCode).toBe(401);
    });

    it("takes GitLab's PRIVATE-TOKEN header", async () => {
      const res = await call('GET', '/api/v1/user', { 'private-token': bob.token });
      expect(res.statusCode).toBe(200);
      expect(res.json<UserBody>().username).toBe('bob');
    });
  });

  describe('users (admins)', () => {
    it('an admin creates a user; the list shows it', async () => {
      const res = await call('POST', '/api/v1/users', admin.headers, {
        username: 'carol',
        name: 'Carol C.',
      });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json()).toMatchObject({ username: 'carol', name: 'Carol C.', is_admin: false });
      const list = await call('GET', '/api/v1/users?per_page=100', admin.headers);
      expect(list.statusCode).toBe(200);
      expect(list.json<UserBody[]>().map((u) => u.username)).toContain('carol');
      expect(Number(list.headers['x-total'])).toBeGreaterThanOrEqual(5);
    });

    it('an admin can create another admin', async () => {
      const res = await call('POST', '/api/v1/users', admin.headers, {
        username: 'dora',
        admin: true,
      });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ username: 'dora', name: 'dora', is_admin: true });
    });

    it.each([
      ['a taken username', { username: 'alice' }, 409],
      ['a taken username in other case', { username: 'ALICE' }, 409],
      ['a username with a space', { username: 'al ice' }, 400],
      ['a username starting with a dash', { username: '-x' }, 400],
      ['an empty username', { username: '' }, 400],
      ['an unknown field', { username: 'eve', role: 'admin' }, 400],
      ['admin not a boolean', { username: 'eve', admin: 'yes' }, 400],
    ])('refuses %s', async (_what, body, status) => {
      const res = await call('POST', '/api/v1/users', admin.headers, body);
      expect(res.statusCode, res.body).toBe(status);
      expect(res.json<{ error: string }>().error).toBeTruthy();
    });

    it('a user who is not an admin can neither list nor create users', async () => {
      expect((await call('GET', '/api/v1/users', alice.headers)).statusCode).toBe(403);
      const res = await call('POST', '/api/v1/users', alice.headers, { username: 'mallory' });
      expect(res.statusCode).toBe(403);
      const created = await ctx.database.db
        .selectFrom('users')
        .select('id')
        .where('username', '=', 'mallory')
        .executeTakeFirst();
      expect(created).toBeUndefined();
    });
  });

  describe('personal access tokens', () => {
    it('shows a new token once; it works; the list never shows it', async () => {
      const created = await newToken(alice, { name: 'ci' });
      expect(created.token).toMatch(/^rsp_[A-Za-z0-9_-]{40,}$/);
      expect(created.token!.startsWith(created.token_prefix)).toBe(true);
      expect(created).toMatchObject({ name: 'ci', read_only: false, active: true, revoked: false });

      const me = await call('GET', '/api/v1/user', bearer(created.token!));
      expect(me.json<UserBody>().username).toBe('alice');

      const list = await call('GET', '/api/v1/user/personal_access_tokens', alice.headers);
      expect(list.statusCode).toBe(200);
      const tokens = list.json<TokenBody[]>();
      expect(tokens.map((t) => t.id)).toContain(created.id);
      expect(list.body).not.toContain(created.token!);
      for (const t of tokens) expect(t).not.toHaveProperty('token');
      // only alice's tokens
      expect(new Set(tokens.map((t) => t.user_id))).toEqual(new Set([alice.user.id]));
    });

    it('stores only the hash of a token', async () => {
      const created = await newToken(alice, { name: 'hashed' });
      const row = await ctx.database.db
        .selectFrom('tokens')
        .selectAll()
        .where('id', '=', created.id)
        .executeTakeFirstOrThrow();
      expect(row.token_hash).toBe(createHash('sha256').update(created.token!).digest('hex'));
      expect(JSON.stringify(row)).not.toContain(created.token!);
      // no column anywhere in the tokens table holds it
      const all = await ctx.database.db.selectFrom('tokens').selectAll().execute();
      expect(JSON.stringify(all)).not.toContain(created.token!);
    });

    it('an expired token answers 401', async () => {
      const expiresAt = new Date(ctx.now().getTime() + 2 * DAY);
      const created = await newToken(alice, {
        name: 'short',
        expires_at: expiresAt.toISOString(),
      });
      expect(created.expires_at).toBe(expiresAt.toISOString());
      expect((await call('GET', '/api/v1/user', bearer(created.token!))).statusCode).toBe(200);
      ctx.advanceClock(3 * DAY);
      try {
        const res = await call('GET', '/api/v1/user', bearer(created.token!));
        expect(res.statusCode).toBe(401);
        const list = await call('GET', '/api/v1/user/personal_access_tokens', alice.headers);
        const shown = list.json<TokenBody[]>().find((t) => t.id === created.id);
        expect(shown).toMatchObject({ active: false, revoked: false });
      } finally {
        ctx.advanceClock(-3 * DAY);
      }
    });

    it('takes a date as expires_at (expiring at 00:00 UTC that day)', async () => {
      const day = new Date(ctx.now().getTime() + 10 * DAY).toISOString().slice(0, 10);
      const created = await newToken(alice, { name: 'dated', expires_at: day });
      expect(created.expires_at).toBe(`${day}T00:00:00.000Z`);
    });

    it.each([
      ['a past expiry', { name: 'x', expires_at: '2001-01-01' }],
      ['an expiry that is no date', { name: 'x', expires_at: 'next week' }],
      ['an impossible date', { name: 'x', expires_at: '2999-02-31' }],
      ['a date-time without its zone', { name: 'x', expires_at: '2999-01-01T00:00:00' }],
      ['no name', { read_only: true }],
      ['an empty name', { name: '' }],
      ['read_only not a boolean', { name: 'x', read_only: 'maybe' }],
    ])('refuses %s with 400', async (_what, body) => {
      const res = await call('POST', '/api/v1/user/personal_access_tokens', alice.headers, body);
      expect(res.statusCode, res.body).toBe(400);
    });

    it('a revoked token answers 401', async () => {
      const created = await newToken(alice, { name: 'to revoke' });
      const revoke = await call(
        'DELETE',
        `/api/v1/user/personal_access_tokens/${created.id}`,
        alice.headers,
      );
      expect(revoke.statusCode).toBe(204);
      expect((await call('GET', '/api/v1/user', bearer(created.token!))).statusCode).toBe(401);
      const list = await call('GET', '/api/v1/user/personal_access_tokens', alice.headers);
      expect(list.json<TokenBody[]>().find((t) => t.id === created.id)).toMatchObject({
        revoked: true,
        active: false,
      });
    });

    it("cannot revoke another user's token (404); an admin can", async () => {
      const bobs = await newToken(bob, { name: 'bob ci' });
      const url = `/api/v1/user/personal_access_tokens/${bobs.id}`;
      expect((await call('DELETE', url, alice.headers)).statusCode).toBe(404);
      expect((await call('GET', '/api/v1/user', bearer(bobs.token!))).statusCode).toBe(200);
      expect((await call('DELETE', url, admin.headers)).statusCode).toBe(204);
      expect((await call('GET', '/api/v1/user', bearer(bobs.token!))).statusCode).toBe(401);
      expect(
        (await call('DELETE', '/api/v1/user/personal_access_tokens/999999', alice.headers))
          .statusCode,
      ).toBe(404);
    });

    it('a read-only token reads (GET) but cannot write (403)', async () => {
      expect((await call('GET', '/api/v1/user', reader.headers)).json()).toMatchObject({
        username: 'reader',
        token: { read_only: true },
      });
      expect(
        (await call('GET', '/api/v1/user/personal_access_tokens', reader.headers)).statusCode,
      ).toBe(200);
      const before = await ctx.database.db
        .selectFrom('tokens')
        .select('id')
        .where('user_id', '=', reader.user.id)
        .execute();
      const write = await call('POST', '/api/v1/user/personal_access_tokens', reader.headers, {
        name: 'escalate',
      });
      expect(write.statusCode).toBe(403);
      expect(write.json<{ error: string }>().error).toMatch(/read-only/);
      const revoke = await call(
        'DELETE',
        `/api/v1/user/personal_access_tokens/${before[0]!.id}`,
        reader.headers,
      );
      expect(revoke.statusCode).toBe(403);
      const after = await ctx.database.db
        .selectFrom('tokens')
        .select(['id', 'revoked_at'])
        .where('user_id', '=', reader.user.id)
        .execute();
      expect(after).toEqual([{ id: before[0]!.id, revoked_at: null }]);
    });

    it('a new read-only token is read-only', async () => {
      const created = await newToken(alice, { name: 'ro', read_only: true });
      expect(created.read_only).toBe(true);
      const headers = bearer(created.token!);
      expect((await call('GET', '/api/v1/user', headers)).statusCode).toBe(200);
      expect(
        (await call('POST', '/api/v1/user/personal_access_tokens', headers, { name: 'x' }))
          .statusCode,
      ).toBe(403);
    });

    it('an admin creates a token for another user; others may not', async () => {
      const url = `/api/v1/users/${bob.user.id}/personal_access_tokens`;
      const res = await call('POST', url, admin.headers, { name: 'for bob', read_only: true });
      expect(res.statusCode, res.body).toBe(201);
      const created = res.json<TokenBody>();
      expect(created.user_id).toBe(bob.user.id);
      const me = await call('GET', '/api/v1/user', bearer(created.token!));
      expect(me.json()).toMatchObject({ username: 'bob', token: { read_only: true } });

      expect((await call('POST', url, alice.headers, { name: 'for bob' })).statusCode).toBe(403);
      expect(
        (
          await call('POST', '/api/v1/users/999999/personal_access_tokens', admin.headers, {
            name: 'nobody',
          })
        ).statusCode,
      ).toBe(404);
    });
  });
});

describe.each(BACKENDS)('first start on %s', (dialect) => {
  it('without REGSCAN_ADMIN_TOKEN: creates admin with a generated token, once', async () => {
    const ctx = await makeTestContext(dialect);
    const app = await buildApp(ctx);
    try {
      const first = await bootstrapAdmin(ctx.database.db, undefined, ctx.now());
      expect(first).toBeDefined();
      expect(first!.generated).toBe(true);
      expect(first!.token).toMatch(/^rsp_/);
      const me = await app.inject({
        method: 'GET',
        url: '/api/v1/user',
        headers: bearer(first!.token),
      });
      expect(me.statusCode).toBe(200);
      expect(me.json()).toMatchObject({ username: 'admin', is_admin: true });
      // the admin can administer: create a user
      const created = await app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: bearer(first!.token),
        payload: { username: 'someone' },
      });
      expect(created.statusCode).toBe(201);
      // second start: nothing new
      expect(await bootstrapAdmin(ctx.database.db, undefined, ctx.now())).toBeUndefined();
      const admins = await ctx.database.db
        .selectFrom('users')
        .select('username')
        .where('is_admin', '=', 1)
        .execute();
      expect(admins).toEqual([{ username: 'admin' }]);
      const stored = await ctx.database.db.selectFrom('tokens').selectAll().execute();
      expect(JSON.stringify(stored)).not.toContain(first!.token);
    } finally {
      await app.close();
      await ctx.close();
    }
  });

  it('with REGSCAN_ADMIN_TOKEN: that token is the admin, stored hashed', async () => {
    const ctx = await makeTestContext(dialect, {
      adminToken: 'rsp_configured-admin-token-0123456789',
    });
    const app = await buildApp(ctx);
    try {
      const token = ctx.config.adminToken!;
      const first = await bootstrapAdmin(ctx.database.db, token, ctx.now());
      expect(first).toEqual({ token, generated: false });
      const me = await app.inject({ method: 'GET', url: '/api/v1/user', headers: bearer(token) });
      expect(me.statusCode).toBe(200);
      expect(me.json()).toMatchObject({ username: 'admin', is_admin: true });
      const metrics = await app.inject({ method: 'GET', url: '/metrics', headers: bearer(token) });
      expect(metrics.statusCode).toBe(200);
      const stored = await ctx.database.db.selectFrom('tokens').selectAll().execute();
      expect(stored).toHaveLength(1);
      expect(JSON.stringify(stored)).not.toContain(token);
      // a restart with the same token creates nothing; a new configured token is added to admin
      expect(await bootstrapAdmin(ctx.database.db, token, ctx.now())).toBeUndefined();
      expect(await ctx.database.db.selectFrom('tokens').selectAll().execute()).toHaveLength(1);
      const rotated = 'rsp_rotated-admin-token-0123456789abc';
      expect(await bootstrapAdmin(ctx.database.db, rotated, ctx.now())).toBeUndefined();
      const again = await app.inject({
        method: 'GET',
        url: '/api/v1/user',
        headers: bearer(rotated),
      });
      expect(again.json()).toMatchObject({ username: 'admin', is_admin: true });
    } finally {
      await app.close();
      await ctx.close();
    }
  });
});
