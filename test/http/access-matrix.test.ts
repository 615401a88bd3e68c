/**
 * Who may call what: a role × endpoint matrix over the whole API, on both databases (issue #5:
 * "Cross-project access is denied, and tested as a role × endpoint matrix").
 *
 * ENDPOINTS is the table: method, route and the least a caller needs (`public`, `registry` for the
 * event receiver's own secret, `user` for any token, `admin`, or a role in the project). Adding an
 * endpoint is one line; a route the app serves that the table lacks fails the completeness test.
 * Every endpoint is called by every subject: anonymous; the guest, reporter, developer, maintainer
 * and owner of project A; the developer of project B; an instance admin; and a read-only token of
 * a developer of A. What each must get follows from the level alone (expectedFor):
 *
 * - allowed: anything but 401/403/404 (2xx, or a 400/409 about the request itself);
 * - anonymous → 401; a member of A with too low a role → 403; not a member of A (project B's
 *   developer) → 404 with the resource's own "… not found", exactly as for a project that does not
 *   exist; a read-only token on a write → 403; a user without admin on an admin endpoint → 403.
 *
 * A 404 from the app's notFound handler (`{"error":"not found"}`: no such route) always fails, so
 * an endpoint not implemented yet cannot pass as "not found for this subject".
 *
 * Requests that change or remove what they touch get their own objects per call (`setup`): a
 * fresh copy of project A with the same members, a fresh registry, a fresh token.
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/http/app.js';
import { toCycloneDX } from '../../src/sbom/cyclonedx.js';
import { atLeast } from '../../src/service/access.js';
import { createToken } from '../../src/service/users.js';
import type { DB, Project, Role } from '../../src/store/schema.js';
import { BACKENDS } from '../support/postgres.js';
import {
  seedMember,
  seedProject,
  seedRegistry,
  seedSbom,
  seedScan,
  seedUser,
  seedVulnerability,
  smallInventory,
  type SeededUser,
} from '../support/seed.js';
import { makeTestContext, type TestContext } from '../support/service-context.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type Level = 'public' | 'registry' | 'user' | 'admin' | Role;

/** Ids and names a request is built from: the shared fixture, or per call from `setup`. */
interface Params {
  /** Project A's id (or a fresh copy's). */
  id: number;
  /** A vulnerability of A. */
  vid: number;
  /** A finished scan of A with its SBOM, pulled from a registry (rescannable). */
  sid: number;
  /** A guest member of A who is none of the subjects (the one member routes change). */
  user_id: number;
  /** A registry of project A. */
  registry_id: number;
  /** A token of the calling subject. */
  token_id: number;
  /** An instance registry (`/api/v1/registries/:id`). */
  instance_registry_id: number;
  /** A user who is none of the subjects (`/api/v1/users/:id`). */
  other_user_id: number;
  /** Unique per call, for names that must not repeat. */
  n: number;
}

interface Endpoint {
  method: Method;
  /** The route as registered (`:param` style). */
  route: string;
  level: Level;
  /** Route parameter → key of Params, where the name alone does not say it. */
  params?: Partial<Record<string, keyof Params>>;
  query?: string;
  body?: (p: Params) => unknown;
  contentType?: string;
  /** Makes what the call changes or removes, per call. */
  setup?: (f: Fixture, subject: Subject) => Promise<Partial<Params>>;
}

const row = (
  method: Method,
  route: string,
  level: Level,
  more: Omit<Endpoint, 'method' | 'route' | 'level'> = {},
): Endpoint => ({ method, route, level, ...more });

/** Project A: the project every subject's role is about. */
const A_PATH = 'matrix/a';
/** A CI upload for A (a CycloneDX SBOM). */
const CI_SBOM = toCycloneDX([smallInventory(`127.0.0.1:5000/${A_PATH}`, 'ci')], {
  toolVersion: '0.0.0-test',
  reportType: 'container_scanning',
  timestamp: new Date('2025-01-02T03:04:05.000Z'),
});

const stateChange = () => ({ state: 'confirmed', comment: 'access matrix' });
const registryBody = (p: Params) => ({
  name: `matrix-registry-${p.n}`,
  url: 'http://127.0.0.1:5999',
  secret: `matrix-secret-${p.n}-0123456789`,
});
const freshProject = async (f: Fixture) => ({ id: (await f.teamProject()).id });

