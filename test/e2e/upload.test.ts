import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Advisory } from '../../src/advisories/osv.js';
import type { JsonReport } from '../../src/report/json.js';
import { startService, type RunningService } from '../../src/service/service.js';
import { runCli } from '../support/cli.js';
import { parseDpkgTruth, testImages, type TestImages } from '../support/images.js';

/**
 * CI uploads end to end, on the embedded default (SQLite): the real service on a free port, a
 * project made through the API, and the real CLI scanning a real image and sending its SBOM with
 * `--upload`; the findings appear in the project's Vulnerability Report as `container_scanning`.
 * Then the admin endpoint syncs an OSV directory into the service's advisory store.
 *
 * The advisory matching the image is written for this test (as in scan.test.ts): an OSV record
 * for Debian 12's `openssl` source package, fixed just after the installed version.
 */
const ADMIN_TOKEN = 'rsp_upload-e2e-admin-0123456789abcdef';
const OSV_GO = fileURLToPath(new URL('../fixtures/advisories/osv/go', import.meta.url));

let images: TestImages;
let work: string;
let advisoryDb: string;
let service: RunningService;
/** A loopback port nothing listens on. */
let closedPort: number;

async function api<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(service.url + path, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}

beforeAll(async () => {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  closedPort = (probe.address() as AddressInfo).port;
  probe.close();
  images = await testImages();
  const truth = parseDpkgTruth(await readFile(join(images.truthDir, 'base-jq.dpkg.tsv'), 'utf8'));
  const openssl = truth.find((p) => p.source.name === 'openssl')!.source.version;
  work = await mkdtemp(join(tmpdir(), 'regscan-upload-'));
  const osv = join(work, 'osv');
  await mkdir(osv);
  const advisory: Advisory = {
    schema_version: '1.6.0',
    id: 'DEBIAN-TEST-UPLOAD-1',
    modified: '2026-11-01T00:00:00Z',
    summary: 'openssl test advisory for uploads',
    aliases: ['CVE-2099-7001'],
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
    affected: [
      {
        package: { ecosystem: 'Debian:12', name: 'openssl' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: `${openssl}+1` }] }],
      },
    ],
  };
  await writeFile(join(osv, `${advisory.id}.json`), JSON.stringify(advisory));
  advisoryDb = join(work, 'data', 'advisories.db');
  const update = await runCli(['db', 'update', '-q', '--source', osv, '--db', advisoryDb]);
  expect(update.stderr).toBe('');
  expect(update.code).toBe(0);

  service = await startService(
    {
      dataDir: join(work, 'data'),
      host: '127.0.0.1',
      port: 0,
      adminToken: ADMIN_TOKEN,
      advisoryDb,
      workers: 1,
      queue: { leaseMs: 60_000, maxAttempts: 3, backoffMs: 200, pollMs: 200 },
      scan: { platform: 'linux/amd64', registryTimeoutMs: 10_000, registryRetries: 1 },
      registries: [],
    },
    { quiet: true },
  );
  const created = await api('POST', '/api/v1/projects', { path: 'group/app', name: 'app' });
  expect(created.status).toBe(201);
});

