/**
 * Users and personal access tokens (GitLab-like):
 *
 * - `GET  /api/v1/user`: who the token belongs to;
 * - `GET  /api/v1/users`, `POST /api/v1/users` `{username, name?, admin?}` (admins): the users;
 * - `GET  /api/v1/user/personal_access_tokens`: the caller's tokens, without the tokens themselves;
 * - `POST /api/v1/user/personal_access_tokens` `{name, read_only?, expires_at?}`: a new token of
 *   the caller, returned once in `token` (only its sha256 is stored);
 * - `DELETE /api/v1/user/personal_access_tokens/:token_id`: revoke one of the caller's tokens (an
 *   admin may revoke anyone's); a revoked token answers 401 from then on;
 * - `POST /api/v1/users/:id/personal_access_tokens` (admins): a token for any user.
 *
 * `expires_at` is a date (`2026-01-31`, expiring at 00:00 UTC that day) or a date-time with its
 * zone; it must be in the future. A read-only token may read (GET) but not write (403).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { Type, type Static } from 'typebox';
import type { ServiceContext } from '../../service/context.js';
import { createToken, createUser } from '../../service/users.js';
import { isUniqueViolation } from '../../store/errors.js';
import type { DB, Token, User } from '../../store/schema.js';
import { requireAdmin, userOf } from '../auth.js';
import { badRequest, conflict, notFound } from '../errors.js';
import { pageOf, PaginationProperties, setPaginationHeaders } from '../pagination.js';
import { errorResponses, nullable, RecordId, Text } from '../schemas.js';

/** GitLab-like usernames: letters, digits, `.`, `_`, `-`; unique regardless of case. */
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;

export const UserSchema = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  name: Type.String(),
  is_admin: Type.Boolean(),
  created_at: Type.String(),
});

const TokenProperties = {
  id: Type.Integer(),
  user_id: Type.Integer(),
  name: Type.String(),
  token_prefix: Type.String({ description: 'The first characters of the token, to recognise it' }),
  read_only: Type.Boolean(),
  expires_at: nullable(Type.String()),
  last_used_at: nullable(Type.String()),
  revoked: Type.Boolean(),
  active: Type.Boolean({ description: 'Neither revoked nor expired' }),
  created_at: Type.String(),
};
const TokenSchema = Type.Object(TokenProperties);
const NewTokenSchema = Type.Object({
  ...TokenProperties,
  token: Type.String({ description: 'The token itself: shown this once, never again' }),
});

const TokenBody = Type.Object(
  {
    name: Text({ minLength: 1, maxLength: 200 }),
    read_only: Type.Optional(Type.Boolean({ default: false })),
    expires_at: Type.Optional(
      nullable(
        Text({
          maxLength: 40,
          description:
            'A date (`2026-01-31`: expires at 00:00 UTC that day) or a date-time with its zone',
        }),
      ),
    ),
  },
  { additionalProperties: false },
);

const Errors = errorResponses(400, 401, 403, 404);

export function userView(user: User): Static<typeof UserSchema> {
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    is_admin: user.is_admin === 1,
    created_at: user.created_at,
  };
}

function tokenView(token: Token, now: Date): Static<typeof TokenSchema> {
  const expired = token.expires_at !== null && token.expires_at <= now.toISOString();
  return {
    id: token.id,
    user_id: token.user_id,
    name: token.name,
    token_prefix: token.token_prefix,
    read_only: token.read_only === 1,
    expires_at: token.expires_at,
    last_used_at: token.last_used_at,
    revoked: token.revoked_at !== null,
    active: token.revoked_at === null && !expired,
    created_at: token.created_at,
  };
}

/** `expires_at` as a Date in the future, or null for a token that does not expire. */
export function parseExpiry(value: string | null | undefined, now: Date): Date | null {
  if (value === undefined || value === null || value === '') return null;
  const text = value.trim();
  if (!DATE_ONLY.test(text) && !DATE_TIME.test(text)) {
    throw badRequest(
      'expires_at: a date (2026-01-31) or a date-time with its zone (2026-01-31T12:00:00Z)',
    );
  }
  const at = new Date(DATE_ONLY.test(text) ? `${text}T00:00:00Z` : text);
  // Date accepts 2026-02-31 and rolls over: compare the date back
  if (
    Number.isNaN(at.getTime()) ||
    (DATE_ONLY.test(text) && at.toISOString().slice(0, 10) !== text)
  ) {
    throw badRequest(`expires_at: not a real date: ${JSON.stringify(text)}`);
  }
  if (at.getTime() <= now.getTime()) throw badRequest('expires_at: must be in the future');
  return at;
}

async function newToken(
  ctx: ServiceContext,
  userId: number,
  body: Static<typeof TokenBody>,
): Promise<Static<typeof NewTokenSchema>> {
  const now = ctx.now();
  const expiresAt = parseExpiry(body.expires_at, now);
  const created = await createToken(
    ctx.database.db,
    userId,
    { name: body.name, readOnly: body.read_only ?? false, expiresAt },
    now,
  );
  const row = await ctx.database.db
    .selectFrom('tokens')
    .selectAll()
    .where('id', '=', created.id)
    .executeTakeFirstOrThrow();
  return { ...tokenView(row, now), token: created.token };
}

