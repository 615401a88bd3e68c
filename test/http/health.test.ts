/**
 * Health, readiness, metrics and the OpenAPI document through the real app on both databases:
 * /healthz and /readyz answer without a token (and /readyz says 503 once the database is gone),
 * /metrics needs an admin token and has the service's metrics, and /api/v1/openapi.json is public
 * and lists every path of the API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/http/app.js';
import { BACKENDS } from '../support/postgres.js';
import { seedUser, type SeededUser } from '../support/seed.js';
import { makeTestContext, type TestContext } from '../support/service-context.js';

interface OpenApiDocument {
  openapi: string;
  info: { title: string };
  paths: Record<string, Record<string, { security?: unknown[] }>>;
}

describe.each(BACKENDS)('health, metrics and OpenAPI on %s', (dialect) => {
  let ctx: TestContext;
  let app: App;
  let admin: SeededUser;
  let user: SeededUser;
  let readOnlyAdmin: SeededUser;

  beforeAll(async () => {
    ctx = await makeTestContext(dialect);
    app = await buildApp(ctx);
    const db = ctx.database.db;
    admin = await seedUser(db, 'admin', { isAdmin: true });
    readOnlyAdmin = await seedUser(db, 'scraper', { isAdmin: true, readOnly: true });
    user = await seedUser(db, 'user');
  });
  afterAll(async () => {
    await app?.close();
    await ctx?.close();
  });

  it.each(['/healthz', '/readyz'])('%s answers 200 without a token', async (url) => {
    const res = await app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(200);
    expect(res.json<{ status: string }>().status).toBe(url === '/healthz' ? 'ok' : 'ready');
  });

  it('/readyz says which database it checked', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.json()).toEqual({ status: 'ready', database: dialect });
  });

  it.each([
    ['no token', undefined, 401],
    ['an invalid token', 'Bearer rsp_not-a-token', 401],
    ['a user token', 'user', 403],
  ] as const)('/metrics refuses %s', async (_what, auth, status) => {
    const authorization = auth === 'user' ? user.headers.authorization : auth;
    const res = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: authorization ? { authorization } : {},
    });
    expect(res.statusCode).toBe(status);
    expect(res.body).not.toContain('regscan_');
  });

  it('/metrics gives an admin the Prometheus text with the service metrics', async () => {
    ctx.metrics.events.inc({ outcome: 'queued' });
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: admin.headers });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    for (const name of [
      'regscan_registry_events_total',
      'regscan_scans_total',
      'regscan_scan_duration_seconds',
      'regscan_queue_jobs',
    ]) {
      expect(res.body).toContain(`# TYPE ${name}`);
    }
    expect(res.body).toMatch(/^regscan_registry_events_total\{outcome="queued"\} [1-9]/m);
  });

  it('/metrics takes the token as Prometheus sends it, read-only too', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${readOnlyAdmin.token}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('regscan_registry_events_total');
  });

  it('/api/v1/openapi.json is public and lists the paths of the whole API', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json<OpenApiDocument>();
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info.title).toBe('regscan');
    const paths = Object.keys(doc.paths);
    for (const path of [
      '/healthz',
      '/readyz',
      '/metrics',
      '/api/v1/user',
      '/api/v1/users',
      '/api/v1/user/personal_access_tokens',
      '/api/v1/user/personal_access_tokens/{token_id}',
      '/api/v1/users/{id}/personal_access_tokens',
      '/api/v1/projects',
      '/api/v1/projects/{id}',
      '/api/v1/projects/{id}/settings',
      '/api/v1/projects/{id}/members',
      '/api/v1/projects/{id}/members/{user_id}',
      '/api/v1/registries',
      '/api/v1/registries/{id}',
      '/api/v1/projects/{id}/registries',
      '/api/v1/projects/{id}/registries/{registry_id}',
      '/api/v1/registry/events',
      '/api/v1/projects/{id}/vulnerabilities',
      '/api/v1/vulnerabilities/{vid}',
      '/api/v1/projects/{id}/scans',
      '/api/v1/scans/{sid}',
    ]) {
      expect(paths).toContain(path);
    }
    // request schemas are in the document: the project creation body names its fields
    const create = doc.paths['/api/v1/projects']?.post as unknown as {
      requestBody: { content: Record<string, { schema: { properties: Record<string, unknown> } }> };
    };
    const body = Object.values(create.requestBody.content)[0]?.schema;
    expect(Object.keys(body?.properties ?? {})).toEqual(
      expect.arrayContaining(['path', 'scanning_enabled', 'supported_tags', 'daily_limit']),
    );
    // public endpoints say they need no token
    expect(doc.paths['/healthz']?.get?.security).toEqual([]);
  });

  it('/readyz answers 503 when the database is gone (and /healthz still 200)', async () => {
    const own = await makeTestContext(dialect);
    const ownApp = await buildApp(own);
    try {
      await own.close();
      const ready = await ownApp.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json<{ status: string }>().status).toBe('unavailable');
      const live = await ownApp.inject({ method: 'GET', url: '/healthz' });
      expect(live.statusCode).toBe(200);
    } finally {
      await ownApp.close();
    }
  });
});
