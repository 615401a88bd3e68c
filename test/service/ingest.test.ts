import type { KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/match/types.js';
import {
  ingestScan,
  itemsFromFindings,
  type IngestCounts,
  type IngestItem,
} from '../../src/service/ingest.js';
import type {
  DismissalReason,
  ReportType,
  Scan,
  VulnerabilityState,
} from '../../src/store/schema.js';
import { recordScanResult } from '../../src/service/scan-results.js';
import { BACKENDS } from '../support/postgres.js';
import { seedProject, seedScan } from '../support/seed.js';
import { makeTestContext, type TestContext } from '../support/service-context.js';

/**
 * The vulnerability lifecycle of ingestion, on both databases: each case runs a sequence of
 * scans (finding the vulnerability or not) and user changes, then checks the vulnerability and
 * its history.
 */

function item(overrides: Partial<IngestItem> = {}): IngestItem {
  return {
    packageName: 'zlib1g',
    packageVersion: '1:1.2.13.dfsg-1',
    packageType: 'deb',
    purl: 'pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12',
    layer: 'sha256:' + 'a'.repeat(64),
    path: 'var/lib/dpkg/status',
    advisoryId: 'DEBIAN-TEST-0001',
    identifiers: ['CVE-2099-0001', 'DEBIAN-TEST-0001'],
    severity: 'high',
    cvssVector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N',
    cvssScore: 7.5,
    title: 'zlib test advisory',
    description: 'details',
    links: ['https://example.org/advisory'],
    fixedVersion: '1:1.2.13.dfsg-2',
    fixState: 'fixed',
    explanation: { advisoryId: 'DEBIAN-TEST-0001', viaSource: true },
    os: 'debian 12',
    ...overrides,
  };
}

type Step =
  | { scan: 'found' | 'not found' }
  | { set: { state: VulnerabilityState; reason?: DismissalReason; comment?: string } };

interface Case {
  name: string;
  steps: Step[];
  state: VulnerabilityState;
  comment?: string | null;
  reason?: DismissalReason | null;
  noLongerDetected: 0 | 1;
  /** History actions, oldest first (user changes are not written by these tests). */
  history: string[];
  /** Counts of the last scan (which also finds `bash`, except on the first scan of a case). */
  last: Partial<IngestCounts>;
}

const cases: Case[] = [
  {
    name: 'a new finding starts as detected',
    steps: [{ scan: 'found' }],
    state: 'detected',
    noLongerDetected: 0,
    history: ['detected'],
    last: { new: 2, existing: 0, noLongerDetected: 0, redetected: 0 },
  },
  {
    name: 'found again keeps its state and comment',
    steps: [
      { scan: 'found' },
      { set: { state: 'confirmed', comment: 'real, fix planned' } },
      { scan: 'found' },
    ],
    state: 'confirmed',
    comment: 'real, fix planned',
    noLongerDetected: 0,
    history: ['detected'],
    last: { new: 0, existing: 2, noLongerDetected: 0, redetected: 0 },
  },
  {
    name: 'a resolved one that comes back is detected again',
    steps: [{ scan: 'found' }, { set: { state: 'resolved' } }, { scan: 'found' }],
    state: 'detected',
    noLongerDetected: 0,
    history: ['detected', 'state_change'],
    last: { new: 0, existing: 2, redetected: 1 },
  },
  {
    name: 'a dismissed one stays dismissed',
    steps: [
      { scan: 'found' },
      { set: { state: 'dismissed', reason: 'acceptable_risk', comment: 'internal only' } },
      { scan: 'found' },
    ],
    state: 'dismissed',
    reason: 'acceptable_risk',
    comment: 'internal only',
    noLongerDetected: 0,
    history: ['detected'],
    last: { existing: 2, redetected: 0 },
  },
  {
    name: 'not found: flagged no longer detected, state untouched',
    steps: [{ scan: 'found' }, { set: { state: 'confirmed' } }, { scan: 'not found' }],
    state: 'confirmed',
    noLongerDetected: 1,
    history: ['detected', 'no_longer_detected'],
    last: { new: 0, existing: 1, noLongerDetected: 1 },
  },
  {
    name: 'not found twice: flagged once',
    steps: [{ scan: 'found' }, { scan: 'not found' }, { scan: 'not found' }],
    state: 'detected',
    noLongerDetected: 1,
    history: ['detected', 'no_longer_detected'],
    last: { noLongerDetected: 0 },
  },
  {
    name: 'flagged, then found again: the flag is cleared',
    steps: [{ scan: 'found' }, { scan: 'not found' }, { scan: 'found' }],
    state: 'detected',
    noLongerDetected: 0,
    history: ['detected', 'no_longer_detected', 'redetected'],
    last: { new: 0, existing: 2, redetected: 1 },
  },
  {
    name: 'dismissed and flagged, then found again: cleared and still dismissed',
    steps: [
      { scan: 'found' },
      { set: { state: 'dismissed', reason: 'false_positive' } },
      { scan: 'not found' },
      { scan: 'found' },
    ],
    state: 'dismissed',
    reason: 'false_positive',
    noLongerDetected: 0,
    history: ['detected', 'no_longer_detected', 'redetected'],
    last: { existing: 2, redetected: 1 },
  },
  {
    name: 'resolved and flagged, then found again: detected',
    steps: [
      { scan: 'found' },
      { scan: 'not found' },
      { set: { state: 'resolved' } },
      { scan: 'found' },
    ],
    state: 'detected',
    noLongerDetected: 0,
    history: ['detected', 'no_longer_detected', 'redetected'],
    last: { redetected: 1 },
  },
];

describe.each(BACKENDS)('ingestion on %s', (dialect) => {
  let ctx: TestContext;
  let projectCount = 0;

  beforeAll(async () => {
    ctx = await makeTestContext(dialect);
  });
  afterAll(async () => {
    await ctx?.close();
  });

  async function newProject(): Promise<number> {
    return (await seedProject(ctx.database.db, `group/app${++projectCount}`)).id;
  }

  /** A running scan of the image, as the scan job has it when it ingests. */
  function newScan(
    projectId: number,
    image: { repository?: string; tag?: string; reportType?: ReportType } = {},
  ): Promise<Scan> {
    return seedScan(ctx.database.db, projectId, {
      repository: image.repository ?? 'group/app',
      tag: image.tag ?? 'latest',
      digest: `sha256:${String(Math.random()).slice(2).padEnd(64, '0')}`,
      report_type: image.reportType ?? 'container_scanning_for_registry',
      status: 'running',
      created_at: ctx.now().toISOString(),
    });
  }

  async function ingest(
    projectId: number,
    items: IngestItem[],
    image: Parameters<typeof newScan>[1] = {},
  ): Promise<{ scan: Scan; counts: IngestCounts }> {
    const scan = await newScan(projectId, image);
    const counts = await ctx.database.db
      .transaction()
      .execute((trx) => ingestScan(ctx, trx, { scan, items }));
    return { scan, counts };
  }

  const vulnerabilities = (projectId: number) =>
    ctx.database.db
      .selectFrom('vulnerabilities')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('id')
      .execute();

  const historyOf = (id: number) =>
    ctx.database.db
      .selectFrom('vulnerability_history')
      .selectAll()
      .where('vulnerability_id', '=', id)
      .orderBy('id')
      .execute();

  it.each(cases)('$name', async (c) => {
    const projectId = await newProject();
    // a second vulnerability that every scan finds: the case's one is compared against it
    const other = item({ packageName: 'bash', advisoryId: 'DEBIAN-TEST-0002', identifiers: [] });
    let last: IngestCounts | undefined;
    let lastScan: Scan | undefined;
    for (const step of c.steps) {
      if ('scan' in step) {
        const items = step.scan === 'found' ? [item(), other] : [other];
        ({ counts: last, scan: lastScan } = await ingest(projectId, items));
      } else {
        await ctx.database.db
          .updateTable('vulnerabilities')
          .set({
            state: step.set.state,
            dismissal_reason: step.set.reason ?? null,
            comment: step.set.comment ?? null,
          })
          .where('project_id', '=', projectId)
          .where('package_name', '=', 'zlib1g')
          .execute();
      }
    }
    const rows = await vulnerabilities(projectId);
    expect(rows.map((r) => r.package_name).sort()).toEqual(['bash', 'zlib1g']);
    const v = rows.find((r) => r.package_name === 'zlib1g')!;
    expect(v.state).toBe(c.state);
    expect(v.no_longer_detected).toBe(c.noLongerDetected);
    if (c.comment !== undefined) expect(v.comment).toBe(c.comment);
    if (c.reason !== undefined) expect(v.dismissal_reason).toBe(c.reason);
    expect(v.report_type).toBe('container_scanning_for_registry');
    expect(v.tag).toBe('latest');
    if (c.noLongerDetected === 0) {
      expect(v.last_scan_id).toBe(lastScan!.id);
      expect(v.digest).toBe(lastScan!.digest);
    } else {
      expect(v.last_scan_id).not.toBe(lastScan!.id);
    }
    const history = await historyOf(v.id);
    expect(history.map((h) => h.action)).toEqual(c.history);
    expect(history.every((h) => h.user_id === null && h.scan_id !== null)).toBe(true);
    expect(last).toMatchObject(c.last);
    // the one every scan found is never flagged
    const b = rows.find((r) => r.package_name === 'bash')!;
    expect(b.no_longer_detected).toBe(0);
    expect((await historyOf(b.id)).map((h) => h.action)).toEqual(['detected']);
  });

  it('a resolved one that comes back records the system state change', async () => {
    const projectId = await newProject();
    await ingest(projectId, [item()]);
    await ctx.database.db
      .updateTable('vulnerabilities')
      .set({ state: 'resolved' })
      .where('project_id', '=', projectId)
      .execute();
    const { scan } = await ingest(projectId, [item()]);
    const [v] = await vulnerabilities(projectId);
    const history = await historyOf(v!.id);
    expect(history[1]).toMatchObject({
      action: 'state_change',
      from_state: 'resolved',
      to_state: 'detected',
      user_id: null,
      scan_id: scan.id,
    });
  });

  it('stores the details of a new vulnerability', async () => {
    const projectId = await newProject();
    const { scan } = await ingest(projectId, [item()]);
    const [v] = await vulnerabilities(projectId);
    expect(v).toMatchObject({
      repository: 'group/app',
      tag: 'latest',
      package_name: 'zlib1g',
      package_version: '1:1.2.13.dfsg-1',
      package_type: 'deb',
      advisory_id: 'DEBIAN-TEST-0001',
      severity: 'high',
      cvss_vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N',
      cve: 'CVE-2099-0001',
      title: 'zlib test advisory',
      fixed_version: '1:1.2.13.dfsg-2',
      fix_state: 'fixed',
      has_fix: 1,
      os: 'debian 12',
      path: 'var/lib/dpkg/status',
      state: 'detected',
      no_longer_detected: 0,
      digest: scan.digest,
      last_scan_id: scan.id,
    });
    expect(v!.cvss_score).toBeCloseTo(7.5, 5);
    expect(JSON.parse(v!.identifiers)).toEqual(['CVE-2099-0001', 'DEBIAN-TEST-0001']);
    expect(JSON.parse(v!.links)).toEqual(['https://example.org/advisory']);
    expect(JSON.parse(v!.explanation)).toEqual({
      advisoryId: 'DEBIAN-TEST-0001',
      viaSource: true,
    });
  });

  it('refreshes the details and last detection of an existing vulnerability', async () => {
    const projectId = await newProject();
    await ingest(projectId, [item()]);
    const [before] = await vulnerabilities(projectId);
    ctx.advanceClock(60_000);
    const { scan } = await ingest(projectId, [
      item({
        severity: 'critical',
        packageVersion: '1:1.2.13.dfsg-1+b1',
        fixedVersion: null,
        fixState: 'not_fixed',
      }),
    ]);
    const [after] = await vulnerabilities(projectId);
    expect(after!.id).toBe(before!.id);
    expect(after).toMatchObject({
      severity: 'critical',
      package_version: '1:1.2.13.dfsg-1+b1',
      fixed_version: null,
      fix_state: 'not_fixed',
      has_fix: 0,
      last_scan_id: scan.id,
      first_detected_at: before!.first_detected_at,
    });
    expect(after!.last_detected_at > before!.last_detected_at).toBe(true);
  });

  it('another tag or report type is another vulnerability, and is not flagged', async () => {
    const projectId = await newProject();
    await ingest(projectId, [item()], { tag: 'latest' });
    await ingest(projectId, [item()], { tag: 'v1' });
    await ingest(projectId, [item()], { reportType: 'container_scanning' });
    await ingest(projectId, [item()], { repository: 'group/app/api' });
    let rows = await vulnerabilities(projectId);
    expect(rows.map((r) => [r.report_type, r.repository, r.tag])).toEqual([
      ['container_scanning_for_registry', 'group/app', 'latest'],
      ['container_scanning_for_registry', 'group/app', 'v1'],
      ['container_scanning', 'group/app', 'latest'],
      ['container_scanning_for_registry', 'group/app/api', 'latest'],
    ]);
    // a clean scan of v1 flags only v1's
    const { counts } = await ingest(projectId, [], { tag: 'v1' });
    expect(counts).toEqual({ new: 0, existing: 0, noLongerDetected: 1, redetected: 0 });
    rows = await vulnerabilities(projectId);
    expect(rows.map((r) => r.no_longer_detected)).toEqual([0, 1, 0, 0]);
  });

  it('another project is not touched', async () => {
    const a = await newProject();
    const b = await newProject();
    await ingest(a, [item()]);
    await ingest(b, []);
    expect((await vulnerabilities(a))[0]!.no_longer_detected).toBe(0);
  });

  it('an identity repeated within one scan counts once', async () => {
    const projectId = await newProject();
    const { counts } = await ingest(projectId, [item(), item({ path: 'other/status' }), item()]);
    expect(counts.new).toBe(1);
    const rows = await vulnerabilities(projectId);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.path).toBe('var/lib/dpkg/status');
  });

  it('parallel ingestions of the same image all succeed and leave one row per identity', async () => {
    const projectId = await newProject();
    const items = [item(), item({ packageName: 'bash', advisoryId: 'DEBIAN-TEST-0002' })];
    const scans: Scan[] = [];
    for (let i = 0; i < 6; i++) scans.push(await newScan(projectId));
    // every read takes a while, so that the transactions overlap
    const selects = new Set<unknown>();
    const slowReads: KyselyPlugin = {
      transformQuery(args) {
        if (args.node.kind === 'SelectQueryNode') selects.add(args.queryId);
        return args.node;
      },
      async transformResult(args) {
        if (selects.has(args.queryId)) await new Promise((r) => setTimeout(r, 30));
        return args.result;
      },
    };
    const results = await Promise.allSettled(
      scans.map((scan) =>
        ctx.database.db
          .transaction()
          .execute((trx) => ingestScan(ctx, trx.withPlugin(slowReads), { scan, items })),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(scans.map(() => 'fulfilled'));
    const rows = await vulnerabilities(projectId);
    expect(rows.map((r) => r.package_name).sort()).toEqual(['bash', 'zlib1g']);
    for (const row of rows) {
      expect((await historyOf(row.id)).map((h) => h.action)).toEqual(['detected']);
    }
  });

  it('a scan older than one already ingested changes nothing (stale)', async () => {
    const projectId = await newProject();
    // digest A is pushed, then B; B's scan is ingested first, A's retried attempt later
    const a = await newScan(projectId);
    const b = await newScan(projectId);
    const ingestOne = (scan: Scan, items: IngestItem[]) =>
      ctx.database.db.transaction().execute((trx) => ingestScan(ctx, trx, { scan, items }));
    const onlyB = item({ packageName: 'bash', advisoryId: 'DEBIAN-TEST-0002' });
    expect(await ingestOne(b, [onlyB])).toEqual({
      new: 1,
      existing: 0,
      noLongerDetected: 0,
      redetected: 0,
    });
    expect(await ingestOne(a, [item()])).toEqual({
      new: 0,
      existing: 0,
      noLongerDetected: 0,
      redetected: 0,
      stale: true,
    });
    const rows = await vulnerabilities(projectId);
    expect(
      rows.map((r) => [r.package_name, r.no_longer_detected, r.last_scan_id, r.digest]),
    ).toEqual([['bash', 0, b.id, b.digest]]);
  });

  it('recording a stale scan keeps its SBOM, says so in its log and marks it successful', async () => {
    const projectId = await newProject();
    const a = await newScan(projectId);
    const b = await newScan(projectId);
    const record = (scan: Scan, items: IngestItem[]) =>
      ctx.database.db.transaction().execute((trx) =>
        recordScanResult(ctx, trx, {
          scan,
          images: [],
          sbomDocument: { bomFormat: 'CycloneDX', components: [] },
          items,
          packageCount: 0,
          findingCount: items.length,
        }),
      );
    await record(b, []);
    expect((await record(a, [item()])).stale).toBe(true);
    expect(await vulnerabilities(projectId)).toEqual([]);
    const log = await ctx.database.db
      .selectFrom('scan_logs')
      .select('message')
      .where('scan_id', '=', a.id)
      .orderBy('id')
      .execute();
    expect(log.map((l) => l.message)).toEqual([
      'stored SBOM: 0 components',
      'a newer scan of this image was already ingested; findings kept for its SBOM only',
    ]);
    const sboms = await ctx.database.db
      .selectFrom('sboms')
      .select('scan_id')
      .where('scan_id', '=', a.id)
      .execute();
    expect(sboms).toHaveLength(1);
    const scan = await ctx.database.db
      .selectFrom('scans')
      .selectAll()
      .where('id', '=', a.id)
      .executeTakeFirstOrThrow();
    expect(scan).toMatchObject({ status: 'success', finding_count: 1 });
  });

  it('a scan older than a successful one is stale even when that one found nothing', async () => {
    const projectId = await newProject();
    const a = await newScan(projectId);
    await seedScan(ctx.database.db, projectId, { status: 'success' }); // a newer, clean scan
    const counts = await ctx.database.db
      .transaction()
      .execute((trx) => ingestScan(ctx, trx, { scan: a, items: [item()] }));
    expect(counts.stale).toBe(true);
    expect(await vulnerabilities(projectId)).toEqual([]);
    // another image (tag) does not count
    const { counts: v1 } = await ingest(projectId, [item()], { tag: 'v1' });
    expect(v1).toMatchObject({ new: 1 });
  });

  it('a state set between the read and the update stays (a dismissal committed meanwhile)', async () => {
    const projectId = await newProject();
    await ingest(projectId, [item()]);
    await ctx.database.db
      .updateTable('vulnerabilities')
      .set({ state: 'resolved' })
      .where('project_id', '=', projectId)
      .execute();
    const scan = await newScan(projectId);
    let dismissed = false;
    const counts = await ctx.database.db.transaction().execute((trx) => {
      // on PostgreSQL another connection commits the dismissal; SQLite has only one connection
      const user = dialect === 'postgres' ? ctx.database.db : trx;
      const dismissAfterTheRead: KyselyPlugin = {
        transformQuery: (args) => args.node,
        async transformResult(args) {
          const rows = args.result.rows as { state?: string }[];
          if (!dismissed && rows.some((r) => r.state === 'resolved')) {
            dismissed = true;
            await user
              .updateTable('vulnerabilities')
              .set({ state: 'dismissed', dismissal_reason: 'false_positive' })
              .where('project_id', '=', projectId)
              .execute();
          }
          return args.result;
        },
      };
      return ingestScan(ctx, trx.withPlugin(dismissAfterTheRead), { scan, items: [item()] });
    });
    expect(dismissed).toBe(true);
    expect(counts).toMatchObject({ existing: 1, redetected: 0 });
    const [v] = await vulnerabilities(projectId);
    expect(v).toMatchObject({ state: 'dismissed', dismissal_reason: 'false_positive' });
    expect((await historyOf(v!.id)).map((h) => h.action)).toEqual(['detected']);
  });

  it('ingests 5,000 items, then a rescan with 1,000 changed', async () => {
    const projectId = await newProject();
    const many = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) =>
        item({
          packageName: `pkg${Math.floor((from + i) / 10)}`,
          advisoryId: `TEST-${String(from + i).padStart(5, '0')}`,
          identifiers: [`CVE-2099-${String(10000 + from + i)}`],
        }),
      );
    const started = Date.now();
    const first = await ingest(projectId, many(0, 5000));
    expect(first.counts).toEqual({ new: 5000, existing: 0, noLongerDetected: 0, redetected: 0 });
    const second = await ingest(projectId, many(1000, 6000));
    expect(second.counts).toEqual({
      new: 1000,
      existing: 4000,
      noLongerDetected: 1000,
      redetected: 0,
    });
    expect(Date.now() - started).toBeLessThan(30_000);
    const flagged = await ctx.database.db
      .selectFrom('vulnerabilities')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('project_id', '=', projectId)
      .where('no_longer_detected', '=', 1)
      .executeTakeFirstOrThrow();
    expect(flagged.n).toBe(1000);
    const history = await ctx.database.db
      .selectFrom('vulnerability_history')
      .innerJoin('vulnerabilities', 'vulnerabilities.id', 'vulnerability_history.vulnerability_id')
      .select(['vulnerability_history.action', (eb) => eb.fn.countAll<number>().as('n')])
      .where('vulnerabilities.project_id', '=', projectId)
      .groupBy('vulnerability_history.action')
      .orderBy('vulnerability_history.action')
      .execute();
    expect(history).toEqual([
      { action: 'detected', n: 6000 },
      { action: 'no_longer_detected', n: 1000 },
    ]);
  });
});

