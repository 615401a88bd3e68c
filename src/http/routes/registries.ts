/**
 * The registries that send events and that scans pull from:
 *
 * - instance registries (admins): `GET/POST /api/v1/registries`, `PUT/DELETE
 *   /api/v1/registries/:id`. The list shows every registry, project ones included (with
 *   their `project_id`); an instance registry's events may feed any project.
 * - a project's own registries (maintainer): `GET/POST /api/v1/projects/:id/registries`,
 *   `PUT/DELETE /api/v1/projects/:id/registries/:registry_id`; their events feed only that
 *   project.
 *
 * Body: `{name, url, username?, password?, secret}` (PUT: any of them; a new secret replaces the
 * old one). The password and the secret are never returned: views say `has_password` and
 * `has_secret`. A duplicate name answers 409, bad input 400.
 *
 * A project registry's URL must name a public host (not localhost, not a private, loopback or
 * link-local address) unless the instance setting `scan.allowPrivateNetworks` is on: 400
 * otherwise, whoever adds or changes it. Scans check it again at every connection.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import type { ServiceContext } from '../../service/context.js';
import {
  createRegistry,
  deleteRegistry,
  DuplicateRegistryError,
  getRegistry,
  InvalidRegistryError,
  listRegistries,
  MIN_SECRET_LENGTH,
  registryView,
  updateRegistry,
  type RegistryUpdate,
} from '../../service/registries.js';
import type { Project, Registry } from '../../store/schema.js';
import { requireAdmin, requireProject, userOf } from '../auth.js';
import { badRequest, conflict, notFound } from '../errors.js';
import { errorResponses, nullable, ProjectParams, RecordId, Text } from '../schemas.js';

export const RegistrySchema = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  url: Type.String({ description: 'The base URL regscan pulls from' }),
  username: nullable(Type.String()),
  has_password: Type.Boolean(),
  has_secret: Type.Boolean(),
  project_id: nullable(
    Type.Integer({ description: "null: an instance registry; else the project's own" }),
  ),
  created_at: Type.String(),
});

const Fields = {
  name: Text({
    minLength: 1,
    maxLength: 100,
    description: 'Letters, digits, ".", "_" and "-"; unique',
  }),
  url: Text({
    minLength: 1,
    maxLength: 2048,
    description: 'Base URL: `https://registry.example.com` or `http://127.0.0.1:5000`',
  }),
  username: Type.Optional(nullable(Text({ maxLength: 1024 }))),
  password: Type.Optional(nullable(Text({ maxLength: 1024 }))),
  secret: Text({
    minLength: 1,
    maxLength: 512,
    description: `What its events carry in Authorization (\`Bearer <secret>\`); at least ${MIN_SECRET_LENGTH} characters`,
  }),
};

const CreateBody = Type.Object(Fields, { additionalProperties: false });
const UpdateBody = Type.Object(
  {
    name: Type.Optional(Fields.name),
    url: Type.Optional(Fields.url),
    username: Fields.username,
    password: Fields.password,
    secret: Type.Optional(Fields.secret),
  },
  { additionalProperties: false },
);

const RegistryParams = Type.Object({ id: RecordId });
const ProjectRegistryParams = Type.Object({ ...ProjectParams.properties, registry_id: RecordId });

const Errors = errorResponses(400, 401, 403, 404, 409);

/** The registries service's errors as HTTP errors: a taken name is 409, the rest 400. */
async function service<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof DuplicateRegistryError) throw conflict(e.message);
    if (e instanceof InvalidRegistryError) throw badRequest(e.message);
    throw e;
  }
}

function updateOf(body: Static<typeof UpdateBody>): RegistryUpdate {
  const update: RegistryUpdate = {};
  if (body.name !== undefined) update.name = body.name;
  if (body.url !== undefined) update.url = body.url;
  if (body.username !== undefined) update.username = body.username;
  if (body.password !== undefined) update.password = body.password;
  if (body.secret !== undefined) update.secret = body.secret;
  return update;
}

