/**
 * Projects, their settings and members (GitLab-like; `:id` is a project id or URL-encoded path,
 * `42` or `group%2Fapp`). Roles needed:
 *
 * - `POST   /api/v1/projects` `{path, name?, scanning_enabled?, supported_tags?, daily_limit?}`:
 *   admins (scanning is off unless asked, supported tags default to `latest`, the daily limit
 *   to 50);
 * - `GET    /api/v1/projects`: the caller's projects (an admin's: all), by path, paginated;
 * - `GET    /api/v1/projects/:id`: guest;
 * - `PUT    /api/v1/projects/:id/settings` or `PATCH /api/v1/projects/:id`
 *   `{scanning_enabled?, supported_tags?, daily_limit?}` (PATCH also `name`): maintainer;
 * - `DELETE /api/v1/projects/:id`: owner; everything of the project goes with it;
 * - `GET    /api/v1/projects/:id/members`: developer (the role that reads the project's
 *   vulnerabilities, images and scans; guests and reporters see only the project itself);
 * - `POST   /api/v1/projects/:id/members` `{user_id | username, role}`,
 *   `PUT    /api/v1/projects/:id/members/:user_id` `{role}`,
 *   `DELETE /api/v1/projects/:id/members/:user_id`: maintainer, who can neither grant a role
 *   above their own nor touch a member above them; only an owner makes owners; the last owner
 *   stays (409).
 *
 * A project the caller is no member of answers 404 whatever its role would be (no existence leak).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import type { ServiceContext } from '../../service/context.js';
import {
  addMember,
  changeMemberRole,
  deleteProject,
  InvalidProjectError,
  listMembers,
  listProjectsOf,
  MAX_DAILY_LIMIT,
  MAX_SUPPORTED_TAGS,
  MemberRuleError,
  ProjectConflictError,
  projectView,
  removeMember,
  createProject,
  updateProject,
} from '../../service/projects.js';
import { ROLES, type Project } from '../../store/schema.js';
import { requireAdmin, requireProject, userOf } from '../auth.js';
import { badRequest, conflict, HttpError, notFound } from '../errors.js';
import { pageOf, PaginationProperties, setPaginationHeaders } from '../pagination.js';
import { errorResponses, ProjectParams, RecordId, Text } from '../schemas.js';

const RoleSchema = Type.Enum(ROLES, {
  description: 'guest < reporter < developer < maintainer < owner',
});

export const ProjectSchema = Type.Object({
  id: Type.Integer(),
  path: Type.String(),
  name: Type.String(),
  scanning_enabled: Type.Boolean({ description: 'Scan images pushed to the registry' }),
  supported_tags: Type.Array(Type.String(), {
    description: 'Tags scanned on push: tags or globs (`latest`, `v*`)',
  }),
  daily_limit: Type.Integer({ description: 'Registry-push scans per rolling 24 hours' }),
  created_at: Type.String(),
  role: Type.Optional(RoleSchema),
});

const SettingsProperties = {
  scanning_enabled: Type.Optional(Type.Boolean()),
  supported_tags: Type.Optional(
    Type.Array(Text({ minLength: 1, maxLength: 128 }), {
      minItems: 1,
      maxItems: MAX_SUPPORTED_TAGS,
      description: 'Tags (`latest`) or globs (`v*`, `release-[0-9]*`)',
    }),
  ),
  daily_limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_DAILY_LIMIT })),
};

const SettingsBody = Type.Object(SettingsProperties, { additionalProperties: false });
const PatchBody = Type.Object(
  { ...SettingsProperties, name: Type.Optional(Text({ minLength: 1, maxLength: 255 })) },
  { additionalProperties: false },
);
const CreateBody = Type.Object(
  {
    path: Text({
      minLength: 1,
      maxLength: 255,
      description:
        'Registry repository path the project owns (`group/app`): lowercase letters and digits joined by `.`, `_`, `__` or `-`, components separated by `/`',
    }),
    ...PatchBody.properties,
  },
  { additionalProperties: false },
);

const MemberSchema = Type.Object({
  user_id: Type.Integer(),
  username: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  created_at: Type.String(),
});

const MemberParams = Type.Object({ ...ProjectParams.properties, user_id: RecordId });

const Errors = errorResponses(400, 401, 403, 404, 409);

/** The service's errors as HTTP errors; anything else goes on. */
function asHttpError(e: unknown): unknown {
  if (e instanceof InvalidProjectError) return badRequest(e.message);
  if (e instanceof ProjectConflictError) return conflict(e.message);
  if (e instanceof MemberRuleError) return new HttpError(e.status, e.message);
  return e;
}

async function service<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw asHttpError(e);
  }
}

function settingsOf(body: Static<typeof PatchBody>) {
  return {
    ...(body.scanning_enabled !== undefined ? { scanningEnabled: body.scanning_enabled } : {}),
    ...(body.supported_tags !== undefined ? { supportedTags: body.supported_tags } : {}),
    ...(body.daily_limit !== undefined ? { dailyLimit: body.daily_limit } : {}),
    ...(body.name !== undefined ? { name: body.name } : {}),
  };
}