async function findUser(db: Kysely<DB>, id: number): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export default function routes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const db = ctx.database.db;

  api.get(
    '/api/v1/user',
    {
      schema: {
        summary: 'The user the token belongs to',
        tags: ['users'],
        response: {
          200: Type.Object({
            ...UserSchema.properties,
            token: Type.Object({ id: Type.Integer(), read_only: Type.Boolean() }),
          }),
          ...errorResponses(401),
        },
      },
    },
    async (request) => {
      const me = userOf(request);
      const user = await findUser(db, me.id);
      if (!user) throw notFound('user not found');
      return { ...userView(user), token: { id: me.tokenId, read_only: me.readOnly } };
    },
  );

  api.get(
    '/api/v1/users',
    {
      schema: {
        summary: 'Every user (admins)',
        tags: ['users'],
        querystring: Type.Object({ ...PaginationProperties }),
        response: { 200: Type.Array(UserSchema), ...Errors },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const page = pageOf(request.query);
      const [{ n }, rows] = await Promise.all([
        db
          .selectFrom('users')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow(),
        db
          .selectFrom('users')
          .selectAll()
          .orderBy('id')
          .limit(page.perPage)
          .offset(page.offset)
          .execute(),
      ]);
      setPaginationHeaders(reply, page, Number(n));
      return rows.map(userView);
    },
  );

  api.post(
    '/api/v1/users',
    {
      schema: {
        summary:
          'Create a user (admins); give them a token with POST /users/:id/personal_access_tokens',
        tags: ['users'],
        body: Type.Object(
          {
            username: Text({
              minLength: 1,
              maxLength: 100,
              description: 'Letters, digits, ".", "_" and "-"; unique regardless of case',
            }),
            name: Type.Optional(Text({ minLength: 1, maxLength: 255 })),
            admin: Type.Optional(Type.Boolean({ default: false })),
          },
          { additionalProperties: false },
        ),
        response: { 201: UserSchema, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const { username, name, admin } = request.body;
      if (!USERNAME.test(username)) {
        throw badRequest(
          'username: 1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit',
        );
      }
      const taken = await db
        .selectFrom('users')
        .select('id')
        .where((eb) => eb(eb.fn('lower', ['username']), '=', username.toLowerCase()))
        .executeTakeFirst();
      if (taken) throw conflict(`the username ${username} is taken`);
      let user: User;
      try {
        user = await createUser(
          db,
          { username, name: name?.trim() || username, isAdmin: admin ?? false },
          ctx.now(),
        );
      } catch (e) {
        if (isUniqueViolation(e)) throw conflict(`the username ${username} is taken`);
        throw e;
      }
      return reply.status(201).send(userView(user));
    },
  );

  api.get(
    '/api/v1/user/personal_access_tokens',
    {
      schema: {
        summary: "The caller's tokens (never the tokens themselves)",
        tags: ['users'],
        response: { 200: Type.Array(TokenSchema), ...errorResponses(401) },
      },
    },
    async (request) => {
      const me = userOf(request);
      const now = ctx.now();
      const rows = await db
        .selectFrom('tokens')
        .selectAll()
        .where('user_id', '=', me.id)
        .orderBy('id')
        .execute();
      return rows.map((t) => tokenView(t, now));
    },
  );

  api.post(
    '/api/v1/user/personal_access_tokens',
    {
      schema: {
        summary: 'Create a token for the caller; the response shows it once',
        tags: ['users'],
        body: TokenBody,
        response: { 201: NewTokenSchema, ...Errors },
      },
    },
    async (request, reply) => {
      const me = userOf(request);
      return reply.status(201).send(await newToken(ctx, me.id, request.body));
    },
  );

  api.delete(
    '/api/v1/user/personal_access_tokens/:token_id',
    {
      schema: {
        summary: 'Revoke a token (own tokens; admins any)',
        tags: ['users'],
        params: Type.Object({ token_id: RecordId }),
        response: { 204: Type.Null(), ...Errors },
      },
    },
    async (request, reply) => {
      const me = userOf(request);
      const token = await db
        .selectFrom('tokens')
        .select(['id', 'user_id', 'revoked_at'])
        .where('id', '=', request.params.token_id)
        .executeTakeFirst();
      // someone else's token is not found, so token ids cannot be probed
      if (!token || (token.user_id !== me.id && !me.isAdmin)) throw notFound('token not found');
      if (token.revoked_at === null) {
        await db
          .updateTable('tokens')
          .set({ revoked_at: ctx.now().toISOString() })
          .where('id', '=', token.id)
          .execute();
      }
      return reply.status(204).send(null);
    },
  );

  api.post(
    '/api/v1/users/:id/personal_access_tokens',
    {
      schema: {
        summary: 'Create a token for any user (admins); the response shows it once',
        tags: ['users'],
        params: Type.Object({ id: RecordId }),
        body: TokenBody,
        response: { 201: NewTokenSchema, ...Errors },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const user = await findUser(db, request.params.id);
      if (!user) throw notFound('user not found');
      return reply.status(201).send(await newToken(ctx, user.id, request.body));
    },
  );
}
