/**
 * `GET /api/v1/projects/:id/images` (developer): the project's repositories, their tags, each
 * with its digest, its latest scan and the counts by severity of its open vulnerabilities (still
 * detected, neither dismissed nor resolved). `report_type` picks the registry's images (default)
 * or those CI uploaded reports for.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { ServiceContext } from '../../service/context.js';
import { listImages } from '../../service/images.js';
import { REPORT_TYPES } from '../../store/schema.js';
import { requireProject } from '../auth.js';
import {
  nullable,
  ProjectParams,
  SCAN_STATUSES,
  SCAN_TRIGGERS,
  SeverityCountsSchema,
} from '../schemas.js';

const ImageTagSchema = Type.Object({
  tag: nullable(Type.String()),
  digest: nullable(Type.String()),
  last_scan: nullable(
    Type.Object({
      id: Type.Integer(),
      status: Type.Enum(SCAN_STATUSES),
      trigger: Type.Enum(SCAN_TRIGGERS),
      digest: nullable(Type.String()),
      created_at: Type.String(),
      finished_at: nullable(Type.String()),
      error: nullable(Type.String()),
    }),
  ),
  counts: SeverityCountsSchema,
});

export default function routes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/api/v1/projects/:id/images',
    {
      schema: {
        summary: "A project's images: repositories, tags, digests, last scan, severity counts",
        tags: ['images'],
        params: ProjectParams,
        querystring: Type.Object({
          report_type: Type.Optional(
            Type.Enum(REPORT_TYPES, {
              description: 'Default container_scanning_for_registry (the registry images)',
            }),
          ),
        }),
        response: {
          200: Type.Object({
            images: Type.Array(
              Type.Object({ repository: Type.String(), tags: Type.Array(ImageTagSchema) }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const { project } = await requireProject(ctx, request, request.params.id, 'developer');
      return { images: await listImages(ctx.database.db, project.id, request.query.report_type) };
    },
  );
}
