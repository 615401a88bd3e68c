/**
 * Projects, their settings and their members, as the API changes them.
 *
 * - A project's path is a registry repository path (`group/app`): lowercase components of letters
 *   and digits joined by `.`, `_`, `__` or dashes, separated by `/`, at most 255 characters (the
 *   CNCF Distribution grammar). The project owns the repositories at and under its path.
 * - Settings: scanning for registry on/off, supported tags (a non-empty list of tags or globs such
 *   as `v*`; default `latest`) and the daily scan limit (1..10000; default 50).
 * - Members have one role each, guest < reporter < developer < maintainer < owner. Whoever manages
 *   members (maintainer and up; an instance admin acts as owner) can neither grant a role above
 *   their own nor change or remove a member whose role is above their own; only owners make
 *   owners; and a project that has an owner always keeps one.
 *
 * Bad input throws InvalidProjectError (the API's 400), a duplicate ProjectConflictError (409),
 * a rule broken MemberRuleError (403 or 409, as it says). Booleans are 0/1 in the database and
 * true/false in the views; supported tags are JSON text in the database and an array in views.
 */
import type { Kysely } from 'kysely';
import picomatch from 'picomatch';
import { isRepositoryComponent, isTag } from '../image/reference.js';
import type { Database, Dialect } from '../store/database.js';
import { isUniqueViolation } from '../store/errors.js';
import type { DB, Project, Role } from '../store/schema.js';
import { ROLES } from '../store/schema.js';
import { atLeast, roleRank } from './access.js';
import type { AuthenticatedUser } from './users.js';

/** Bad input: the message says which field and what is expected. */
export class InvalidProjectError extends Error {}

/** Something that exists already (a project path, a membership). */
export class ProjectConflictError extends Error {}

/** A member rule that forbids the change; `status` is 403 (not allowed) or 409 (last owner). */
export class MemberRuleError extends Error {
  constructor(
    message: string,
    readonly status: 403 | 409,
  ) {
    super(message);
  }
}

export const DEFAULT_SUPPORTED_TAGS: readonly string[] = ['latest'];
export const DEFAULT_DAILY_LIMIT = 50;
export const MAX_DAILY_LIMIT = 10_000;
export const MAX_SUPPORTED_TAGS = 100;
export const MAX_PATH_LENGTH = 255;
const MAX_NAME_LENGTH = 255;

// path components and tags follow Distribution's grammar (image/reference.ts)
/** What a glob may be made of: tag characters and picomatch's `* ? [ ] { } , ! ^`. */
const GLOB = /^[\w.\-*?[\]{},!^]{1,128}$/;

export function validateProjectPath(path: unknown): string {
  if (typeof path !== 'string' || path.length === 0) {
    throw new InvalidProjectError('path: a registry repository path such as group/app');
  }
  if (path.length > MAX_PATH_LENGTH) {
    throw new InvalidProjectError(`path: at most ${MAX_PATH_LENGTH} characters`);
  }
  if (path !== path.toLowerCase()) {
    throw new InvalidProjectError(
      `path: lowercase only, as registry repository paths are (${JSON.stringify(path.toLowerCase())}?)`,
    );
  }
  for (const component of path.split('/')) {
    if (!isRepositoryComponent(component)) {
      throw new InvalidProjectError(
        `path: ${JSON.stringify(component.slice(0, 100))} is not a repository path component ` +
          '(lowercase letters and digits, joined by ".", "_", "__" or "-", components separated by "/")',
      );
    }
  }
  return path;
}

export function validateProjectName(name: unknown): string {
  if (
    typeof name !== 'string' ||
    name.trim().length === 0 ||
    name.length > MAX_NAME_LENGTH ||
    [...name].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)
  ) {
    throw new InvalidProjectError(
      `name: 1 to ${MAX_NAME_LENGTH} characters, not blank, no control characters`,
    );
  }
  return name.trim();
}