/** The whole API. */
const ENDPOINTS: readonly Endpoint[] = [
  // health, metrics, OpenAPI
  row('GET', '/healthz', 'public'),
  row('GET', '/readyz', 'public'),
  row('GET', '/api/v1/openapi.json', 'public'),
  row('GET', '/metrics', 'admin'),
  // users and tokens
  row('GET', '/api/v1/user', 'user'),
  row('GET', '/api/v1/users', 'admin'),
  row('POST', '/api/v1/users', 'admin', { body: (p) => ({ username: `matrix-user-${p.n}` }) }),
  row('GET', '/api/v1/user/personal_access_tokens', 'user'),
  row('POST', '/api/v1/user/personal_access_tokens', 'user', { body: () => ({ name: 'm' }) }),
  row('DELETE', '/api/v1/user/personal_access_tokens/:token_id', 'user', {
    setup: async (f, s) => ({ token_id: await f.spareToken(s) }),
  }),
  row('POST', '/api/v1/users/:id/personal_access_tokens', 'admin', {
    params: { id: 'other_user_id' },
    body: () => ({ name: 'm' }),
  }),
  // projects, settings, members
  row('GET', '/api/v1/projects', 'user'),
  row('POST', '/api/v1/projects', 'admin', { body: (p) => ({ path: `matrix/new-${p.n}` }) }),
  row('GET', '/api/v1/projects/:id', 'guest'),
  row('PUT', '/api/v1/projects/:id/settings', 'maintainer', { body: () => ({ daily_limit: 60 }) }),
  row('PATCH', '/api/v1/projects/:id', 'maintainer', { body: () => ({ daily_limit: 60 }) }),
  row('DELETE', '/api/v1/projects/:id', 'owner', { setup: freshProject }),
  row('GET', '/api/v1/projects/:id/members', 'developer'),
  row('POST', '/api/v1/projects/:id/members', 'maintainer', {
    setup: freshProject,
    body: (p) => ({ user_id: p.other_user_id, role: 'guest' }),
  }),
  row('PUT', '/api/v1/projects/:id/members/:user_id', 'maintainer', {
    setup: (f) => f.teamProjectWithExtras(),
    body: () => ({ role: 'reporter' }),
  }),
  row('DELETE', '/api/v1/projects/:id/members/:user_id', 'maintainer', {
    setup: (f) => f.teamProjectWithExtras(),
  }),
  // registries
  row('GET', '/api/v1/registries', 'admin'),
  row('POST', '/api/v1/registries', 'admin', { body: registryBody }),
  row('PUT', '/api/v1/registries/:id', 'admin', {
    params: { id: 'instance_registry_id' },
    body: () => ({ url: 'http://127.0.0.1:5998' }),
  }),
  row('DELETE', '/api/v1/registries/:id', 'admin', {
    params: { id: 'instance_registry_id' },
    setup: async (f) => ({ instance_registry_id: await f.instanceRegistry() }),
  }),
  row('GET', '/api/v1/projects/:id/registries', 'maintainer'),
  row('POST', '/api/v1/projects/:id/registries', 'maintainer', { body: registryBody }),
  row('PUT', '/api/v1/projects/:id/registries/:registry_id', 'maintainer', {
    body: () => ({ url: 'http://127.0.0.1:5997' }),
  }),
  row('DELETE', '/api/v1/projects/:id/registries/:registry_id', 'maintainer', {
    setup: (f) => f.teamProjectWithExtras(),
  }),
  // registry events
  row('POST', '/api/v1/registry/events', 'registry', {
    body: () => ({ events: [] }),
    contentType: 'application/vnd.docker.distribution.events.v1+json',
  }),
  row('GET', '/api/v1/registry/events', 'admin'),
  row('GET', '/api/v1/projects/:id/registry_events', 'developer'),
  // vulnerabilities
  row('GET', '/api/v1/projects/:id/vulnerabilities', 'developer'),
  row('GET', '/api/v1/projects/:id/vulnerabilities.csv', 'developer'),
  row('POST', '/api/v1/projects/:id/vulnerabilities/bulk', 'developer', {
    body: (p) => ({ ids: [p.vid], ...stateChange() }),
  }),
  row('GET', '/api/v1/vulnerabilities/:vid', 'developer'),
  row('PATCH', '/api/v1/vulnerabilities/:vid', 'developer', { body: stateChange }),
  // images, scans, SBOMs, CI reports
  row('GET', '/api/v1/projects/:id/images', 'developer'),
  row('GET', '/api/v1/projects/:id/scans', 'developer'),
  row('POST', '/api/v1/projects/:id/scans', 'developer', {
    body: () => ({ repository: A_PATH, tag: 'latest' }),
  }),
  row('GET', '/api/v1/scans/:sid', 'developer'),
  row('GET', '/api/v1/scans/:sid/log', 'developer'),
  row('GET', '/api/v1/scans/:sid/sbom', 'developer'),
  row('POST', '/api/v1/projects/:id/reports', 'developer', {
    query: `repository=${A_PATH}&tag=ci`,
    body: () => CI_SBOM,
  }),
  // instance administration
  row('GET', '/api/v1/admin/advisories', 'admin'),
  row('POST', '/api/v1/admin/advisories/sync', 'admin', { body: () => ({ sources: [] }) }),
];

