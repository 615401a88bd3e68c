/**
 * The ImagePushed policy on both databases, with the real job queue: each refusal and its reason,
 * in the policy's order; which project owns a repository; supported tags as lists and globs; the
 * daily limit, also under 60 concurrent deliveries; duplicate deliveries; project registries; the
 * event log.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  receiveRegistryEvents,
  repositoryPrefixes,
  tagIsSupported,
  type EventResult,
} from '../../src/service/image-pushed.js';
import { createRegistry } from '../../src/service/registries.js';
import { parseRegistryPayload } from '../../src/service/registry-events.js';
import type { Registry } from '../../src/store/schema.js';
import { BACKENDS } from '../support/postgres.js';
import { seedScan } from '../support/seed.js';
import { makeTestContext, type TestContext } from '../support/service-context.js';

const digestOf = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

interface Push {
  repository: string;
  tag?: string;
  digest?: string;
  id?: string;
}

/** A Distribution envelope with one manifest push per item. */
function envelope(...pushes: Push[]) {
  return {
    events: pushes.map((p, i) => ({
      id: p.id ?? `event-${i}`,
      timestamp: '2026-11-24T07:25:04.291925855Z',
      action: 'push',
      target: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: 350,
        digest: p.digest ?? digestOf(1),
        length: 350,
        repository: p.repository,
        url: 'http://169.254.169.254/never-fetched',
        ...(p.tag !== undefined ? { tag: p.tag } : {}),
      },
      request: { id: 'r', addr: '10.0.0.1:1', host: 'evil.example.com', method: 'PUT' },
      actor: {},
      source: { addr: 'vm:5000', instanceID: 'i' },
    })),
  };
}