/** One supported tag: a tag as it is, or a glob of tag characters (`v*`, `release-[0-9]*`). */
export function validateTagPattern(pattern: unknown): string {
  if (isTag(pattern)) return pattern;
  if (typeof pattern !== 'string') {
    throw new InvalidProjectError('supported_tags: each entry is a string');
  }
  const problem = `supported_tags: ${JSON.stringify(pattern.slice(0, 140))} is neither a tag (letters, digits, "_", "." and "-", at most 128, not starting with "." or "-") nor a glob of those characters with * ? [ ] { } , !`;
  if (!GLOB.test(pattern) || !/[*?[\]{}]/.test(pattern)) throw new InvalidProjectError(problem);
  try {
    picomatch.makeRe(pattern, { dot: true, strictBrackets: true });
  } catch {
    throw new InvalidProjectError(problem);
  }
  return pattern;
}

/** A non-empty list of tags or globs; duplicates are dropped, order is kept. */
export function validateSupportedTags(tags: unknown): string[] {
  if (!Array.isArray(tags) || tags.length === 0) {
    throw new InvalidProjectError('supported_tags: a non-empty list of tags or globs');
  }
  if (tags.length > MAX_SUPPORTED_TAGS) {
    throw new InvalidProjectError(`supported_tags: at most ${MAX_SUPPORTED_TAGS} entries`);
  }
  const out: string[] = [];
  for (const tag of tags) {
    const valid = validateTagPattern(tag);
    if (!out.includes(valid)) out.push(valid);
  }
  return out;
}

export function validateDailyLimit(limit: unknown): number {
  if (
    typeof limit !== 'number' ||
    !Number.isInteger(limit) ||
    limit < 1 ||
    limit > MAX_DAILY_LIMIT
  ) {
    throw new InvalidProjectError(
      `daily_limit: an integer from 1 to ${MAX_DAILY_LIMIT} (scans per rolling 24 hours)`,
    );
  }
  return limit;
}

export interface ProjectSettings {
  scanningEnabled?: boolean;
  supportedTags?: string[];
  dailyLimit?: number;
}

export interface NewProject extends ProjectSettings {
  path: string;
  /** Default: the last path component. */
  name?: string;
}

/** A project as the API shows it. `role` is the caller's role (an admin's is owner). */
export interface ProjectView {
  id: number;
  path: string;
  name: string;
  scanning_enabled: boolean;
  supported_tags: string[];
  daily_limit: number;
  created_at: string;
  role?: Role;
}

/** The stored supported tags; none when the stored text is unreadable (the policy then refuses). */
export function storedSupportedTags(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  } catch {
    // unreadable: no tag is supported
  }
  return [];
}

export function projectView(project: Project, role?: Role): ProjectView {
  return {
    id: project.id,
    path: project.path,
    name: project.name,
    scanning_enabled: project.scanning_enabled === 1,
    supported_tags: storedSupportedTags(project.supported_tags),
    daily_limit: project.daily_limit,
    created_at: project.created_at,
    ...(role !== undefined ? { role } : {}),
  };
}