interface Subject {
  name: string;
  /** Role in project A (copies included); undefined: no member. */
  roleInA?: Role;
  admin?: boolean;
  readOnly?: boolean;
  anonymous?: boolean;
}

const SUBJECTS: readonly Subject[] = [
  { name: 'anonymous', anonymous: true },
  { name: 'guest', roleInA: 'guest' },
  { name: 'reporter', roleInA: 'reporter' },
  { name: 'developer', roleInA: 'developer' },
  { name: 'maintainer', roleInA: 'maintainer' },
  { name: 'owner', roleInA: 'owner' },
  { name: 'developer-of-b' },
  { name: 'admin', admin: true },
  { name: 'read-only-developer', roleInA: 'developer', readOnly: true },
];

type Expected = 'allowed' | 401 | 403 | 404;

const WRITES: readonly Method[] = ['POST', 'PUT', 'PATCH', 'DELETE'];

/** What a subject must get from an endpoint, from the endpoint's level alone. */
function expectedFor(subject: Subject, endpoint: Endpoint): Expected {
  const { level } = endpoint;
  if (level === 'public') return 'allowed';
  if (subject.anonymous || level === 'registry') return 401;
  if (subject.readOnly && WRITES.includes(endpoint.method)) return 403;
  if (level === 'user') return 'allowed';
  if (level === 'admin') return subject.admin ? 'allowed' : 403;
  if (subject.admin) return 'allowed';
  if (!subject.roleInA) return 404;
  return atLeast(subject.roleInA, level) ? 'allowed' : 403;
}

interface Fixture {
  db: Kysely<DB>;
  users: Map<string, SeededUser>;
  base: Params;
  /** A copy of project A with the same members. */
  teamProject(): Promise<Project>;
  /** A copy of A with a guest member to change and a registry to remove. */
  teamProjectWithExtras(): Promise<Partial<Params>>;
  spareToken(subject: Subject): Promise<number>;
  instanceRegistry(): Promise<number>;
  next(): number;
}

async function makeFixture(ctx: TestContext): Promise<Fixture> {
  const db = ctx.database.db;
  const users = new Map<string, SeededUser>();
  for (const s of SUBJECTS) {
    if (s.anonymous) continue;
    users.set(s.name, await seedUser(db, s.name, { isAdmin: s.admin, readOnly: s.readOnly }));
  }
  const target = await seedUser(db, 'target-member');
  const other = await seedUser(db, 'other-user');
  let n = 0;
  const next = () => ++n;

  const addMembers = async (project: Project) => {
    for (const s of SUBJECTS) {
      if (s.roleInA) await seedMember(db, project.id, users.get(s.name)!.user.id, s.roleInA);
    }
    await seedMember(db, project.id, target.user.id, 'guest');
  };
  const teamProject = async () => {
    const project = await seedProject(db, `matrix/copy-${next()}`);
    await addMembers(project);
    return project;
  };

  const a = await seedProject(db, A_PATH);
  await addMembers(a);
  const b = await seedProject(db, 'matrix/b');
  await seedMember(db, b.id, users.get('developer-of-b')!.user.id, 'developer');
  const registryOfA = await seedRegistry(db, 'registry-of-a', { projectId: a.id });
  const instance = await seedRegistry(db, 'instance-registry');
  const scan = await seedScan(db, a.id, { repository: A_PATH, registry_id: instance.id });
  await seedSbom(db, scan);
  const vulnerability = await seedVulnerability(db, a.id, {
    repository: A_PATH,
    last_scan_id: scan.id,
  });
  // B has its own data too: A's subjects must not reach it through A's ids
  await seedVulnerability(db, b.id, { repository: 'matrix/b' });

  return {
    db,
    users,
    base: {
      id: a.id,
      vid: vulnerability.id,
      sid: scan.id,
      user_id: target.user.id,
      registry_id: registryOfA.id,
      token_id: 0,
      instance_registry_id: instance.id,
      other_user_id: other.user.id,
      n: 0,
    },
    teamProject,
    teamProjectWithExtras: async () => {
      const project = await teamProject();
      const registry = await seedRegistry(db, `registry-of-copy-${next()}`, {
        projectId: project.id,
      });
      return { id: project.id, registry_id: registry.id };
    },
    spareToken: async (subject) => {
      const user = users.get(subject.name) ?? users.get('admin')!;
      return (await createToken(db, user.user.id, { name: 'spare' })).id;
    },
    instanceRegistry: async () => (await seedRegistry(db, `instance-copy-${next()}`)).id,
    next,
  };
}

