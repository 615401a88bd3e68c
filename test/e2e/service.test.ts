import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Advisory } from '../../src/advisories/osv.js';
import { parseDpkgTruth, testImages, type TestImages } from '../support/images.js';
import { BACKENDS } from '../support/postgres.js';
import { eventually, startTestService, type TestService } from '../support/service.js';

/**
 * Scan on push, end to end: a real Distribution registry notifies a real regscan service (on
 * SQLite and on PostgreSQL); images built from real Debian packages are pushed with skopeo.
 * Every notification is delivered twice (a relay duplicates it, as a registry's retries do),
 * so every step also checks that one push makes one scan.
 *
 * The advisories are written for the test in OSV form (no real Debian 12 set is available here):
 * one for `jq` (in base-jq and base-zstd, not in base) and one for `less` (in base only; base-jq
 * purged it), each affecting every version so far.
 */
let images: TestImages;

const advisory = (id: string, source: string): Advisory => ({
  schema_version: '1.6.0',
  id,
  modified: '2026-11-01T00:00:00Z',
  summary: `${source}: test advisory`,
  details: 'Written for the end-to-end test. <script>alert(1)</script> stays text.',
  aliases: [`CVE-2099-${id.slice(-4)}`],
  affected: [
    {
      package: { ecosystem: 'Debian:12', name: source },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
    },
  ],
  severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
});
const ADVISORIES = [advisory('DEBIAN-E2E-0001', 'jq'), advisory('DEBIAN-E2E-0002', 'less')];

beforeAll(async () => {
  images = await testImages();
  // the truth files confirm the premise: jq only in base-jq, less only in base
  const base = parseDpkgTruth(await readFile(join(images.truthDir, 'base.dpkg.tsv'), 'utf8'));
  const jq = parseDpkgTruth(await readFile(join(images.truthDir, 'base-jq.dpkg.tsv'), 'utf8'));
  expect(base.some((p) => p.name === 'less') && !base.some((p) => p.name === 'jq')).toBe(true);
  expect(jq.some((p) => p.name === 'jq') && !jq.some((p) => p.name === 'less')).toBe(true);
});

const oci = (tag: string) => `oci:${images.ociLayout}:${tag}`;

interface Vuln {
  id: number;
  state: string;
  severity: string;
  report_type: string;
  advisory_id: string;
  no_longer_detected: boolean;
  package: { name: string };
  image: { repository: string; tag: string; digest: string };
}

