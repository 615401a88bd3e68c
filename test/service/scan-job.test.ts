import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Advisory } from '../../src/advisories/osv.js';
import { ReferenceError } from '../../src/image/reference.js';
import {
  AddressNotAllowedError,
  RegistryError,
  type RegistryEvent,
} from '../../src/image/registry.js';
import { ImageError } from '../../src/image/types.js';
import type { TakenJob } from '../../src/queue/types.js';
import { PermanentJobError } from '../../src/queue/worker.js';
import { SCAN_QUEUE, type ScanJobPayload } from '../../src/service/context.js';
import {
  permanentFailure,
  scanJobHandler,
  type ScanJobOptions,
} from '../../src/service/scan-job.js';
import { queueScan } from '../../src/service/scans.js';
import type { ServiceConfig } from '../../src/service/config.js';
import type { Scan } from '../../src/store/schema.js';
import { zlibAdvisoryFor } from '../support/advisories.js';
import { testImages, type TestImages } from '../support/images.js';
import { sha256, writeOciLayout } from '../support/oci-layout.js';
import { BACKENDS } from '../support/postgres.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { makeTestContext, type TestContext } from '../support/service-context.js';
import { makeTar } from '../support/tar.js';

/**
 * The scan job against a real Distribution registry holding real test images, on both
 * databases; and against registries that fail (500, no answer, a connection dropped in the
 * middle of a layer: retried; a blob that is not what its digest says, an unknown manifest:
 * not retried) and hostile images (not retried); a project registry on a private network (not
 * reached at all, not retried) unless the instance allows private networks.
 *
 * The advisory is written for this test (see test/e2e/scan.test.ts for why): zlib, as installed
 * in the base image, fixed in `<installed>+1`, keyed by source package under `Debian:12`.
 */
let images: TestImages;
let registry: TestRegistry;
let authRegistry: TestRegistry;
let work: string;
let zlibAdvisory: Advisory;
const servers: Server[] = [];
let failing: { url: string; requests: () => number };
let silent: { url: string };
let tampered: { url: string; digest: string };
let dropping: { url: string; digest: string };
let traversalDigest: string;
let nulDigest: string;

/**
 * A tiny registry serving an OCI layout as is, tampered blobs included; with `dropBlobs`, the
 * connection is dropped halfway through every blob other than `keep` (the config).
 */