/** `/api/v1/projects/:id/members/:user_id` with the params filled in. */
function urlOf(endpoint: Endpoint, params: Params): string {
  const path = endpoint.route.replace(/:(\w+)/g, (_m, name: string) => {
    const key = (endpoint.params?.[name] ?? name) as keyof Params;
    if (!(key in params)) throw new Error(`no value for :${name} in ${endpoint.route}`);
    return String(params[key]);
  });
  return endpoint.query ? `${path}?${endpoint.query}` : path;
}

const label = (e: Endpoint) => `${e.method} ${e.route} (${e.level})`;

describe.each(BACKENDS)('access matrix on %s', (dialect) => {
  let ctx: TestContext;
  let app: App;
  let fixture: Fixture;

  beforeAll(async () => {
    // the registry rows use 127.0.0.1 URLs; who may add them is what is tested here
    ctx = await makeTestContext(dialect, { scan: { allowPrivateNetworks: true } });
    app = await buildApp(ctx);
    fixture = await makeFixture(ctx);
  });
  afterAll(async () => {
    await app?.close();
    await ctx?.close();
  });

  it('the table has no endpoint twice', () => {
    const keys = ENDPOINTS.map((e) => `${e.method} ${e.route}`);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  });

  it('every route the API serves is in the table', async () => {
    await app.ready();
    const doc = app.swagger() as { paths: Record<string, Record<string, unknown>> };
    const served = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods)
        .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    const table = new Set(ENDPOINTS.map((e) => `${e.method} ${e.route}`));
    expect(served.filter((r) => !table.has(r))).toEqual([]);
  });

  describe.each(ENDPOINTS.map((e) => [label(e), e] as const))('%s', (_label, endpoint) => {
    it('is a route of the app', () => {
      expect(app.hasRoute({ method: endpoint.method, url: endpoint.route })).toBe(true);
    });

    it.each(SUBJECTS.map((s) => [`${s.name} → ${expectedFor(s, endpoint)}`, s] as const))(
      '%s',
      async (_name, subject) => {
        const expected = expectedFor(subject, endpoint);
        const n = fixture.next();
        const extra = endpoint.setup ? await endpoint.setup(fixture, subject) : {};
        const params: Params = {
          ...fixture.base,
          token_id: subject.anonymous ? 1 : 0,
          n,
          ...extra,
        };
        if (!endpoint.setup && endpoint.route.includes(':token_id')) {
          params.token_id = await fixture.spareToken(subject);
        }
        const user = fixture.users.get(subject.name);
        const body = endpoint.body?.(params);
        const res = await app.inject({
          method: endpoint.method,
          url: urlOf(endpoint, params),
          headers: {
            ...(user ? user.headers : {}),
            ...(body !== undefined
              ? { 'content-type': endpoint.contentType ?? 'application/json' }
              : {}),
          },
          ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
        });
        const said = `${res.statusCode} ${res.body.slice(0, 300)}`;
        const error = (() => {
          try {
            return (JSON.parse(res.body) as { error?: unknown }).error;
          } catch {
            return undefined;
          }
        })();
        // the app's notFound handler: the route does not exist (not implemented yet?)
        expect(
          res.statusCode === 404 && error === 'not found',
          `route missing: ${endpoint.method} ${endpoint.route}`,
        ).toBe(false);
        expect(res.statusCode, said).toBeLessThan(500);
        if (expected === 'allowed') {
          expect([401, 403, 404], said).not.toContain(res.statusCode);
        } else {
          expect(res.statusCode, said).toBe(expected);
          if (expected === 404) expect(String(error), said).toMatch(/^\w+ not found$/);
        }
      },
    );
  });
});
