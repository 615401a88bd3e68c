/**
 * Scans, the "pipelines" of the service (developer role in the scan's project; other projects'
 * scans answer 404):
 *
 * - `GET  /api/v1/projects/:id/scans`: newest first; filters status, repository, tag, trigger;
 *   GitLab pagination headers;
 * - `POST /api/v1/projects/:id/scans` `{repository, tag}`: a manual rescan of the digest the
 *   latest successful scan of that image pulled, from the same registry (409 when a scan of that
 *   digest is already pending or running);
 * - `GET  /api/v1/scans/:sid`: status, trigger, timings, error, attempts, counts, and the
 *   registry event that caused it (refused events are in the event log, not here: they made no
 *   scan);
 * - `GET  /api/v1/scans/:sid/log`: the scan's log lines;
 * - `GET  /api/v1/scans/:sid/sbom?format=cyclonedx|spdx`: the stored CycloneDX SBOM as it is, or
 *   converted to SPDX 2.3.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { Type } from 'typebox';
import { fromCycloneDX } from '../../sbom/read-cyclonedx.js';
import { toSPDX } from '../../sbom/spdx.js';
import type { ServiceContext } from '../../service/context.js';
import { queueScan } from '../../service/scans.js';
import { lockProject } from '../../service/projects.js';
import type { DB, Scan } from '../../store/schema.js';
import { VERSION } from '../../version.js';
import { requireProject, requireProjectOf, userOf } from '../auth.js';
import { conflict, notFound } from '../errors.js';
import { pageOf, PaginationProperties, setPaginationHeaders } from '../pagination.js';
import {
  listParameter,
  MultiValue,
  nullable,
  ProjectParams,
  RecordId,
  SCAN_STATUSES,
  SCAN_TRIGGERS,
  Text,
} from '../schemas.js';

const ScanProperties = {
  id: Type.Integer(),
  project_id: Type.Integer(),
  repository: Type.String(),
  tag: nullable(Type.String()),
  digest: nullable(Type.String()),
  trigger: Type.Enum(SCAN_TRIGGERS),
  report_type: Type.String(),
  status: Type.Enum(SCAN_STATUSES),
  error: nullable(Type.String()),
  created_at: Type.String(),
  started_at: nullable(Type.String()),
  finished_at: nullable(Type.String()),
  duration_ms: nullable(Type.Integer({ description: 'From start to finish' })),
  attempts: Type.Integer(),
  package_count: nullable(Type.Integer()),
  finding_count: nullable(Type.Integer()),
  registry: nullable(Type.Object({ id: Type.Integer(), name: Type.String() })),
  user: nullable(Type.String({ description: 'Who asked (manual rescans, CI uploads)' })),
};
const ScanSchema = Type.Object(ScanProperties);

const ScanDetailSchema = Type.Object({
  ...ScanProperties,
  event: nullable(
    Type.Object({
      id: Type.Integer(),
      received_at: Type.String(),
      format: Type.String(),
      external_id: nullable(Type.String()),
      action: nullable(Type.String()),
      repository: nullable(Type.String()),
      tag: nullable(Type.String()),
      digest: nullable(Type.String()),
      outcome: Type.String(),
      reason: Type.String(),
    }),
  ),
  has_sbom: Type.Boolean(),
});

const ScanParams = Type.Object({ sid: RecordId });

type ApiScan = ReturnType<typeof apiScan>;

function apiScan(scan: Scan, registry: { id: number; name: string } | null, user: string | null) {
  const started = scan.started_at ? Date.parse(scan.started_at) : NaN;
  const finished = scan.finished_at ? Date.parse(scan.finished_at) : NaN;
  return {
    id: scan.id,
    project_id: scan.project_id,
    repository: scan.repository,
    tag: scan.tag,
    digest: scan.digest,
    trigger: scan.trigger,
    report_type: scan.report_type,
    status: scan.status,
    error: scan.error,
    created_at: scan.created_at,
    started_at: scan.started_at,
    finished_at: scan.finished_at,
    duration_ms:
      Number.isFinite(started) && Number.isFinite(finished)
        ? Math.max(0, finished - started)
        : null,
    attempts: scan.attempts,
    package_count: scan.package_count,
    finding_count: scan.finding_count,
    registry,
    user,
  };
}

/** The scans of `where`, with their registry's name and their user's username. */
function scansWithNames(db: Kysely<DB>) {
  return db
    .selectFrom('scans as s')
    .leftJoin('registries as r', 'r.id', 's.registry_id')
    .leftJoin('users as u', 'u.id', 's.user_id')
    .selectAll('s')
    .select(['r.name as registry_name', 'u.username as username']);
}