async function serveLayout(root: string, dropBlobs?: { keep: string }): Promise<string> {
  const server = createServer((req, res) => {
    void (async () => {
      const url = req.url ?? '';
      if (url === '/v2/' || url === '/v2') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      const m = /^\/v2\/.+\/(manifests|blobs)\/(sha256:[a-f0-9]{64})$/.exec(url);
      if (!m) {
        res.writeHead(404).end();
        return;
      }
      try {
        const bytes = await readFile(join(root, 'blobs', 'sha256', m[2]!.slice(7)));
        const type =
          m[1] === 'manifests'
            ? 'application/vnd.oci.image.manifest.v1+json'
            : 'application/octet-stream';
        res.writeHead(200, {
          'content-type': type,
          'content-length': bytes.length,
          'docker-content-digest': m[2]!,
        });
        if (dropBlobs && m[1] === 'blobs' && m[2] !== dropBlobs.keep) {
          res.write(bytes.subarray(0, bytes.length >> 1), () => res.socket?.destroy());
          return;
        }
        res.end(bytes);
      } catch {
        res.writeHead(404).end();
      }
    })();
  });
  return listen(server);
}

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  images = await testImages();
  zlibAdvisory = await zlibAdvisoryFor(images);

  registry = await startRegistry();
  await registry.push(`oci:${images.ociLayout}:base`, 'group/app:latest');
  authRegistry = await startRegistry({ auth: 'htpasswd' });
  await authRegistry.push(`oci:${images.ociLayout}:base`, 'group/app:latest');

  // hostile images: a layer entry escaping the root (pushed to the real registry, whose digests
  // are all right), and a blob whose bytes are not what its digest says (a real registry would
  // refuse it at push, so a tiny one serves it)
  work = await mkdtemp(join(tmpdir(), 'regscan-scan-job-'));
  const traversal = gzipSync(
    await makeTar([{ name: '../../etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n' }]),
  );
  const status = gzipSync(
    await makeTar([
      { name: 'etc/os-release', content: 'ID=debian\nVERSION_ID=12\n' },
      {
        name: 'var/lib/dpkg/status',
        content: 'Package: a\nStatus: install ok installed\nVersion: 1\n',
      },
    ]),
  );
  const flipped = Buffer.from(status);
  flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 0xff;
  await writeOciLayout(join(work, 'hostile'), [{ tag: 'traversal', layers: [traversal] }]);
  await writeOciLayout(join(work, 'tampered'), [
    { tag: 'mismatch', layers: [status], tamper: { 0: flipped } },
  ]);
  await registry.push(`oci:${join(work, 'hostile')}:traversal`, 'group/app:traversal');
  traversalDigest = await manifestDigestOf(join(work, 'hostile'));
  // a package name with a NUL character, which no PostgreSQL text column can hold
  const nulStatus = gzipSync(
    await makeTar([
      { name: 'etc/os-release', content: 'ID=debian\nVERSION_ID=12\n' },
      {
        name: 'var/lib/dpkg/status',
        content: 'Package: zlib\u0000evil\nStatus: install ok installed\nVersion: 1\n',
      },
    ]),
  );
  await writeOciLayout(join(work, 'nul'), [{ tag: 'nul', layers: [nulStatus] }]);
  await registry.push(`oci:${join(work, 'nul')}:nul`, 'group/app:nul');
  nulDigest = await manifestDigestOf(join(work, 'nul'));
  tampered = {
    url: await serveLayout(join(work, 'tampered')),
    digest: await manifestDigestOf(join(work, 'tampered')),
  };
  await writeOciLayout(join(work, 'dropping'), [{ tag: 'dropped', layers: [status] }]);
  const droppingDigest = await manifestDigestOf(join(work, 'dropping'));
  const droppingManifest = JSON.parse(
    await readFile(join(work, 'dropping', 'blobs', 'sha256', droppingDigest.slice(7)), 'utf8'),
  ) as { config: { digest: string } };
  dropping = {
    url: await serveLayout(join(work, 'dropping'), { keep: droppingManifest.config.digest }),
    digest: droppingDigest,
  };

  let count = 0;
  failing = {
    url: await listen(
      createServer((_req, res) => {
        count++;
        res.writeHead(500, { 'content-type': 'text/plain' }).end('internal trouble');
      }),
    ),
    requests: () => count,
  };
  // accepts connections, never answers
  silent = { url: await listen(createServer(() => {})) };
});

