/**
 * The durable job queue on both databases: ordering, due times, durability across a reopen, lease
 * expiry and lost leases, retries with backoff, concurrent takers and transactional enqueue.
 */
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseJobQueue, LEASE_EXPIRED_ERROR } from '../../src/queue/queue.js';
import { openDatabase, type Database, type Dialect } from '../../src/store/database.js';
import { BACKENDS, createPostgresDatabase, openTestDatabase } from '../support/postgres.js';

const Q = 'test';

/** A clock that only moves when told to. */
function manualClock(start = Date.parse('2025-01-01T00:00:00.000Z')) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
}

describe.each(BACKENDS)('DatabaseJobQueue on %s', (dialect) => {
  let database: Database;
  let clock: ReturnType<typeof manualClock>;
  let queue: DatabaseJobQueue;

  beforeEach(async () => {
    database = await openTestDatabase(dialect);
    clock = manualClock();
    queue = new DatabaseJobQueue(database, { now: clock.now, backoffMs: 1000 });
  });
  afterEach(() => database.close());

  it('enqueues, takes and completes a job', async () => {
    const id = await queue.enqueue(Q, { scanId: 7 });
    expect(await queue.depth(Q)).toEqual({ queued: 1, running: 0, failed: 0, done: 0 });

    const job = await queue.take<{ scanId: number }>(Q, 'w1', 30_000);
    expect(job).toMatchObject({ id, queue: Q, payload: { scanId: 7 }, attempt: 1, maxAttempts: 3 });
    expect(job?.expired).toBe(false);
    expect(await queue.take(Q, 'w2', 30_000)).toBeUndefined();
    expect(await queue.depth(Q)).toEqual({ queued: 0, running: 1, failed: 0, done: 0 });

    await queue.complete(id, 'w1');
    const row = await queue.get(id);
    expect(row).toMatchObject({ status: 'done', lease_until: null, attempts: 1 });
    expect(row?.finished_at).toBe(clock.now().toISOString());
    expect(await queue.depth()).toEqual({ queued: 0, running: 0, failed: 0, done: 1 });
  });

  it('prunes finished jobs older than the given time, never queued or running ones', async () => {
    const old = await queue.enqueue(Q, 'old-done');
    await queue.take(Q, 'w', 30_000);
    await queue.complete(old, 'w');
    const failed = await queue.enqueue(Q, 'old-failed', { maxAttempts: 1 });
    await queue.take(Q, 'w', 30_000);
    await queue.fail(failed, 'w', 'boom');
    const running = await queue.enqueue(Q, 'running');
    await queue.take(Q, 'w', 30_000);
    const waiting = await queue.enqueue(Q, 'queued');
    clock.advance(60_000);
    const recent = await queue.enqueue(Q, 'recent-done');
    await queue.take(Q, 'w', 30_000);
    await queue.complete(recent, 'w');

    expect(await queue.prune(new Date(clock.now().getTime() - 30_000))).toBe(2);
    expect(await queue.get(old)).toBeUndefined();
    expect(await queue.get(failed)).toBeUndefined();
    for (const id of [running, waiting, recent]) expect(await queue.get(id)).toBeDefined();
  });

  it('takes only jobs of the asked queue', async () => {
    await queue.enqueue('other', {});
    expect(await queue.take(Q, 'w1', 1000)).toBeUndefined();
    expect(await queue.depth(Q)).toEqual({ queued: 0, running: 0, failed: 0, done: 0 });
    expect((await queue.depth()).queued).toBe(1);
  });

  it('takes jobs in run_at order, then by id', async () => {
    const t = clock.now().getTime();
    const order: Array<[string, number]> = [
      ['c', -1000],
      ['a', -3000],
      ['b', -2000],
      ['d', -1000],
    ];
    for (const [name, offset] of order) {
      await queue.enqueue(Q, name, { runAt: new Date(t + offset) });
    }
    const taken: unknown[] = [];
    for (let job = await queue.take(Q, 'w', 1000); job; job = await queue.take(Q, 'w', 1000)) {
      taken.push(job.payload);
    }
    expect(taken).toEqual(['a', 'b', 'c', 'd']);
  });

  it('does not take a job before its run_at', async () => {
    await queue.enqueue(Q, 'later', { runAt: new Date(clock.now().getTime() + 5000) });
    expect(await queue.take(Q, 'w', 1000)).toBeUndefined();
    clock.advance(4999);
    expect(await queue.take(Q, 'w', 1000)).toBeUndefined();
    clock.advance(1);
    expect((await queue.take(Q, 'w', 1000))?.payload).toBe('later');
  });

  it('gives an expired lease to the next worker; the dead worker cannot touch the job', async () => {
    const id = await queue.enqueue(Q, 'x');
    expect((await queue.take(Q, 'A', 1000))?.attempt).toBe(1);
    clock.advance(1000);
    expect(await queue.take(Q, 'B', 1000)).toBeUndefined(); // the lease runs until its end
    clock.advance(1);
    const b = await queue.take(Q, 'B', 5000);
    expect(b).toMatchObject({ id, attempt: 2, expired: false });

    // A wakes up late: none of its calls change B's job
    await queue.complete(id, 'A');
    expect(await queue.renew(id, 'A', 60_000)).toBe(false);
    expect(await queue.fail(id, 'A', 'late')).toBe('retry');
    const row = await queue.get(id);
    expect(row).toMatchObject({ status: 'running', locked_by: 'B', attempts: 2, last_error: null });
    expect(row?.lease_until).toBe(new Date(clock.now().getTime() + 5000).toISOString());

    expect(await queue.renew(id, 'B', 10_000)).toBe(true);
    await queue.complete(id, 'B');
    expect(await queue.get(id)).toMatchObject({ status: 'done' });
  });

  it('renewing a lease keeps the job from other workers', async () => {
    const id = await queue.enqueue(Q, 'x');
    await queue.take(Q, 'A', 1000);
    for (let i = 0; i < 5; i++) {
      clock.advance(900);
      expect(await queue.renew(id, 'A', 1000)).toBe(true);
      expect(await queue.take(Q, 'B', 1000)).toBeUndefined();
    }
  });

  it('fails a job whose lease expired on its last attempt, once, without running it', async () => {
    const id = await queue.enqueue(Q, 'x', { maxAttempts: 2 });
    await queue.take(Q, 'A', 1000);
    clock.advance(1001);
    await queue.take(Q, 'B', 1000);
    clock.advance(1001);
    const c = await queue.take(Q, 'C', 1000);
    expect(c).toMatchObject({ id, expired: true, attempt: 2, lastError: LEASE_EXPIRED_ERROR });
    expect(await queue.get(id)).toMatchObject({
      status: 'failed',
      attempts: 2,
      last_error: LEASE_EXPIRED_ERROR,
      finished_at: clock.now().toISOString(),
      lease_until: null,
    });
    clock.advance(60_000);
    expect(await queue.take(Q, 'D', 1000)).toBeUndefined();
    // B's late completion does not resurrect it
    await queue.complete(id, 'B');
    expect((await queue.get(id))?.status).toBe('failed');
  });

  it('retries a failed job with exponential backoff, then fails it with the last reason', async () => {
    const id = await queue.enqueue(Q, 'x');
    const cases = [
      { attempt: 1, error: 'boom 1', outcome: 'retry', backoff: 1000 },
      { attempt: 2, error: 'boom 2', outcome: 'retry', backoff: 2000 },
      { attempt: 3, error: 'boom 3', outcome: 'failed', backoff: undefined },
    ] as const;
    for (const { attempt, error, outcome, backoff } of cases) {
      const job = await queue.take(Q, 'w', 1000);
      expect(job).toMatchObject({ id, attempt });
      expect(await queue.fail(id, 'w', error)).toBe(outcome);
      const row = await queue.get(id);
      expect(row).toMatchObject({ last_error: error, lease_until: null, attempts: attempt });
      if (backoff === undefined) {
        expect(row).toMatchObject({ status: 'failed', finished_at: clock.now().toISOString() });
        break;
      }
      expect(row).toMatchObject({ status: 'queued', finished_at: null, locked_by: null });
      expect(row?.run_at).toBe(new Date(clock.now().getTime() + backoff).toISOString());
      clock.advance(backoff - 1);
      expect(await queue.take(Q, 'w', 1000)).toBeUndefined();
      clock.advance(1);
    }
    clock.advance(3_600_000);
    expect(await queue.take(Q, 'w', 1000)).toBeUndefined();
    expect(await queue.depth(Q)).toEqual({ queued: 0, running: 0, failed: 1, done: 0 });
  });

  it('fails a job for good at once with { retry: false }, attempts left or not', async () => {
    const id = await queue.enqueue(Q, 'x', { maxAttempts: 3 });
    expect((await queue.take(Q, 'w', 1000))?.attempt).toBe(1);
    // a worker that no longer holds the job cannot end it either
    expect(await queue.fail(id, 'someone else', 'not mine', { retry: false })).toBe('retry');
    expect((await queue.get(id))?.status).toBe('running');

    expect(await queue.fail(id, 'w', 'manifest unknown', { retry: false })).toBe('failed');
    expect(await queue.get(id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      max_attempts: 3,
      last_error: 'manifest unknown',
      lease_until: null,
      finished_at: clock.now().toISOString(),
    });
    clock.advance(3_600_000);
    expect(await queue.take(Q, 'w', 1000)).toBeUndefined();
    expect(await queue.depth(Q)).toEqual({ queued: 0, running: 0, failed: 1, done: 0 });

    // { retry: true } is the default behaviour
    const other = await queue.enqueue(Q, 'y');
    await queue.take(Q, 'w', 1000);
    expect(await queue.fail(other, 'w', 'flaky', { retry: true })).toBe('retry');
    expect((await queue.get(other))?.status).toBe('queued');
  });

  it('uses the queue default of maxAttempts, overridable per job', async () => {
    const q1 = new DatabaseJobQueue(database, { now: clock.now, maxAttempts: 1 });
    const a = await q1.enqueue(Q, 'a');
    const b = await q1.enqueue(Q, 'b', { maxAttempts: 5 });
    expect((await q1.get(a))?.max_attempts).toBe(1);
    expect((await q1.get(b))?.max_attempts).toBe(5);
    await q1.take(Q, 'w', 1000);
    expect(await q1.fail(a, 'w', 'once')).toBe('failed');
  });

  it('hands each of 200 jobs to exactly one of 8 concurrent takers', async () => {
    const realQueue = new DatabaseJobQueue(database);
    const ids = new Set<number>();
    for (let i = 0; i < 200; i++) ids.add(await realQueue.enqueue(Q, i));
    const taken: number[] = [];
    const taker = async (name: string) => {
      for (;;) {
        const job = await realQueue.take(Q, name, 60_000);
        if (!job) {
          // SKIP LOCKED may find nothing while others hold the last rows: stop only when empty
          if ((await realQueue.depth(Q)).queued === 0) return;
          continue;
        }
        taken.push(job.id);
        await realQueue.complete(job.id, name);
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, i) => taker(`w${i}`)));
    expect(taken).toHaveLength(200);
    expect(new Set(taken)).toEqual(ids);
    expect(await realQueue.depth(Q)).toEqual({ queued: 0, running: 0, failed: 0, done: 200 });
  });

  it('enqueues inside a transaction: rolled back, no job; committed, the job', async () => {
    await expect(
      database.db.transaction().execute(async (trx) => {
        await queue.enqueue(Q, 'rolled back', {}, trx);
        throw new Error('abort the transaction');
      }),
    ).rejects.toThrow('abort the transaction');
    expect(await queue.depth()).toEqual({ queued: 0, running: 0, failed: 0, done: 0 });
    expect(await queue.take(Q, 'w', 1000)).toBeUndefined();

    const id = await database.db
      .transaction()
      .execute((trx) => queue.enqueue(Q, 'committed', {}, trx));
    expect((await queue.take(Q, 'w', 1000))?.id).toBe(id);
  });
});

describe.each(BACKENDS)('DatabaseJobQueue durability on %s', (dialect: Dialect) => {
  it('keeps a job across closing and reopening the database', async () => {
    let url: string | undefined;
    let dir: string | undefined;
    if (dialect === 'postgres') url = await createPostgresDatabase();
    else dir = await mkdtemp(join(tmpdir(), 'regscan-queue-'));
    const open = () => openDatabase({ url, dataDir: dir });
    try {
      const first = await open();
      const id = await new DatabaseJobQueue(first).enqueue(Q, { scanId: 42 });
      await first.close();

      const second = await open();
      try {
        const queue = new DatabaseJobQueue(second);
        expect(await queue.depth(Q)).toEqual({ queued: 1, running: 0, failed: 0, done: 0 });
        expect(await queue.take(Q, 'w', 1000)).toMatchObject({ id, payload: { scanId: 42 } });
      } finally {
        await second.close();
      }
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });
});