function toApi(row: Scan & { registry_name: string | null; username: string | null }): ApiScan {
  return apiScan(
    row,
    row.registry_id !== null && row.registry_name !== null
      ? { id: row.registry_id, name: row.registry_name }
      : null,
    row.username,
  );
}

function fileStem(scan: Scan): string {
  const name = `${scan.repository}${scan.tag ? `-${scan.tag}` : ''}-scan-${scan.id}`;
  return name.replace(/[^A-Za-z0-9._-]+/g, '-');
}

export default function routes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const db = ctx.database.db;

  async function scanOf(request: FastifyRequest, sid: number): Promise<Scan> {
    const scan = await db.selectFrom('scans').selectAll().where('id', '=', sid).executeTakeFirst();
    if (!scan) throw notFound('scan not found');
    await requireProjectOf(ctx, request, scan.project_id, 'developer', 'scan');
    return scan;
  }

  api.get(
    '/api/v1/projects/:id/scans',
    {
      schema: {
        summary: "A project's scans, newest first",
        tags: ['scans'],
        params: ProjectParams,
        querystring: Type.Object({
          status: MultiValue({
            maxLength: 100,
            maxItems: 10,
            description: `Any of ${SCAN_STATUSES.join(', ')} (repeated or comma-separated)`,
          }),
          repository: Type.Optional(Text({ minLength: 1, maxLength: 500 })),
          tag: Type.Optional(Text({ minLength: 1, maxLength: 200 })),
          trigger: Type.Optional(Type.Enum(SCAN_TRIGGERS)),
          ...PaginationProperties,
        }),
        response: { 200: Type.Array(ScanSchema) },
      },
    },
    async (request, reply) => {
      const { project } = await requireProject(ctx, request, request.params.id, 'developer');
      const q = request.query;
      const statuses = listParameter('status', q.status, SCAN_STATUSES);
      const page = pageOf(q);
      let query = db.selectFrom('scans as s').where('s.project_id', '=', project.id);
      if (statuses) query = query.where('s.status', 'in', statuses);
      if (q.repository) query = query.where('s.repository', '=', q.repository);
      if (q.tag) query = query.where('s.tag', '=', q.tag);
      if (q.trigger) query = query.where('s.trigger', '=', q.trigger);
      const total = await query
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      const ids = await query
        .select('s.id')
        .orderBy('s.id', 'desc')
        .limit(page.perPage)
        .offset(page.offset)
        .execute();
      const rows =
        ids.length === 0
          ? []
          : await scansWithNames(db)
              .where(
                's.id',
                'in',
                ids.map((r) => r.id),
              )
              .orderBy('s.id', 'desc')
              .execute();
      setPaginationHeaders(reply, page, Number(total.n));
      return rows.map(toApi);
    },
  );

  api.post(
    '/api/v1/projects/:id/scans',
    {
      schema: {
        summary: 'Rescan an image now',
        description:
          'Scans again the digest that the latest successful scan of repository:tag pulled, ' +
          'from the same registry. 404 when there is none; 409 when a scan of that digest is ' +
          'already pending or running.',
        tags: ['scans'],
        params: ProjectParams,
        body: Type.Object(
          {
            repository: Text({ minLength: 1, maxLength: 500 }),
            tag: Text({ minLength: 1, maxLength: 200 }),
          },
          { additionalProperties: false },
        ),
        response: { 201: ScanSchema },
      },
    },
    async (request, reply) => {
      const { project } = await requireProject(ctx, request, request.params.id, 'developer');
      const user = userOf(request);
      const { repository, tag } = request.body;
      const previous = await db
        .selectFrom('scans')
        .selectAll()
        .where('project_id', '=', project.id)
        .where('repository', '=', repository)
        .where('tag', '=', tag)
        .where('status', '=', 'success')
        .where('digest', 'is not', null)
        .where('registry_id', 'is not', null)
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (!previous) {
        throw notFound(
          `no successful registry scan of ${repository}:${tag} in ${project.path} to rescan`,
        );
      }
      const scan = await db.transaction().execute(async (trx) => {
        // checked and queued under the project's lock (PostgreSQL; SQLite transactions are
        // serialised anyway): two requests at once cannot both find no scan and queue one each
        await lockProject(trx, ctx.database.dialect, project.id);
        const busy = await trx
          .selectFrom('scans')
          .select('id')
          .where('project_id', '=', project.id)
          .where('repository', '=', repository)
          .where('tag', '=', tag)
          .where('digest', '=', previous.digest)
          .where('status', 'in', ['created', 'pending', 'running'])
          .executeTakeFirst();
        if (busy) {
          throw conflict(`scan ${busy.id} of ${repository}:${tag} is already queued or running`);
        }
        const queued = await queueScan(ctx, trx, {
          projectId: project.id,
          registryId: previous.registry_id,
          repository,
          tag,
          digest: previous.digest,
          trigger: 'manual',
          reportType: 'container_scanning_for_registry',
          userId: user.id,
        });
        await trx
          .insertInto('scan_logs')
          .values({
            scan_id: queued.id,
            at: ctx.now().toISOString(),
            level: 'info',
            message: `manual rescan of ${repository}:${tag}@${previous.digest} requested by ${user.username}`,
          })
          .execute();
        return queued;
      });
      ctx.wake();
      const row = await scansWithNames(db).where('s.id', '=', scan.id).executeTakeFirstOrThrow();
      return reply.status(201).send(toApi(row));
    },
  );

  api.get(
    '/api/v1/scans/:sid',
    {
      schema: {
        summary: 'One scan: status, timings, error, attempts, counts, the event that caused it',
        tags: ['scans'],
        params: ScanParams,
        response: { 200: ScanDetailSchema },
      },
    },
    async (request) => {
      const scan = await scanOf(request, request.params.sid);
      const row = await scansWithNames(db).where('s.id', '=', scan.id).executeTakeFirstOrThrow();
      const event = await db
        .selectFrom('registry_events')
        .select([
          'id',
          'received_at',
          'format',
          'external_id',
          'action',
          'repository',
          'tag',
          'digest',
          'outcome',
          'reason',
        ])
        .where('scan_id', '=', scan.id)
        .where('project_id', '=', scan.project_id)
        .orderBy('id', 'asc')
        .limit(1)
        .executeTakeFirst();
      const sbom = await db
        .selectFrom('sboms')
        .select('scan_id')
        .where('scan_id', '=', scan.id)
        .executeTakeFirst();
      return { ...toApi(row), event: event ?? null, has_sbom: sbom !== undefined };
    },
  );

  api.get(
    '/api/v1/scans/:sid/log',
    {
      schema: {
        summary: "A scan's log (its steps, warnings and errors)",
        tags: ['scans'],
        params: ScanParams,
        response: {
          200: Type.Object({
            scan_id: Type.Integer(),
            status: Type.Enum(SCAN_STATUSES),
            lines: Type.Array(
              Type.Object({
                at: Type.String(),
                level: Type.Enum(['info', 'warn', 'error']),
                message: Type.String(),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const scan = await scanOf(request, request.params.sid);
      const lines = await db
        .selectFrom('scan_logs')
        .select(['at', 'level', 'message'])
        .where('scan_id', '=', scan.id)
        .orderBy('id', 'asc')
        .execute();
      return { scan_id: scan.id, status: scan.status, lines };
    },
  );

  api.get(
    '/api/v1/scans/:sid/sbom',
    {
      schema: {
        summary: "A scan's SBOM: CycloneDX 1.6 as stored, or SPDX 2.3",
        tags: ['scans'],
        params: ScanParams,
        querystring: Type.Object({
          format: Type.Optional(Type.Enum(['cyclonedx', 'spdx'], { default: 'cyclonedx' })),
        }),
        produces: ['application/vnd.cyclonedx+json', 'application/spdx+json'],
      },
    },
    async (request, reply) => {
      const scan = await scanOf(request, request.params.sid);
      const sbom = await db
        .selectFrom('sboms')
        .select(['document', 'created_at'])
        .where('scan_id', '=', scan.id)
        .executeTakeFirst();
      if (!sbom) throw notFound('this scan has no SBOM');
      if ((request.query.format ?? 'cyclonedx') === 'cyclonedx') {
        return reply
          .type('application/vnd.cyclonedx+json; version=1.6')
          .header('Content-Disposition', `attachment; filename="${fileStem(scan)}.cdx.json"`)
          .send(sbom.document);
      }
      const document = JSON.parse(sbom.document) as { serialNumber?: unknown };
      const serialNumber =
        typeof document.serialNumber === 'string' ? document.serialNumber : undefined;
      const spdx = toSPDX(fromCycloneDX(document), {
        toolVersion: VERSION,
        reportType: scan.report_type,
        timestamp: new Date(sbom.created_at),
        ...(serialNumber ? { serialNumber } : {}),
      });
      return reply
        .type('application/spdx+json')
        .header('Content-Disposition', `attachment; filename="${fileStem(scan)}.spdx.json"`)
        .send(JSON.stringify(spdx, null, 2));
    },
  );
}