describe('itemsFromFindings', () => {
  const finding: Finding = {
    package: {
      type: 'deb',
      name: 'libssl3',
      version: '3.0.15-1~deb12u1',
      layer: 'sha256:' + 'b'.repeat(64),
      path: 'var/lib/dpkg/status',
      purl: 'pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12',
      source: { name: 'openssl' },
    },
    advisoryId: 'DEBIAN-TEST-0001',
    identifiers: ['DEBIAN-TEST-0001', 'CVE-2099-0001'],
    summary: 'openssl\u001b[31m test advisory',
    details: 'line one\nline two',
    severity: 'critical',
    severitySource: 'cvss',
    cvss: [
      { type: 'CVSS_V2', vector: 'AV:N/AC:L/Au:N/C:C/I:C/A:C', score: 10 },
      { type: 'CVSS_V3', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 9.8 },
    ],
    installedVersion: '3.0.15-1~deb12u1',
    fixedVersions: ['3.0.15-1~deb12u2'],
    fixState: 'fixed',
    references: ['https://example.org/a', 'javascript:alert(1)', 'https://example.org/a'],
    modified: '2026-01-01T00:00:00Z',
    explanation: {
      advisoryId: 'DEBIAN-TEST-0001',
      ecosystem: 'Debian:12',
      searchedName: 'openssl',
      viaSource: true,
      searchedVersion: '3.0.15-1~deb12u1',
    },
  };

  it('turns a finding into an item: CVE first, v3 CVSS, clean text, safe links', () => {
    const [i] = itemsFromFindings([finding], {
      distro: { id: 'debian', versionId: '12', path: 'etc/os-release' },
      packages: [],
      warnings: [],
    });
    expect(i).toMatchObject({
      packageName: 'libssl3',
      packageVersion: '3.0.15-1~deb12u1',
      packageType: 'deb',
      advisoryId: 'DEBIAN-TEST-0001',
      identifiers: ['CVE-2099-0001', 'DEBIAN-TEST-0001'],
      severity: 'critical',
      cvssVector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      cvssScore: 9.8,
      title: 'openssl[31m test advisory',
      description: 'line one\nline two',
      links: ['https://example.org/a'],
      fixedVersion: '3.0.15-1~deb12u2',
      fixState: 'fixed',
      os: 'debian 12',
    });
  });
});
