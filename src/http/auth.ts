/**
 * Authentication and project access for the API. Every route is authenticated unless it says
 * `config: { auth: 'public' }` (health) or `'registry'` (the event receiver checks its own
 * secret). A token is sent as `Authorization: Bearer <token>` or GitLab's `PRIVATE-TOKEN` header.
 *
 * A project the user may not see answers 404, as if it did not exist, so ids and paths of other
 * projects cannot be probed; a project the user sees with too low a role answers 403.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { atLeast, findProject, roleIn } from '../service/access.js';
import type { ServiceContext } from '../service/context.js';
import { authenticateToken, type AuthenticatedUser } from '../service/users.js';
import type { Project, Role } from '../store/schema.js';
import { forbidden, HttpError, notFound, unauthorized } from './errors.js';

export type RouteAuth = 'user' | 'public' | 'registry';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    user?: AuthenticatedUser;
  }
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m) return m[1];
  }
  const privateToken = request.headers['private-token'];
  return typeof privateToken === 'string' ? privateToken.trim() : undefined;
}

export function registerAuth(app: FastifyInstance, ctx: ServiceContext): void {
  app.addHook('onRequest', async (request) => {
    const auth = request.routeOptions.config?.auth ?? 'user';
    if (auth !== 'user') return;
    const token = bearerToken(request);
    if (!token) throw unauthorized();
    const user = await authenticateToken(ctx.database.db, token, ctx.now());
    if (!user) throw unauthorized('invalid, expired or revoked token');
    if (user.readOnly && request.method !== 'GET' && request.method !== 'HEAD') {
      throw forbidden('this token is read-only');
    }
    request.user = user;
  });
}

/** The authenticated user of a `user` route (registerAuth guarantees it). */
export function userOf(request: FastifyRequest): AuthenticatedUser {
  if (!request.user) throw unauthorized();
  return request.user;
}

export function requireAdmin(request: FastifyRequest): AuthenticatedUser {
  const user = userOf(request);
  if (!user.isAdmin) throw forbidden('instance administrators only');
  return user;
}

/**
 * The project named by `idOrPath` when the user has at least `role` in it. 404 when the project
 * does not exist or the user is no member (not even guest); 403 when the role is too low. Any
 * `:id` parameter may come here as it is: an id beyond the 32-bit range, or a path PostgreSQL
 * could not compare, names no project (404), never a database error.
 */
export async function requireProject(
  ctx: ServiceContext,
  request: FastifyRequest,
  idOrPath: string | number,
  role: Role,
): Promise<{ project: Project; role: Role }> {
  const user = userOf(request);
  const project = await findProject(ctx.database.db, idOrPath);
  if (!project) throw notFound('project not found');
  const has = await roleIn(ctx.database.db, user, project.id);
  if (!has) throw notFound('project not found');
  if (!atLeast(has, role)) throw forbidden(`needs the ${role} role in ${project.path}`);
  return { project, role: has };
}

/**
 * The project a record (vulnerability, scan) belongs to, when the user has `role` in it; 404 with
 * `what` when the user is no member, so records of other projects cannot be probed.
 */
export async function requireProjectOf(
  ctx: ServiceContext,
  request: FastifyRequest,
  projectId: number,
  role: Role,
  what: string,
): Promise<{ project: Project; role: Role }> {
  try {
    return await requireProject(ctx, request, projectId, role);
  } catch (e) {
    if (e instanceof HttpError && e.statusCode === 404) throw notFound(`${what} not found`);
    throw e;
  }
}
