/**
 * The Vulnerability Report API (GitLab-like; `:id` is a project id or URL-encoded path):
 *
 * - `GET  /api/v1/projects/:id/vulnerabilities`: filters, sorting, pages (GitLab's X-Total,
 *   X-Total-Pages, X-Page, X-Per-Page, X-Next-Page, X-Prev-Page headers) and counts by severity;
 * - `GET  /api/v1/projects/:id/vulnerabilities.csv`: the same filters, every matching row, as CSV;
 * - `POST /api/v1/projects/:id/vulnerabilities/bulk`: one state change for many, all or nothing;
 * - `GET  /api/v1/vulnerabilities/:vid`: one vulnerability with its history;
 * - `PATCH /api/v1/vulnerabilities/:vid`: change its state (dismissing needs a reason).
 *
 * Everything needs the developer role in the vulnerability's project; a vulnerability of a
 * project the user is no member of answers 404. Multi-valued filters (`severity`, `state`) take
 * repeated parameters or comma-separated values: `severity=critical,high`.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { stringify } from 'csv-stringify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { ServiceContext } from '../../service/context.js';
import {
  allVulnerabilities,
  changeVulnerabilityStates,
  CSV_COLUMNS,
  csvRecord,
  DEFAULT_SORT,
  findVulnerability,
  listVulnerabilities,
  MAX_BULK_IDS,
  MAX_COMMENT_LENGTH,
  SEVERITY_LEVELS,
  stateChangeProblem,
  toApiVulnerability,
  vulnerabilityHistory,
  VULNERABILITY_SORT_FIELDS,
  type StateChange,
  type VulnerabilityFilter,
  type VulnerabilitySort,
} from '../../service/vulnerabilities.js';
import {
  DISMISSAL_REASONS,
  REPORT_TYPES,
  VULNERABILITY_STATES,
  type DismissalReason,
  type Project,
  type ReportType,
  type VulnerabilityState,
} from '../../store/schema.js';
import { requireProject, requireProjectOf, userOf } from '../auth.js';
import { badRequest, HttpError, notFound } from '../errors.js';
import { pageOf, PaginationProperties, setPaginationHeaders } from '../pagination.js';
import {
  listParameter,
  MultiValue,
  nullable,
  ProjectParams,
  RecordId,
  SeverityCountsSchema,
  Text,
} from '../schemas.js';

// ---------------------------------------------------------------------------------------------
// Vulnerability schemas

const FilterProperties = {
  report_type: Type.Optional(
    Type.Enum(REPORT_TYPES, { description: 'The report tab: registry scans or CI uploads' }),
  ),
  severity: MultiValue({
    maxLength: 200,
    maxItems: 20,
    description: `Any of ${SEVERITY_LEVELS.join(', ')} (repeated or comma-separated)`,
  }),
  state: MultiValue({
    maxLength: 200,
    maxItems: 20,
    description: `Any of ${VULNERABILITY_STATES.join(', ')} (repeated or comma-separated)`,
  }),
  detected: Type.Optional(
    Type.Enum(['still', 'no_longer'], {
      description: '`still`: found by the last scan of its image; `no_longer`: not anymore',
    }),
  ),
  has_fix: Type.Optional(Type.Boolean()),
  image: Type.Optional(
    Text({ minLength: 1, maxLength: 500, description: '`repository` or `repository:tag`' }),
  ),
  package: Type.Optional(
    Text({
      minLength: 1,
      maxLength: 500,
      description: 'Package name (case-insensitive); `prefix*` for names starting with prefix',
    }),
  ),
  identifier: Type.Optional(
    Text({
      minLength: 1,
      maxLength: 500,
      description: 'CVE or advisory id (case-insensitive); `prefix*` for ids starting with prefix',
    }),
  ),
  sort: Type.Optional(
    Type.Enum(VULNERABILITY_SORT_FIELDS, {
      description: 'Default severity (critical > high > medium > low > negligible > unknown)',
    }),
  ),
  order: Type.Optional(
    Type.Enum(['asc', 'desc'], {
      description:
        "Default: the field's natural order (severity and dates descending, names ascending)",
    }),
  ),
};

const ListQuery = Type.Object({ ...FilterProperties, ...PaginationProperties });
const CsvQuery = Type.Object(FilterProperties);

const VulnerabilityProperties = {
  id: Type.Integer(),
  project_id: Type.Integer(),
  report_type: Type.Enum(REPORT_TYPES),
  state: Type.Enum(VULNERABILITY_STATES),
  severity: Type.Enum(SEVERITY_LEVELS),
  title: nullable(Type.String()),
  description: nullable(Type.String()),
  identifiers: Type.Array(Type.String()),
  cve: nullable(Type.String()),
  advisory_id: Type.String(),
  package: Type.Object({
    name: Type.String(),
    version: Type.String(),
    type: Type.String(),
    purl: Type.String(),
  }),
  fixed_version: nullable(Type.String()),
  fix_state: Type.String(),
  has_fix: Type.Boolean(),
  image: Type.Object({
    repository: Type.String(),
    tag: Type.String(),
    digest: nullable(Type.String()),
  }),
  location: Type.Object({ layer: nullable(Type.String()), path: nullable(Type.String()) }),
  os: nullable(Type.String()),
  cvss: Type.Object({ vector: nullable(Type.String()), score: nullable(Type.Number()) }),
  links: Type.Array(Type.String()),
  dismissal_reason: nullable(Type.Enum(DISMISSAL_REASONS)),
  comment: nullable(Type.String()),
  no_longer_detected: Type.Boolean(),
  first_detected_at: Type.String(),
  last_detected_at: Type.String(),
  last_scan_id: nullable(Type.Integer()),
  updated_at: Type.String(),
  explanation: Type.Unknown({ description: 'Why it matched: advisory, ecosystem, name, range' }),
};

const VulnerabilitySchema = Type.Object(VulnerabilityProperties);

const HistorySchema = Type.Object({
  id: Type.Integer(),
  at: Type.String(),
  user: nullable(Type.String({ description: 'Username; null when a scan did it' })),
  action: Type.String({
    description: '`state_change`, `comment`, `detected`, `no_longer_detected`, `redetected`',
  }),
  from_state: nullable(Type.Enum(VULNERABILITY_STATES)),
  to_state: nullable(Type.Enum(VULNERABILITY_STATES)),
  dismissal_reason: nullable(Type.Enum(DISMISSAL_REASONS)),
  comment: nullable(Type.String()),
  scan_id: nullable(Type.Integer()),
});

const VulnerabilityDetailSchema = Type.Object({
  ...VulnerabilityProperties,
  history: Type.Array(HistorySchema),
});

const StateChangeProperties = {
  state: Type.Enum(VULNERABILITY_STATES),
  dismissal_reason: Type.Optional(
    nullable(Type.Enum(DISMISSAL_REASONS, { description: 'Required when state is dismissed' })),
  ),
  comment: Type.Optional(
    nullable(
      Text({
        maxLength: MAX_COMMENT_LENGTH,
        description: 'Kept with the vulnerability; omitted keeps the current one, empty clears it',
      }),
    ),
  ),
};

const VulnerabilityParams = Type.Object({ vid: RecordId });

type FilterQuery = {
  report_type?: ReportType;
  severity?: string[];
  state?: string[];
  detected?: 'still' | 'no_longer';
  has_fix?: boolean;
  image?: string;
  package?: string;
  identifier?: string;
  sort?: (typeof VULNERABILITY_SORT_FIELDS)[number];
  order?: 'asc' | 'desc';
};

function filterOf(query: FilterQuery): VulnerabilityFilter {
  return {
    reportType: query.report_type,
    severities: listParameter('severity', query.severity, SEVERITY_LEVELS),
    states: listParameter('state', query.state, VULNERABILITY_STATES),
    detected: query.detected,
    hasFix: query.has_fix,
    image: query.image,
    package: query.package,
    identifier: query.identifier,
  };
}

function sortOf(query: FilterQuery): VulnerabilitySort {
  if (!query.sort) return query.order ? { ...DEFAULT_SORT, order: query.order } : DEFAULT_SORT;
  return { field: query.sort, order: query.order };
}

function stateChangeOf(body: {
  state: VulnerabilityState;
  dismissal_reason?: DismissalReason | null;
  comment?: string | null;
}): StateChange {
  const change: StateChange = {
    state: body.state,
    dismissalReason: body.dismissal_reason ?? null,
    comment: body.comment,
  };
  const problem = stateChangeProblem(change);
  if (problem) throw badRequest(problem);
  return change;
}

function csvFileName(project: Project): string {
  return `${project.path.replace(/[^A-Za-z0-9._-]+/g, '-')}-vulnerabilities.csv`;
}

export default function routes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const db = ctx.database.db;

  /** The vulnerability `id` when the user is a developer in its project; else 404. */
  async function vulnerabilityOf(request: FastifyRequest, id: number) {
    const row = await findVulnerability(db, id);
    if (!row) throw notFound('vulnerability not found');
    await requireProjectOf(ctx, request, row.project_id, 'developer', 'vulnerability');
    return row;
  }

  async function detail(id: number) {
    const row = await findVulnerability(db, id);
    if (!row) throw notFound('vulnerability not found');
    return { ...toApiVulnerability(row), history: await vulnerabilityHistory(db, id) };
  }

  api.get(
    '/api/v1/projects/:id/vulnerabilities',
    {
      schema: {
        summary: "A project's vulnerabilities: filtered, sorted, paginated, with severity counts",
        description:
          'Counts by severity are over the filtered set without its severity filter, as ' +
          "GitLab's severity counters. Needs the developer role.",
        tags: ['vulnerabilities'],
        params: ProjectParams,
        querystring: ListQuery,
        response: {
          200: Type.Object({
            vulnerabilities: Type.Array(VulnerabilitySchema),
            counts: SeverityCountsSchema,
          }),
        },
      },
    },
    async (request, reply) => {
      const { project } = await requireProject(ctx, request, request.params.id, 'developer');
      const page = pageOf(request.query);
      const result = await listVulnerabilities(
        db,
        project.id,
        filterOf(request.query),
        sortOf(request.query),
        page,
      );
      setPaginationHeaders(reply, page, result.total);
      return {
        vulnerabilities: result.vulnerabilities.map(toApiVulnerability),
        counts: result.counts,
      };
    },
  );

  api.get(
    '/api/v1/projects/:id/vulnerabilities.csv',
    {
      schema: {
        summary: "Export a project's vulnerabilities as CSV (same filters, every matching row)",
        description:
          "Columns after GitLab's export. Cells that a spreadsheet would read as a formula " +
          '(starting with = + - @, tab or carriage return) get a leading apostrophe.',
        tags: ['vulnerabilities'],
        params: ProjectParams,
        querystring: CsvQuery,
        produces: ['text/csv'],
      },
    },
    async (request, reply) => {
      const { project } = await requireProject(ctx, request, request.params.id, 'developer');
      const filter = filterOf(request.query);
      const sort = sortOf(request.query);
      async function* records() {
        yield [...CSV_COLUMNS];
        for await (const row of allVulnerabilities(db, project.id, filter, sort)) {
          yield csvRecord(project, row);
        }
      }
      const csv = stringify({ escape_formulas: true });
      pipeline(Readable.from(records()), csv).catch((error: unknown) => {
        ctx.log.error('CSV export failed', { project: project.path, error: String(error) });
      });
      return reply
        .type('text/csv; charset=utf-8')
        .header('Content-Disposition', `attachment; filename="${csvFileName(project)}"`)
        .send(csv);
    },
  );

  api.post(
    '/api/v1/projects/:id/vulnerabilities/bulk',
    {
      schema: {
        summary: 'Change the state of many vulnerabilities of a project at once (all or nothing)',
        description:
          'Every id must be a vulnerability of the project, else nothing changes (404). ' +
          'Each changed vulnerability gets a history entry.',
        tags: ['vulnerabilities'],
        params: ProjectParams,
        body: Type.Object(
          {
            ids: Type.Array(RecordId, { minItems: 1, maxItems: MAX_BULK_IDS }),
            ...StateChangeProperties,
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            updated: Type.Integer({ description: 'Vulnerabilities changed' }),
            unchanged: Type.Integer({ description: 'Already in the state asked for' }),
            ids: Type.Array(Type.Integer(), { description: 'The ids changed' }),
          }),
        },
      },
    },
    async (request) => {
      const { project } = await requireProject(ctx, request, request.params.id, 'developer');
      const change = stateChangeOf(request.body);
      const result = await changeVulnerabilityStates(
        ctx,
        project.id,
        request.body.ids,
        change,
        userOf(request).id,
      );
      if (result.missing.length > 0) {
        throw new HttpError(
          404,
          `not vulnerabilities of ${project.path}: ${result.missing.slice(0, 20).join(', ')}` +
            (result.missing.length > 20 ? ` and ${result.missing.length - 20} more` : '') +
            '; nothing was changed',
          { missing: result.missing },
        );
      }
      return {
        updated: result.changed.length,
        unchanged: result.unchanged.length,
        ids: result.changed,
      };
    },
  );

  api.get(
    '/api/v1/vulnerabilities/:vid',
    {
      schema: {
        summary: 'One vulnerability with its history',
        tags: ['vulnerabilities'],
        params: VulnerabilityParams,
        response: { 200: VulnerabilityDetailSchema },
      },
    },
    async (request) => detail((await vulnerabilityOf(request, request.params.vid)).id),
  );

  api.patch(
    '/api/v1/vulnerabilities/:vid',
    {
      schema: {
        summary: "Change a vulnerability's state",
        description:
          `Dismissing needs a dismissal_reason (${DISMISSAL_REASONS.join(', ')}); other states ` +
          'clear it. The change goes to the history with the user and the time.',
        tags: ['vulnerabilities'],
        params: VulnerabilityParams,
        body: Type.Object(StateChangeProperties, { additionalProperties: false }),
        response: { 200: VulnerabilityDetailSchema },
      },
    },
    async (request) => {
      const row = await vulnerabilityOf(request, request.params.vid);
      const change = stateChangeOf(request.body);
      const result = await changeVulnerabilityStates(
        ctx,
        row.project_id,
        [row.id],
        change,
        userOf(request).id,
      );
      if (result.missing.length > 0) throw notFound('vulnerability not found');
      return detail(row.id);
    },
  );
}