describe.each(BACKENDS)('the ImagePushed policy on %s', (dialect) => {
  let ctx: TestContext;
  let registry: Registry;

  beforeEach(async () => {
    ctx = await makeTestContext(dialect);
    registry = await createRegistry(
      ctx.database.db,
      { name: 'main', url: 'http://127.0.0.1:5000', secret: 'main-secret-0123456789' },
      ctx.now(),
    );
  });
  afterEach(async () => {
    await ctx.close();
  });

  async function project(
    path: string,
    settings: { enabled?: boolean; tags?: string[] | string; limit?: number } = {},
  ): Promise<number> {
    const row = await ctx.database.db
      .insertInto('projects')
      .values({
        path,
        name: path,
        scanning_enabled: settings.enabled === false ? 0 : 1,
        supported_tags:
          typeof settings.tags === 'string'
            ? settings.tags
            : JSON.stringify(settings.tags ?? ['latest']),
        daily_limit: settings.limit ?? 50,
        created_at: ctx.now().toISOString(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async function receive(body: unknown, from: Registry = registry): Promise<EventResult[]> {
    const parsed = parseRegistryPayload(body);
    if (!parsed.ok) throw new Error(parsed.error);
    return receiveRegistryEvents(ctx, from, parsed);
  }

  async function push(p: Push, from: Registry = registry): Promise<EventResult> {
    const [result] = await receive(envelope(p), from);
    if (!result) throw new Error('no result');
    return result;
  }

  const scans = () => ctx.database.db.selectFrom('scans').selectAll().orderBy('id').execute();
  const events = () =>
    ctx.database.db.selectFrom('registry_events').selectAll().orderBy('id').execute();

  describe('each step refuses with its reason, in order', () => {
    it.each<[string, () => Promise<unknown>, Push, RegExp]>([
      [
        'no project owns the repository',
        () => project('group/app'),
        { repository: 'other/app', tag: 'latest' },
        /^no project owns repository other\/app$/,
      ],
      [
        'scanning disabled (before an unsupported tag)',
        () => project('group/app', { enabled: false, tags: ['latest'] }),
        { repository: 'group/app', tag: 'v1' },
        /^scanning for registry is disabled in project group\/app$/,
      ],
      [
        'an unsupported tag (before the limit)',
        () => project('group/app', { tags: ['latest', 'v*'], limit: 0 }),
        { repository: 'group/app', tag: 'edge' },
        /^tag edge is not a supported tag of project group\/app \(supported: latest, v\*\)$/,
      ],
      [
        'an unreadable tags setting',
        () => project('group/app', { tags: 'not json' }),
        { repository: 'group/app', tag: 'latest' },
        /unreadable supported tags/,
      ],
      [
        'the daily limit',
        () => project('group/app', { limit: 0 }),
        { repository: 'group/app', tag: 'latest' },
        /^daily limit reached: project group\/app has had 0 registry-push scans in the last 24 hours \(limit 0\)$/,
      ],
    ])('%s', async (_, setup, pushed, reason) => {
      await setup();
      const result = await push(pushed);
      expect(result.outcome).toBe('refused');
      expect(result.reason).toMatch(reason);
      expect(result.scanId).toBeNull();
      expect(await scans()).toHaveLength(0);
      const [logged] = await events();
      expect(logged).toMatchObject({
        outcome: 'refused',
        reason: result.reason,
        repository: pushed.repository,
        tag: pushed.tag,
        registry_id: registry.id,
      });
    });

    it('a repeated delivery at the limit is refused as the duplicate it is', async () => {
      await project('group/app', { limit: 1 });
      const first = await push({ repository: 'group/app', tag: 'latest' });
      expect(first.outcome).toBe('queued');
      const again = await push({ repository: 'group/app', tag: 'latest' });
      expect(again.reason).toMatch(new RegExp(`^duplicate: scan ${first.scanId} `));
      const other = await push({ repository: 'group/app', tag: 'latest', digest: digestOf(2) });
      expect(other.reason).toMatch(/^daily limit reached/);
    });

    it('a duplicate of a queued scan, then of a running one, is refused naming the scan', async () => {
      await project('group/app');
      const first = await push({ repository: 'group/app', tag: 'latest' });
      expect(first.outcome).toBe('queued');
      expect(first.reason).toMatch(/^scan \d+ queued/);
      const dup = await push({ repository: 'group/app', tag: 'latest' });
      expect(dup.outcome).toBe('refused');
      expect(dup.reason).toBe(
        `duplicate: scan ${first.scanId} of group/app:latest@${digestOf(1)} is already queued`,
      );
      await ctx.database.db
        .updateTable('scans')
        .set({ status: 'running' })
        .where('id', '=', first.scanId!)
        .execute();
      expect((await push({ repository: 'group/app', tag: 'latest' })).reason).toMatch(
        /^duplicate: scan \d+ .* is already running$/,
      );
      expect(await scans()).toHaveLength(1);
    });

    it('queues a scan with its job and logs it', async () => {
      const pid = await project('group/app');
      const result = await push({ repository: 'group/app/api', tag: 'latest', id: 'evt-1' });
      expect(result.outcome).toBe('queued');
      const [scan] = await scans();
      expect(scan).toMatchObject({
        id: result.scanId,
        project_id: pid,
        registry_id: registry.id,
        repository: 'group/app/api',
        tag: 'latest',
        digest: digestOf(1),
        trigger: 'registry_push',
        report_type: 'container_scanning_for_registry',
        status: 'pending',
      });
      const jobs = await ctx.database.db.selectFrom('jobs').selectAll().execute();
      expect(jobs.map((j) => JSON.parse(j.payload) as unknown)).toEqual([
        { scanId: result.scanId },
      ]);
      const [logged] = await events();
      expect(logged).toMatchObject({
        id: result.eventId,
        format: 'distribution',
        external_id: 'evt-1',
        action: 'push',
        media_type: 'application/vnd.oci.image.manifest.v1+json',
        repository: 'group/app/api',
        tag: 'latest',
        digest: digestOf(1),
        outcome: 'queued',
        project_id: pid,
        scan_id: result.scanId,
      });
      expect(ctx.wakes).toBe(1);
    });
  });

  it('the longest path-component prefix owns a repository', async () => {
    const group = await project('group', { tags: ['*'] });
    const app = await project('group/app', { tags: ['*'] });
    const deep = await project('group/app/api/v2', { tags: ['*'] });
    const cases: [string, number | null][] = [
      ['group/app', app],
      ['group/app/api', app],
      ['group/app/api/v2', deep],
      ['group/app/api/v2/x', deep],
      ['group/application', group],
      ['group', group],
      ['groupie/app', null],
      ['other', null],
    ];
    for (const [i, [repository, owner]] of cases.entries()) {
      const result = await push({ repository, tag: 't', digest: digestOf(i + 1) });
      expect([repository, result.projectId]).toEqual([repository, owner]);
      expect(result.outcome).toBe(owner === null ? 'refused' : 'queued');
    }
    expect(repositoryPrefixes('a/b/c')).toEqual(['a/b/c', 'a/b', 'a']);
  });

  it('supported tags: exact lists and globs', async () => {
    await project('exact', { tags: ['latest', 'stable'] });
    await project('globs', { tags: ['v*', 'release-*'] });
    await project('none', { tags: [] });
    const cases: [string, string, boolean][] = [
      ['exact', 'latest', true],
      ['exact', 'stable', true],
      ['exact', 'latest2', false],
      ['exact', 'v1', false],
      ['globs', 'v1', true],
      ['globs', 'v1.2.3', true],
      ['globs', 'v', true],
      ['globs', 'release-2024.01', true],
      ['globs', 'release', false],
      ['globs', 'latest', false],
      ['globs', 'xv1', false],
      ['none', 'latest', false],
    ];
    for (const [i, [repository, tag, queued]] of cases.entries()) {
      const result = await push({ repository, tag, digest: digestOf(i + 1) });
      expect([repository, tag, result.outcome]).toEqual([
        repository,
        tag,
        queued ? 'queued' : 'refused',
      ]);
    }
    expect(tagIsSupported('1.0', ['1.0'])).toBe(true);
    expect(tagIsSupported('1x0', ['1.0'])).toBe(false);
    expect(tagIsSupported('a', ['[invalid'])).toBe(false);
  });

  it('the daily limit: the 51st registry-push scan in 24 hours is refused, then the window rolls', async () => {
    const pid = await project('group/app', { tags: ['*'], limit: 50 });
    // a manual scan does not count
    await seedScan(ctx.database.db, pid, {
      tag: 'manual',
      digest: digestOf(999),
      trigger: 'manual',
      created_at: ctx.now().toISOString(),
    });
    for (let i = 1; i <= 50; i++) {
      const r = await push({ repository: 'group/app', tag: `t${i}`, digest: digestOf(i) });
      expect(r.outcome).toBe('queued');
    }
    const over = await push({ repository: 'group/app', tag: 't51', digest: digestOf(51) });
    expect(over.outcome).toBe('refused');
    expect(over.reason).toMatch(/daily limit reached: .* 50 registry-push scans .* \(limit 50\)/);

    ctx.advanceClock(24 * 60 * 60 * 1000 - 60_000);
    expect(
      (await push({ repository: 'group/app', tag: 't52', digest: digestOf(52) })).outcome,
    ).toBe('refused');
    ctx.advanceClock(2 * 60_000);
    expect(
      (await push({ repository: 'group/app', tag: 't53', digest: digestOf(53) })).outcome,
    ).toBe('queued');
  });

  it('60 events delivered at once with a limit of 50: exactly 50 queued, 10 refused', async () => {
    const pid = await project('group/app', { tags: ['*'], limit: 50 });
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        push({ repository: 'group/app', tag: `t${i}`, digest: digestOf(i + 1), id: `e${i}` }),
      ),
    );
    const queued = results.filter((r) => r.outcome === 'queued');
    const refused = results.filter((r) => r.outcome === 'refused');
    expect(queued).toHaveLength(50);
    expect(refused).toHaveLength(10);
    for (const r of refused) expect(r.reason).toMatch(/^daily limit reached/);
    const rows = await scans();
    expect(rows).toHaveLength(50);
    expect(rows.every((s) => s.project_id === pid)).toBe(true);
    expect(new Set(queued.map((r) => r.scanId)).size).toBe(50);
    expect((await ctx.queue.depth()).queued).toBe(50);
    expect(await events()).toHaveLength(60);
  });

  it('the same push delivered several times at once gives one scan', async () => {
    await project('group/app');
    const body = envelope({ repository: 'group/app', tag: 'latest', id: 'same-id' });
    const results = (await Promise.all([1, 2, 3, 4].map(() => receive(body)))).flat();
    expect(results.filter((r) => r.outcome === 'queued')).toHaveLength(1);
    expect(results.filter((r) => /^duplicate/.test(r.reason))).toHaveLength(3);
    expect(await scans()).toHaveLength(1);
  });

  it('once the scan has finished, the same digest is scanned again', async () => {
    await project('group/app');
    const first = await push({ repository: 'group/app', tag: 'latest' });
    await ctx.database.db
      .updateTable('scans')
      .set({ status: 'success' })
      .where('id', '=', first.scanId!)
      .execute();
    const again = await push({ repository: 'group/app', tag: 'latest' });
    expect(again.outcome).toBe('queued');
    expect(again.scanId).not.toBe(first.scanId);
    // the same digest in another repository is not a duplicate either
    expect((await push({ repository: 'group/app/x', tag: 'latest' })).outcome).toBe('queued');
  });

  it("a project's registry feeds only that project", async () => {
    const a = await project('team-a', { tags: ['*'] });
    const b = await project('team-b', { tags: ['*'] });
    await project('team-a/sub', { tags: ['*'] });
    const own = await createRegistry(
      ctx.database.db,
      {
        name: 'a-registry',
        url: 'https://registry.a.example',
        secret: 'a-secret-0123456789abc',
        projectId: a,
      },
      ctx.now(),
    );
    const ok = await push({ repository: 'team-a/app', tag: 'v1' }, own);
    expect(ok).toMatchObject({ outcome: 'queued', projectId: a });

    const other = await push({ repository: 'team-b/app', tag: 'v1' }, own);
    expect(other).toMatchObject({ outcome: 'refused', projectId: a });
    // whoever owns the repository (another project, a subproject, nobody), the answer is the
    // same: the maintainer of team-a learns nothing about other projects
    const refusal = (repository: string) =>
      `repository ${repository} is not under project team-a (this registry feeds only project team-a)`;
    expect(other.reason).toBe(refusal('team-b/app'));
    const deeper = await push({ repository: 'team-a/sub/app', tag: 'v1' }, own);
    expect(deeper).toMatchObject({
      outcome: 'refused',
      projectId: a,
      reason: refusal('team-a/sub/app'),
    });
    const nowhere = await push({ repository: 'team-b/nothere', tag: 'v1' }, own);
    expect(nowhere).toMatchObject({ outcome: 'refused', projectId: a });
    expect(nowhere.reason).toBe(refusal('team-b/nothere'));
    expect(nowhere.reason.replace('team-b/nothere', 'X')).toBe(
      other.reason.replace('team-b/app', 'X'),
    );
    // the refusals are logged under team-a only, and their log lines do not name team-b either
    const refusedEvents = (await events()).filter((e) => e.outcome === 'refused');
    expect(refusedEvents).toHaveLength(3);
    for (const e of refusedEvents) {
      expect(e.project_id).toBe(a);
      expect(e.reason).toMatch(/^repository \S+ is not under project team-a \(this registry/);
    }
    const bScans = await ctx.database.db
      .selectFrom('scans')
      .select('id')
      .where('project_id', '=', b)
      .execute();
    expect(bScans).toHaveLength(0);
    // the instance registry may feed team-b
    expect((await push({ repository: 'team-b/app', tag: 'v1' })).outcome).toBe('queued');
  });

  it('logs every entry of an envelope, ignored and rejected ones too, and counts the outcomes', async () => {
    await project('group/app');
    const body = {
      events: [
        ...envelope({ repository: 'group/app', tag: 'latest' }).events,
        {
          id: 'blob',
          action: 'push',
          target: {
            mediaType: 'application/octet-stream',
            digest: digestOf(7),
            repository: 'group/app',
          },
        },
        ...envelope({ repository: 'group/app' }).events, // by digest
        {
          id: 'pull',
          action: 'pull',
          target: { repository: 'group/app', tag: 'latest', digest: digestOf(1) },
        },
        { id: 'bad', action: 'push', target: { repository: 'Group/App', tag: 'latest' } },
        ...envelope({ repository: 'nobody/app', tag: 'latest' }).events,
      ],
    };
    const results = await receive(body);
    expect(results.map((r) => [r.outcome, r.reason.replace(/\d+/g, 'N')])).toEqual([
      ['queued', 'scan N queued for group/app:latest in project group/app'],
      ['ignored', 'blob push ("application/octet-stream")'],
      ['ignored', 'push by digest: no tag'],
      ['ignored', 'pull of group/app:latest'],
      ['rejected', 'event N: invalid repository name "Group/App"'],
      ['refused', 'no project owns repository nobody/app'],
    ]);
    const rows = await events();
    expect(rows.map((r) => [r.id, r.outcome, r.reason])).toEqual(
      results.map((r) => [r.eventId, r.outcome, r.reason]),
    );
    expect(rows.map((r) => r.external_id)).toEqual([
      'event-0',
      'blob',
      'event-0',
      'pull',
      'bad',
      'event-0',
    ]);
    expect(rows[4]).toMatchObject({ repository: null, tag: null, project_id: null });
    expect(ctx.wakes).toBe(1);
    const metrics = await ctx.metrics.render();
    expect(metrics.body).toContain('regscan_registry_events_total{outcome="queued"} 1');
    expect(metrics.body).toContain('regscan_registry_events_total{outcome="ignored"} 3');
    expect(metrics.body).toContain('regscan_registry_events_total{outcome="rejected"} 1');
    expect(metrics.body).toContain('regscan_registry_events_total{outcome="refused"} 1');
  });

  it('does not wake the workers when nothing was queued', async () => {
    await receive(envelope({ repository: 'nobody/app', tag: 'latest' }));
    expect(ctx.wakes).toBe(0);
  });

  it('Harbor pushes go through the same policy', async () => {
    await project('library');
    const [result] = await receive({
      type: 'PUSH_ARTIFACT',
      occur_at: 1700000000,
      operator: 'admin',
      event_data: {
        resources: [{ digest: digestOf(5), tag: 'latest', resource_url: 'evil.example/x:latest' }],
        repository: { name: 'nginx', namespace: 'library', repo_full_name: 'library/nginx' },
      },
    });
    expect(result).toMatchObject({ outcome: 'queued' });
    const [logged] = await events();
    expect(logged).toMatchObject({ format: 'harbor', action: 'push', repository: 'library/nginx' });
  });
});
