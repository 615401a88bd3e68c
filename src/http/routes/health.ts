/**
 * Health, readiness, metrics and the API's own description:
 *
 * - `GET /healthz` (public): the process answers: 200 `{status: 'ok'}`.
 * - `GET /readyz` (public): 200 when the database answers `select 1` within a few seconds, else
 *   503 (a load balancer then sends traffic elsewhere).
 * - `GET /metrics` (admins): Prometheus text (registry events by outcome, scans by status, scan
 *   duration, queue depth). It needs an admin token because it tells about the instance's
 *   activity; Prometheus sends one with `authorization: { type: Bearer, credentials: <token> }`
 *   (or `bearer_token_file`) in its scrape config. A read-only admin token is enough.
 * - `GET /api/v1/openapi.json` (public): the OpenAPI 3.1 document of this API. It is the API's
 *   shape, with no data in it, so it needs no token (clients and generators fetch it first).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { Type } from 'typebox';
import type { ServiceContext } from '../../service/context.js';
import { requireAdmin } from '../auth.js';
import { ErrorSchema } from '../schemas.js';

/** How long /readyz waits for the database. */
export const READY_TIMEOUT_MS = 3_000;

async function databaseAnswers(ctx: ServiceContext): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      sql`select 1`.execute(ctx.database.db),
      new Promise((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)),
          READY_TIMEOUT_MS,
        );
      }),
    ]);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    clearTimeout(timer);
  }
}

export default function routes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/healthz',
    {
      config: { auth: 'public' },
      schema: {
        summary: 'Liveness: the process answers',
        tags: ['health'],
        security: [],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    () => ({ status: 'ok' as const }),
  );

  api.get(
    '/readyz',
    {
      config: { auth: 'public' },
      schema: {
        summary: 'Readiness: the database answers',
        tags: ['health'],
        security: [],
        response: {
          200: Type.Object({ status: Type.Literal('ready'), database: Type.String() }),
          503: Type.Object({
            status: Type.Literal('unavailable'),
            database: Type.String(),
            error: Type.String(),
          }),
        },
      },
    },
    async (_request, reply) => {
      const problem = await databaseAnswers(ctx);
      if (problem !== undefined) {
        ctx.log.warn('readiness check failed', { error: problem });
        return reply.status(503).send({
          status: 'unavailable' as const,
          database: ctx.database.dialect,
          error: 'the database does not answer',
        });
      }
      return reply.status(200).send({ status: 'ready' as const, database: ctx.database.dialect });
    },
  );

  api.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics (admins; Prometheus sends the token as a bearer token)',
        tags: ['health'],
        produces: ['text/plain'],
        response: {
          200: Type.String({ description: 'Prometheus text exposition format' }),
          401: ErrorSchema,
          403: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const { contentType, body } = await ctx.metrics.render();
      return reply.type(contentType).send(body);
    },
  );

  api.get(
    '/api/v1/openapi.json',
    {
      config: { auth: 'public' },
      schema: {
        summary: 'The OpenAPI 3.1 document of this API',
        tags: ['health'],
        security: [],
      },
    },
    () => app.swagger(),
  );
}
