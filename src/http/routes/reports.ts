/**
 * Reports uploaded from CI: `POST /api/v1/projects/{id}/reports` with a CycloneDX SBOM or a GitLab
 * container-scanning report as the JSON body (see service/ci-reports.ts). Needs the developer
 * role; the project is named by id or URL-encoded path. The findings are ingested before the
 * response, which gives the new scan's id and what changed.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { CiReportError, ingestCiReport } from '../../service/ci-reports.js';
import type { ServiceContext } from '../../service/context.js';
import { requireProject, userOf } from '../auth.js';
import { badRequest } from '../errors.js';
import { nullable, ProjectParams, Text } from '../schemas.js';

/** Uploaded reports may be large: an SBOM of a big image runs to tens of MiB. */
export const REPORT_BODY_LIMIT = 50 * 1024 * 1024;

const Counts = Type.Object({
  new: Type.Integer(),
  existing: Type.Integer(),
  no_longer_detected: Type.Integer(),
  redetected: Type.Integer(),
  stale: Type.Boolean({
    description: 'true when a newer scan of this image was ingested first: nothing changed',
  }),
});

const UploadResponse = Type.Object({
  scan_id: Type.Integer(),
  format: Type.Union([Type.Literal('cyclonedx'), Type.Literal('gitlab')]),
  report_type: Type.Literal('container_scanning'),
  repository: Type.String(),
  tag: Type.String(),
  digest: nullable(Type.String()),
  package_count: nullable(Type.Integer()),
  finding_count: Type.Integer(),
  vulnerabilities: Counts,
});

export default function routes(app: FastifyInstance, ctx: ServiceContext): void {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/api/v1/projects/:id/reports',
    {
      bodyLimit: REPORT_BODY_LIMIT,
      schema: {
        summary: 'Upload a CI container-scanning report (CycloneDX SBOM or GitLab report)',
        tags: ['reports'],
        params: ProjectParams,
        querystring: Type.Object({
          repository: Type.Optional(Text({ minLength: 1, maxLength: 255 })),
          tag: Type.Optional(Text({ minLength: 1, maxLength: 128 })),
        }),
        response: { 201: UploadResponse },
      },
    },
    async (request, reply) => {
      const { project } = await requireProject(ctx, request, request.params.id, 'developer');
      const user = userOf(request);
      if (request.body === undefined || request.body === null) {
        throw badRequest('a JSON body is needed: a CycloneDX SBOM or a GitLab report');
      }
      let result;
      try {
        result = await ingestCiReport(ctx, {
          project,
          userId: user.id,
          body: request.body,
          ...(request.query.repository !== undefined
            ? { repository: request.query.repository }
            : {}),
          ...(request.query.tag !== undefined ? { tag: request.query.tag } : {}),
        });
      } catch (e) {
        if (e instanceof CiReportError) throw badRequest(e.message);
        throw e;
      }
      const { scan, counts } = result;
      return reply.status(201).send({
        scan_id: scan.id,
        format: result.format,
        report_type: 'container_scanning' as const,
        repository: scan.repository,
        tag: scan.tag ?? '',
        digest: scan.digest,
        package_count: result.packageCount,
        finding_count: result.findingCount,
        vulnerabilities: {
          new: counts.new,
          existing: counts.existing,
          no_longer_detected: counts.noLongerDetected,
          redetected: counts.redetected,
          stale: counts.stale === true,
        },
      });
    },
  );
}
