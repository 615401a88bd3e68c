/**
 * Projects, settings and members through the real app on both databases: creation by admins with
 * its defaults and validation (the registry path grammar, tags and globs, the daily limit),
 * addressing by id and by URL-encoded path, the caller's project list, settings by maintainers,
 * deletion by owners, and the member rules (no granting above your own role, owners only by
 * owners, the last owner stays). Plus the project registries, which never show their secrets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/http/app.js';
import { tagIsSupported } from '../../src/service/image-pushed.js';
import { projectView, type ProjectView } from '../../src/service/projects.js';
import { hashToken } from '../../src/service/users.js';
import type { Role } from '../../src/store/schema.js';
import { BACKENDS } from '../support/postgres.js';
import { seedMember, seedProject, seedUser, type SeededUser } from '../support/seed.js';
import { makeTestContext, type TestContext } from '../support/service-context.js';

interface MemberBody {
  user_id: number;
  username: string;
  role: Role;
}
interface ErrorBody {
  error: string;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

describe.each(BACKENDS)('projects API on %s', (dialect) => {
  let ctx: TestContext;
  let app: App;
  const users: Record<string, SeededUser> = {};
  let counter = 0;

  beforeAll(async () => {
    ctx = await makeTestContext(dialect);
    app = await buildApp(ctx);
    const db = ctx.database.db;
    users.admin = await seedUser(db, 'admin', { isAdmin: true });
    for (const name of [
      'guest',
      'reporter',
      'developer',
      'maintainer',
      'owner',
      'owner2',
      'outsider',
      'newbie',
    ]) {
      users[name] = await seedUser(db, name);
    }
  });
  afterAll(async () => {
    await app?.close();
    await ctx?.close();
  });

  const call = (method: Method, url: string, who: SeededUser | undefined, payload?: unknown) =>
    app.inject({
      method,
      url,
      headers: who ? who.headers : {},
      ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
    });

  /** A fresh project with guest … owner members (the users of the same names). */
  async function teamProject(): Promise<ProjectView> {
    const db = ctx.database.db;
    const project = await seedProject(db, `team/p${++counter}`, { scanningEnabled: false });
    for (const role of ['guest', 'reporter', 'developer', 'maintainer', 'owner'] as const) {
      await seedMember(db, project.id, users[role]!.user.id, role);
    }
    return projectView(project);
  }

  /** The role of the user named `username` in the project, as stored; undefined: no member. */
  async function roleOf(projectId: number, username: string): Promise<Role | undefined> {
    const row = await ctx.database.db
      .selectFrom('members')
      .select('role')
      .where('project_id', '=', projectId)
      .where('user_id', '=', users[username]!.user.id)
      .executeTakeFirst();
    return row?.role;
  }

  describe('creating', () => {
    it('an admin creates a project with the defaults', async () => {
      const res = await call('POST', '/api/v1/projects', users.admin, { path: 'acme/web' });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json()).toMatchObject({
        path: 'acme/web',
        name: 'web',
        scanning_enabled: false,
        supported_tags: ['latest'],
        daily_limit: 50,
      });
    });

    it('keeps what it is given; the database holds 0/1 and JSON', async () => {
      const res = await call('POST', '/api/v1/projects', users.admin, {
        path: 'acme/api-server/v2',
        name: 'API server',
        scanning_enabled: true,
        supported_tags: ['latest', 'v*', 'latest'],
        daily_limit: 10_000,
      });
      expect(res.statusCode, res.body).toBe(201);
      const body = res.json<ProjectView>();
      expect(body).toMatchObject({
        name: 'API server',
        scanning_enabled: true,
        supported_tags: ['latest', 'v*'],
        daily_limit: 10_000,
      });
      const row = await ctx.database.db
        .selectFrom('projects')
        .selectAll()
        .where('id', '=', body.id)
        .executeTakeFirstOrThrow();
      expect(row.scanning_enabled).toBe(1);
      expect(JSON.parse(row.supported_tags)).toEqual(['latest', 'v*']);
      // the policy reads the stored globs
      expect(tagIsSupported('v1.2', JSON.parse(row.supported_tags) as string[])).toBe(true);
    });

    it.each([
      'group',
      'a/b/c/d',
      'my-group/my_app',
      'a.b/c__d',
      'x---y/0',
      `${'a'.repeat(120)}/${'b'.repeat(134)}`,
    ])('takes the path %s', async (path) => {
      const res = await call('POST', '/api/v1/projects', users.admin, { path });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json<ProjectView>().path).toBe(path);
    });

    it.each([
      ['uppercase', { path: 'Group/App' }, /lowercase/],
      ['an empty component', { path: 'group//app' }, /path/],
      ['a trailing slash', { path: 'group/app/' }, /path/],
      ['a leading separator', { path: '-group/app' }, /path/],
      ['two dots', { path: 'group/a..b' }, /path/],
      ['a space', { path: 'group/my app' }, /path/],
      ['a tag in the path', { path: 'group/app:latest' }, /path/],
      ['too long', { path: 'a'.repeat(256) }, /path/],
      ['no path', { name: 'x' }, /path/],
      ['empty supported tags', { path: 'ok/one', supported_tags: [] }, /supported_tags/],
      ['a tag with a space', { path: 'ok/one', supported_tags: ['bad tag'] }, /supported_tags/],
      ['a tag starting with a dot', { path: 'ok/one', supported_tags: ['.x'] }, /supported_tags/],
      ['a glob with a slash', { path: 'ok/one', supported_tags: ['v*/x'] }, /supported_tags/],
      ['an unclosed bracket glob', { path: 'ok/one', supported_tags: ['v[0-9'] }, /supported_tags/],
      ['an empty tag', { path: 'ok/one', supported_tags: [''] }, /supported_tags/],
      ['tags not a list', { path: 'ok/one', supported_tags: { a: 1 } }, /supported_tags/],
      ['daily limit 0', { path: 'ok/one', daily_limit: 0 }, /daily_limit/],
      ['daily limit 10001', { path: 'ok/one', daily_limit: 10_001 }, /daily_limit/],
      ['a fractional daily limit', { path: 'ok/one', daily_limit: 1.5 }, /daily_limit/],
      ['scanning_enabled not a boolean', { path: 'ok/one', scanning_enabled: 'yes' }, /scanning/],
      ['an unknown field', { path: 'ok/one', owner: 'me' }, /./],
      ['a blank name', { path: 'ok/one', name: '   ' }, /name/],
    ])('refuses %s with 400', async (_what, body, message) => {
      const res = await call('POST', '/api/v1/projects', users.admin, body);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json<ErrorBody>().error).toMatch(message);
    });

    it('refused creations created nothing', async () => {
      const rows = await ctx.database.db
        .selectFrom('projects')
        .select('path')
        .where('path', 'like', 'ok/%')
        .execute();
      expect(rows).toEqual([]);
    });

    it('refuses a taken path with 409', async () => {
      await call('POST', '/api/v1/projects', users.admin, { path: 'dup/app' });
      const res = await call('POST', '/api/v1/projects', users.admin, {
        path: 'dup/app',
        name: 'again',
      });
      expect(res.statusCode).toBe(409);
      expect(res.json<ErrorBody>().error).toMatch(/exists/);
    });

    it('only admins create projects', async () => {
      for (const who of [users.owner, users.outsider]) {
        const res = await call('POST', '/api/v1/projects', who, { path: 'nope/app' });
        expect(res.statusCode).toBe(403);
      }
      expect(
        (await call('POST', '/api/v1/projects', undefined, { path: 'nope/app' })).statusCode,
      ).toBe(401);
    });
  });

  describe('reading', () => {
    it('addresses a project by id and by URL-encoded path', async () => {
      const project = await teamProject();
      for (const id of [String(project.id), encodeURIComponent(project.path)]) {
        const res = await call('GET', `/api/v1/projects/${id}`, users.guest);
        expect(res.statusCode, id).toBe(200);
        expect(res.json()).toMatchObject({ id: project.id, path: project.path, role: 'guest' });
      }
    });

    it('answers an unknown project and a project of others alike: 404', async () => {
      const project = await teamProject();
      const unknown = await call('GET', '/api/v1/projects/nope%2Fnothing', users.outsider);
      const unknownId = await call('GET', '/api/v1/projects/99999999', users.outsider);
      const hugeId = await call('GET', '/api/v1/projects/99999999999999999999', users.outsider);
      const others = await call('GET', `/api/v1/projects/${project.id}`, users.outsider);
      for (const res of [unknown, unknownId, hugeId, others]) {
        expect(res.statusCode).toBe(404);
        expect(res.json()).toEqual({ error: 'project not found' });
      }
    });

    it("lists the caller's projects with their role; an admin's are all", async () => {
      const a = await teamProject();
      const b = await teamProject();
      const mine = await call('GET', '/api/v1/projects?per_page=100', users.developer);
      expect(mine.statusCode).toBe(200);
      const listed = mine.json<ProjectView[]>();
      expect(listed.map((p) => p.path)).toEqual(expect.arrayContaining([a.path, b.path]));
      expect(listed.every((p) => p.role === 'developer')).toBe(true);
      expect(listed.map((p) => p.path)).not.toContain('acme/web');
      expect(mine.headers['x-total']).toBe(String(listed.length));

      const none = await call('GET', '/api/v1/projects', users.outsider);
      expect(none.json()).toEqual([]);

      const all = await call('GET', '/api/v1/projects?per_page=100', users.admin);
      const total = await ctx.database.db
        .selectFrom('projects')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      expect(all.json<ProjectView[]>()).toHaveLength(Number(total.n));
      const paths = all.json<ProjectView[]>().map((p) => p.path);
      expect(paths).toEqual([...paths].sort());
    });

    it('pages the list', async () => {
      const first = await call('GET', '/api/v1/projects?per_page=2&page=1', users.admin);
      const second = await call('GET', '/api/v1/projects?per_page=2&page=2', users.admin);
      expect(first.json<ProjectView[]>()).toHaveLength(2);
      expect(first.headers['x-next-page']).toBe('2');
      const ids = [...first.json<ProjectView[]>(), ...second.json<ProjectView[]>()].map(
        (p) => p.id,
      );
      expect(new Set(ids).size).toBe(ids.length);
    });
  });

  describe('settings', () => {
    it.each(['PUT settings', 'PATCH'] as const)('a maintainer changes them (%s)', async (how) => {
      const project = await teamProject();
      const [method, url]: [Method, string] =
        how === 'PATCH'
          ? ['PATCH', `/api/v1/projects/${project.id}`]
          : ['PUT', `/api/v1/projects/${encodeURIComponent(project.path)}/settings`];
      const res = await call(method, url, users.maintainer, {
        scanning_enabled: true,
        supported_tags: ['main', 'release-*', 'v[0-9]*'],
        daily_limit: 7,
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({
        scanning_enabled: true,
        supported_tags: ['main', 'release-*', 'v[0-9]*'],
        daily_limit: 7,
        role: 'maintainer',
      });
      const row = await ctx.database.db
        .selectFrom('projects')
        .selectAll()
        .where('id', '=', project.id)
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({ scanning_enabled: 1, daily_limit: 7 });
      // one field alone leaves the others
      const off = await call(method, url, users.owner, { scanning_enabled: false });
      expect(off.json()).toMatchObject({ scanning_enabled: false, daily_limit: 7 });
    });

    it('PATCH renames', async () => {
      const project = await teamProject();
      const res = await call('PATCH', `/api/v1/projects/${project.id}`, users.maintainer, {
        name: 'Renamed',
      });
      expect(res.json<ProjectView>().name).toBe('Renamed');
    });

    it.each([
      ['nothing', {}],
      ['empty supported tags', { supported_tags: [] }],
      ['a bad tag', { supported_tags: ['ok', 'not ok'] }],
      ['daily limit 0', { daily_limit: 0 }],
      ['daily limit 10001', { daily_limit: 10_001 }],
      ['an unknown field', { path: 'moved/away' }],
    ])('refuses %s with 400 and changes nothing', async (_what, body) => {
      const project = await teamProject();
      const res = await call('PUT', `/api/v1/projects/${project.id}/settings`, users.owner, body);
      expect(res.statusCode, res.body).toBe(400);
      const row = await ctx.database.db
        .selectFrom('projects')
        .selectAll()
        .where('id', '=', project.id)
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({
        path: project.path,
        daily_limit: 50,
        supported_tags: '["latest"]',
      });
    });

    it.each(['guest', 'reporter', 'developer'])('a %s may not change them (403)', async (role) => {
      const project = await teamProject();
      const res = await call('PUT', `/api/v1/projects/${project.id}/settings`, users[role], {
        daily_limit: 1,
      });
      expect(res.statusCode).toBe(403);
    });
  });

  describe('deleting', () => {
    it('an owner deletes a project and what it holds', async () => {
      const project = await teamProject();
      expect(
        (await call('DELETE', `/api/v1/projects/${project.id}`, users.maintainer)).statusCode,
      ).toBe(403);
      const res = await call('DELETE', `/api/v1/projects/${project.id}`, users.owner);
      expect(res.statusCode).toBe(204);
      expect((await call('GET', `/api/v1/projects/${project.id}`, users.owner)).statusCode).toBe(
        404,
      );
      const members = await ctx.database.db
        .selectFrom('members')
        .select('user_id')
        .where('project_id', '=', project.id)
        .execute();
      expect(members).toEqual([]);
    });
  });

  describe('members', () => {
    it('a developer lists the members; a reporter may not', async () => {
      const project = await teamProject();
      const res = await call('GET', `/api/v1/projects/${project.id}/members`, users.developer);
      expect(res.statusCode).toBe(200);
      expect(
        res
          .json<MemberBody[]>()
          .map((m) => `${m.username}:${m.role}`)
          .sort(),
      ).toEqual([
        'developer:developer',
        'guest:guest',
        'maintainer:maintainer',
        'owner:owner',
        'reporter:reporter',
      ]);
      expect(
        (await call('GET', `/api/v1/projects/${project.id}/members`, users.reporter)).statusCode,
      ).toBe(403);
    });

    /** [actor, role granted to newbie, expected status] */
    it.each([
      ['maintainer', 'guest', 201],
      ['maintainer', 'developer', 201],
      ['maintainer', 'maintainer', 201],
      ['maintainer', 'owner', 403],
      ['owner', 'owner', 201],
      ['admin', 'owner', 201],
      ['developer', 'guest', 403],
      ['reporter', 'guest', 403],
      ['outsider', 'guest', 404],
    ] as const)('a %s adding a %s: %i', async (actor, role, status) => {
      const project = await teamProject();
      const res = await call('POST', `/api/v1/projects/${project.id}/members`, users[actor], {
        username: 'newbie',
        role,
      });
      expect(res.statusCode, res.body).toBe(status);
      expect(await roleOf(project.id, 'newbie')).toBe(status === 201 ? role : undefined);
      if (status === 201) expect(res.json()).toMatchObject({ username: 'newbie', role });
    });

    it('adds by user_id; the new member sees the project', async () => {
      const project = await teamProject();
      const res = await call('POST', `/api/v1/projects/${project.id}/members`, users.owner, {
        user_id: users.newbie!.user.id,
        role: 'developer',
      });
      expect(res.statusCode).toBe(201);
      const seen = await call('GET', `/api/v1/projects/${project.id}`, users.newbie);
      expect(seen.json()).toMatchObject({ role: 'developer' });
    });

    it.each([
      ['both user_id and username', { user_id: 1, username: 'newbie', role: 'guest' }, 400],
      ['neither', { role: 'guest' }, 400],
      ['an unknown role', { username: 'newbie', role: 'superuser' }, 400],
      ['an unknown user', { username: 'ghost', role: 'guest' }, 404],
      ['an unknown user id', { user_id: 999999, role: 'guest' }, 404],
      ['a member already', { username: 'developer', role: 'guest' }, 409],
    ])('refuses %s', async (_what, body, status) => {
      const project = await teamProject();
      const res = await call('POST', `/api/v1/projects/${project.id}/members`, users.owner, body);
      expect(res.statusCode, res.body).toBe(status);
    });

    /** [actor, member changed, new role, expected status] */
    it.each([
      ['maintainer', 'developer', 'reporter', 200],
      ['maintainer', 'guest', 'maintainer', 200],
      ['maintainer', 'developer', 'owner', 403],
      ['maintainer', 'owner', 'developer', 403],
      ['developer', 'guest', 'reporter', 403],
      ['owner', 'maintainer', 'owner', 200],
      ['owner', 'owner', 'maintainer', 409],
      ['admin', 'owner', 'guest', 409],
      ['owner', 'outsider', 'guest', 404],
    ] as const)('a %s changing the %s to %s: %i', async (actor, member, role, status) => {
      const project = await teamProject();
      const res = await call(
        'PUT',
        `/api/v1/projects/${project.id}/members/${users[member]!.user.id}`,
        users[actor],
        { role },
      );
      expect(res.statusCode, res.body).toBe(status);
      expect(await roleOf(project.id, member)).toBe(
        status === 200 ? role : member === 'outsider' ? undefined : member,
      );
    });

    /** [actor, member removed, expected status] */
    it.each([
      ['maintainer', 'developer', 204],
      ['maintainer', 'maintainer', 204],
      ['maintainer', 'owner', 403],
      ['developer', 'guest', 403],
      ['owner', 'owner', 409],
      ['owner', 'outsider', 404],
    ] as const)('a %s removing the %s: %i', async (actor, member, status) => {
      const project = await teamProject();
      const res = await call(
        'DELETE',
        `/api/v1/projects/${project.id}/members/${users[member]!.user.id}`,
        users[actor],
      );
      expect(res.statusCode, res.body).toBe(status);
      expect((await roleOf(project.id, member)) !== undefined).toBe(
        status !== 204 && member !== 'outsider',
      );
    });

    it('an owner steps down once there is another owner', async () => {
      const project = await teamProject();
      const add = await call('POST', `/api/v1/projects/${project.id}/members`, users.owner, {
        username: 'owner2',
        role: 'owner',
      });
      expect(add.statusCode).toBe(201);
      const down = await call(
        'PUT',
        `/api/v1/projects/${project.id}/members/${users.owner!.user.id}`,
        users.owner,
        { role: 'developer' },
      );
      expect(down.statusCode).toBe(200);
      const last = await call(
        'DELETE',
        `/api/v1/projects/${project.id}/members/${users.owner2!.user.id}`,
        users.owner2,
      );
      expect(last.statusCode).toBe(409);
    });

    it.each([
      ['remove', 'DELETE'],
      ['demote', 'PUT'],
      ['remove and demote', 'mixed'],
    ] as const)(
      'two owners who %s each other at the same moment leave exactly one owner',
      async (_, how) => {
        const db = ctx.database.db;
        const owners = () =>
          db
            .selectFrom('members')
            .select('user_id')
            .where('project_id', '=', project.id)
            .where('role', '=', 'owner')
            .execute();
        let project!: ProjectView;
        for (let run = 0; run < 10; run++) {
          project = await teamProject();
          await seedMember(db, project.id, users.owner2!.user.id, 'owner');
          const [a, b] = [users.owner!, users.owner2!];
          const change = (who: SeededUser, target: SeededUser, i: number) => {
            const url = `/api/v1/projects/${project.id}/members/${target.user.id}`;
            const remove = how === 'DELETE' || (how === 'mixed' && i === 0);
            return remove ? call('DELETE', url, who) : call('PUT', url, who, { role: 'developer' });
          };
          const results = await Promise.all([change(a, b, 0), change(b, a, 1)]);
          const statuses = results.map((r) => r.statusCode);
          // one wins; the other is refused: the last owner stays (409), or, when it came second,
          // its sender is no owner (403) or no member (404) any more
          const why = `run ${run}: ${statuses.join()}`;
          expect(
            statuses.filter((s) => s === 200 || s === 204),
            why,
          ).toHaveLength(1);
          expect(
            statuses.filter((s) => [403, 404, 409].includes(s)),
            why,
          ).toHaveLength(1);
          expect(await owners(), why).toHaveLength(1);
        }
      },
    );
  });

  describe('project registries', () => {
    it('a maintainer adds, lists and removes them; no secret or password is shown', async () => {
      const project = await teamProject();
      const base = `/api/v1/projects/${project.id}/registries`;
      const created = await call('POST', base, users.maintainer, {
        name: `team-registry-${project.id}`,
        url: 'https://registry.example.com/',
        username: 'puller',
        password: 'pull-password',
        secret: 'a-secret-of-enough-length',
      });
      expect(created.statusCode, created.body).toBe(201);
      const registry = created.json<{ id: number }>();
      expect(created.json()).toMatchObject({
        url: 'https://registry.example.com',
        project_id: project.id,
        has_password: true,
        has_secret: true,
        username: 'puller',
      });
      expect(created.body).not.toMatch(/pull-password|a-secret-of-enough-length/);
      const row = await ctx.database.db
        .selectFrom('registries')
        .selectAll()
        .where('id', '=', registry.id)
        .executeTakeFirstOrThrow();
      expect(row.secret_hash).toBe(hashToken('a-secret-of-enough-length'));

      const list = await call('GET', base, users.maintainer);
      expect(list.json<{ id: number }[]>().map((r) => r.id)).toEqual([registry.id]);
      expect(list.body).not.toMatch(/pull-password|secret_hash|a-secret/);
      expect((await call('GET', base, users.developer)).statusCode).toBe(403);

      const dup = await call('POST', base, users.owner, {
        name: `team-registry-${project.id}`,
        url: 'https://other.example.com',
        secret: 'another-secret-0123456789',
      });
      expect(dup.statusCode).toBe(409);
      const bad = await call('POST', base, users.owner, {
        name: 'ok-name',
        url: 'ftp://x',
        secret: 'another-secret-0123456789',
      });
      expect(bad.statusCode).toBe(400);

      // another project's maintainer cannot touch it
      const other = await teamProject();
      const foreign = await call(
        'DELETE',
        `/api/v1/projects/${other.id}/registries/${registry.id}`,
        users.maintainer,
      );
      expect(foreign.statusCode).toBe(404);
      const removed = await call('DELETE', `${base}/${registry.id}`, users.maintainer);
      expect(removed.statusCode).toBe(204);
      expect((await call('GET', base, users.maintainer)).json()).toEqual([]);
    });

    it('a project registry on a private network is refused (400) unless the instance allows it', async () => {
      const project = await teamProject();
      const base = `/api/v1/projects/${project.id}/registries`;
      const body = (n: string, url: string) => ({
        name: `private-${project.id}-${n}`,
        url,
        secret: 'a-secret-of-enough-length',
      });
      const refused: [url: string, why: string][] = [
        ['http://127.0.0.1:5000', '127.0.0.1 is not a public address'],
        ['http://localhost:5000', 'localhost is this machine'],
        ['http://registry.localhost', 'registry.localhost is this machine'],
        ['http://169.254.169.254', '169.254.169.254 is not a public address'],
        ['https://10.0.0.5', '10.0.0.5 is not a public address'],
        ['http://[::1]:5000', '::1 is not a public address'],
        ['http://[::ffff:192.168.1.1]', '::ffff:c0a8:101 is not a public address'],
        ['http://0x7f.1:5000', '127.0.0.1 is not a public address'],
      ];
      for (const [i, [url, why]] of refused.entries()) {
        const res = await call('POST', base, users.maintainer, body(String(i), url));
        expect(res.statusCode, url).toBe(400);
        const { error } = res.json<{ error: string }>();
        expect(error).toContain(why);
        expect(error).toContain('scan.allowPrivateNetworks');
      }

      // a public one is fine, but cannot be moved onto a private network, not even by an admin
      const created = await call('POST', base, users.maintainer, body('public', 'https://8.8.8.8'));
      expect(created.statusCode, created.body).toBe(201);
      const id = created.json<{ id: number }>().id;
      const moved = await call('PUT', `${base}/${id}`, users.maintainer, {
        url: 'http://192.168.0.10:5000',
      });
      expect(moved.statusCode).toBe(400);
      expect(moved.json<{ error: string }>().error).toContain('192.168.0.10 is not a public');
      const byAdmin = await call('PUT', `/api/v1/registries/${id}`, users.admin, {
        url: 'http://127.0.0.1:5000',
      });
      expect(byAdmin.statusCode).toBe(400);
      expect((await call('GET', base, users.maintainer)).json()).toMatchObject([
        { id, url: 'https://8.8.8.8' },
      ]);

      // with the setting on, the same requests succeed (read at each request)
      ctx.config.scan.allowPrivateNetworks = true;
      try {
        const allowed = await call('POST', base, users.maintainer, body('0', refused[0]![0]));
        expect(allowed.statusCode, allowed.body).toBe(201);
        const movedNow = await call('PUT', `${base}/${id}`, users.maintainer, {
          url: 'http://192.168.0.10:5000',
          password: null,
        });
        expect(movedNow.statusCode, movedNow.body).toBe(200);
      } finally {
        ctx.config.scan.allowPrivateNetworks = false;
      }
    });

    it('a new URL needs the credentials again (400), so stored ones never go to another host', async () => {
      const project = await teamProject();
      const base = `/api/v1/projects/${project.id}/registries`;
      const created = await call('POST', base, users.maintainer, {
        name: `moving-${project.id}`,
        url: 'https://registry.example.com',
        username: 'puller',
        password: 'stored-pull-password',
        secret: 'a-secret-of-enough-length',
      });
      expect(created.statusCode, created.body).toBe(201);
      const id = created.json<{ id: number }>().id;
      const stored = () =>
        ctx.database.db
          .selectFrom('registries')
          .select(['url', 'password'])
          .where('id', '=', id)
          .executeTakeFirstOrThrow();

      for (const [who, path] of [
        [users.maintainer, `${base}/${id}`],
        [users.admin, `/api/v1/registries/${id}`],
      ] as const) {
        for (const body of [
          { url: 'https://attacker.example.com' },
          { url: 'https://attacker.example.com', username: 'puller' },
          { url: 'https://attacker.example.com', name: `moving-${project.id}` },
        ]) {
          const res = await call('PUT', path, who, body);
          expect(res.statusCode, res.body).toBe(400);
          expect(res.json<{ error: string }>().error).toContain(
            'changing the URL needs the credentials again: give password (or null to remove it)',
          );
        }
      }
      expect(await stored()).toEqual({
        url: 'https://registry.example.com',
        password: 'stored-pull-password',
      });
      // the same URL (after normalising) is no change
      const same = await call('PUT', `${base}/${id}`, users.maintainer, {
        url: 'https://registry.example.com/',
      });
      expect(same.statusCode, same.body).toBe(200);
      // with the password given again, or removed, the URL changes
      const withPassword = await call('PUT', `${base}/${id}`, users.maintainer, {
        url: 'https://mirror.example.com',
        password: 'new-pull-password',
      });
      expect(withPassword.statusCode, withPassword.body).toBe(200);
      expect(await stored()).toEqual({
        url: 'https://mirror.example.com',
        password: 'new-pull-password',
      });
      const removed = await call('PUT', `${base}/${id}`, users.maintainer, {
        url: 'https://other.example.com',
        password: null,
      });
      expect(removed.statusCode, removed.body).toBe(200);
      expect(await stored()).toEqual({ url: 'https://other.example.com', password: null });
    });

    it('instance registries are for admins and never show secrets', async () => {
      const created = await call('POST', '/api/v1/registries', users.admin, {
        name: 'instance-one',
        url: 'http://127.0.0.1:5000',
        secret: 'instance-secret-0123456789',
      });
      expect(created.statusCode, created.body).toBe(201);
      const id = created.json<{ id: number }>().id;
      expect(created.json()).toMatchObject({
        project_id: null,
        has_password: false,
        has_secret: true,
      });
      const changed = await call('PUT', `/api/v1/registries/${id}`, users.admin, {
        password: 'now-one',
        secret: 'rotated-secret-0123456789',
      });
      expect(changed.statusCode, changed.body).toBe(200);
      expect(changed.json()).toMatchObject({ has_password: true });
      expect(changed.body).not.toMatch(/now-one|rotated-secret/);
      for (const who of [users.owner, users.maintainer]) {
        expect((await call('GET', '/api/v1/registries', who)).statusCode).toBe(403);
      }
      const list = await call('GET', '/api/v1/registries', users.admin);
      expect(list.json<{ name: string }[]>().map((r) => r.name)).toContain('instance-one');
      expect((await call('DELETE', `/api/v1/registries/${id}`, users.admin)).statusCode).toBe(204);
      expect((await call('DELETE', `/api/v1/registries/${id}`, users.admin)).statusCode).toBe(404);
    });
  });
});