describe.each(BACKENDS)('scan on push on %s', (dialect) => {
  let t: TestService;
  let project: { id: number; path: string };

  beforeAll(async () => {
    t = await startTestService({ dialect, advisories: ADVISORIES, duplicate: true });
    const created = await t.api.post('/api/v1/projects', {
      path: 'group/app',
      scanning_enabled: true,
      supported_tags: ['latest'],
    });
    expect(created.status).toBe(201);
    project = created.body as { id: number; path: string };
    const off = await t.api.post('/api/v1/projects', {
      path: 'other/off',
      scanning_enabled: false,
    });
    expect(off.status).toBe(201);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const pid = () => encodeURIComponent(project.path);
  const vulns = async (query = ''): Promise<Vuln[]> =>
    (
      await t.api.ok<{ vulnerabilities: Vuln[] }>(
        `/api/v1/projects/${pid()}/vulnerabilities?per_page=100${query}`,
      )
    ).vulnerabilities;
  const scans = async (): Promise<{ id: number; status: string; digest: string; tag: string }[]> =>
    t.api.ok<{ id: number; status: string; digest: string; tag: string }[]>(
      `/api/v1/projects/${pid()}/scans?per_page=100`,
    );
  const events = async (): Promise<
    { outcome: string; reason: string; tag: string; repository: string; scan_id: number | null }[]
  > => t.api.ok(`/api/v1/projects/${pid()}/registry_events?per_page=100`);

  /** Pushes, then waits until a scan of the pushed digest has finished. */
  async function pushAndScan(tag: string, dest: string) {
    const before = (await scans()).length;
    await t.registry.push(oci(tag), dest);
    return eventually(async () => {
      const list = await scans();
      const done = list.filter((s) => s.status === 'success' || s.status === 'failed');
      return list.length > before && done.length === list.length ? list : undefined;
    }, `the scan of ${dest}`);
  }

  it('push latest → one scan → container_scanning_for_registry vulnerabilities and the SBOM', async () => {
    const list = await pushAndScan('base-jq', 'group/app:latest');
    expect(list).toHaveLength(1); // delivered twice, scanned once
    expect(list[0]!.status).toBe('success');
    const found = await vulns();
    expect(found.map((v) => `${v.package.name} ${v.advisory_id}`).sort()).toEqual([
      'jq DEBIAN-E2E-0001',
      'libjq1 DEBIAN-E2E-0001',
    ]);
    for (const v of found) {
      expect(v.report_type).toBe('container_scanning_for_registry');
      expect(v.state).toBe('detected');
      expect(v.severity).toBe('critical');
      expect(v.image).toMatchObject({ repository: 'group/app', tag: 'latest' });
      expect(v.image.digest).toBe(images.images.images['base-jq'].manifest);
    }
    const sbom = await t.api.ok<{
      metadata: { properties: { name: string; value: string }[] };
      components: unknown[];
    }>(`/api/v1/scans/${list[0]!.id}/sbom`);
    expect(sbom.metadata.properties).toContainEqual({
      name: 'regscan:report_type',
      value: 'container_scanning_for_registry',
    });
    expect(sbom.components.length).toBeGreaterThan(100);
    const log = await events();
    const queued = log.filter((e) => e.outcome === 'queued');
    expect(queued).toHaveLength(1);
    expect(log.filter((e) => e.outcome === 'refused' && /duplicate/.test(e.reason))).toHaveLength(
      1,
    );
  });

  it('a dismissed vulnerability stays dismissed when a new image has the same package', async () => {
    const jq = (await vulns()).find((v) => v.package.name === 'jq')!;
    const patched = await t.api.patch(`/api/v1/vulnerabilities/${jq.id}`, {
      state: 'dismissed',
      dismissal_reason: 'acceptable_risk',
      comment: 'jq is only used at build time',
    });
    expect(patched.status).toBe(200);
    // base-zstd: the same packages in zstd layers, so a new digest
    await pushAndScan('base-zstd', 'group/app:latest');
    const again = (await vulns()).find((v) => v.package.name === 'jq')!;
    expect(again.id).toBe(jq.id);
    expect(again.state).toBe('dismissed');
    expect(again.no_longer_detected).toBe(false);
    expect(again.image.digest).toBe(images.images.images['base-zstd'].manifest);
  });

  it('an image without the package flags its vulnerabilities no longer detected, state kept', async () => {
    await pushAndScan('base', 'group/app:latest');
    const all = await vulns();
    const jq = all.find((v) => v.package.name === 'jq')!;
    expect(jq.no_longer_detected).toBe(true);
    expect(jq.state).toBe('dismissed');
    expect(all.find((v) => v.package.name === 'less')).toMatchObject({
      state: 'detected',
      no_longer_detected: false,
    });
    const still = await vulns('&detected=still');
    expect(still.map((v) => v.package.name)).toEqual(['less']);
  });

  it('refuses an unsupported tag and a project with scanning off, with the reason in the log', async () => {
    await t.registry.push(oci('base'), 'group/app:v1');
    const refused = await eventually(async () => {
      // the manifest push: pulls and blob pushes of the same push are logged as ignored
      return (await events()).find((x) => x.tag === 'v1' && x.outcome !== 'ignored');
    }, 'the event of group/app:v1');
    expect(refused.outcome).toBe('refused');
    expect(refused.reason).toMatch(/tag/);
    await t.registry.push(oci('base'), 'other/off:latest');
    const all = await eventually(async () => {
      const r = await t.api.ok<{ repository: string; outcome: string; reason: string }[]>(
        '/api/v1/registry/events?per_page=100',
      );
      return r.some((e) => e.repository === 'other/off' && e.outcome !== 'ignored') ? r : undefined;
    }, 'the event of other/off');
    const off = all.find((e) => e.repository === 'other/off' && e.outcome !== 'ignored')!;
    expect(off.outcome).toBe('refused');
    expect(off.reason).toMatch(/disabled/);
    expect((await scans()).every((s) => s.tag === 'latest')).toBe(true);
  });

  it('refuses the scan over the daily limit', async () => {
    const limited = await t.api.post('/api/v1/projects', {
      path: 'group/limited',
      scanning_enabled: true,
      supported_tags: ['*'],
      daily_limit: 50,
    });
    expect(limited.status).toBe(201);
    for (let i = 1; i <= 51; i++) await t.registry.push(oci('distroless'), `group/limited:t${i}`);
    const log = await eventually(async () => {
      const r = await t.api.all<{ outcome: string; reason: string; tag: string }>(
        `/api/v1/projects/${encodeURIComponent('group/limited')}/registry_events`,
      );
      const tags = new Set(r.map((e) => e.tag));
      return tags.size === 51 ? r : undefined;
    }, '51 events');
    const queued = log.filter((e) => e.outcome === 'queued');
    const overLimit = log.filter(
      (e) => e.outcome === 'refused' && /^daily limit reached/.test(e.reason),
    );
    expect(queued).toHaveLength(50);
    expect(overLimit.length).toBeGreaterThanOrEqual(1);
    expect(new Set(overLimit.map((e) => e.tag)).size).toBe(1);
  });
});

describe.each(BACKENDS)('a registry that fails, on %s', (dialect) => {
  let t: TestService;
  let broken: Server;
  let hits = 0;
  beforeAll(async () => {
    t = await startTestService({
      dialect,
      config: {
        queue: { leaseMs: 60_000, maxAttempts: 3, backoffMs: 100, pollMs: 100 },
        scan: { platform: 'linux/amd64', registryTimeoutMs: 1_000, registryRetries: 0 },
      },
    });
    // a "registry" that answers 500 to /v2/…/manifests and hangs on /hang/…
    broken = createServer((req, res) => {
      hits++;
      if (req.url?.includes('/hang/')) return; // never answers
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":[]}');
    });
    broken.listen(0, '127.0.0.1');
    await new Promise((r) => broken.once('listening', r));
    const port = (broken.address() as AddressInfo).port;
    expect(
      (
        await t.api.post('/api/v1/registries', {
          name: 'broken',
          url: `http://127.0.0.1:${port}`,
          secret: 'broken-secret-0123456789',
        })
      ).status,
    ).toBe(201);
    expect(
      (await t.api.post('/api/v1/projects', { path: 'group', scanning_enabled: true })).status,
    ).toBe(201);
  });
  afterAll(async () => {
    broken?.closeAllConnections();
    broken?.close();
    await t?.stop();
  });

  const notify = (repository: string) =>
    fetch(`${t.service.url}/api/v1/registry/events`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer broken-secret-0123456789',
        'content-type': 'application/vnd.docker.distribution.events.v1+json',
      },
      body: JSON.stringify({
        events: [
          {
            id: `evt-${repository}`,
            timestamp: new Date().toISOString(),
            action: 'push',
            target: {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: `sha256:${'a'.repeat(64)}`,
              repository,
              tag: 'latest',
              url: 'http://169.254.169.254/latest/meta-data/', // never fetched
            },
          },
        ],
      }),
    });

  it.each([
    ['a 500', 'group/fails', /500/],
    ['a timeout', 'group/hang/app', /time/i],
  ])(
    '%s: retried, then the scan fails with the reason; the service keeps serving',
    async (_, repo, reason) => {
      const before = hits;
      expect((await notify(repo)).status).toBe(200);
      const scan = await eventually(async () => {
        const list = await t.api.ok<{ id: number; status: string; repository: string }[]>(
          `/api/v1/projects/group/scans?per_page=100`,
        );
        const s = list.find((x) => x.repository === repo);
        return s?.status === 'failed' ? s : undefined;
      }, `the failed scan of ${repo}`);
      const detail = await t.api.ok<{ error: string; attempts: number }>(
        `/api/v1/scans/${scan.id}`,
      );
      expect(detail.attempts).toBe(3);
      expect(detail.error).toMatch(reason);
      expect(hits - before).toBeGreaterThanOrEqual(3);
      expect((await fetch(`${t.service.url}/healthz`)).status).toBe(200);
    },
  );
});