afterAll(async () => {
  await service?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const image = () => `oci:${images.ociLayout}:base-jq`;

function scanArgs(...extra: string[]): string[] {
  return ['scan', '-q', '--no-cache', '--db', advisoryDb, '--format', 'json', image(), ...extra];
}

interface ApiVulnerability {
  advisory_id: string;
  report_type: string;
  package: { name: string };
  image: { repository: string; tag: string; digest: string | null };
  severity: string;
  state: string;
}

async function vulnerabilities(query: string): Promise<ApiVulnerability[]> {
  const r = await api<{ vulnerabilities: ApiVulnerability[] }>(
    'GET',
    `/api/v1/projects/${encodeURIComponent('group/app')}/vulnerabilities?per_page=100&${query}`,
  );
  expect(r.status).toBe(200);
  return r.body.vulnerabilities;
}

describe('regscan scan --upload', () => {
  it('sends the SBOM; the findings appear as container_scanning vulnerabilities', async () => {
    const r = await runCli(
      scanArgs('--upload', service.url, '--project', 'group/app', '--token', ADMIN_TOKEN),
    );
    expect(r.code).toBe(0);
    // the local report is printed as without --upload
    const report = JSON.parse(r.stdout) as JsonReport;
    const local = report.images[0]!.findings.map((f) => `${f.package.name} ${f.advisoryId}`).sort();
    expect(local).toEqual(['libssl3 DEBIAN-TEST-UPLOAD-1', 'openssl DEBIAN-TEST-UPLOAD-1']);
    expect(r.stderr).toMatch(
      new RegExp(
        `^regscan: uploaded group/app:base-jq to ${service.url} project group/app: scan \\d+, 2 vulnerabilities \\(2 new, 0 existing, 0 no longer detected\\), report type container_scanning\\n$`,
      ),
    );

    const found = await vulnerabilities('report_type=container_scanning');
    expect(
      found
        .map((v) => `${v.package.name} ${v.advisory_id} ${v.report_type} ${v.severity} ${v.state}`)
        .sort(),
    ).toEqual([
      'libssl3 DEBIAN-TEST-UPLOAD-1 container_scanning critical detected',
      'openssl DEBIAN-TEST-UPLOAD-1 container_scanning critical detected',
    ]);
    for (const v of found) {
      expect(v.image).toEqual({
        repository: 'group/app',
        tag: 'base-jq',
        digest: report.images[0]!.image.manifestDigest,
      });
    }
    expect(await vulnerabilities('report_type=container_scanning_for_registry')).toEqual([]);
  });

  it('takes the token from REGSCAN_TOKEN and the name from --repository and --tag', async () => {
    const r = await runCli(
      scanArgs(
        '--upload',
        `${service.url}/`,
        '--project',
        'group/app',
        '--repository',
        'group/app/ci',
        '--tag',
        'v1',
      ),
      { REGSCAN_TOKEN: ADMIN_TOKEN },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('regscan: uploaded group/app/ci:v1 to');
    const found = await vulnerabilities('report_type=container_scanning&image=group/app/ci');
    expect(
      found.map((v) => `${v.image.repository}:${v.image.tag} ${v.package.name}`).sort(),
    ).toEqual(['group/app/ci:v1 libssl3', 'group/app/ci:v1 openssl']);
  });

  it('the same upload again finds the same vulnerabilities, not new ones', async () => {
    const r = await runCli(
      scanArgs('--upload', service.url, '--project', 'group/app', '--token', ADMIN_TOKEN),
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('2 vulnerabilities (0 new, 2 existing, 0 no longer detected)');
  });

  // [what, extra arguments, exit code, stderr]
  const refusals: [string, string[], number, RegExp][] = [
    [
      'a wrong token',
      ['--upload', 'URL', '--project', 'group/app', '--token', 'rsp_wrong-token-0123456789'],
      2,
      /^regscan: upload failed: the server answered 401: invalid, expired or revoked token\n$/,
    ],
    [
      'a project that does not exist',
      ['--upload', 'URL', '--project', 'group/other', '--token', ADMIN_TOKEN],
      2,
      /^regscan: upload failed: the server answered 404: project not found\n$/,
    ],
    [
      'a server that is not there',
      ['--upload', 'CLOSED', '--project', 'group/app', '--token', ADMIN_TOKEN],
      2,
      /^regscan: upload failed: cannot reach http:\/\/127\.0\.0\.1:\d+: fetch failed \(ECONNREFUSED\)\n$/,
    ],
    [
      'no project',
      ['--upload', 'URL', '--token', ADMIN_TOKEN],
      1,
      /^regscan: --upload needs --project PATH\n$/,
    ],
    [
      'no token',
      ['--upload', 'URL', '--project', 'group/app'],
      1,
      /^regscan: --upload needs --token TOKEN or REGSCAN_TOKEN\n$/,
    ],
    [
      'not a URL',
      ['--upload', 'ftp://x', '--project', 'group/app', '--token', ADMIN_TOKEN],
      1,
      /option '--upload <url>' argument 'ftp:\/\/x' is invalid\. expected an http:\/\/ or https:\/\/ URL/,
    ],
  ];

  it.each(refusals)('%s', async (_what, extra, code, stderr) => {
    const args = extra.map((a) =>
      a === 'URL' ? service.url : a === 'CLOSED' ? `http://127.0.0.1:${closedPort}` : a,
    );
    const r = await runCli(scanArgs(...args), { REGSCAN_TOKEN: '' });
    expect(r.stderr).toMatch(stderr);
    expect(r.code).toBe(code);
  });
});

describe('the admin advisory endpoints of the running service', () => {
  it('syncs an OSV directory into the store and reports the counts', async () => {
    const files = (await readdir(OSV_GO)).filter((f) => f.endsWith('.json'));
    const before = await api<{ advisories: number }>('GET', '/api/v1/admin/advisories');
    expect(before.status).toBe(200);
    expect(before.body.advisories).toBe(1);

    const sync = await api<{
      ok: boolean;
      file: string;
      results: { source: string; kind: string; mode: string; added: number; invalid: number }[];
      failures: unknown[];
    }>('POST', '/api/v1/admin/advisories/sync', { sources: [OSV_GO] });
    expect(sync.status).toBe(200);
    expect(sync.body).toMatchObject({ ok: true, file: advisoryDb, failures: [] });
    expect(sync.body.results).toEqual([
      expect.objectContaining({
        source: OSV_GO,
        kind: 'osv-directory',
        mode: 'full',
        added: files.length,
        invalid: 0,
      }),
    ]);

    const status = await api<{
      advisories: number;
      ecosystems: { ecosystem: string; advisories: number }[];
      sources: { name: string; records: number; last_sync?: string }[];
      syncing: boolean;
    }>('GET', '/api/v1/admin/advisories');
    expect(status.body.advisories).toBe(files.length + 1);
    expect(status.body.syncing).toBe(false);
    expect(status.body.ecosystems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ecosystem: 'Go', advisories: files.length }),
        expect.objectContaining({ ecosystem: 'Debian:12', advisories: 1 }),
      ]),
    );
    const source = status.body.sources.find((s) => s.name === OSV_GO);
    expect(source).toMatchObject({ records: files.length });
    expect(source?.last_sync).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});
