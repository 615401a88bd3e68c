/**
 * The event endpoints through the real app (buildApp + app.inject) on both databases: registry
 * authentication, content types, malformed bodies, the outcomes of real envelopes, a fuzz of a
 * few thousand generated bodies (never a 5xx, nothing accepted is lost), and the event log
 * endpoints with their pagination and access rules.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { createRegistry } from '../../src/service/registries.js';
import { parseRegistryPayload } from '../../src/service/registry-events.js';
import type { Role } from '../../src/store/schema.js';
import { BACKENDS } from '../support/postgres.js';
import { seedMember, seedProject, seedUser } from '../support/seed.js';
import { makeTestContext, type TestContext } from '../support/service-context.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'notifications');
const FIXTURE_NAMES = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.replace(/\.json$/, ''))
  .sort();
const fixtureText = (name: string) => readFileSync(join(FIXTURES, `${name}.json`), 'utf8');

const SECRET = 'registry-secret-0123456789';
const DISTRIBUTION = 'application/vnd.docker.distribution.events.v1+json';
const digestOf = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

function manifestPush(repository: string, tag: string, n: number, id = `e-${n}`) {
  return {
    id,
    action: 'push',
    target: {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: digestOf(n),
      repository,
      tag,
    },
  };
}

interface PostOptions {
  body: string | Buffer;
  contentType?: string | undefined;
  authorization?: string | undefined;
}

describe.each(BACKENDS)('registry event endpoints on %s', (dialect) => {
  let ctx: TestContext;
  let app: FastifyInstance;
  const tokens: Record<string, string> = {};
  const projects: Record<string, number> = {};

  beforeAll(async () => {
    ctx = await makeTestContext(dialect);
    app = await buildApp(ctx);
    const db = ctx.database.db;
    await createRegistry(db, { name: 'main', url: 'http://127.0.0.1:5000', secret: SECRET });
    for (const [path, tags] of [
      ['group', ['*']],
      ['team-a', ['latest']],
      ['team-b', ['latest']],
      ['nested/path', ['latest']],
    ] as const) {
      const project = await seedProject(db, path, {
        supportedTags: [...tags],
        dailyLimit: 1_000_000,
        now: ctx.now(),
      });
      projects[path] = project.id;
    }
    const users: [string, boolean, [string, Role][]][] = [
      ['admin', true, []],
      ['dev-a', false, [['team-a', 'developer']]],
      ['reporter-a', false, [['team-a', 'reporter']]],
      ['dev-b', false, [['team-b', 'developer']]],
    ];
    for (const [username, isAdmin, memberships] of users) {
      const { user, token } = await seedUser(db, username, { isAdmin });
      tokens[username] = token;
      for (const [path, role] of memberships) await seedMember(db, projects[path]!, user.id, role);
    }
  });
  afterAll(async () => {
    await app?.close();
    await ctx?.close();
  });

  const post = (options: PostOptions) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/registry/events',
      headers: {
        ...(options.contentType !== undefined ? { 'content-type': options.contentType } : {}),
        ...(options.authorization !== undefined ? { authorization: options.authorization } : {}),
      },
      payload: options.body,
    });
  const postJson = (body: unknown, extra: Partial<PostOptions> = {}) =>
    post({
      body: JSON.stringify(body),
      contentType: DISTRIBUTION,
      authorization: `Bearer ${SECRET}`,
      ...extra,
    });
  const eventCount = async () =>
    Number(
      (
        await ctx.database.db
          .selectFrom('registry_events')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const get = (url: string, user: string) =>
    app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${tokens[user]}` } });

  describe('POST /api/v1/registry/events', () => {
    it.each<[string, string | undefined]>([
      ['no Authorization header', undefined],
      ['a wrong secret', 'Bearer wrong-secret-0123456789'],
      ['a wrong raw secret', 'wrong-secret-0123456789'],
      ['an empty header', ''],
      ['Basic auth', `Basic ${Buffer.from(`x:${SECRET}`).toString('base64')}`],
      ['a user token scheme', `Token ${SECRET}`],
      ['a huge header', `Bearer ${'x'.repeat(10_000)}`],
    ])('401 with %s, nothing stored', async (_, authorization) => {
      const before = await eventCount();
      const res = await post({
        body: fixtureText('manifest-push-tag'),
        contentType: DISTRIBUTION,
        authorization,
      });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: 'authentication required' });
      expect(await eventCount()).toBe(before);
    });

    it('401 comes before the body is read: bad JSON and a wrong type without a secret', async () => {
      expect((await post({ body: '{not json', contentType: DISTRIBUTION })).statusCode).toBe(401);
      expect((await post({ body: 'x', contentType: 'text/plain' })).statusCode).toBe(401);
      const metrics = (await ctx.metrics.render()).body;
      expect(metrics).toMatch(/regscan_registry_events_total\{outcome="unauthenticated"\} [1-9]/);
    });

    it('accepts the secret as a Bearer token or as the raw header value (Harbor)', async () => {
      for (const authorization of [
        `Bearer ${SECRET}`,
        `bearer   ${SECRET}`,
        SECRET,
        ` ${SECRET} `,
      ]) {
        const res = await post({
          body: fixtureText('blob-push'),
          contentType: DISTRIBUTION,
          authorization,
        });
        expect([authorization, res.statusCode]).toEqual([authorization, 200]);
      }
    });

    it.each<[string, string | undefined, string, number]>([
      ['text/plain', 'text/plain', fixtureText('manifest-push-tag'), 415],
      ['form data', 'application/x-www-form-urlencoded', 'events=1', 415],
      ['xml', 'application/xml', '<events/>', 415],
      ['no content type', undefined, fixtureText('manifest-push-tag'), 415],
      ['malformed JSON (distribution type)', DISTRIBUTION, '{"events": [', 400],
      ['malformed JSON (application/json)', 'application/json', '{"events": [', 400],
      ['an empty body', 'application/json', '', 400],
      ['JSON null', 'application/json', 'null', 400],
      ['a JSON string', DISTRIBUTION, '"events"', 400],
      ['an unknown object', 'application/json', '{"hello": "world"}', 400],
      ['events not a list', DISTRIBUTION, '{"events": {"a": 1}}', 400],
      ['__proto__ (application/json)', 'application/json', '{"__proto__": {"events": []}}', 400],
    ])('%s → %i', async (_, contentType, body, status) => {
      const before = await eventCount();
      const res = await post({ body, contentType, authorization: `Bearer ${SECRET}` });
      expect(res.statusCode).toBe(status);
      expect(typeof res.json<{ error: string }>().error).toBe('string');
      expect(await eventCount()).toBe(before);
    });

    it('says what is wrong with an unknown body', async () => {
      const res = await postJson({ hello: 'world' });
      expect(res.json()).toEqual({
        error:
          'unknown payload: expected a Distribution notification envelope {"events": [...]} or a Harbor webhook {"type", "event_data"}',
      });
    });

    it('413 for a body over 1 MiB', async () => {
      const res = await postJson({ events: [{ id: 'x'.repeat(1024 * 1024) }] });
      expect(res.statusCode).toBe(413);
    });

    it('answers every entry of real envelopes with its outcome and event id', async () => {
      const outcomes: Record<string, string[]> = {};
      for (const name of FIXTURE_NAMES) {
        const res = await post({
          body: fixtureText(name),
          contentType: DISTRIBUTION,
          authorization: `Bearer ${SECRET}`,
        });
        expect([name, res.statusCode]).toEqual([name, 200]);
        const body = res.json<{
          events: { outcome: string; event_id: number; scan_id?: number }[];
        }>();
        outcomes[name] = body.events.map((e) => e.outcome);
        for (const e of body.events) {
          expect(e.event_id).toBeGreaterThan(0);
          expect(e.scan_id !== undefined).toBe(e.outcome === 'queued');
        }
      }
      expect(outcomes).toMatchObject({
        'manifest-push-tag': ['queued'],
        'manifest-push-by-digest': ['ignored'],
        'blob-push': ['ignored'],
        'blob-mount': ['ignored'],
        'delete-tag': ['ignored'],
        'manifest-pull': ['ignored'],
        'multi-event-envelope': ['ignored', 'ignored', 'queued'],
      });
    });

    it('a Harbor webhook as application/json', async () => {
      const res = await postJson(
        {
          type: 'PUSH_ARTIFACT',
          occur_at: 1700000000,
          operator: 'admin',
          event_data: {
            resources: [{ digest: digestOf(77), tag: 'latest', resource_url: 'h/x:latest' }],
            repository: { name: 'x', namespace: 'team-a', repo_full_name: 'team-a/x' },
          },
        },
        { contentType: 'application/json; charset=utf-8', authorization: SECRET },
      );
      expect(res.statusCode).toBe(200);
      const [event] = res.json<{ events: { outcome: string; reason: string; scan_id: number }[] }>()
        .events;
      expect(event).toMatchObject({ outcome: 'queued' });
      const scan = await ctx.database.db
        .selectFrom('scans')
        .selectAll()
        .where('id', '=', event!.scan_id)
        .executeTakeFirstOrThrow();
      expect(scan).toMatchObject({ repository: 'team-a/x', tag: 'latest', digest: digestOf(77) });
    });

    it('a duplicate delivery gets one scan', async () => {
      const body = { events: [manifestPush('group/dup', 'v1', 500, 'dup-id')] };
      const [a, b] = await Promise.all([postJson(body), postJson(body)]);
      const outcomes = [a, b].map(
        (r) => r.json<{ events: { outcome: string }[] }>().events[0]!.outcome,
      );
      expect(outcomes.sort()).toEqual(['queued', 'refused']);
    });
  });

  describe('fuzz', () => {
    const base = FIXTURE_NAMES.map((n) => JSON.parse(fixtureText(n)) as unknown);

    /** Replaces (or deletes) the value at a random path of a real envelope. */
    const mutated = fc
      .tuple(
        fc.constantFrom(...base),
        fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
        fc.oneof(
          fc.jsonValue({ maxDepth: 3 }),
          fc.constant(undefined),
          fc.nat(300_000).map((n) => 'a'.repeat(n)),
          fc.constantFrom(
            'Group/App',
            '../../etc',
            'sha256:zz',
            'push',
            'pull',
            'application/octet-stream',
            'application/vnd.oci.image.index.v1+json',
            '',
            '\u0000',
            '\ud800',
            'latest',
            -1,
            1e308,
            true,
            [],
            {},
          ),
        ),
      )
      .map(([envelope, steps, value]) => {
        const copy = structuredClone(envelope) as Record<string, unknown>;
        let node: unknown = copy;
        for (let i = 0; i < steps.length; i++) {
          if (typeof node !== 'object' || node === null) break;
          const keys = Object.keys(node);
          if (keys.length === 0) break;
          const key = keys[steps[i]! % keys.length]!;
          const last = i === steps.length - 1;
          const child = (node as Record<string, unknown>)[key];
          if (last || typeof child !== 'object' || child === null) {
            if (value === undefined) delete (node as Record<string, unknown>)[key];
            else (node as Record<string, unknown>)[key] = value;
            break;
          }
          node = child;
        }
        return JSON.stringify(copy);
      });

    const deep = fc
      .tuple(fc.integer({ min: 1, max: 20_000 }), fc.boolean())
      .map(([depth, inEvents]) => {
        const nested = '['.repeat(depth) + ']'.repeat(depth);
        return inEvents ? `{"events": ${nested}}` : nested;
      });

    const harborish = fc
      .record({
        type: fc.oneof(
          fc.constantFrom('PUSH_ARTIFACT', 'PULL_ARTIFACT'),
          fc.jsonValue({ maxDepth: 1 }),
        ),
        event_data: fc.oneof(
          fc.record({
            resources: fc.oneof(
              fc.array(
                fc.record({
                  digest: fc.oneof(fc.constant(digestOf(9)), fc.string()),
                  tag: fc.oneof(fc.constantFrom('latest', 'v1', ''), fc.string()),
                }),
                { maxLength: 5 },
              ),
              fc.jsonValue({ maxDepth: 2 }),
            ),
            repository: fc.oneof(
              fc.record({ repo_full_name: fc.constantFrom('group/h', 'team-a/h', 'Bad', '') }),
              fc.jsonValue({ maxDepth: 2 }),
            ),
          }),
          fc.jsonValue({ maxDepth: 2 }),
        ),
      })
      .map((v) => JSON.stringify(v));

    const bodies = fc.oneof(
      { weight: 4, arbitrary: mutated },
      { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
      { weight: 2, arbitrary: harborish },
      { weight: 1, arbitrary: deep },
      { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
      {
        weight: 1,
        arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
      },
    );

    const requests = fc.record({
      body: bodies,
      contentType: fc.oneof(
        { weight: 6, arbitrary: fc.constant(DISTRIBUTION) },
        { weight: 3, arbitrary: fc.constant('application/json') },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            'application/json; charset=utf-8',
            'text/plain',
            'application/octet-stream',
            'multipart/form-data; boundary=x',
            undefined,
          ),
        },
      ),
      authorized: fc.oneof(
        { weight: 9, arbitrary: fc.constant(true) },
        { weight: 1, arbitrary: fc.constant(false) },
      ),
    });

    it('a few thousand generated bodies: never a 5xx, and nothing accepted is lost', async () => {
      const before = await eventCount();
      let stored = 0;
      let accepted = 0;
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(requests, async (r) => {
          const res = await post({
            body: r.body,
            contentType: r.contentType,
            authorization: r.authorized ? `Bearer ${SECRET}` : 'Bearer nope-nope-nope-nope',
          });
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          expect(res.statusCode).toBeGreaterThanOrEqual(200);
          expect(res.statusCode).toBeLessThan(500);
          if (!r.authorized) {
            expect(res.statusCode).toBe(401);
            return;
          }
          // what the receiver should make of it
          let json: unknown;
          let isJson = true;
          try {
            json = JSON.parse(r.body);
          } catch {
            isJson = false;
          }
          const jsonType =
            r.contentType !== undefined && /^application\/(json|.*\+json)/.test(r.contentType);
          const parsed = isJson ? parseRegistryPayload(json) : undefined;
          const poisoned =
            r.contentType?.startsWith('application/json') &&
            /"(__proto__|constructor)"/.test(r.body);
          if (jsonType && parsed?.ok && !poisoned && Buffer.byteLength(r.body) <= 1024 * 1024) {
            expect(res.statusCode).toBe(200);
          }
          if (res.statusCode === 200) {
            accepted++;
            expect(parsed?.ok).toBe(true);
            const events = res.json<{ events: { event_id: number; outcome: string }[] }>().events;
            expect(events).toHaveLength(parsed?.ok ? parsed.entries.length : -1);
            stored += events.length;
            if (events.length > 0) {
              const rows = await ctx.database.db
                .selectFrom('registry_events')
                .select(['id', 'outcome'])
                .where(
                  'id',
                  'in',
                  events.map((e) => e.event_id),
                )
                .orderBy('id')
                .execute();
              expect(rows.map((x) => [x.id, x.outcome])).toEqual(
                events.map((e) => [e.event_id, e.outcome]),
              );
            }
          }
        }),
        { numRuns: 4000, seed: 20261124 },
      );
      expect(await eventCount()).toBe(before + stored);
      // the generators reach both sides
      expect(accepted).toBeGreaterThan(250);
      expect([...statuses.keys()].filter((s) => s >= 400).length).toBeGreaterThan(1);
      expect(ctx.logged.filter((l) => l.startsWith('error'))).toEqual([]);
    });
  });

  describe('event log endpoints', () => {
    beforeAll(async () => {
      // 25 events for team-a: 10 queued, 15 refused (tag not supported); 3 for team-b
      const teamA = [
        ...Array.from({ length: 10 }, (_, i) => manifestPush('team-a/app', 'latest', 1000 + i)),
        ...Array.from({ length: 15 }, (_, i) => manifestPush('team-a/app', `v${i}`, 2000 + i)),
      ];
      expect((await postJson({ events: teamA })).statusCode).toBe(200);
      const teamB = Array.from({ length: 3 }, (_, i) =>
        manifestPush('team-b/app', 'latest', 3000 + i),
      );
      expect((await postJson({ events: teamB })).statusCode).toBe(200);
      expect(
        (await postJson({ events: [manifestPush('nobody/app', 'latest', 4000)] })).statusCode,
      ).toBe(200);
    });

    const teamA = () => encodeURIComponent('team-a');
    const teamAEvents = async (user: string, query = '') => {
      const res = await get(`/api/v1/projects/${teamA()}/registry_events${query}`, user);
      return res;
    };

    it('pages a project log with GitLab headers, newest first', async () => {
      const all = await ctx.database.db
        .selectFrom('registry_events')
        .select('id')
        .where('project_id', '=', projects['team-a']!)
        .orderBy('id', 'desc')
        .execute();
      const total = all.length;
      expect(total).toBeGreaterThanOrEqual(25);
      const seen: number[] = [];
      const pages = Math.ceil(total / 10);
      for (let page = 1; page <= pages; page++) {
        const res = await teamAEvents('dev-a', `?per_page=10&page=${page}`);
        expect(res.statusCode).toBe(200);
        expect(res.headers['x-total']).toBe(String(total));
        expect(res.headers['x-total-pages']).toBe(String(pages));
        expect(res.headers['x-page']).toBe(String(page));
        expect(res.headers['x-per-page']).toBe('10');
        expect(res.headers['x-next-page']).toBe(page < pages ? String(page + 1) : '');
        const rows = res.json<{ id: number; project_id: number }[]>();
        expect(rows.length).toBe(page < pages ? 10 : total - 10 * (pages - 1));
        for (const row of rows) expect(row.project_id).toBe(projects['team-a']);
        seen.push(...rows.map((r) => r.id));
      }
      expect(seen).toEqual(all.map((r) => r.id));
      const byPath = await get(
        `/api/v1/projects/${projects['team-a']}/registry_events?per_page=1`,
        'dev-a',
      );
      expect(byPath.json<{ id: number }[]>()[0]!.id).toBe(all[0]!.id);
    });

    it('a page past the end is empty and points back to the last page', async () => {
      const res = await teamAEvents('dev-a', '?per_page=10&page=99');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual([]);
      expect(res.headers['x-next-page']).toBe('');
      expect(res.headers['x-prev-page']).toBe(res.headers['x-total-pages']);
    });

    it.each([
      ['a project id beyond 32 bits', '/api/v1/projects/99999999999/registry_events', 404],
      ['a project path with a NUL', '/api/v1/projects/a%00b/registry_events', 400],
      ['a registry id beyond 32 bits', '/api/v1/registry/events?registry_id=99999999999', 400],
      ['more than 100 per page', '/api/v1/registry/events?per_page=101', 400],
    ])('answers %s with a 4xx', async (_what, url, status) => {
      expect((await get(url, 'admin')).statusCode).toBe(status);
    });

    it('filters by outcome and shows the reasons', async () => {
      const res = await teamAEvents('dev-a', '?outcome=refused&per_page=100');
      const rows = res.json<{ outcome: string; reason: string; tag: string }[]>();
      expect(rows.length).toBeGreaterThanOrEqual(15);
      for (const row of rows) expect(row.outcome).toBe('refused');
      expect(rows.find((r) => r.tag === 'v3')?.reason).toBe(
        'tag v3 is not a supported tag of project team-a (supported: latest)',
      );
      const queued = (await teamAEvents('dev-a', '?outcome=queued&per_page=100')).json<
        { scan_id: number | null }[]
      >();
      expect(queued.every((e) => typeof e.scan_id === 'number')).toBe(true);
    });

    it.each([
      ['per_page=101', 400],
      ['per_page=0', 400],
      ['page=0', 400],
      ['page=abc', 400],
      ['outcome=lost', 400],
    ])('rejects %s', async (query, status) => {
      expect((await teamAEvents('dev-a', `?${query}`)).statusCode).toBe(status);
    });

    it('is for developers of the project only', async () => {
      expect((await teamAEvents('dev-b')).statusCode).toBe(404);
      expect((await teamAEvents('reporter-a')).statusCode).toBe(403);
      expect((await teamAEvents('admin')).statusCode).toBe(200);
      expect((await get(`/api/v1/projects/99999/registry_events`, 'dev-a')).statusCode).toBe(404);
      const unauth = await app.inject({
        method: 'GET',
        url: `/api/v1/projects/${teamA()}/registry_events`,
      });
      expect(unauth.statusCode).toBe(401);
      // the registry secret is not a user token
      const withSecret = await app.inject({
        method: 'GET',
        url: `/api/v1/projects/${teamA()}/registry_events`,
        headers: { authorization: `Bearer ${SECRET}` },
      });
      expect(withSecret.statusCode).toBe(401);
    });

    it('names a project by its URL-encoded path', async () => {
      expect(
        (await postJson({ events: [manifestPush('nested/path/app', 'latest', 5000)] })).statusCode,
      ).toBe(200);
      const res = await get(
        `/api/v1/projects/${encodeURIComponent('nested/path')}/registry_events`,
        'admin',
      );
      expect(res.statusCode).toBe(200);
      expect(res.json<{ repository: string; outcome: string }[]>()).toMatchObject([
        { repository: 'nested/path/app', outcome: 'queued' },
      ]);
    });

    it('the instance log is for admins and includes events no project owns', async () => {
      expect((await get('/api/v1/registry/events', 'dev-a')).statusCode).toBe(403);
      const res = await get('/api/v1/registry/events?per_page=100', 'admin');
      expect(res.statusCode).toBe(200);
      const rows =
        res.json<{ repository: string | null; project_id: number | null; reason: string }[]>();
      expect(rows.find((r) => r.repository === 'nobody/app')).toMatchObject({
        project_id: null,
        reason: 'no project owns repository nobody/app',
      });
      expect(Number(res.headers['x-total'])).toBe(await eventCount());
    });

    it('is in the OpenAPI document', () => {
      const doc = app.swagger() as { paths: Record<string, Record<string, unknown>> };
      expect(Object.keys(doc.paths['/api/v1/registry/events'] ?? {}).sort()).toEqual([
        'get',
        'post',
      ]);
      expect(doc.paths['/api/v1/projects/{id}/registry_events']).toHaveProperty('get');
    });
  });
});
