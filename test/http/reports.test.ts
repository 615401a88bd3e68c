import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Advisory } from '../../src/advisories/osv.js';
import { buildApp } from '../../src/http/app.js';
import { inventoryImage } from '../../src/inventory/inventory-image.js';
import type { ImageInventory } from '../../src/inventory/types.js';
import { MemoryAdvisoryIndex } from '../../src/advisories/osv.js';
import { matchInventory } from '../../src/match/match.js';
import { toGitLab } from '../../src/report/gitlab.js';
import { toCycloneDX } from '../../src/sbom/cyclonedx.js';
import type { Role } from '../../src/store/schema.js';
import { zlibAdvisoryFor } from '../support/advisories.js';
import { testImages } from '../support/images.js';
import { BACKENDS } from '../support/postgres.js';
import { seedMember, seedProject, seedUser } from '../support/seed.js';
import { makeTestContext, type TestContext } from '../support/service-context.js';

/**
 * CI report uploads through the real app (app.inject) on both databases: a CycloneDX SBOM of a
 * real image (matched by the service) and GitLab container-scanning reports (taken as they are).
 */
let inventory: ImageInventory;
let zlibAdvisory: Advisory;
let sbom: Record<string, unknown>;
let gitlabReport: Record<string, unknown>;

/** A report as Trivy writes one for GitLab (schema 15.0.7), trimmed to what is read. */
const trivyReport = {
  version: '15.0.7',
  scan: {
    type: 'container_scanning',
    status: 'success',
    start_time: '2026-01-01T00:00:00',
    end_time: '2026-01-01T00:00:05',
    scanner: { id: 'trivy', name: 'Trivy', version: '0.58.0', vendor: { name: 'Aqua Security' } },
    analyzer: { id: 'trivy', name: 'Trivy', version: '0.58.0', vendor: { name: 'Aqua Security' } },
  },
  vulnerabilities: [
    {
      id: 'a1b2c3',
      name: 'openssl: a test vulnerability',
      description: 'A <b>test</b>\u0007 description.',
      severity: 'High',
      solution: 'Upgrade libssl3 to 3.0.15-1~deb12u2',
      location: {
        dependency: { package: { name: 'libssl3' }, version: '3.0.15-1~deb12u1' },
        operating_system: 'debian 12.8',
        image: 'registry.example.com:5000/group/app/api:1.4@sha256:' + 'c'.repeat(64),
      },
      identifiers: [
        {
          type: 'cve',
          name: 'CVE-2099-1111',
          value: 'CVE-2099-1111',
          url: 'https://nvd.nist.gov/vuln/detail/CVE-2099-1111',
        },
      ],
      cvss_vectors: [{ vendor: 'NVD', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
      links: [{ url: 'https://example.org/CVE-2099-1111' }, { url: 'javascript:alert(1)' }],
    },
    {
      id: 'd4e5f6',
      name: 'bash: another',
      severity: 'Info',
      solution: 'No solution provided',
      location: {
        dependency: { package: { name: 'bash' }, version: '5.2.15-2+b7' },
        operating_system: 'debian 12.8',
        image: 'registry.example.com:5000/group/app/api:1.4@sha256:' + 'c'.repeat(64),
      },
      identifiers: [{ type: 'cve', name: 'CVE-2099-2222', value: 'CVE-2099-2222' }],
    },
  ],
};

beforeAll(async () => {
  const images = await testImages();
  zlibAdvisory = await zlibAdvisoryFor(images);
  [inventory] = (await inventoryImage(`oci:${images.ociLayout}:base`)) as [ImageInventory];
  sbom = toCycloneDX([inventory]);
  // the CI side's own report of the same image, named as CI would push it
  const index = new MemoryAdvisoryIndex();
  index.add(zlibAdvisory);
  const named: ImageInventory = {
    ...inventory,
    image: { ...inventory.image, name: 'registry.example.com/group/app', tag: '2.0' },
  };
  gitlabReport = toGitLab([
    { image: named, findings: matchInventory(inventory.inventory, index).findings },
  ]) as unknown as Record<string, unknown>;
});

describe.each(BACKENDS)('POST /api/v1/projects/:id/reports on %s', (dialect) => {
  let ctx: TestContext;
  let app: FastifyInstance;
  const tokens: Partial<Record<Role | 'outsider', string>> = {};
  let projectId: number;

  beforeAll(async () => {
    ctx = await makeTestContext(dialect);
    ctx.advisories.add(zlibAdvisory);
    const db = ctx.database.db;
    projectId = (await seedProject(db, 'group/app', { now: ctx.now() })).id;
    for (const who of ['developer', 'reporter', 'outsider'] as const) {
      const { user, token } = await seedUser(db, who, { now: ctx.now() });
      if (who !== 'outsider') await seedMember(db, projectId, user.id, who);
      tokens[who] = token;
    }
    app = await buildApp(ctx);
  });
  afterAll(async () => {
    await app?.close();
    await ctx?.close();
  });

  const upload = (
    body: unknown,
    query = '',
    {
      token = tokens.developer,
      project = String(projectId),
      contentType = 'application/json',
    } = {},
  ) =>
    app.inject({
      method: 'POST',
      url: `/api/v1/projects/${project}/reports${query}`,
      headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });

  const vulnerabilities = (repository: string, tag: string) =>
    ctx.database.db
      .selectFrom('vulnerabilities')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('repository', '=', repository)
      .where('tag', '=', tag)
      .orderBy('package_name')
      .execute();

  it('a CycloneDX SBOM is matched and ingested as a CI scan', async () => {
    const res = await upload(sbom, '?repository=group/app&tag=ci', {
      contentType: 'application/vnd.cyclonedx+json',
    });
    expect(res.statusCode).toBe(201);
    const body = res.json<{
      scan_id: number;
      format: string;
      package_count: number;
      finding_count: number;
      vulnerabilities: Record<string, number>;
    }>();
    expect(body).toMatchObject({
      format: 'cyclonedx',
      report_type: 'container_scanning',
      repository: 'group/app',
      tag: 'ci',
      package_count: inventory.inventory.packages.length,
      finding_count: 1,
      vulnerabilities: { new: 1, existing: 0, no_longer_detected: 0, redetected: 0, stale: false },
    });
    const scan = await ctx.database.db
      .selectFrom('scans')
      .selectAll()
      .where('id', '=', body.scan_id)
      .executeTakeFirstOrThrow();
    expect(scan).toMatchObject({
      trigger: 'ci_upload',
      report_type: 'container_scanning',
      status: 'success',
      project_id: projectId,
    });
    expect(scan.user_id).not.toBeNull();
    const vulns = await vulnerabilities('group/app', 'ci');
    expect(vulns.map((v) => [v.package_name, v.advisory_id, v.report_type, v.state])).toEqual([
      ['zlib1g', 'DEBIAN-TEST-ZLIB', 'container_scanning', 'detected'],
    ]);
    const occurrences = await ctx.database.db
      .selectFrom('sbom_occurrences')
      .select('source_type')
      .where('scan_id', '=', body.scan_id)
      .execute();
    expect(occurrences).toHaveLength(inventory.inventory.packages.length);
    expect(occurrences.every((o) => o.source_type === 'container_scanning')).toBe(true);

    // the same upload again: found again, nothing new
    const again = await upload(sbom, '?repository=group/app&tag=ci');
    expect(again.statusCode).toBe(201);
    expect(again.json()).toMatchObject({
      vulnerabilities: { new: 0, existing: 1, no_longer_detected: 0 },
    });
  });

  it('the project may be named by its URL-encoded path; repository and tag default from the SBOM', async () => {
    const named = structuredClone(sbom) as {
      metadata: { component: { name: string; properties?: { name: string; value: string }[] } };
    };
    named.metadata.component.name = '127.0.0.1:5000/group/app';
    named.metadata.component.properties = [
      ...(named.metadata.component.properties ?? []).filter((p) => p.name !== 'regscan:image:tag'),
      { name: 'regscan:image:tag', value: '3.1' },
    ];
    const res = await upload(named, '', { project: encodeURIComponent('group/app') });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ repository: 'group/app', tag: '3.1' });
    expect(await vulnerabilities('group/app', '3.1')).toHaveLength(1);
  });

  it('a GitLab report written by regscan is ingested; the image names repository and tag', async () => {
    const res = await upload(gitlabReport);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      format: 'gitlab',
      repository: 'group/app',
      tag: '2.0',
      package_count: null,
      finding_count: 1,
      vulnerabilities: { new: 1 },
    });
    const [v] = await vulnerabilities('group/app', '2.0');
    expect(v).toMatchObject({
      package_name: 'zlib1g',
      advisory_id: 'CVE-2099-9001',
      report_type: 'container_scanning',
      package_type: 'deb',
      os: 'debian 12',
      title: 'zlib test advisory',
      has_fix: 1,
    });
    expect(JSON.parse(v!.identifiers)).toEqual(['CVE-2099-9001', 'DEBIAN-TEST-ZLIB']);
  });

  it('a GitLab report as Trivy writes it', async () => {
    const res = await upload(trivyReport);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      repository: 'group/app/api',
      tag: '1.4',
      digest: 'sha256:' + 'c'.repeat(64),
      vulnerabilities: { new: 2 },
    });
    const vulns = await vulnerabilities('group/app/api', '1.4');
    expect(
      vulns.map((v) => ({
        package: `${v.package_type}:${v.package_name}@${v.package_version}`,
        advisory: v.advisory_id,
        cve: v.cve,
        severity: v.severity,
        fixed: v.fixed_version,
        fix: v.fix_state,
        score: v.cvss_score,
        links: JSON.parse(v.links) as string[],
        description: v.description,
        os: v.os,
      })),
    ).toEqual([
      {
        package: 'deb:bash@5.2.15-2+b7',
        advisory: 'CVE-2099-2222',
        cve: 'CVE-2099-2222',
        severity: 'negligible',
        fixed: null,
        fix: 'unknown',
        score: null,
        links: [],
        description: null,
        os: 'debian 12.8',
      },
      {
        package: 'deb:libssl3@3.0.15-1~deb12u1',
        advisory: 'CVE-2099-1111',
        cve: 'CVE-2099-1111',
        severity: 'high',
        fixed: '3.0.15-1~deb12u2',
        fix: 'fixed',
        score: 9.8,
        links: ['https://example.org/CVE-2099-1111'],
        description: 'A <b>test</b> description.',
        os: 'debian 12.8',
      },
    ]);

    // a later report without the bash finding: it is no longer detected, libssl3 stays
    const fewer = structuredClone(trivyReport);
    fewer.vulnerabilities.pop();
    const res2 = await upload(fewer);
    expect(res2.json()).toMatchObject({
      vulnerabilities: { new: 0, existing: 1, no_longer_detected: 1 },
    });
    const after = await vulnerabilities('group/app/api', '1.4');
    expect(after.map((v) => [v.package_name, v.no_longer_detected])).toEqual([
      ['bash', 1],
      ['libssl3', 0],
    ]);
  });

  it('query parameters win over the report’s image', async () => {
    const res = await upload(trivyReport, '?repository=group/app/other&tag=main');
    expect(res.statusCode).toBe(201);
    expect(await vulnerabilities('group/app/other', 'main')).toHaveLength(2);
  });

  const malformed: [string, unknown, string, RegExp][] = [
    ['not JSON', '{"bomFormat": ', '', /JSON/i],
    ['a JSON array', [1, 2], '', /JSON object/],
    [
      'neither kind of report',
      { hello: 'world' },
      '',
      /neither a CycloneDX SBOM .* nor a GitLab container-scanning report/,
    ],
    [
      'a CycloneDX SBOM without image name or query parameters',
      { bomFormat: 'CycloneDX', specVersion: '1.6', components: [] },
      '',
      /repository and tag are needed/,
    ],
    [
      'a GitLab report of another schema version',
      { ...trivyReport, version: '2.4' },
      '',
      /unsupported GitLab report schema version "2\.4"/,
    ],
    [
      'a GitLab report of another scan type',
      { ...trivyReport, scan: { ...trivyReport.scan, type: 'sast' } },
      '',
      /only container_scanning/,
    ],
    [
      'vulnerabilities not an array',
      { version: '15.0.7', vulnerabilities: {} },
      '?repository=group/app&tag=x',
      /report\.vulnerabilities must be an array/,
    ],
    [
      'a vulnerability without package name',
      {
        version: '15.0.7',
        vulnerabilities: [{ identifiers: [{ value: 'CVE-1' }], location: { dependency: {} } }],
      },
      '?repository=group/app&tag=x',
      /report\.vulnerabilities\[0\]\.location\.dependency\.package\.name must be a non-empty string/,
    ],
    [
      'a vulnerability without identifiers',
      {
        version: '15.0.7',
        vulnerabilities: [
          {
            identifiers: [],
            location: { dependency: { package: { name: 'a' }, version: '1' } },
          },
        ],
      },
      '?repository=group/app&tag=x',
      /identifiers must not be empty/,
    ],
    [
      'an unknown severity',
      {
        version: '15.0.7',
        vulnerabilities: [
          {
            severity: 'Apocalyptic',
            identifiers: [{ value: 'CVE-1' }],
            location: { dependency: { package: { name: 'a' }, version: '1' } },
          },
        ],
      },
      '?repository=group/app&tag=x',
      /severity "Apocalyptic" is not one of/,
    ],
    [
      'a NUL character in a CycloneDX component name',
      {
        bomFormat: 'CycloneDX',
        specVersion: '1.6',
        components: [
          { type: 'library', name: 'lo\u0000dash', version: '1', purl: 'pkg:npm/lodash@1' },
        ],
      },
      '?repository=group/app&tag=x',
      /components\[0\]\.name contains a NUL character/,
    ],
    [
      'a NUL character in a CycloneDX component purl',
      {
        bomFormat: 'CycloneDX',
        specVersion: '1.6',
        components: [
          { type: 'library', name: 'lodash', version: '1', purl: 'pkg:npm/lo%00dash@4.17.15' },
        ],
      },
      '?repository=group/app&tag=x',
      /package name "lo\\u0000dash" contains a NUL character/,
    ],
    [
      'a NUL character in a GitLab report package name',
      {
        ...trivyReport,
        vulnerabilities: [
          {
            ...trivyReport.vulnerabilities[0]!,
            location: {
              ...trivyReport.vulnerabilities[0]!.location,
              dependency: { package: { name: 'lib\u0000ssl3' }, version: '3.0.15-1~deb12u1' },
            },
          },
        ],
      },
      '',
      /report\.vulnerabilities\[0\]\.location\.dependency\.package\.name contains a NUL character/,
    ],
    [
      'a NUL character in a GitLab report package version',
      {
        version: '15.0.7',
        vulnerabilities: [
          {
            identifiers: [{ value: 'CVE-1' }],
            location: { dependency: { package: { name: 'a' }, version: '1\u0000' } },
          },
        ],
      },
      '?repository=group/app&tag=x',
      /report\.vulnerabilities\[0\]\.location\.dependency\.version contains a NUL character/,
    ],
    ['an invalid repository', trivyReport, '?repository=Group/../App', /invalid repository/],
    ['an invalid tag', trivyReport, '?tag=-bad', /invalid tag/],
  ];

  it.each(malformed)('400 for %s', async (_name, body, query, reason) => {
    const before = await ctx.database.db
      .selectFrom('scans')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const res = await upload(body, query);
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: string }>().error).toMatch(reason);
    const after = await ctx.database.db
      .selectFrom('scans')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
  });

  it.each([
    ['no token', undefined, 'group%2Fapp', 401],
    ['a user who is no member', 'outsider', 'group%2Fapp', 404],
    ['a reporter', 'reporter', 'group%2Fapp', 403],
    ['a project that does not exist', 'developer', '9999', 404],
  ] as const)('%s → %s', async (_name, who, project, status) => {
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/projects/${project}/reports?repository=group/app&tag=x`,
      headers: {
        ...(who ? { authorization: `Bearer ${tokens[who]}` } : {}),
        'content-type': 'application/json',
      },
      payload: JSON.stringify(trivyReport),
    });
    expect(res.statusCode).toBe(status);
    expect(await vulnerabilities('group/app', 'x')).toEqual([]);
  });

  it('parallel uploads of the same image all succeed and leave one vulnerability per identity', async () => {
    const query = '?repository=group/app/parallel&tag=1';
    const results = await Promise.all([1, 2, 3, 4].map(() => upload(trivyReport, query)));
    expect(results.map((r) => r.statusCode)).toEqual([201, 201, 201, 201]);
    const vulns = await vulnerabilities('group/app/parallel', '1');
    expect(vulns.map((v) => [v.package_name, v.no_longer_detected])).toEqual([
      ['bash', 0],
      ['libssl3', 0],
    ]);
    // each upload is a successful scan; one of them created the vulnerabilities
    const scanIds = results.map((r) => r.json<{ scan_id: number }>().scan_id);
    const scans = await ctx.database.db
      .selectFrom('scans')
      .select(['id', 'status'])
      .where('id', 'in', scanIds)
      .execute();
    expect(scans.map((x) => x.status)).toEqual(['success', 'success', 'success', 'success']);
    expect(
      results.filter(
        (r) => r.json<{ vulnerabilities: { new: number } }>().vulnerabilities.new === 2,
      ),
    ).toHaveLength(1);
    // an upload that waited behind one with a higher scan id changed nothing, and says so
    for (const r of results) {
      const v = r.json<{ vulnerabilities: { new: number; existing: number; stale: boolean } }>()
        .vulnerabilities;
      if (v.stale) expect(v).toMatchObject({ new: 0, existing: 0 });
    }
  });

  it('takes bodies above the default 1 MiB limit', async () => {
    const big = structuredClone(trivyReport);
    (big.vulnerabilities[0] as { description: string }).description = 'x'.repeat(3 * 1024 * 1024);
    const res = await upload(big, '?repository=group/app/big&tag=1');
    expect(res.statusCode).toBe(201);
  });

  it('refuses bodies above 50 MiB with 413', async () => {
    const res = await upload(`{"version":"15.0.7","pad":"${'x'.repeat(51 * 1024 * 1024)}"}`);
    expect(res.statusCode).toBe(413);
  });
});