async function manifestDigestOf(layout: string): Promise<string> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string }[];
  };
  return index.manifests[0]!.digest;
}

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  await registry?.stop();
  await authRegistry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe.each(BACKENDS)('the scan job on %s', (dialect) => {
  let ctx: TestContext;
  let projectId: number;

  beforeAll(async () => {
    ctx = await makeTestContext(dialect);
    ctx.advisories.add(zlibAdvisory);
    const project = await ctx.database.db
      .insertInto('projects')
      .values({
        path: 'group/app',
        name: 'app',
        scanning_enabled: 1,
        supported_tags: '["latest"]',
        daily_limit: 50,
        created_at: ctx.now().toISOString(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    projectId = project.id;
  });
  afterAll(async () => {
    await ctx?.close();
  });

  /** An instance registry; with `project`, the project's own registry. */
  async function addRegistry(
    url: string,
    credentials?: { username: string; password: string },
    project?: number,
  ): Promise<number> {
    const row = await ctx.database.db
      .insertInto('registries')
      .values({
        project_id: project ?? null,
        name: `registry-${Math.random().toString(36).slice(2, 8)}`,
        url,
        username: credentials?.username ?? null,
        password: credentials?.password ?? null,
        secret_hash: 'x'.repeat(64),
        created_at: ctx.now().toISOString(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async function queue(
    registryId: number,
    digest: string,
    tag = 'latest',
    maxAttempts?: number,
  ): Promise<Scan> {
    const saved = ctx.config.queue.maxAttempts;
    if (maxAttempts !== undefined) ctx.config.queue.maxAttempts = maxAttempts;
    try {
      return await ctx.database.db.transaction().execute((trx) =>
        queueScan(ctx, trx, {
          projectId,
          registryId,
          repository: 'group/app',
          tag,
          digest,
          trigger: 'registry_push',
        }),
      );
    } finally {
      ctx.config.queue.maxAttempts = saved;
    }
  }

  /** Takes the next scan job (moving the clock past any retry backoff). */
  async function take(): Promise<TakenJob<ScanJobPayload>> {
    for (let i = 0; i < 20; i++) {
      const job = await ctx.queue.take<ScanJobPayload>(SCAN_QUEUE, 'test-worker', 60_000);
      if (job) return job;
      ctx.advanceClock(60_000);
    }
    throw new Error('no scan job to take');
  }

  /**
   * Runs the scan's job the way a worker does until it succeeds or fails for good; returns the
   * error of each failed attempt.
   */
  async function runJob(options: ScanJobOptions = {}): Promise<string[]> {
    const handler = scanJobHandler(ctx, options);
    const errors: string[] = [];
    for (;;) {
      const job = await take();
      try {
        await handler.run(job, new AbortController().signal);
        await ctx.queue.complete(job.id, 'test-worker');
        return errors;
      } catch (e) {
        const reason = (e as Error).message;
        errors.push(reason);
        // as the Worker does: a PermanentJobError is not retried
        const retry = !(e instanceof PermanentJobError);
        if ((await ctx.queue.fail(job.id, 'test-worker', reason, { retry })) === 'failed') {
          await handler.onFailed(job, reason);
          return errors;
        }
        const scan = await scanRow(job.payload.scanId);
        expect(scan.status).toBe('pending');
        expect(scan.error).toBe(reason);
      }
    }
  }

  const scanRow = (id: number) =>
    ctx.database.db.selectFrom('scans').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const logOf = async (id: number) =>
    (
      await ctx.database.db
        .selectFrom('scan_logs')
        .select(['level', 'message'])
        .where('scan_id', '=', id)
        .orderBy('id')
        .execute()
    ).map((l) => `${l.level}: ${l.message}`);

  const base = () => images.images.images.base;
  const metric = async (status: string) => {
    const m = await ctx.metrics.scans.get();
    return m.values.find((v) => v.labels.status === status)?.value ?? 0;
  };

  it('pulls, indexes, matches and stores a scan of a real image', async () => {
    const registryId = await addRegistry(`http://${registry.host}`);
    const scan = await queue(registryId, base().manifest);
    const successBefore = await metric('success');
    expect(await runJob()).toEqual([]);

    const done = await scanRow(scan.id);
    expect(done).toMatchObject({ status: 'success', error: null, attempts: 1, finding_count: 1 });
    expect(done.package_count).toBe(base().packages);
    expect(done.started_at).not.toBeNull();
    expect(done.finished_at! >= done.started_at!).toBe(true);

    const vulns = await ctx.database.db
      .selectFrom('vulnerabilities')
      .selectAll()
      .where('project_id', '=', projectId)
      .execute();
    expect(vulns.map((v) => [v.package_name, v.advisory_id, v.report_type, v.tag])).toEqual([
      ['zlib1g', 'DEBIAN-TEST-ZLIB', 'container_scanning_for_registry', 'latest'],
    ]);
    expect(vulns[0]).toMatchObject({
      repository: 'group/app',
      state: 'detected',
      cve: 'CVE-2099-9001',
      os: 'debian 12',
      digest: base().manifest,
      last_scan_id: scan.id,
      fix_state: 'fixed',
      has_fix: 1,
    });

    const sbom = await ctx.database.db
      .selectFrom('sboms')
      .selectAll()
      .where('scan_id', '=', scan.id)
      .executeTakeFirstOrThrow();
    expect(sbom.digest).toBe(base().manifest);
    const doc = JSON.parse(sbom.document) as {
      bomFormat: string;
      metadata: { properties: { name: string; value: string }[]; component: { name: string } };
    };
    expect(doc.bomFormat).toBe('CycloneDX');
    expect(doc.metadata.properties).toContainEqual({
      name: 'regscan:report_type',
      value: 'container_scanning_for_registry',
    });
    expect(doc.metadata.component.name).toBe(`${registry.host}/group/app`);

    const occurrences = await ctx.database.db
      .selectFrom('sbom_occurrences')
      .selectAll()
      .where('scan_id', '=', scan.id)
      .execute();
    expect(occurrences).toHaveLength(base().packages);
    expect(new Set(occurrences.map((o) => o.source_type))).toEqual(
      new Set(['container_scanning_for_registry']),
    );
    expect(occurrences.find((o) => o.component_name === 'zlib1g')).toMatchObject({
      repository: 'group/app',
      digest: base().manifest,
      package_type: 'deb',
      layer: base().layers[0]!.diffId,
      path: 'var/lib/dpkg/status',
    });

    const log = await logOf(scan.id);
    expect(log).toEqual([
      expect.stringMatching(
        new RegExp(
          `^info: pulling group/app:latest@${base().manifest} from registry registry-\\w+ \\(http://${registry.host.replace(/\./g, '\\.')}\\), attempt 1 of 3$`,
        ),
      ),
      `info: indexed ${base().packages} packages in 1 layers (0 from the layer cache)`,
      'info: matched: 1 findings',
      `info: stored SBOM: ${base().packages} components`,
      'info: ingested: 1 new, 0 existing, 0 detected again, 0 no longer detected',
    ]);
    expect(await metric('success')).toBe(successBefore + 1);
  });

  it('a second scan of the same image reuses the layer cache', async () => {
    const cached = await ctx.database.db
      .selectFrom('layer_cache')
      .select(['layer_digest', 'key'])
      .execute();
    const layer = base().layers[0]!.digest;
    expect(cached.filter((c) => c.layer_digest === layer).length).toBeGreaterThan(1);

    const registryId = await addRegistry(`http://${registry.host}`);
    const scan = await queue(registryId, base().manifest);
    const requests: string[] = [];
    const onRegistryEvent = (e: RegistryEvent) => {
      if (e.type === 'request') requests.push(e.url);
    };
    expect(await runJob({ onRegistryEvent })).toEqual([]);
    expect((await scanRow(scan.id)).status).toBe('success');
    // the manifest and config were fetched, the layer blob was not
    expect(requests.some((u) => u.includes(`/manifests/${base().manifest}`))).toBe(true);
    expect(requests.some((u) => u.includes(`/blobs/${base().config}`))).toBe(true);
    expect(requests.filter((u) => u.includes(layer))).toEqual([]);
    const log = await logOf(scan.id);
    expect(log).toContain(
      `info: indexed ${base().packages} packages in 1 layers (1 from the layer cache)`,
    );
    expect(log).toContain(
      'info: ingested: 0 new, 1 existing, 0 detected again, 0 no longer detected',
    );
  });

  it('pulls with the registry’s credentials', async () => {
    const registryId = await addRegistry(`http://${authRegistry.host}`, authRegistry.credentials);
    const scan = await queue(registryId, base().manifest, 'auth');
    expect(await runJob()).toEqual([]);
    expect((await scanRow(scan.id)).status).toBe('success');
  });

  it('without credentials the pull is refused, not retried, even when the host has some', async () => {
    // the service host's own Docker config holds credentials for this very registry: a registry
    // anyone registers must not be pulled with them
    const dockerConfig = join(work, `docker-${dialect}`);
    await mkdir(dockerConfig, { recursive: true });
    const { username, password } = authRegistry.credentials!;
    await writeFile(
      join(dockerConfig, 'config.json'),
      JSON.stringify({
        auths: {
          [authRegistry.host]: { auth: Buffer.from(`${username}:${password}`).toString('base64') },
        },
      }),
    );
    const saved = process.env.DOCKER_CONFIG;
    process.env.DOCKER_CONFIG = dockerConfig;
    try {
      const registryId = await addRegistry(`http://${authRegistry.host}`);
      const scan = await queue(registryId, base().manifest, 'noauth');
      const errors = await runJob();
      expect(errors).toHaveLength(1);
      const failed = await scanRow(scan.id);
      expect(failed).toMatchObject({ status: 'failed', attempts: 1 });
      expect(failed.error).toMatch(/401|unauthori[sz]ed|authentication/i);
      expect(failed.error).toContain('no credentials were given');
      const log = await logOf(scan.id);
      expect(log.at(-2)).toMatch(/\(not retried: the registry refused access\)$/);
    } finally {
      if (saved === undefined) delete process.env.DOCKER_CONFIG;
      else process.env.DOCKER_CONFIG = saved;
    }
  });

  type FailCase = [
    name: string,
    registryUrl: () => string,
    digest: () => string,
    reason: RegExp,
    retried: string | undefined,
    config?: Partial<ServiceConfig['scan']>,
  ];
  // retried: undefined when every attempt is made, else why the first failure is final
  const failCases: FailCase[] = [
    [
      'a registry answering 500',
      () => failing.url,
      () => base().manifest,
      /internal trouble \(HTTP 500 from 127\.0\.0\.1:/,
      undefined,
    ],
    [
      'a registry that never answers',
      () => silent.url,
      () => base().manifest,
      /timeout|timed out/i,
      undefined,
      { registryTimeoutMs: 300 },
    ],
    [
      'a connection dropped in the middle of a layer',
      () => dropping.url,
      () => dropping.digest,
      /layer sha256:[0-9a-f]{64}: layer could not be read: /,
      undefined,
    ],
    [
      'a blob that is not what its digest says',
      () => tampered.url,
      () => tampered.digest,
      /digest mismatch for blob sha256:/,
      'the image is broken or hostile',
    ],
    [
      'a layer entry escaping the image root',
      () => `http://${registry.host}`,
      () => traversalDigest,
      /escapes the image root \(path traversal\)/,
      'the image is broken or hostile',
    ],
    [
      'a package name with a NUL character',
      () => `http://${registry.host}`,
      () => nulDigest,
      /package name "zlib\\u0000evil" contains a NUL character: the image is broken or hostile/,
      'the image is broken or hostile',
    ],
    [
      'a manifest the registry does not have',
      () => `http://${registry.host}`,
      () => sha256(Buffer.from('nothing')),
      /MANIFEST_UNKNOWN|manifest unknown|404/i,
      'the registry does not have the image',
    ],
  ];

  it.each(failCases)(
    '%s: the scan fails with the reason, after every attempt or at once',
    async (_name, url, digest, reason, notRetried, scanConfig) => {
      const saved = { ...ctx.config.scan };
      Object.assign(ctx.config.scan, scanConfig ?? {});
      try {
        const registryId = await addRegistry(url());
        const scan = await queue(registryId, digest(), 'broken');
        const failedBefore = await metric('failed');
        const errors = await runJob();
        const attempts = notRetried === undefined ? 3 : 1;
        expect(errors).toHaveLength(attempts);
        for (const e of errors) expect(e).toMatch(reason);
        const failed = await scanRow(scan.id);
        expect(failed).toMatchObject({ status: 'failed', attempts });
        expect(failed.error).toMatch(reason);
        expect(failed.finished_at).not.toBeNull();
        const log = await logOf(scan.id);
        const failedAttempts = log.filter((l) => l.startsWith('error: attempt'));
        expect(failedAttempts).toHaveLength(attempts);
        if (notRetried === undefined) {
          expect(failedAttempts.slice(0, -1).every((l) => l.endsWith(' (will retry)'))).toBe(true);
          expect(failedAttempts.at(-1)).not.toMatch(/will retry|not retried/);
        } else {
          expect(failedAttempts[0]).toMatch(
            new RegExp(`^error: attempt 1 of 3 failed: .* \\(not retried: ${notRetried}\\)$`),
          );
        }
        expect(log.at(-1)).toMatch(new RegExp(`^error: scan failed after ${attempts} attempts?: `));
        expect(await metric('failed')).toBe(failedBefore + 1);
        // nothing stored for a failed scan
        const sboms = await ctx.database.db
          .selectFrom('sboms')
          .select('scan_id')
          .where('scan_id', '=', scan.id)
          .execute();
        expect(sboms).toEqual([]);
      } finally {
        Object.assign(ctx.config.scan, saved);
      }
    },
  );

  it('a project registry on a private network is not reached, and the scan fails at once, unless allowed', async () => {
    expect(ctx.config.scan.allowPrivateNetworks).toBe(false);
    // the very registry the instance registries above pull from, as the project's own
    const registryId = await addRegistry(`http://${registry.host}`, undefined, projectId);
    const scan = await queue(registryId, base().manifest, 'private');
    const events: RegistryEvent[] = [];
    const errors = await runJob({ onRegistryEvent: (e) => events.push(e) });
    expect(events.filter((e) => e.type === 'request')).toEqual([]);
    expect(errors).toHaveLength(1);
    const failed = await scanRow(scan.id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 1 });
    expect(failed.error).toBe(
      `registry address 127.0.0.1 (of host ${registry.host}) is not allowed: a project registry ` +
        'may only be reached on a public network unless the instance setting ' +
        'scan.allowPrivateNetworks (REGSCAN_ALLOW_PRIVATE_NETWORKS) is on',
    );
    const log = await logOf(scan.id);
    expect(log.at(-2)).toMatch(
      /^error: attempt 1 of 3 failed: .* \(not retried: the registry address is not allowed\)$/,
    );
    expect(log.at(-1)).toMatch(/^error: scan failed after 1 attempt: registry address 127/);

    // the instance allows private networks: the same registry is pulled from
    ctx.config.scan.allowPrivateNetworks = true;
    try {
      const allowed = await queue(registryId, base().manifest, 'private-allowed');
      expect(await runJob()).toEqual([]);
      expect((await scanRow(allowed.id)).status).toBe('success');
    } finally {
      ctx.config.scan.allowPrivateNetworks = false;
    }
  });

  it('the failing registry was really asked, once per attempt (no client retries configured)', () => {
    // /v2/ ping or manifest request per attempt, on both backends' runs so far
    expect(failing.requests()).toBeGreaterThanOrEqual(3);
  });

  it('a job for a finished scan does nothing', async () => {
    const registryId = await addRegistry(failing.url);
    const scan = await queue(registryId, base().manifest, 'done');
    await ctx.database.db
      .updateTable('scans')
      .set({ status: 'success' })
      .where('id', '=', scan.id)
      .execute();
    const before = failing.requests();
    expect(await runJob()).toEqual([]);
    expect(failing.requests()).toBe(before);
  });
});

describe('which scan failures are retried', () => {
  const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
  const unknown = [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }];
  const cases: [name: string, error: unknown, notRetried: string | undefined][] = [
    ['404', new RegistryError('m: not found', 404), 'the registry does not have the image'],
    [
      'MANIFEST_UNKNOWN',
      new RegistryError('m', 404, unknown),
      'the registry does not have the image',
    ],
    [
      'NAME_UNKNOWN on a 400',
      new RegistryError('m', 400, [{ code: 'NAME_UNKNOWN', message: '' }]),
      'the registry does not have the image',
    ],
    ['401', new RegistryError('m: unauthorized', 401), 'the registry refused access'],
    [
      '403 DENIED',
      new RegistryError('m', 403, [{ code: 'DENIED', message: '' }]),
      'the registry refused access',
    ],
    [
      'no answer',
      new RegistryError('m: connect ECONNREFUSED (gave up after 4 attempts)'),
      undefined,
    ],
    ['429', new RegistryError('m: too many requests', 429), undefined],
    ['500', new RegistryError('m: server error', 500), undefined],
    ['503 with an error code', new RegistryError('m', 503, unknown), undefined],
    [
      'a digest mismatch',
      new ImageError('digest mismatch for blob'),
      'the image is broken or hostile',
    ],
    [
      'path traversal in a layer',
      new ImageError('layer sha256:x: layer entry "../a" escapes the image root (path traversal)'),
      'the image is broken or hostile',
    ],
    [
      'a corrupt gzip stream',
      new ImageError('layer sha256:x: layer could not be read: incorrect header check', {
        cause: new ImageError('layer could not be read: incorrect header check', {
          cause: withCode('incorrect header check', 'Z_DATA_ERROR'),
        }),
      }),
      'the image is broken or hostile',
    ],
    [
      'a connection dropped in the middle of a layer',
      new ImageError('layer sha256:x: layer could not be read: other side closed', {
        cause: new ImageError('layer could not be read: other side closed', {
          cause: withCode('other side closed', 'UND_ERR_SOCKET'),
        }),
      }),
      undefined,
    ],
    [
      'a registry error under a layer error',
      new ImageError('layer sha256:x: …', { cause: new RegistryError('blob: server error', 502) }),
      undefined,
    ],
    [
      'an invalid reference',
      new ReferenceError('invalid repository name'),
      'the image reference is invalid',
    ],
    [
      'an address the registry client may not connect to',
      new AddressNotAllowedError('10.0.0.5', 'registry.internal'),
      'the registry address is not allowed',
    ],
    [
      'a refused address behind a layer error (a redirect to blob storage)',
      new ImageError('layer sha256:x: …', {
        cause: new AddressNotAllowedError('169.254.169.254', '169.254.169.254'),
      }),
      'the registry address is not allowed',
    ],
    ['a database error', new Error('Connection terminated unexpectedly'), undefined],
    ['an abort', new Error('aborted: the worker stopped'), undefined],
    ['not an Error', 'boom', undefined],
  ];
  it.each(cases)('%s', (_name, error, notRetried) => {
    expect(permanentFailure(error)).toBe(notRetried);
  });
});