export default function routes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const db = ctx.database.db;

  api.post(
    '/api/v1/projects',
    {
      schema: {
        summary: 'Create a project (admins)',
        tags: ['projects'],
        body: CreateBody,
        response: { 201: ProjectSchema, ...Errors },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const { path, ...rest } = request.body;
      const project = await service(() =>
        createProject(db, { path, ...settingsOf(rest) }, ctx.now()),
      );
      return reply.status(201).send(projectView(project, 'owner'));
    },
  );

  api.get(
    '/api/v1/projects',
    {
      schema: {
        summary: "The caller's projects (an admin's: all), by path",
        tags: ['projects'],
        querystring: Type.Object({ ...PaginationProperties }),
        response: { 200: Type.Array(ProjectSchema), ...errorResponses(401) },
      },
    },
    async (request, reply) => {
      const page = pageOf(request.query);
      const { projects, total } = await listProjectsOf(db, userOf(request), page);
      setPaginationHeaders(reply, page, total);
      return projects;
    },
  );

  api.get(
    '/api/v1/projects/:id',
    {
      schema: {
        summary: 'One project with its settings (guest)',
        tags: ['projects'],
        params: ProjectParams,
        response: { 200: ProjectSchema, ...Errors },
      },
    },
    async (request) => {
      const { project, role } = await requireProject(ctx, request, request.params.id, 'guest');
      return projectView(project, role);
    },
  );

  /** The project of `:id` for managing it (its settings, its members): maintainer and up. */
  const maintainerOf = (request: FastifyRequest, idOrPath: string) =>
    requireProject(ctx, request, idOrPath, 'maintainer');

  const changeSettings = async (
    idOrPath: string,
    request: FastifyRequest,
    body: Static<typeof PatchBody>,
  ) => {
    const { project, role } = await maintainerOf(request, idOrPath);
    const updated: Project | undefined = await service(() =>
      updateProject(db, project.id, settingsOf(body)),
    );
    if (!updated) throw notFound('project not found');
    ctx.log.info('project settings changed', {
      project: project.path,
      by: userOf(request).username,
      ...body,
    });
    return projectView(updated, role);
  };

  // the same change by GitLab's PATCH of the project and by the settings PUT (no name there)
  for (const [method, url, body, summary] of [
    [
      'PUT',
      '/api/v1/projects/:id/settings',
      SettingsBody,
      'Change scanning for registry, supported tags, daily limit (maintainer)',
    ],
    [
      'PATCH',
      '/api/v1/projects/:id',
      PatchBody,
      'Change the name or settings of a project (maintainer)',
    ],
  ] as const) {
    api.route({
      method,
      url,
      schema: {
        summary,
        tags: ['projects'],
        params: ProjectParams,
        body,
        response: { 200: ProjectSchema, ...Errors },
      },
      handler: (request) => changeSettings(request.params.id, request, request.body),
    });
  }

  api.delete(
    '/api/v1/projects/:id',
    {
      schema: {
        summary: 'Delete a project and all it holds (owner)',
        tags: ['projects'],
        params: ProjectParams,
        response: { 204: Type.Null(), ...Errors },
      },
    },
    async (request, reply) => {
      const { project } = await requireProject(ctx, request, request.params.id, 'owner');
      await deleteProject(db, project.id);
      ctx.log.info('project deleted', { project: project.path, by: userOf(request).username });
      return reply.status(204).send(null);
    },
  );

  api.get(
    '/api/v1/projects/:id/members',
    {
      schema: {
        summary: "The project's members and their roles (developer)",
        tags: ['projects'],
        params: ProjectParams,
        response: { 200: Type.Array(MemberSchema), ...Errors },
      },
    },
    async (request) => {
      const { project } = await requireProject(ctx, request, request.params.id, 'developer');
      return listMembers(db, project.id);
    },
  );

  api.post(
    '/api/v1/projects/:id/members',
    {
      schema: {
        summary: 'Add a member (maintainer; not above your own role; owners only by owners)',
        tags: ['projects'],
        params: ProjectParams,
        body: Type.Object(
          {
            user_id: Type.Optional(RecordId),
            username: Type.Optional(Text({ minLength: 1, maxLength: 100 })),
            role: RoleSchema,
          },
          { additionalProperties: false },
        ),
        response: { 201: MemberSchema, ...Errors },
      },
    },
    async (request, reply) => {
      const { project, role: actorRole } = await maintainerOf(request, request.params.id);
      const { user_id, username, role } = request.body;
      if ((user_id === undefined) === (username === undefined)) {
        throw badRequest('give either user_id or username');
      }
      let q = db.selectFrom('users').select('id');
      q = user_id !== undefined ? q.where('id', '=', user_id) : q.where('username', '=', username!);
      const user = await q.executeTakeFirst();
      if (!user) throw notFound('user not found');
      const member = await service(() =>
        addMember(db, project.id, actorRole, { userId: user.id, role }, ctx.now()),
      );
      return reply.status(201).send(member);
    },
  );

  api.put(
    '/api/v1/projects/:id/members/:user_id',
    {
      schema: {
        summary: "Change a member's role (maintainer; not above your own role)",
        tags: ['projects'],
        params: MemberParams,
        body: Type.Object({ role: RoleSchema }, { additionalProperties: false }),
        response: { 200: MemberSchema, ...Errors },
      },
    },
    async (request) => {
      const { project, role: actorRole } = await maintainerOf(request, request.params.id);
      const member = await service(() =>
        changeMemberRole(
          ctx.database,
          project.id,
          actorRole,
          request.params.user_id,
          request.body.role,
        ),
      );
      if (!member) throw notFound('member not found');
      return member;
    },
  );

  api.delete(
    '/api/v1/projects/:id/members/:user_id',
    {
      schema: {
        summary: 'Remove a member (maintainer; not one above your own role; not the last owner)',
        tags: ['projects'],
        params: MemberParams,
        response: { 204: Type.Null(), ...Errors },
      },
    },
    async (request, reply) => {
      const { project, role: actorRole } = await maintainerOf(request, request.params.id);
      const removed = await service(() =>
        removeMember(ctx.database, project.id, actorRole, request.params.user_id),
      );
      if (!removed) throw notFound('member not found');
      return reply.status(204).send(null);
    },
  );
}
