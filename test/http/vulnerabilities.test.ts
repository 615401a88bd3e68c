/**
 * The Vulnerability Report API on both databases, through the real Fastify app (app.inject):
 * every filter and sort, pages and their headers, counts by severity, a vulnerability with its
 * history, state changes and their rules, bulk changes (all or nothing), the CSV export (filters,
 * formula injection neutralised) and access across projects and roles.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/http/app.js';
import {
  CSV_COLUMNS,
  type ApiVulnerability,
  type HistoryEntry,
  type SeverityCounts,
} from '../../src/service/vulnerabilities.js';
import type { Project, Vulnerability } from '../../src/store/schema.js';
import { BACKENDS } from '../support/postgres.js';
import {
  type SeededUser,
  seedHistory,
  seedProject,
  seedTeam,
  seedUser,
  seedVulnerability,
  type VulnerabilitySeed,
} from '../support/seed.js';
import { makeTestContext, type TestContext } from '../support/service-context.js';

/** RFC 4180 CSV (quoted fields with "" escapes, CRLF or LF records). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

interface ListBody {
  vulnerabilities: ApiVulnerability[];
  counts: SeverityCounts;
}
type DetailBody = ApiVulnerability & { history: HistoryEntry[] };
interface ErrorBody {
  error: string;
  details?: unknown;
}
interface BulkBody {
  updated: number;
  unchanged: number;
  ids: number[];
}

const at = (n: number) => new Date(Date.UTC(2025, 0, 1, 0, n)).toISOString();

/**
 * The fixed report of group/app: v1…v8, first detected in that order. Default order (severity,
 * then newest first): v8 v1 v3 v2 v4 v5 v6 v7.
 */
const REPORT: Record<string, VulnerabilitySeed> = {
  v1: {
    severity: 'critical',
    package_name: 'openssl',
    cve: 'CVE-2024-0001',
    advisory_id: 'DSA-0001-1',
    fixed_version: '3.0.16-1~deb12u1',
  },
  v2: {
    severity: 'high',
    package_name: 'zlib1g',
    cve: 'CVE-2024-0002',
    advisory_id: 'DSA-2',
    state: 'dismissed',
    dismissal_reason: 'acceptable_risk',
    comment: 'not reachable',
  },
  v3: {
    severity: 'high',
    package_name: 'libssl3',
    cve: null,
    advisory_id: 'GHSA-aaaa-bbbb-cccc',
    repository: 'group/app/api',
    tag: '1.0',
    state: 'confirmed',
    fixed_version: '3.0.17',
    cvss_vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N',
    cvss_score: 9.1,
  },
  v4: {
    severity: 'medium',
    report_type: 'container_scanning',
    package_name: 'lodash',
    package_type: 'npm',
    cve: 'CVE-2021-23337',
    advisory_id: 'GHSA-35jh-r3h4-6jhm',
    identifiers: ['CVE-2021-23337', 'GHSA-35jh-r3h4-6jhm', 'CWE-94'],
    no_longer_detected: 1,
    state: 'resolved',
  },
  v5: { severity: 'low', package_name: 'openssl', cve: 'CVE-2024-0005', tag: '1.0' },
  v6: { severity: 'negligible', package_name: 'openssl-dev', cve: 'CVE-2024-0006' },
  v7: { severity: 'unknown', package_name: 'bash', cve: null, advisory_id: 'TEMP-0001' },
  v8: {
    severity: 'critical',
    package_name: 'tar',
    cve: 'CVE-2024-0008',
    title: '=HYPERLINK("http://evil.example/","click")',
    description: '@SUM(1+1), with "quotes"\nand a second line',
    comment: '-1+2',
  },
};
const NAMES = Object.keys(REPORT);

