/**
 * Images and scans through the real app on both databases: the images of a project (tags, digest,
 * last scan, open vulnerabilities by severity), the scan list with its filters and pages, one
 * scan with the event that caused it, its log, a manual rescan (a pending scan and its job), and
 * the SBOM of a scan as CycloneDX (as stored) and as SPDX 2.3.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/http/app.js';
import { SCAN_QUEUE } from '../../src/service/context.js';
import type { ImageRepository } from '../../src/service/images.js';
import type { Project, Registry, Scan } from '../../src/store/schema.js';
import { BACKENDS } from '../support/postgres.js';
import {
  fakeDigest,
  type SeededUser,
  seedProject,
  seedRegistry,
  seedSbom,
  seedScan,
  seedScanLog,
  seedTeam,
  seedVulnerability,
} from '../support/seed.js';
import { makeTestContext, type TestContext } from '../support/service-context.js';

interface ImagesBody {
  images: ImageRepository[];
}
interface ScanBody {
  id: number;
}
type ScansBody = ScanBody[];
interface ErrorBody {
  error: string;
}
interface LogBody {
  lines: { at: string; level: string; message: string }[];
}

const at = (n: number) => new Date(Date.UTC(2025, 0, 2, 0, n)).toISOString();
const NONE = { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 };

describe.each(BACKENDS)('images and scans API on %s', (dialect) => {
  let ctx: TestContext;
  let app: App;
  let dev: SeededUser;
  let reporter: SeededUser;
  let outsider: SeededUser;
  let readOnly: SeededUser;
  let project: Project;
  let other: Project;
  let rescans: Project;
  let registry: Registry;
  /** group/app:latest: an older success (digest a), then the latest, failed (digest b). */
  let latestOk: Scan;
  let latestFailed: Scan;
  let apiScan: Scan;
  let ciScan: Scan;
  let otherScan: Scan;
  let pendingScan: Scan;

  beforeAll(async () => {
    ctx = await makeTestContext(dialect);
    app = await buildApp(ctx);
    const db = ctx.database.db;
    project = await seedProject(db, 'group/app');
    rescans = await seedProject(db, 'group/rescans');
    ({ dev, reporter, readOnly, outsider, other } = await seedTeam(db, [project, rescans]));
    registry = await seedRegistry(db, 'local');

    latestOk = await seedScan(db, project.id, {
      registry_id: registry.id,
      digest: fakeDigest('a'),
      created_at: at(1),
      started_at: at(1),
      finished_at: at(2),
      package_count: 120,
      finding_count: 7,
    });
    latestFailed = await seedScan(db, project.id, {
      registry_id: registry.id,
      digest: fakeDigest('b'),
      status: 'failed',
      error: 'registry answered 500 three times',
      attempts: 3,
      created_at: at(3),
    });
    apiScan = await seedScan(db, project.id, {
      repository: 'group/app/api',
      tag: '1.0',
      digest: fakeDigest('c'),
      trigger: 'manual',
      user_id: dev.user.id,
      created_at: at(4),
    });
    ciScan = await seedScan(db, project.id, {
      repository: 'group/app',
      tag: 'ci',
      digest: fakeDigest('e'),
      trigger: 'ci_upload',
      report_type: 'container_scanning',
      created_at: at(5),
    });
    pendingScan = await seedScan(db, project.id, {
      status: 'pending',
      digest: fakeDigest('f'),
      created_at: at(6),
    });
    otherScan = await seedScan(db, other.id, { repository: 'other/app', created_at: at(7) });

    const vuln = (over: Parameters<typeof seedVulnerability>[2]) =>
      seedVulnerability(db, project.id, over);
    // group/app:latest: counted are the open ones only (detected or confirmed, still detected)
    await vuln({ severity: 'critical' });
    await vuln({ severity: 'critical', state: 'confirmed' });
    await vuln({ severity: 'high', state: 'dismissed', dismissal_reason: 'false_positive' });
    await vuln({ severity: 'medium' });
    await vuln({ severity: 'low', no_longer_detected: 1 });
    await vuln({ severity: 'low', state: 'resolved' });
    await vuln({ severity: 'bogus-severity' });
    // the CI tab: not an image of the registry
    await vuln({ severity: 'critical', report_type: 'container_scanning', tag: 'ci' });
    // a tag with vulnerabilities but no scan on record
    await vuln({ severity: 'high', tag: '0.9', digest: fakeDigest('9') });
    await vuln({ severity: 'negligible', repository: 'group/app/api', tag: '1.0' });
    // another project's
    await seedVulnerability(db, other.id, { severity: 'critical', repository: 'group/app' });

    await db
      .insertInto('registry_events')
      .values({
        registry_id: registry.id,
        received_at: at(1),
        format: 'distribution',
        external_id: 'evt-1',
        action: 'push',
        media_type: 'application/vnd.oci.image.manifest.v1+json',
        repository: 'group/app',
        tag: 'latest',
        digest: fakeDigest('a'),
        outcome: 'queued',
        reason: 'scan queued',
        project_id: project.id,
        scan_id: latestOk.id,
      })
      .execute();
    await seedScanLog(db, latestOk.id, [
      { message: 'pulling group/app:latest', at: at(1) },
      { level: 'warn', message: 'a layer had an unreadable file', at: at(1) },
      { message: 'matched: 7 findings', at: at(2) },
    ]);
    await seedSbom(db, latestOk);
  });

  afterAll(async () => {
    await app?.close();
    await ctx?.close();
  });

  const get = (url: string, user: SeededUser = dev) =>
    app.inject({ method: 'GET', url, headers: user.headers });

  describe('images', () => {
    it('lists repositories, tags, digests, last scans and open vulnerabilities by severity', async () => {
      const res = await get(`/api/v1/projects/${project.id}/images`);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({
        images: [
          {
            repository: 'group/app',
            tags: [
              {
                tag: '0.9',
                digest: fakeDigest('9'),
                last_scan: null,
                counts: { ...NONE, high: 1 },
              },
              {
                tag: 'latest',
                digest: fakeDigest('f'),
                last_scan: {
                  id: pendingScan.id,
                  status: 'pending',
                  trigger: 'registry_push',
                  digest: fakeDigest('f'),
                  created_at: at(6),
                  finished_at: null,
                  error: null,
                },
                counts: { ...NONE, critical: 2, medium: 1, unknown: 1 },
              },
            ],
          },
          {
            repository: 'group/app/api',
            tags: [
              {
                tag: '1.0',
                digest: fakeDigest('c'),
                last_scan: {
                  id: apiScan.id,
                  status: 'success',
                  trigger: 'manual',
                  digest: fakeDigest('c'),
                  created_at: at(4),
                  finished_at: at(4),
                  error: null,
                },
                counts: { ...NONE, negligible: 1 },
              },
            ],
          },
        ],
      });
    });

    it('shows the images CI uploaded reports for on the other tab', async () => {
      const res = await get(`/api/v1/projects/${project.id}/images?report_type=container_scanning`);
      expect(res.json<ImagesBody>().images).toEqual([
        {
          repository: 'group/app',
          tags: [
            {
              tag: 'ci',
              digest: fakeDigest('e'),
              last_scan: {
                id: ciScan.id,
                status: 'success',
                trigger: 'ci_upload',
                digest: fakeDigest('e'),
                created_at: at(5),
                finished_at: at(5),
                error: null,
              },
              counts: { ...NONE, critical: 1 },
            },
          ],
        },
      ]);
    });

    it.each([
      ['a reporter', () => reporter, 403],
      ['a member of another project', () => outsider, 404],
    ])('refuses %s', async (_who, user, status) => {
      expect((await get(`/api/v1/projects/${project.id}/images`, user())).statusCode).toBe(status);
    });

    it('answers an empty list for a project without images', async () => {
      const res = await get(`/api/v1/projects/${other.id}/images`, outsider);
      expect(res.json<ImagesBody>().images).toEqual([
        expect.objectContaining({ repository: 'group/app' }),
        expect.objectContaining({ repository: 'other/app' }),
      ]);
      const empty = await get(`/api/v1/projects/${rescans.id}/images`);
      expect(empty.json()).toEqual({ images: [] });
    });
  });

  describe('scan list', () => {
    const list = (query = '') => get(`/api/v1/projects/${project.id}/scans?${query}`);
    const ids = (res: { json<T>(): T }) => res.json<ScansBody>().map((s) => s.id);

    it.each([
      ['', () => 5],
      ['status=failed', () => 1],
      ['status=failed,pending', () => 2],
      ['status=success&status=failed', () => 4],
      ['trigger=manual', () => 1],
      ['trigger=ci_upload', () => 1],
      ['repository=group/app/api', () => 1],
      ['repository=group/app&tag=latest', () => 3],
      ['repository=other/app', () => 0],
    ])('?%s', async (query, count) => {
      const res = await list(query);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json<ScansBody>()).toHaveLength(count());
      expect(res.headers['x-total']).toBe(String(count()));
    });

    it('lists newest first, in pages', async () => {
      const all = ids(await list());
      expect(all).toEqual([...all].sort((a, b) => b - a));
      expect(all).not.toContain(otherScan.id);
      const page2 = await list('per_page=2&page=2');
      expect(ids(page2)).toEqual(all.slice(2, 4));
      expect(page2.headers).toMatchObject({
        'x-total': '5',
        'x-total-pages': '3',
        'x-page': '2',
        'x-per-page': '2',
        'x-next-page': '3',
        'x-prev-page': '1',
      });
    });

    it('shows the registry and the user', async () => {
      const scans = (await list()).json<ScansBody>();
      expect(scans.find((s) => s.id === latestOk.id)).toMatchObject({
        registry: { id: registry.id, name: 'local' },
        user: null,
        status: 'success',
        duration_ms: 60_000,
      });
      expect(scans.find((s) => s.id === apiScan.id)).toMatchObject({
        registry: null,
        user: 'dev',
        trigger: 'manual',
      });
    });

    it.each(['status=done', 'trigger=cron', 'per_page=500', 'repository=a%00', 'tag=%00'])(
      'refuses ?%s',
      async (query) => {
        expect((await list(query)).statusCode).toBe(400);
      },
    );

    it('needs the developer role', async () => {
      expect((await get(`/api/v1/projects/${project.id}/scans`, reporter)).statusCode).toBe(403);
      expect((await get(`/api/v1/projects/${project.id}/scans`, outsider)).statusCode).toBe(404);
    });
  });

  describe('one scan', () => {
    it('has its status, timings, counts and the event that caused it', async () => {
      const res = await get(`/api/v1/scans/${latestOk.id}`);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({
        id: latestOk.id,
        project_id: project.id,
        repository: 'group/app',
        tag: 'latest',
        digest: fakeDigest('a'),
        trigger: 'registry_push',
        report_type: 'container_scanning_for_registry',
        status: 'success',
        error: null,
        created_at: at(1),
        started_at: at(1),
        finished_at: at(2),
        duration_ms: 60_000,
        attempts: 1,
        package_count: 120,
        finding_count: 7,
        registry: { id: registry.id, name: 'local' },
        event: {
          external_id: 'evt-1',
          action: 'push',
          outcome: 'queued',
          reason: 'scan queued',
          received_at: at(1),
        },
        has_sbom: true,
      });
    });

    it('shows why a scan failed', async () => {
      const res = await get(`/api/v1/scans/${latestFailed.id}`);
      expect(res.json()).toMatchObject({
        status: 'failed',
        error: 'registry answered 500 three times',
        attempts: 3,
        event: null,
        has_sbom: false,
      });
    });

    it('has its log', async () => {
      const res = await get(`/api/v1/scans/${latestOk.id}/log`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        scan_id: latestOk.id,
        status: 'success',
        lines: [
          { at: at(1), level: 'info', message: 'pulling group/app:latest' },
          { at: at(1), level: 'warn', message: 'a layer had an unreadable file' },
          { at: at(2), level: 'info', message: 'matched: 7 findings' },
        ],
      });
    });

    it.each(['', '/log', '/sbom', '/sbom?format=spdx'])(
      'answers 404 for %s of a scan of another project, or of no scan',
      async (suffix) => {
        for (const id of [otherScan.id, 999_999]) {
          const res = await get(`/api/v1/scans/${id}${suffix}`);
          expect(res.statusCode).toBe(404);
          expect(res.json<ErrorBody>().error).toBe('scan not found');
        }
        expect((await get(`/api/v1/scans/${latestOk.id}${suffix}`, reporter)).statusCode).toBe(403);
      },
    );

    it.each(['x', '0', '99999999999'])('answers 400 for the scan id %s', async (id) => {
      expect((await get(`/api/v1/scans/${id}`)).statusCode).toBe(400);
    });
  });

  describe('SBOM', () => {
    it('is the stored CycloneDX document, as is', async () => {
      const stored = await ctx.database.db
        .selectFrom('sboms')
        .select('document')
        .where('scan_id', '=', latestOk.id)
        .executeTakeFirstOrThrow();
      for (const query of ['', '?format=cyclonedx']) {
        const res = await get(`/api/v1/scans/${latestOk.id}/sbom${query}`);
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toMatch(/^application\/vnd\.cyclonedx\+json/);
        expect(res.headers['content-disposition']).toBe(
          `attachment; filename="group-app-latest-scan-${latestOk.id}.cdx.json"`,
        );
        expect(res.body).toBe(stored.document);
        const doc = res.json<Record<string, unknown>>();
        expect(doc).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.6' });
        expect(JSON.stringify(doc)).toContain('pkg:npm/lodash@4.17.20');
      }
    });

    it('converts to SPDX 2.3', async () => {
      const res = await get(`/api/v1/scans/${latestOk.id}/sbom?format=spdx`);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/spdx\+json/);
      const doc = res.json<{
        spdxVersion: string;
        dataLicense: string;
        packages: {
          name: string;
          versionInfo?: string;
          externalRefs?: { referenceLocator: string }[];
        }[];
      }>();
      expect(doc.spdxVersion).toBe('SPDX-2.3');
      expect(doc.dataLicense).toBe('CC0-1.0');
      const byName = new Map(doc.packages.map((p) => [p.name, p]));
      expect(byName.get('openssl')?.versionInfo).toBe('3.0.15-1~deb12u1');
      expect(byName.get('zlib1g')?.versionInfo).toBe('1:1.2.13.dfsg-1');
      expect(
        byName
          .get('lodash')
          ?.externalRefs?.some((r) => r.referenceLocator === 'pkg:npm/lodash@4.17.20'),
      ).toBe(true);
    });

    it('answers 404 when the scan has no SBOM, 400 for an unknown format', async () => {
      const missing = await get(`/api/v1/scans/${latestFailed.id}/sbom`);
      expect(missing.statusCode).toBe(404);
      expect(missing.json<ErrorBody>().error).toBe('this scan has no SBOM');
      expect((await get(`/api/v1/scans/${latestOk.id}/sbom?format=xml`)).statusCode).toBe(400);
    });
  });

  describe('manual rescan', () => {
    const rescan = (body: unknown, user: SeededUser = dev, id: number | string = rescans.id) =>
      app.inject({
        method: 'POST',
        url: `/api/v1/projects/${id}/scans`,
        headers: user.headers,
        payload: body as object,
      });
    const pendingScans = () =>
      ctx.database.db
        .selectFrom('scans')
        .selectAll()
        .where('project_id', '=', rescans.id)
        .where('status', '=', 'pending')
        .execute();

    it('queues a scan of the digest of the latest successful scan, from the same registry', async () => {
      const db = ctx.database.db;
      const second = await seedRegistry(db, 'second', { url: 'http://127.0.0.1:5001' });
      await seedScan(db, rescans.id, {
        repository: 'group/rescans',
        registry_id: registry.id,
        digest: fakeDigest('1'),
        created_at: at(1),
      });
      await seedScan(db, rescans.id, {
        repository: 'group/rescans',
        registry_id: second.id,
        digest: fakeDigest('2'),
        created_at: at(2),
      });
      // a later failed scan of another digest does not count
      await seedScan(db, rescans.id, {
        repository: 'group/rescans',
        registry_id: registry.id,
        digest: fakeDigest('3'),
        status: 'failed',
        created_at: at(3),
      });
      const depth = await ctx.queue.depth(SCAN_QUEUE);
      const wakes = ctx.wakes;

      const res = await rescan({ repository: 'group/rescans', tag: 'latest' });
      expect(res.statusCode, res.body).toBe(201);
      const scan = res.json<ScanBody>();
      expect(scan).toMatchObject({
        project_id: rescans.id,
        repository: 'group/rescans',
        tag: 'latest',
        digest: fakeDigest('2'),
        trigger: 'manual',
        report_type: 'container_scanning_for_registry',
        status: 'pending',
        registry: { id: second.id, name: 'second' },
        user: 'dev',
        attempts: 0,
      });
      expect((await ctx.queue.depth(SCAN_QUEUE)).queued).toBe(depth.queued + 1);
      expect(ctx.wakes).toBe(wakes + 1);
      const job = await db
        .selectFrom('jobs')
        .select('payload')
        .where('queue', '=', SCAN_QUEUE)
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow();
      expect(JSON.parse(job.payload)).toEqual({ scanId: scan.id });
      const log = await get(`/api/v1/scans/${scan.id}/log`);
      expect(log.json<LogBody>().lines[0]!.message).toMatch(/manual rescan .* requested by dev/);

      // the same digest is pending: a second request is refused and queues nothing
      const again = await rescan({ repository: 'group/rescans', tag: 'latest' });
      expect(again.statusCode).toBe(409);
      expect(await pendingScans()).toHaveLength(1);
      expect((await ctx.queue.depth(SCAN_QUEUE)).queued).toBe(depth.queued + 1);
    });

    it('queues one scan when rescans of the same image are asked at the same moment', async () => {
      const db = ctx.database.db;
      const repository = 'group/rescans/race';
      await seedScan(db, rescans.id, { repository, registry_id: registry.id });
      const active = () =>
        db
          .selectFrom('scans')
          .select('id')
          .where('project_id', '=', rescans.id)
          .where('repository', '=', repository)
          .where('status', 'in', ['created', 'pending', 'running'])
          .execute();
      for (let run = 0; run < 5; run++) {
        const results = await Promise.all(
          Array.from({ length: 4 }, () => rescan({ repository, tag: 'latest' })),
        );
        const statuses = results.map((r) => r.statusCode).sort();
        expect(statuses, `run ${run}`).toEqual([201, 409, 409, 409]);
        expect(await active(), `run ${run}`).toHaveLength(1);
        // that scan finishes: the next round may queue one again
        await db
          .updateTable('scans')
          .set({ status: 'failed' })
          .where('project_id', '=', rescans.id)
          .where('repository', '=', repository)
          .where('status', '=', 'pending')
          .execute();
      }
    });

    it.each([
      ['an image never scanned', { repository: 'group/rescans', tag: 'nope' }, 404],
      [
        'an image only scanned unsuccessfully',
        { repository: 'group/rescans/failed', tag: 'latest' },
        404,
      ],
      [
        'an image uploaded from CI (no registry)',
        { repository: 'group/rescans/ci', tag: 'latest' },
        404,
      ],
      ['a body without a tag', { repository: 'group/rescans' }, 400],
      ['a repository with a NUL', { repository: 'group/a\u0000', tag: 'latest' }, 400],
      [
        'a body with extra fields',
        { repository: 'group/rescans', tag: 'latest', digest: 'x' },
        400,
      ],
    ])('refuses %s', async (_what, body, status) => {
      const db = ctx.database.db;
      await seedScan(db, rescans.id, {
        repository: 'group/rescans/failed',
        registry_id: registry.id,
        status: 'failed',
      });
      await seedScan(db, rescans.id, {
        repository: 'group/rescans/ci',
        registry_id: null,
        trigger: 'ci_upload',
        report_type: 'container_scanning',
      });
      const before = (await ctx.queue.depth(SCAN_QUEUE)).queued;
      const res = await rescan(body);
      expect(res.statusCode, res.body).toBe(status);
      expect((await ctx.queue.depth(SCAN_QUEUE)).queued).toBe(before);
    });

    it('needs a developer with a token that may write, in that project', async () => {
      const body = { repository: 'group/app', tag: 'latest' };
      expect((await rescan(body, reporter, project.id)).statusCode).toBe(403);
      expect((await rescan(body, readOnly, project.id)).statusCode).toBe(403);
      expect((await rescan(body, outsider, project.id)).statusCode).toBe(404);
      // the scan of another project is not a scan of this one
      expect((await rescan({ repository: 'other/app', tag: 'latest' }, dev)).statusCode).toBe(404);
    });
  });

  it('documents the endpoints in the OpenAPI document', async () => {
    await app.ready();
    const doc = app.swagger() as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/projects/{id}/images',
        '/api/v1/projects/{id}/scans',
        '/api/v1/scans/{sid}',
        '/api/v1/scans/{sid}/log',
        '/api/v1/scans/{sid}/sbom',
      ]),
    );
    expect(doc.paths['/api/v1/projects/{id}/scans']).toHaveProperty('post');
  });
});