export default function routes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const db = ctx.database.db;

  // read per request: only project registries are held to it (the service decides by project_id)
  const urlPolicy = () => ({ allowPrivateNetworks: ctx.config.scan.allowPrivateNetworks === true });

  const create = async (body: Static<typeof CreateBody>, projectId: number | null) =>
    registryView(
      await service(() => createRegistry(db, { ...body, projectId }, ctx.now(), urlPolicy())),
    );

  const update = async (id: number, body: Static<typeof UpdateBody>) => {
    const updated = await service(() => updateRegistry(db, id, updateOf(body), urlPolicy()));
    if (!updated) throw notFound('registry not found');
    return registryView(updated);
  };

  // -------------------------------------------------------------------------------------------
  // Instance registries (admins)

  api.get(
    '/api/v1/registries',
    {
      schema: {
        summary: 'Every registry, instance and project ones (admins)',
        tags: ['registries'],
        response: { 200: Type.Array(RegistrySchema), ...Errors },
      },
    },
    async (request) => {
      requireAdmin(request);
      return (await listRegistries(db)).map(registryView);
    },
  );

  api.post(
    '/api/v1/registries',
    {
      schema: {
        summary: 'Add an instance registry (admins)',
        tags: ['registries'],
        body: CreateBody,
        response: { 201: RegistrySchema, ...Errors },
      },
    },
    async (request, reply) => {
      const admin = requireAdmin(request);
      const registry = await create(request.body, null);
      ctx.log.info('registry added', { registry: registry.name, by: admin.username });
      return reply.status(201).send(registry);
    },
  );

  api.put(
    '/api/v1/registries/:id',
    {
      schema: {
        summary: 'Change a registry (admins)',
        tags: ['registries'],
        params: RegistryParams,
        body: UpdateBody,
        response: { 200: RegistrySchema, ...Errors },
      },
    },
    async (request) => {
      requireAdmin(request);
      return update(request.params.id, request.body);
    },
  );

  api.delete(
    '/api/v1/registries/:id',
    {
      schema: {
        summary: 'Remove a registry (admins); its events and scans stay',
        tags: ['registries'],
        params: RegistryParams,
        response: { 204: Type.Null(), ...Errors },
      },
    },
    async (request, reply) => {
      const admin = requireAdmin(request);
      if (!(await deleteRegistry(db, request.params.id))) {
        throw notFound('registry not found');
      }
      ctx.log.info('registry removed', { id: request.params.id, by: admin.username });
      return reply.status(204).send(null);
    },
  );

  // -------------------------------------------------------------------------------------------
  // A project's own registries (maintainer)

  /**
   * The registry `registryId` of the project `idOrPath`, for its maintainer; 404 when it is
   * another project's (or an instance one).
   */
  const projectRegistry = async (
    request: FastifyRequest,
    idOrPath: string,
    registryId: number,
  ): Promise<{ project: Project; registry: Registry }> => {
    const { project } = await requireProject(ctx, request, idOrPath, 'maintainer');
    const registry = await getRegistry(db, registryId);
    if (!registry || registry.project_id !== project.id) throw notFound('registry not found');
    return { project, registry };
  };

  const logChange = (what: string, request: FastifyRequest, project: Project, name: string) =>
    ctx.log.info(what, { project: project.path, registry: name, by: userOf(request).username });

  api.get(
    '/api/v1/projects/:id/registries',
    {
      schema: {
        summary: "The project's own registries (maintainer)",
        tags: ['registries'],
        params: ProjectParams,
        response: { 200: Type.Array(RegistrySchema), ...Errors },
      },
    },
    async (request) => {
      const { project } = await requireProject(ctx, request, request.params.id, 'maintainer');
      return (await listRegistries(db, { projectId: project.id })).map(registryView);
    },
  );

  api.post(
    '/api/v1/projects/:id/registries',
    {
      schema: {
        summary: 'Add a registry whose events feed only this project (maintainer)',
        tags: ['registries'],
        params: ProjectParams,
        body: CreateBody,
        response: { 201: RegistrySchema, ...Errors },
      },
    },
    async (request, reply) => {
      const { project } = await requireProject(ctx, request, request.params.id, 'maintainer');
      const registry = await create(request.body, project.id);
      logChange('project registry added', request, project, registry.name);
      return reply.status(201).send(registry);
    },
  );

  api.put(
    '/api/v1/projects/:id/registries/:registry_id',
    {
      schema: {
        summary: "Change one of the project's registries (maintainer)",
        tags: ['registries'],
        params: ProjectRegistryParams,
        body: UpdateBody,
        response: { 200: RegistrySchema, ...Errors },
      },
    },
    async (request) => {
      const { registry } = await projectRegistry(
        request,
        request.params.id,
        request.params.registry_id,
      );
      return update(registry.id, request.body);
    },
  );

  api.delete(
    '/api/v1/projects/:id/registries/:registry_id',
    {
      schema: {
        summary: "Remove one of the project's registries (maintainer)",
        tags: ['registries'],
        params: ProjectRegistryParams,
        response: { 204: Type.Null(), ...Errors },
      },
    },
    async (request, reply) => {
      const { project, registry } = await projectRegistry(
        request,
        request.params.id,
        request.params.registry_id,
      );
      await deleteRegistry(db, registry.id);
      logChange('project registry removed', request, project, registry.name);
      return reply.status(204).send(null);
    },
  );
}