describe.each(BACKENDS)('vulnerability report API on %s', (dialect) => {
  let ctx: TestContext;
  let app: App;
  let admin: SeededUser;
  let dev: SeededUser;
  let reporter: SeededUser;
  let outsider: SeededUser;
  let readOnly: SeededUser;
  let project: Project;
  let other: Project;
  let triage: Project;
  const v: Record<string, Vulnerability> = {};
  let otherVulnerability: Vulnerability;

  beforeAll(async () => {
    ctx = await makeTestContext(dialect);
    app = await buildApp(ctx);
    const db = ctx.database.db;
    admin = await seedUser(db, 'admin', { isAdmin: true });
    project = await seedProject(db, 'group/app');
    triage = await seedProject(db, 'group/triage');
    ({ dev, reporter, readOnly, outsider, other } = await seedTeam(db, [project, triage]));
    for (const [i, name] of NAMES.entries()) {
      const seed = REPORT[name]!;
      v[name] = await seedVulnerability(db, project.id, {
        first_detected_at: at(i + 1),
        last_detected_at: at(i + 1),
        ...seed,
      });
    }
    otherVulnerability = await seedVulnerability(db, other.id, {
      severity: 'critical',
      cve: 'CVE-2024-0001',
      advisory_id: 'DSA-0001-1',
    });
    await seedHistory(db, v.v2!.id, { action: 'detected', to_state: 'detected', at: at(2) });
    await seedHistory(db, v.v2!.id, {
      action: 'state_change',
      user_id: dev.user.id,
      from_state: 'detected',
      to_state: 'dismissed',
      dismissal_reason: 'acceptable_risk',
      comment: 'not reachable',
      at: at(30),
    });
  });

  afterAll(async () => {
    await app?.close();
    await ctx?.close();
  });

  const get = (url: string, user: SeededUser = dev) =>
    app.inject({ method: 'GET', url, headers: user.headers });
  const send = (method: 'PATCH' | 'POST', url: string, body: unknown, user: SeededUser = dev) =>
    app.inject({ method, url, headers: user.headers, payload: body as object });

  /** Names (v1…) of the vulnerabilities in a list response, in order. */
  function names(body: { vulnerabilities: { id: number }[] }): string[] {
    const byId = new Map(Object.entries(v).map(([name, row]) => [row.id, name]));
    return body.vulnerabilities.map((x) => byId.get(x.id) ?? `#${x.id}`);
  }

  const list = (query: string) => get(`/api/v1/projects/${project.id}/vulnerabilities?${query}`);

  describe('filters', () => {
    const cases: [string, string[]][] = [
      ['', ['v8', 'v1', 'v3', 'v2', 'v4', 'v5', 'v6', 'v7']],
      ['report_type=container_scanning', ['v4']],
      ['report_type=container_scanning_for_registry', ['v8', 'v1', 'v3', 'v2', 'v5', 'v6', 'v7']],
      ['severity=high', ['v3', 'v2']],
      ['severity=critical,low', ['v8', 'v1', 'v5']],
      ['severity=high&severity=low', ['v3', 'v2', 'v5']],
      ['state=dismissed', ['v2']],
      ['state=confirmed,resolved', ['v3', 'v4']],
      ['detected=no_longer', ['v4']],
      ['detected=still', ['v8', 'v1', 'v3', 'v2', 'v5', 'v6', 'v7']],
      ['has_fix=true', ['v1', 'v3']],
      ['has_fix=false', ['v8', 'v2', 'v4', 'v5', 'v6', 'v7']],
      ['image=group/app', ['v8', 'v1', 'v2', 'v4', 'v5', 'v6', 'v7']],
      ['image=group/app:1.0', ['v5']],
      ['image=group/app/api', ['v3']],
      ['image=group/app/api:latest', []],
      ['package=openssl', ['v1', 'v5']],
      ['package=OpenSSL', ['v1', 'v5']],
      ['package=openssl*', ['v1', 'v5', 'v6']],
      ['package=openssl_*', []],
      ['package=%25', []],
      ['identifier=CVE-2024-0001', ['v1']],
      ['identifier=cve-2024-0001', ['v1']],
      ['identifier=GHSA-35jh-r3h4-6jhm', ['v4']],
      ['identifier=CWE-94', ['v4']],
      ['identifier=DSA-2', ['v2']],
      ['identifier=GHSA-aaaa-bbbb-cccc', ['v3']],
      ['identifier=TEMP-0001', ['v7']],
      ['identifier=CVE-2024-000*', ['v8', 'v1', 'v2', 'v5', 'v6']],
      ['identifier=CVE-2024-000_', []],
      ['identifier=CVE-2024-%25', []],
      ['identifier=CVE-2024', []],
      ['identifier=%22', []],
      ['identifier=%5C', []],
      ['severity=high&state=confirmed', ['v3']],
      ['package=openssl&image=group/app:latest', ['v1']],
    ];
    it.each(cases)('?%s', async (query, expected) => {
      const res = await list(query);
      expect(res.statusCode, res.body).toBe(200);
      expect(names(res.json<ListBody>())).toEqual(expected);
      expect(res.headers['x-total']).toBe(String(expected.length));
    });

    it.each([
      'severity=bogus',
      'severity=high,bogus',
      'state=open',
      'report_type=sast',
      'detected=maybe',
      'has_fix=perhaps',
      'sort=cvss',
      'order=up',
      'page=0',
      'per_page=0',
      'per_page=101',
      'page=x',
      `image=${'a'.repeat(501)}`,
      'package=%00',
      'image=a%00b',
      'identifier=CVE%00*',
    ])('rejects ?%s with 400', async (query) => {
      const res = await list(query);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toHaveProperty('error');
    });
  });

  describe('sorting', () => {
    const cases: [string, string[]][] = [
      ['sort=severity', ['v8', 'v1', 'v3', 'v2', 'v4', 'v5', 'v6', 'v7']],
      ['order=asc', ['v7', 'v6', 'v5', 'v4', 'v3', 'v2', 'v8', 'v1']],
      ['sort=severity&order=asc', ['v7', 'v6', 'v5', 'v4', 'v3', 'v2', 'v8', 'v1']],
      ['sort=detected_at', ['v8', 'v7', 'v6', 'v5', 'v4', 'v3', 'v2', 'v1']],
      ['sort=detected_at&order=asc', ['v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8']],
      ['sort=package', ['v7', 'v3', 'v4', 'v1', 'v5', 'v6', 'v8', 'v2']],
      ['sort=package&order=desc', ['v2', 'v8', 'v6', 'v1', 'v5', 'v4', 'v3', 'v7']],
      ['sort=identifier', ['v4', 'v1', 'v2', 'v5', 'v6', 'v8', 'v3', 'v7']],
      ['sort=state', ['v8', 'v1', 'v5', 'v6', 'v7', 'v3', 'v2', 'v4']],
    ];
    it.each(cases)('?%s', async (query, expected) => {
      const res = await list(query);
      expect(res.statusCode, res.body).toBe(200);
      expect(names(res.json<ListBody>())).toEqual(expected);
    });
  });

  describe('pages', () => {
    it.each([
      // query, names, total pages, next, prev
      ['per_page=3&page=1', ['v8', 'v1', 'v3'], '3', '2', ''],
      ['per_page=3&page=2', ['v2', 'v4', 'v5'], '3', '3', '1'],
      ['per_page=3&page=3', ['v6', 'v7'], '3', '', '2'],
      ['per_page=3&page=9', [], '3', '', '3'],
      ['per_page=100', ['v8', 'v1', 'v3', 'v2', 'v4', 'v5', 'v6', 'v7'], '1', '', ''],
    ])('?%s', async (query, expected, pages, next, prev) => {
      const res = await list(query);
      expect(res.statusCode).toBe(200);
      expect(names(res.json<ListBody>())).toEqual(expected);
      const page = /page=(\d+)/.exec(query.replace('per_page', 'pp'))?.[1] ?? '1';
      expect(res.headers).toMatchObject({
        'x-total': '8',
        'x-total-pages': pages,
        'x-page': page,
        'x-per-page': /per_page=(\d+)/.exec(query)![1],
        'x-next-page': next,
        'x-prev-page': prev,
      });
    });

    it('defaults to 20 per page', async () => {
      const res = await list('');
      expect(res.headers['x-per-page']).toBe('20');
      expect(res.headers['x-page']).toBe('1');
      expect(res.headers['x-total-pages']).toBe('1');
    });
  });

  describe('counts by severity', () => {
    const all = { critical: 2, high: 2, medium: 1, low: 1, negligible: 1, unknown: 1 };
    const none = { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 };
    it.each([
      ['', all],
      // the severity filter does not narrow the counters (as GitLab's)
      ['severity=critical', all],
      ['severity=low&per_page=1', all],
      ['report_type=container_scanning', { ...none, medium: 1 }],
      ['state=dismissed,confirmed', { ...none, high: 2 }],
      ['package=openssl', { ...none, critical: 1, low: 1 }],
      ['identifier=nothing-like-this', none],
    ])('?%s', async (query, counts) => {
      const res = await list(query);
      expect(res.json<ListBody>().counts).toEqual(counts);
    });
  });

  it('shows a vulnerability in the API shape', async () => {
    const res = await list('identifier=GHSA-aaaa-bbbb-cccc');
    const [x] = res.json<ListBody>().vulnerabilities;
    expect(x).toMatchObject({
      id: v.v3!.id,
      project_id: project.id,
      report_type: 'container_scanning_for_registry',
      state: 'confirmed',
      severity: 'high',
      identifiers: ['GHSA-aaaa-bbbb-cccc'],
      cve: null,
      advisory_id: 'GHSA-aaaa-bbbb-cccc',
      package: { name: 'libssl3', version: '3.0.15-1~deb12u1', type: 'deb' },
      fixed_version: '3.0.17',
      has_fix: true,
      image: { repository: 'group/app/api', tag: '1.0', digest: `sha256:${'a'.repeat(64)}` },
      location: { path: 'var/lib/dpkg/status' },
      os: 'debian 12',
      cvss: { vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N', score: 9.1 },
      links: ['https://security-tracker.debian.org/tracker/GHSA-aaaa-bbbb-cccc'],
      dismissal_reason: null,
      no_longer_detected: false,
      first_detected_at: at(3),
      explanation: { advisoryId: 'GHSA-aaaa-bbbb-cccc', ecosystem: 'Debian:12' },
    });
    expect(x!.package.purl).toMatch(/^pkg:deb\/debian\/libssl3@/);
  });

  describe('one vulnerability', () => {
    it('comes with its history, oldest first, naming who did what', async () => {
      const res = await get(`/api/v1/vulnerabilities/${v.v2!.id}`);
      expect(res.statusCode).toBe(200);
      const body = res.json<DetailBody>();
      expect(body).toMatchObject({
        id: v.v2!.id,
        state: 'dismissed',
        dismissal_reason: 'acceptable_risk',
        comment: 'not reachable',
      });
      expect(body.history).toMatchObject([
        { user: null, action: 'detected', from_state: null, to_state: 'detected', at: at(2) },
        {
          user: 'dev',
          action: 'state_change',
          from_state: 'detected',
          to_state: 'dismissed',
          dismissal_reason: 'acceptable_risk',
          comment: 'not reachable',
          at: at(30),
        },
      ]);
    });

    it.each([
      ['a vulnerability of a project the user is no member of', () => otherVulnerability.id, 404],
      ['an id that does not exist', () => 999_999, 404],
    ])('answers 404 for %s', async (_what, id, status) => {
      const res = await get(`/api/v1/vulnerabilities/${id()}`);
      expect(res.statusCode).toBe(status);
      expect(res.json<ErrorBody>().error).toBe('vulnerability not found');
    });

    it.each(['abc', '0', '-1', '1.5', '99999999999'])('answers 400 for the id %s', async (id) => {
      expect((await get(`/api/v1/vulnerabilities/${id}`)).statusCode).toBe(400);
    });

    it('needs the developer role (reporter: 403, other project: 404)', async () => {
      expect((await get(`/api/v1/vulnerabilities/${v.v1!.id}`, reporter)).statusCode).toBe(403);
      expect((await get(`/api/v1/vulnerabilities/${v.v1!.id}`, outsider)).statusCode).toBe(404);
      expect((await get(`/api/v1/vulnerabilities/${v.v1!.id}`, admin)).statusCode).toBe(200);
      const anonymous = await app.inject({
        method: 'GET',
        url: `/api/v1/vulnerabilities/${v.v1!.id}`,
      });
      expect(anonymous.statusCode).toBe(401);
    });
  });

  describe('access to the list', () => {
    it.each([
      ['a developer', () => dev, () => project.id, 200],
      ['a developer, by URL-encoded path', () => dev, () => 'group%2Fapp', 200],
      ['an admin who is no member', () => admin, () => project.id, 200],
      ['a reporter', () => reporter, () => project.id, 403],
      ['a member of another project', () => outsider, () => project.id, 404],
      ['a developer, for a project that does not exist', () => dev, () => 'no%2Fsuch', 404],
      ['a developer, for a project id out of range', () => dev, () => '99999999999', 404],
      ['a developer, for a project path with a NUL', () => dev, () => 'a%00b', 400],
      ['a developer, for a project they are no member of', () => dev, () => other.id, 404],
    ])('%s → %s', async (_who, user, id, status) => {
      for (const suffix of ['vulnerabilities', 'vulnerabilities.csv']) {
        const res = await get(`/api/v1/projects/${id()}/${suffix}`, user());
        expect(res.statusCode, suffix).toBe(status);
      }
    });

    it('lists only the project’s own vulnerabilities', async () => {
      const res = await get(`/api/v1/projects/${other.id}/vulnerabilities`, outsider);
      expect(res.json<ListBody>().vulnerabilities.map((x) => x.id)).toEqual([
        otherVulnerability.id,
      ]);
    });
  });

  describe('changing the state', () => {
    const patch = (id: number, body: unknown, user: SeededUser = dev) =>
      send('PATCH', `/api/v1/vulnerabilities/${id}`, body, user);
    const history = (id: number) =>
      ctx.database.db
        .selectFrom('vulnerability_history')
        .selectAll()
        .where('vulnerability_id', '=', id)
        .orderBy('id')
        .execute();
    const fresh = () => seedVulnerability(ctx.database.db, triage.id);

    it.each([
      ['dismissing without a reason', { state: 'dismissed' }, /dismissal_reason/],
      ['dismissing with a null reason', { state: 'dismissed', dismissal_reason: null }, /one of/],
      ['an unknown reason', { state: 'dismissed', dismissal_reason: 'because' }, /./],
      [
        'a reason for another state',
        { state: 'confirmed', dismissal_reason: 'false_positive' },
        /only/,
      ],
      ['an unknown state', { state: 'open' }, /./],
      ['no state', { comment: 'hello' }, /./],
      ['an unknown field', { state: 'confirmed', dismissalReason: 'x' }, /./],
      ['a comment too long', { state: 'confirmed', comment: 'x'.repeat(10_001) }, /./],
      ['a comment that is not text', { state: 'confirmed', comment: { a: 1 } }, /./],
      ['a comment with a NUL', { state: 'confirmed', comment: 'a\u0000b' }, /./],
    ])('refuses %s with 400 and changes nothing', async (_what, body, message) => {
      const row = await fresh();
      const res = await patch(row.id, body);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json<ErrorBody>().error).toMatch(message);
      const after = await ctx.database.db
        .selectFrom('vulnerabilities')
        .selectAll()
        .where('id', '=', row.id)
        .executeTakeFirstOrThrow();
      expect(after.state).toBe('detected');
      expect(await history(row.id)).toEqual([]);
    });

    it('dismisses with a reason and a comment, recording who and when', async () => {
      const row = await fresh();
      ctx.advanceClock(86_400_000);
      const before = ctx.now().toISOString();
      const res = await patch(row.id, {
        state: 'dismissed',
        dismissal_reason: 'false_positive',
        comment: 'the vulnerable function is not built',
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({
        state: 'dismissed',
        dismissal_reason: 'false_positive',
        comment: 'the vulnerable function is not built',
      });
      const [entry] = res.json<DetailBody>().history;
      expect(entry).toMatchObject({
        user: 'dev',
        action: 'state_change',
        from_state: 'detected',
        to_state: 'dismissed',
        dismissal_reason: 'false_positive',
        comment: 'the vulnerable function is not built',
      });
      // the service's clock, not the wall clock
      expect(entry!.at >= before).toBe(true);
      expect(entry!.at > new Date(Date.now() + 3_600_000).toISOString()).toBe(true);
      const rows = await history(row.id);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.user_id).toBe(dev.user.id);
    });

    it('confirms a dismissed one: the reason is cleared, the comment kept, history grows', async () => {
      const row = await fresh();
      await patch(row.id, { state: 'dismissed', dismissal_reason: 'used_in_tests', comment: 'c1' });
      const res = await patch(row.id, { state: 'confirmed' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        state: 'confirmed',
        dismissal_reason: null,
        comment: 'c1',
      });
      expect(res.json<DetailBody>().history.map((h) => h.to_state)).toEqual([
        'dismissed',
        'confirmed',
      ]);
      // asking again for what already is: no new history entry
      const again = await patch(row.id, { state: 'confirmed' });
      expect(again.json<DetailBody>().history).toHaveLength(2);
      // a new comment alone is a change
      const commented = await patch(row.id, { state: 'confirmed', comment: 'c2' });
      expect(commented.json()).toMatchObject({ comment: 'c2' });
      expect(commented.json<DetailBody>().history.at(-1)).toMatchObject({
        action: 'comment',
        comment: 'c2',
      });
      // an empty comment clears it
      const cleared = await patch(row.id, { state: 'resolved', comment: '' });
      expect(cleared.json()).toMatchObject({ state: 'resolved', comment: null });
    });

    it.each([
      'acceptable_risk',
      'false_positive',
      'mitigating_control',
      'used_in_tests',
      'not_applicable',
    ])('accepts the dismissal reason %s', async (reason) => {
      const row = await fresh();
      const res = await patch(row.id, { state: 'dismissed', dismissal_reason: reason });
      expect(res.statusCode).toBe(200);
      expect(res.json<DetailBody>().dismissal_reason).toBe(reason);
    });

    it('needs a developer with a token that may write', async () => {
      const row = await fresh();
      const body = { state: 'confirmed' };
      expect((await patch(row.id, body, reporter)).statusCode).toBe(403);
      expect((await patch(row.id, body, readOnly)).statusCode).toBe(403);
      expect((await patch(row.id, body, outsider)).statusCode).toBe(404);
      expect(await history(row.id)).toEqual([]);
    });
  });

  describe('bulk state change', () => {
    const bulk = (projectId: number | string, body: unknown, user: SeededUser = dev) =>
      send('POST', `/api/v1/projects/${projectId}/vulnerabilities/bulk`, body, user);
    const states = async (ids: number[]) =>
      (
        await ctx.database.db
          .selectFrom('vulnerabilities')
          .select(['id', 'state', 'dismissal_reason'])
          .where('id', 'in', ids)
          .orderBy('id')
          .execute()
      ).map((r) => `${r.state}${r.dismissal_reason ? `:${r.dismissal_reason}` : ''}`);
    const historyCount = async (ids: number[]) =>
      Number(
        (
          await ctx.database.db
            .selectFrom('vulnerability_history')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('vulnerability_id', 'in', ids)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const three = async () =>
      Promise.all([1, 2, 3].map(() => seedVulnerability(ctx.database.db, triage.id))).then((rows) =>
        rows.map((r) => r.id),
      );

    it('dismisses many at once, one history entry each', async () => {
      const ids = await three();
      const res = await bulk(triage.id, {
        ids: [...ids, ids[0]],
        state: 'dismissed',
        dismissal_reason: 'mitigating_control',
        comment: 'behind the WAF',
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json<BulkBody>()).toMatchObject({ updated: 3, unchanged: 0 });
      expect([...res.json<BulkBody>().ids].sort()).toEqual([...ids].sort());
      expect(await states(ids)).toEqual(Array(3).fill('dismissed:mitigating_control'));
      const rows = await ctx.database.db
        .selectFrom('vulnerability_history')
        .selectAll()
        .where('vulnerability_id', 'in', ids)
        .execute();
      expect(rows).toHaveLength(3);
      for (const row of rows) {
        expect(row).toMatchObject({
          user_id: dev.user.id,
          action: 'state_change',
          from_state: 'detected',
          to_state: 'dismissed',
          comment: 'behind the WAF',
        });
      }
      // again: nothing to change
      const again = await bulk(triage.id, {
        ids,
        state: 'dismissed',
        dismissal_reason: 'mitigating_control',
      });
      expect(again.json()).toMatchObject({ updated: 0, unchanged: 3 });
      expect(await historyCount(ids)).toBe(3);
    });

    it.each([
      ['a vulnerability of another project', () => otherVulnerability.id],
      ['a vulnerability of another project the user is a member of', () => v.v1!.id],
      ['an id that does not exist', () => 2_000_000],
    ])('changes nothing when one id is %s (404)', async (_what, extra) => {
      const ids = await three();
      const res = await bulk(triage.id, { ids: [...ids, extra()], state: 'resolved' });
      expect(res.statusCode).toBe(404);
      expect(res.json<ErrorBody>().error).toMatch(/nothing was changed/);
      expect(res.json<ErrorBody>().details).toEqual({ missing: [extra()] });
      expect(await states(ids)).toEqual(['detected', 'detected', 'detected']);
      expect(await historyCount(ids)).toBe(0);
      const untouched = await ctx.database.db
        .selectFrom('vulnerabilities')
        .select('state')
        .where('id', '=', extra())
        .executeTakeFirst();
      expect(untouched?.state ?? 'none').not.toBe('resolved');
    });

    it.each([
      ['dismissing without a reason', { state: 'dismissed' }],
      ['no ids', { ids: [], state: 'confirmed' }],
      [
        'more than 1000 ids',
        { ids: Array.from({ length: 1001 }, (_, i) => i + 1), state: 'confirmed' },
      ],
      ['an id that is not a number', { ids: ['x'], state: 'confirmed' }],
      ['an id out of range', { ids: [99_999_999_999], state: 'confirmed' }],
    ])('refuses %s with 400', async (_what, body) => {
      const ids = await three();
      const res = await bulk(triage.id, { ids, ...body });
      expect(res.statusCode).toBe(400);
      expect(await states(ids)).toEqual(['detected', 'detected', 'detected']);
    });

    it('needs the developer role in the project', async () => {
      const ids = await three();
      expect((await bulk(triage.id, { ids, state: 'confirmed' }, reporter)).statusCode).toBe(403);
      expect((await bulk(triage.id, { ids, state: 'confirmed' }, outsider)).statusCode).toBe(404);
      expect((await bulk(triage.id, { ids, state: 'confirmed' }, readOnly)).statusCode).toBe(403);
      expect(await historyCount(ids)).toBe(0);
    });
  });

  describe('CSV export', () => {
    const csv = (query = '', user: SeededUser = dev) =>
      get(`/api/v1/projects/${project.id}/vulnerabilities.csv${query ? `?${query}` : ''}`, user);

    it('has a header and one row per vulnerability, in the list order', async () => {
      const res = await csv();
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      expect(res.headers['content-disposition']).toBe(
        'attachment; filename="group-app-vulnerabilities.csv"',
      );
      const rows = parseCsv(res.body);
      expect(rows[0]).toEqual([...CSV_COLUMNS]);
      expect(rows).toHaveLength(9);
      const column = (name: string) => CSV_COLUMNS.indexOf(name as (typeof CSV_COLUMNS)[number]);
      const byCve = rows.slice(1).map((r) => r[column('CVE')] || r[column('Other Identifiers')]);
      expect(byCve).toEqual([
        'CVE-2024-0008',
        'CVE-2024-0001',
        'GHSA-aaaa-bbbb-cccc',
        'CVE-2024-0002',
        'CVE-2021-23337',
        'CVE-2024-0005',
        'CVE-2024-0006',
        'TEMP-0001',
      ]);
      const dismissed = rows.find((r) => r[column('CVE')] === 'CVE-2024-0002')!;
      expect(dismissed[column('Status')]).toBe('dismissed');
      expect(dismissed[column('Dismissal Reason')]).toBe('acceptable_risk');
      expect(dismissed[column('Comments')]).toBe('not reachable');
      expect(dismissed[column('Group Name')]).toBe('group');
      expect(dismissed[column('Project Path')]).toBe('group/app');
      expect(dismissed[column('Tool')]).toBe('container_scanning_for_registry');
      expect(dismissed[column('Image')]).toBe(`group/app:latest@sha256:${'a'.repeat(64)}`);
      expect(dismissed[column('Package')]).toBe('zlib1g');
      const lodash = rows.find((r) => r[column('CVE')] === 'CVE-2021-23337')!;
      expect(lodash[column('CWE')]).toBe('CWE-94');
      expect(lodash[column('Other Identifiers')]).toBe('GHSA-35jh-r3h4-6jhm');
      expect(lodash[column('Still Detected')]).toBe('false');
    });

    it('neutralises spreadsheet formulas from advisory texts and comments', async () => {
      const rows = parseCsv((await csv('identifier=CVE-2024-0008')).body);
      expect(rows).toHaveLength(2);
      const row = rows[1]!;
      const column = (name: string) => CSV_COLUMNS.indexOf(name as (typeof CSV_COLUMNS)[number]);
      expect(row[column('Vulnerability')]).toBe(`'=HYPERLINK("http://evil.example/","click")`);
      expect(row[column('Details')]).toBe(`'@SUM(1+1), with "quotes"\nand a second line`);
      expect(row[column('Comments')]).toBe(`'-1+2`);
      for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    });

    it.each([
      ['severity=critical', 2],
      ['state=dismissed', 1],
      ['report_type=container_scanning', 1],
      ['package=openssl*&has_fix=false', 2],
      ['identifier=no-such-thing', 0],
    ])('applies the filters: ?%s', async (query, count) => {
      const res = await csv(query);
      expect(res.statusCode).toBe(200);
      expect(parseCsv(res.body)).toHaveLength(1 + count);
    });

    it('refuses bad filters with 400', async () => {
      expect((await csv('severity=nope')).statusCode).toBe(400);
    });
  });

  it('answers any query string with 200 or 400, never 5xx', async () => {
    const keys = [
      'severity',
      'state',
      'report_type',
      'detected',
      'has_fix',
      'image',
      'package',
      'identifier',
      'sort',
      'order',
      'page',
      'per_page',
    ];
    const value = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom(
        'high',
        'critical,low',
        'dismissed',
        'true',
        '0',
        '1',
        '*',
        '%',
        '_',
        '"',
        '\u0000',
      ),
      fc.integer({ min: -5, max: 3_000_000_000 }).map(String),
    );
    const query = fc.array(fc.tuple(fc.constantFrom(...keys), value), { maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(query, async (pairs) => {
        const qs = pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
        for (const suffix of ['vulnerabilities', 'vulnerabilities.csv']) {
          const res = await get(`/api/v1/projects/${project.id}/${suffix}?${qs}`);
          expect([200, 400], `${suffix}?${qs}: ${res.body.slice(0, 200)}`).toContain(
            res.statusCode,
          );
        }
      }),
      { numRuns: 150 },
    );
  });

  it('documents the endpoints in the OpenAPI document', async () => {
    await app.ready();
    const doc = app.swagger() as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/projects/{id}/vulnerabilities',
        '/api/v1/projects/{id}/vulnerabilities.csv',
        '/api/v1/projects/{id}/vulnerabilities/bulk',
        '/api/v1/vulnerabilities/{vid}',
      ]),
    );
    expect(doc.paths['/api/v1/vulnerabilities/{vid}']).toHaveProperty('patch');
  });
});
