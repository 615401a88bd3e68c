/**
 * Who may do what in a project. Roles are ordered guest < reporter < developer < maintainer <
 * owner; an instance admin acts as owner everywhere. Projects are named by id or by path (as
 * GitLab's API does: `42` or `group%2Fapp`, decoded before it gets here).
 */
import type { Kysely } from 'kysely';
import type { DB, Project, Role } from '../store/schema.js';
import { ROLES } from '../store/schema.js';
import type { AuthenticatedUser } from './users.js';

export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}

export function atLeast(role: Role | undefined, needed: Role): boolean {
  return role !== undefined && roleRank(role) >= roleRank(needed);
}

export async function findProject(
  db: Kysely<DB>,
  idOrPath: string | number,
): Promise<Project | undefined> {
  const q = db.selectFrom('projects').selectAll();
  if (typeof idOrPath === 'number' || /^\d+$/.test(idOrPath)) {
    const id = Number(idOrPath);
    // ids are 32-bit integers on PostgreSQL: a larger one names no project
    if (!Number.isSafeInteger(id) || id > 2_147_483_647) return undefined;
    return q.where('id', '=', id).executeTakeFirst();
  }
  // PostgreSQL refuses NUL in text; such a path names no project
  if (idOrPath.includes('\0') || idOrPath.length > 1000) return undefined;
  return q.where('path', '=', idOrPath).executeTakeFirst();
}

/** The user's role in the project: their membership, `owner` for an admin, else undefined. */
export async function roleIn(
  db: Kysely<DB>,
  user: AuthenticatedUser,
  projectId: number,
): Promise<Role | undefined> {
  if (user.isAdmin) return 'owner';
  const member = await db
    .selectFrom('members')
    .select('role')
    .where('project_id', '=', projectId)
    .where('user_id', '=', user.id)
    .executeTakeFirst();
  return member?.role;
}
