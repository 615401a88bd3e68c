/**
 * Users and their personal access tokens. A token is 32 random bytes (base64url) with a `rsp_`
 * prefix; only its sha256 is stored. A fast hash is enough here: the token has 256 bits of
 * entropy, so there is nothing to brute-force that a slow password hash would protect.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB, User } from '../store/schema.js';

export const TOKEN_PREFIX = 'rsp_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export interface AuthenticatedUser {
  id: number;
  username: string;
  isAdmin: boolean;
  /** The token only reads: any method but GET/HEAD is refused. */
  readOnly: boolean;
  tokenId: number;
}

export interface NewToken {
  name: string;
  readOnly?: boolean;
  expiresAt?: Date | null;
}

/** Creates a token for a user; returns the token itself (shown once) and its row id. */
export async function createToken(
  db: Kysely<DB>,
  userId: number,
  options: NewToken,
  now: Date = new Date(),
  token: string = generateToken(),
): Promise<{ id: number; token: string }> {
  const row = await db
    .insertInto('tokens')
    .values({
      user_id: userId,
      name: options.name,
      token_hash: hashToken(token),
      token_prefix: token.slice(0, TOKEN_PREFIX.length + 6),
      read_only: options.readOnly ? 1 : 0,
      expires_at: options.expiresAt ? options.expiresAt.toISOString() : null,
      last_used_at: null,
      revoked_at: null,
      created_at: now.toISOString(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, token };
}

/** The user a token belongs to, unless it is unknown, revoked or expired. */
export async function authenticateToken(
  db: Kysely<DB>,
  token: string,
  now: Date = new Date(),
): Promise<AuthenticatedUser | undefined> {
  if (!token || token.length > 512) return undefined;
  const row = await db
    .selectFrom('tokens')
    .innerJoin('users', 'users.id', 'tokens.user_id')
    .select([
      'tokens.id as token_id',
      'tokens.read_only',
      'tokens.expires_at',
      'tokens.revoked_at',
      'tokens.last_used_at',
      'users.id as user_id',
      'users.username',
      'users.is_admin',
    ])
    .where('tokens.token_hash', '=', hashToken(token))
    .executeTakeFirst();
  if (!row || row.revoked_at) return undefined;
  const nowIso = now.toISOString();
  if (row.expires_at && row.expires_at <= nowIso) return undefined;
  // last use is kept to the minute: no write on every request
  if (!row.last_used_at || row.last_used_at.slice(0, 16) !== nowIso.slice(0, 16)) {
    await db
      .updateTable('tokens')
      .set({ last_used_at: nowIso })
      .where('id', '=', row.token_id)
      .execute();
  }
  return {
    id: row.user_id,
    username: row.username,
    isAdmin: row.is_admin === 1,
    readOnly: row.read_only === 1,
    tokenId: row.token_id,
  };
}

export async function createUser(
  db: Kysely<DB>,
  user: { username: string; name?: string; isAdmin?: boolean },
  now: Date = new Date(),
): Promise<User> {
  return db
    .insertInto('users')
    .values({
      username: user.username,
      name: user.name ?? user.username,
      is_admin: user.isAdmin ? 1 : 0,
      created_at: now.toISOString(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * At first start (no user yet): creates the `admin` user with `adminToken` when given, else with a
 * generated token that is returned so the caller can print it once. Returns undefined when users
 * exist already (a configured admin token is then added to `admin` if it is not known yet).
 */
export async function bootstrapAdmin(
  db: Kysely<DB>,
  adminToken: string | undefined,
  now: Date = new Date(),
): Promise<{ token: string; generated: boolean } | undefined> {
  const existing = await db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  if (existing) {
    if (adminToken) {
      const known = await db
        .selectFrom('tokens')
        .select('id')
        .where('token_hash', '=', hashToken(adminToken))
        .executeTakeFirst();
      const admin = await db
        .selectFrom('users')
        .select('id')
        .where('username', '=', 'admin')
        .executeTakeFirst();
      if (!known && admin)
        await createToken(db, admin.id, { name: 'REGSCAN_ADMIN_TOKEN' }, now, adminToken);
    }
    return undefined;
  }
  const admin = await createUser(
    db,
    { username: 'admin', name: 'Administrator', isAdmin: true },
    now,
  );
  const token = adminToken ?? generateToken();
  await createToken(
    db,
    admin.id,
    { name: adminToken ? 'REGSCAN_ADMIN_TOKEN' : 'initial admin token' },
    now,
    token,
  );
  return { token, generated: !adminToken };
}
