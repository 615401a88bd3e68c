/**
 * Registry events in, and the event log out.
 *
 * - `POST /api/v1/registry/events`: where registries send their notifications (a CNCF
 *   Distribution envelope or a Harbor webhook). The sender is authenticated by its secret in the
 *   `Authorization` header before the body is even read (401, no detail, nothing stored); the body
 *   is parsed (400 with the reason when it is neither format); each entry goes through the
 *   ImagePushed policy and into the event log, and the answer lists every entry's outcome. The
 *   response comes as soon as the scans are queued: scanning happens in the workers.
 * - `GET /api/v1/projects/:id/registry_events`: a project's event log (developer role).
 * - `GET /api/v1/registry/events`: every event, including those no project owns (admins).
 *
 * Lists are paginated as GitLab does: `page`, `per_page` (≤ 100) and the headers X-Total,
 * X-Total-Pages, X-Page, X-Per-Page, X-Next-Page, X-Prev-Page.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { Type } from 'typebox';
import type { ServiceContext } from '../../service/context.js';
import { receiveRegistryEvents } from '../../service/image-pushed.js';
import { authenticateRegistry, secretFromAuthorization } from '../../service/registries.js';
import { parseRegistryPayload } from '../../service/registry-events.js';
import type { DB, EventOutcome, Registry, RegistryEvent } from '../../store/schema.js';
import { requireAdmin, requireProject } from '../auth.js';
import { badRequest, HttpError, unauthorized } from '../errors.js';
import { pageOf, PaginationProperties, setPaginationHeaders } from '../pagination.js';
import { errorResponses, nullable, ProjectParams, RecordId } from '../schemas.js';

const Outcome = Type.Union([
  Type.Literal('queued'),
  Type.Literal('refused'),
  Type.Literal('ignored'),
  Type.Literal('rejected'),
]);

const ReceivedEvent = Type.Object({
  event_id: Type.Integer({ description: 'The event log entry' }),
  outcome: Outcome,
  reason: Type.String(),
  scan_id: Type.Optional(Type.Integer({ description: 'The scan queued (outcome queued)' })),
});

const LoggedEvent = Type.Object({
  id: Type.Integer(),
  registry_id: nullable(Type.Integer()),
  received_at: Type.String(),
  format: Type.String({ description: 'distribution or harbor' }),
  external_id: nullable(Type.String()),
  action: nullable(Type.String()),
  media_type: nullable(Type.String()),
  repository: nullable(Type.String()),
  tag: nullable(Type.String()),
  digest: nullable(Type.String()),
  outcome: Outcome,
  reason: Type.String(),
  project_id: nullable(Type.Integer()),
  scan_id: nullable(Type.Integer()),
});

const ListQuery = Type.Object({
  ...PaginationProperties,
  outcome: Type.Optional(Outcome),
});

const EVENT_MEDIA_TYPE = /^application\/(?:json|[\w.+-]*\+json)\s*(?:;.*)?$/i;

export default function routes(app: FastifyInstance, ctx: ServiceContext): void {
  const db = ctx.database.db;
  const senders = new WeakMap<FastifyRequest, Registry>();
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();

  typed.post(
    '/api/v1/registry/events',
    {
      config: { auth: 'registry' },
      // before the body is read: an unauthenticated sender gets 401 whatever it sent
      onRequest: async (request) => {
        const registry = await authenticateRegistry(
          db,
          secretFromAuthorization(request.headers.authorization),
        );
        if (!registry) {
          ctx.metrics.events.inc({ outcome: 'unauthenticated' });
          throw unauthorized();
        }
        senders.set(request, registry);
      },
      schema: {
        summary: 'Receive registry notifications (CNCF Distribution envelope or Harbor webhook)',
        description:
          'Authorization: `Bearer <registry secret>` or the secret as is. Body: a Distribution ' +
          'notification envelope (application/vnd.docker.distribution.events.v1+json) or a ' +
          'Harbor webhook (application/json). Every entry is logged with its outcome.',
        tags: ['registry events'],
        body: Type.Unknown({ description: 'The notification as the registry sends it' }),
        response: {
          200: Type.Object({ events: Type.Array(ReceivedEvent) }),
          ...errorResponses(400, 401, 415),
        },
      },
    },
    async (request) => {
      const registry = senders.get(request);
      if (!registry) throw unauthorized();
      const contentType = request.headers['content-type'];
      if (typeof contentType !== 'string' || !EVENT_MEDIA_TYPE.test(contentType)) {
        ctx.metrics.events.inc({ outcome: 'malformed' });
        throw new HttpError(
          415,
          'send JSON: application/vnd.docker.distribution.events.v1+json or application/json',
        );
      }
      const parsed = parseRegistryPayload(request.body);
      if (!parsed.ok) {
        ctx.metrics.events.inc({ outcome: 'malformed' });
        throw badRequest(parsed.error);
      }
      const results = await receiveRegistryEvents(ctx, registry, parsed);
      return {
        events: results.map((r) => ({
          event_id: r.eventId,
          outcome: r.outcome,
          reason: r.reason,
          ...(r.scanId !== null ? { scan_id: r.scanId } : {}),
        })),
      };
    },
  );

  typed.get(
    '/api/v1/projects/:id/registry_events',
    {
      schema: {
        summary: "A project's registry event log, newest first",
        tags: ['registry events'],
        params: ProjectParams,
        querystring: ListQuery,
        response: { 200: Type.Array(LoggedEvent), ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { project } = await requireProject(ctx, request, request.params.id, 'developer');
      return listEvents(db, reply, { ...request.query, projectId: project.id });
    },
  );

  typed.get(
    '/api/v1/registry/events',
    {
      schema: {
        summary: 'Every registry event, including those no project owns (admins only)',
        tags: ['registry events'],
        querystring: Type.Object({
          ...ListQuery.properties,
          registry_id: Type.Optional(RecordId),
        }),
        response: { 200: Type.Array(LoggedEvent), ...errorResponses(401, 403) },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      return listEvents(db, reply, request.query);
    },
  );
}

interface ListOptions {
  page?: number;
  per_page?: number;
  outcome?: EventOutcome;
  projectId?: number;
  registry_id?: number;
}

async function listEvents(
  db: Kysely<DB>,
  reply: FastifyReply,
  options: ListOptions,
): Promise<RegistryEvent[]> {
  const page = pageOf(options);
  let base = db.selectFrom('registry_events');
  if (options.projectId !== undefined) base = base.where('project_id', '=', options.projectId);
  if (options.registry_id !== undefined) base = base.where('registry_id', '=', options.registry_id);
  if (options.outcome !== undefined) base = base.where('outcome', '=', options.outcome);
  const { total } = await base
    .select((eb) => eb.fn.countAll<number>().as('total'))
    .executeTakeFirstOrThrow();
  const rows = await base
    .selectAll()
    .orderBy('id', 'desc')
    .limit(page.perPage)
    .offset(page.offset)
    .execute();
  setPaginationHeaders(reply, page, Number(total));
  return rows;
}