export async function createProject(
  db: Kysely<DB>,
  input: NewProject,
  now: Date = new Date(),
): Promise<Project> {
  const path = validateProjectPath(input.path);
  const name =
    input.name !== undefined ? validateProjectName(input.name) : (path.split('/').pop() ?? path);
  const supportedTags =
    input.supportedTags !== undefined
      ? validateSupportedTags(input.supportedTags)
      : [...DEFAULT_SUPPORTED_TAGS];
  const dailyLimit =
    input.dailyLimit !== undefined ? validateDailyLimit(input.dailyLimit) : DEFAULT_DAILY_LIMIT;
  const taken = await db
    .selectFrom('projects')
    .select('id')
    .where('path', '=', path)
    .executeTakeFirst();
  if (taken) throw new ProjectConflictError(`a project with the path ${path} exists already`);
  try {
    return await db
      .insertInto('projects')
      .values({
        path,
        name,
        scanning_enabled: input.scanningEnabled ? 1 : 0,
        supported_tags: JSON.stringify(supportedTags),
        daily_limit: dailyLimit,
        created_at: now.toISOString(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (e) {
    // created at the same moment by another request
    if (isUniqueViolation(e)) {
      throw new ProjectConflictError(`a project with the path ${path} exists already`);
    }
    throw e;
  }
}

/** Changes the given settings (and name); the others stay. Undefined when there is no project. */
export async function updateProject(
  db: Kysely<DB>,
  projectId: number,
  update: ProjectSettings & { name?: string },
): Promise<Project | undefined> {
  const values: Partial<Omit<Project, 'id'>> = {};
  if (update.name !== undefined) values.name = validateProjectName(update.name);
  if (update.scanningEnabled !== undefined) {
    if (typeof update.scanningEnabled !== 'boolean') {
      throw new InvalidProjectError('scanning_enabled: true or false');
    }
    values.scanning_enabled = update.scanningEnabled ? 1 : 0;
  }
  if (update.supportedTags !== undefined) {
    values.supported_tags = JSON.stringify(validateSupportedTags(update.supportedTags));
  }
  if (update.dailyLimit !== undefined) values.daily_limit = validateDailyLimit(update.dailyLimit);
  if (Object.keys(values).length === 0) {
    throw new InvalidProjectError(
      'nothing to change: give scanning_enabled, supported_tags, daily_limit or name',
    );
  }
  return db
    .updateTable('projects')
    .set(values)
    .where('id', '=', projectId)
    .returningAll()
    .executeTakeFirst();
}

/**
 * Deletes a project with everything that is its own (members, project registries, events, scans,
 * SBOMs, vulnerabilities and their history: the foreign keys cascade).
 */
export async function deleteProject(db: Kysely<DB>, projectId: number): Promise<boolean> {
  const result = await db.deleteFrom('projects').where('id', '=', projectId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/**
 * The projects a user sees, by path, each with the user's role: their memberships, or every
 * project for an admin (as owner). Paginated.
 */
export async function listProjectsOf(
  db: Kysely<DB>,
  user: AuthenticatedUser,
  page: { page: number; perPage: number },
): Promise<{ projects: ProjectView[]; total: number }> {
  const offset = (page.page - 1) * page.perPage;
  if (user.isAdmin) {
    const [{ n }, rows] = await Promise.all([
      db
        .selectFrom('projects')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow(),
      db
        .selectFrom('projects')
        .selectAll()
        .orderBy('path')
        .limit(page.perPage)
        .offset(offset)
        .execute(),
    ]);
    return { projects: rows.map((p) => projectView(p, 'owner')), total: Number(n) };
  }
  const base = db
    .selectFrom('projects')
    .innerJoin('members', 'members.project_id', 'projects.id')
    .where('members.user_id', '=', user.id);
  const [{ n }, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    base
      .selectAll('projects')
      .select('members.role as member_role')
      .orderBy('projects.path')
      .limit(page.perPage)
      .offset(offset)
      .execute(),
  ]);
  return {
    projects: rows.map(({ member_role, ...project }) => projectView(project, member_role)),
    total: Number(n),
  };
}

// ---------------------------------------------------------------------------------------------
// Members

export interface MemberView {
  user_id: number;
  username: string;
  name: string;
  role: Role;
  created_at: string;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** The members of a project with their users' names, as MemberView rows. */
function membersOf(db: Kysely<DB>, projectId: number) {
  return db
    .selectFrom('members')
    .innerJoin('users', 'users.id', 'members.user_id')
    .select([
      'users.id as user_id',
      'users.username',
      'users.name',
      'members.role',
      'members.created_at',
    ])
    .where('members.project_id', '=', projectId);
}

export async function listMembers(db: Kysely<DB>, projectId: number): Promise<MemberView[]> {
  return membersOf(db, projectId).orderBy('users.username').execute();
}

export async function findMember(
  db: Kysely<DB>,
  projectId: number,
  userId: number,
): Promise<MemberView | undefined> {
  return membersOf(db, projectId).where('members.user_id', '=', userId).executeTakeFirst();
}

/**
 * Why `actorRole` may not make this change, or undefined when it may. `current` is the member's
 * role now (undefined when adding), `next` the role asked for (undefined when removing).
 */
export function memberChangeProblem(
  actorRole: Role,
  current: Role | undefined,
  next: Role | undefined,
): string | undefined {
  if (!atLeast(actorRole, 'maintainer')) return 'managing members needs the maintainer role';
  if (current !== undefined && roleRank(current) > roleRank(actorRole)) {
    return `a ${actorRole} cannot change or remove a member who is ${current}`;
  }
  if (next === 'owner' && actorRole !== 'owner') return 'only an owner can make an owner';
  if (next !== undefined && roleRank(next) > roleRank(actorRole)) {
    return `a ${actorRole} cannot grant the ${next} role`;
  }
  return undefined;
}

async function ownerCount(db: Kysely<DB>, projectId: number): Promise<number> {
  const { n } = await db
    .selectFrom('members')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('project_id', '=', projectId)
    .where('role', '=', 'owner')
    .executeTakeFirstOrThrow();
  return Number(n);
}

function check(actorRole: Role, current: Role | undefined, next: Role | undefined): void {
  const problem = memberChangeProblem(actorRole, current, next);
  if (problem) throw new MemberRuleError(problem, 403);
}

/** The database and its dialect (which decides how a project is locked). */
export type ProjectDatabase = Pick<Database, 'db' | 'dialect'>;

/**
 * Locks the project's row until the transaction ends, on PostgreSQL: transactions that check and
 * then change something of the project (its owners, its pending scans) run one after the other.
 * SQLite transactions are serialised anyway (and it has no `FOR UPDATE`).
 */
export async function lockProject(
  tx: Kysely<DB>,
  dialect: Dialect,
  projectId: number,
): Promise<void> {
  if (dialect !== 'postgres') return;
  await tx.selectFrom('projects').select('id').where('id', '=', projectId).forUpdate().execute();
}

/**
 * The member `userId` when `actorRole` may give them the role `next` (undefined: remove them),
 * or undefined when the user is no member. The last owner cannot stop being one (409). Runs in
 * the transaction that makes the change, after locking the project, so two owners removing or
 * demoting each other at once cannot both see two owners.
 */
async function memberToChange(
  tx: Kysely<DB>,
  dialect: Dialect,
  projectId: number,
  actorRole: Role,
  userId: number,
  next: Role | undefined,
): Promise<MemberView | undefined> {
  await lockProject(tx, dialect, projectId);
  const current = await findMember(tx, projectId, userId);
  if (!current) return undefined;
  check(actorRole, current.role, next);
  if (current.role === 'owner' && next !== 'owner' && (await ownerCount(tx, projectId)) <= 1) {
    throw new MemberRuleError(
      'the project would have no owner left; make another owner first',
      409,
    );
  }
  return current;
}

/** Adds a member; ProjectConflictError when the user is one already. */
export async function addMember(
  db: Kysely<DB>,
  projectId: number,
  actorRole: Role,
  member: { userId: number; role: Role },
  now: Date = new Date(),
): Promise<MemberView> {
  if (!isRole(member.role)) throw new InvalidProjectError(`role: one of ${ROLES.join(', ')}`);
  check(actorRole, undefined, member.role);
  const existing = await findMember(db, projectId, member.userId);
  if (existing) {
    throw new ProjectConflictError(
      `${existing.username} is a member already (${existing.role}); change the role instead`,
    );
  }
  try {
    await db
      .insertInto('members')
      .values({
        project_id: projectId,
        user_id: member.userId,
        role: member.role,
        created_at: now.toISOString(),
      })
      .execute();
  } catch (e) {
    if (isUniqueViolation(e)) throw new ProjectConflictError('the user is a member already');
    throw e;
  }
  const added = await findMember(db, projectId, member.userId);
  if (!added) throw new Error('member vanished after insert');
  return added;
}

/**
 * Changes a member's role; undefined when the user is no member. The last owner cannot step
 * down (MemberRuleError 409).
 */
export async function changeMemberRole(
  { db, dialect }: ProjectDatabase,
  projectId: number,
  actorRole: Role,
  userId: number,
  role: Role,
): Promise<MemberView | undefined> {
  if (!isRole(role)) throw new InvalidProjectError(`role: one of ${ROLES.join(', ')}`);
  return db.transaction().execute(async (tx) => {
    const current = await memberToChange(tx, dialect, projectId, actorRole, userId, role);
    if (!current) return undefined;
    await tx
      .updateTable('members')
      .set({ role })
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .execute();
    return { ...current, role };
  });
}

/** Removes a member; false when the user is no member. The last owner stays (409). */
export async function removeMember(
  { db, dialect }: ProjectDatabase,
  projectId: number,
  actorRole: Role,
  userId: number,
): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    if (!(await memberToChange(tx, dialect, projectId, actorRole, userId, undefined))) {
      return false;
    }
    await tx
      .deleteFrom('members')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .execute();
    return true;
  });
}
