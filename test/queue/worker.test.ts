/**
 * The worker loop on both databases, with the real queue: concurrency, retries and the failure
 * hook, graceful stop, wake-ups, lease renewal, and resilience to handler and database errors.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DatabaseJobQueue, LEASE_EXPIRED_ERROR } from '../../src/queue/queue.js';
import type { JobQueue, TakenJob } from '../../src/queue/types.js';
import {
  PermanentJobError,
  Worker,
  type JobHandler,
  type WorkerOptions,
} from '../../src/queue/worker.js';
import type { ServiceLogger } from '../../src/service/context.js';
import type { Database } from '../../src/store/database.js';
import { BACKENDS, openTestDatabase } from '../support/postgres.js';

const Q = 'test';
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A promise to hold handlers until the test lets them go. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe.each(BACKENDS)('Worker on %s', (dialect) => {
  let database: Database;
  let queue: DatabaseJobQueue;
  let workers: Worker<unknown>[];
  let logged: string[];
  let log: ServiceLogger;

  beforeEach(async () => {
    database = await openTestDatabase(dialect);
    queue = new DatabaseJobQueue(database, { backoffMs: 10 });
    workers = [];
    logged = [];
    const line = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
      void logged.push(`${level}: ${msg} ${JSON.stringify(fields ?? {})}`);
    log = { info: line('info'), warn: line('warn'), error: line('error') };
  });
  afterEach(async () => {
    for (const w of workers) await w.stop({ timeoutMs: 5000 });
    await database.close();
  });

  function startWorker<P>(handler: JobHandler<P>, options: Partial<WorkerOptions> = {}) {
    const worker = new Worker<P>(
      { queue, queueName: Q, concurrency: 1, leaseMs: 30_000, pollMs: 10_000, log, ...options },
      handler,
    );
    workers.push(worker);
    worker.start();
    return worker;
  }

  it('runs jobs with at most `concurrency` at once', async () => {
    for (let i = 0; i < 9; i++) await queue.enqueue(Q, i);
    const release = gate();
    let current = 0;
    let max = 0;
    const done: number[] = [];
    const worker = startWorker<number>(
      {
        run: async (job) => {
          current++;
          max = Math.max(max, current);
          await release.opened;
          current--;
          done.push(job.payload);
        },
      },
      { concurrency: 3 },
    );
    await vi.waitFor(() => expect(worker.running).toBe(3));
    await vi.waitFor(() => expect(worker.waiting).toBe(true));
    expect(await queue.depth(Q)).toMatchObject({ queued: 6, running: 3 });
    release.open();
    await vi.waitFor(() => expect(done).toHaveLength(9));
    expect(max).toBe(3);
    expect(done.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    await vi.waitFor(async () => expect((await queue.depth(Q)).done).toBe(9));
  });

  it('retries a failing handler, then calls onFailed once with the reason', async () => {
    const id = await queue.enqueue(Q, 'x', { maxAttempts: 3 });
    const attempts: number[] = [];
    const failed: Array<[number, string]> = [];
    startWorker(
      {
        run: (job) => {
          attempts.push(job.attempt);
          return Promise.reject(new Error(`boom ${job.attempt}`));
        },
        onFailed: (job, error) => {
          failed.push([job.id, error]);
          return Promise.resolve();
        },
      },
      { pollMs: 20 },
    );
    await vi.waitFor(() => expect(failed).toHaveLength(1));
    await delay(100); // nothing more happens to it
    expect(failed).toEqual([[id, 'boom 3']]);
    expect(attempts).toEqual([1, 2, 3]);
    expect(await queue.get(id)).toMatchObject({ status: 'failed', last_error: 'boom 3' });
    expect(logged.filter((l) => l.startsWith('warn: job failed; it will be retried'))).toHaveLength(
      2,
    );
  });

  it('does not retry a PermanentJobError: the job fails at once, onFailed is called once', async () => {
    const id = await queue.enqueue(Q, 'x', { maxAttempts: 3 });
    const attempts: number[] = [];
    const failed: Array<[number, string]> = [];
    startWorker(
      {
        run: (job) => {
          attempts.push(job.attempt);
          return Promise.reject(new PermanentJobError('manifest unknown'));
        },
        onFailed: (job, error) => Promise.resolve(void failed.push([job.id, error])),
      },
      { pollMs: 20 },
    );
    await vi.waitFor(() => expect(failed).toHaveLength(1));
    await delay(100); // nothing more happens to it
    expect(failed).toEqual([[id, 'manifest unknown']]);
    expect(attempts).toEqual([1]);
    expect(await queue.get(id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_error: 'manifest unknown',
    });
    expect(logged.some((l) => l.startsWith('warn: job failed; it will be retried'))).toBe(false);
  });

  it('reports a job whose worker died on its last attempt to onFailed without running it', async () => {
    const id = await queue.enqueue(Q, 'x', { maxAttempts: 1 });
    await queue.take(Q, 'dead worker', 1); // never completes
    await delay(10);
    const ran: number[] = [];
    const failed: Array<[number, string]> = [];
    startWorker(
      {
        run: (job) => Promise.resolve(void ran.push(job.id)),
        onFailed: (job, error) => Promise.resolve(void failed.push([job.id, error])),
      },
      { pollMs: 20 },
    );
    await vi.waitFor(() => expect(failed).toEqual([[id, LEASE_EXPIRED_ERROR]]));
    expect(ran).toEqual([]);
    expect((await queue.get(id))?.status).toBe('failed');
  });

  it('stop() waits for a running job to finish', async () => {
    const id = await queue.enqueue(Q, 'x');
    let finished = false;
    const worker = startWorker({
      run: async () => {
        await delay(200);
        finished = true;
      },
    });
    await vi.waitFor(() => expect(worker.running).toBe(1));
    await worker.stop({ timeoutMs: 10_000 });
    expect(finished).toBe(true);
    expect(worker.running).toBe(0);
    expect((await queue.get(id))?.status).toBe('done');
  });

  it('stop() aborts a job still running after the timeout; the job is retried later', async () => {
    const id = await queue.enqueue(Q, 'x');
    let aborted = false;
    const worker = startWorker({
      run: (_job, signal) =>
        new Promise<void>((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(signal.reason as Error);
          });
        }),
    });
    await vi.waitFor(() => expect(worker.running).toBe(1));
    await worker.stop({ timeoutMs: 50 });
    expect(aborted).toBe(true);
    expect(await queue.get(id)).toMatchObject({
      status: 'queued',
      attempts: 1,
      last_error: 'the worker stopped',
    });
  });

  it('stop() stops taking jobs', async () => {
    const ran: unknown[] = [];
    const worker = startWorker({ run: (job) => Promise.resolve(void ran.push(job.payload)) });
    await vi.waitFor(() => expect(worker.waiting).toBe(true));
    await worker.stop({ timeoutMs: 1000 });
    await queue.enqueue(Q, 'after stop');
    worker.wake();
    await delay(100);
    expect(ran).toEqual([]);
    expect((await queue.depth(Q)).queued).toBe(1);
  });

  it('wake() makes an idle worker take a new job long before pollMs', async () => {
    const ran: unknown[] = [];
    const worker = startWorker(
      { run: (job) => Promise.resolve(void ran.push(job.payload)) },
      { pollMs: 10_000 },
    );
    await vi.waitFor(() => expect(worker.waiting).toBe(true)); // found nothing, asleep
    const id = await queue.enqueue(Q, 'woken');
    worker.wake();
    await vi.waitFor(() => expect(ran).toEqual(['woken'])); // vi.waitFor gives up after 1 s
    await vi.waitFor(async () => expect((await queue.get(id))?.status).toBe('done'));
  });

  it('renews the lease of a long job, so no other worker takes it', async () => {
    const id = await queue.enqueue(Q, 'long');
    const release = gate();
    const leaseMs = 300;
    const worker = startWorker({ run: () => release.opened }, { leaseMs });
    await vi.waitFor(() => expect(worker.running).toBe(1));
    for (let waited = 0; waited < 4 * leaseMs; waited += 100) {
      await delay(100);
      expect(await queue.take(Q, 'another worker', leaseMs)).toBeUndefined();
    }
    release.open();
    await vi.waitFor(async () =>
      expect(await queue.get(id)).toMatchObject({ status: 'done', attempts: 1 }),
    );
  });

  it('aborts a job whose lease another worker took over', async () => {
    const id = await queue.enqueue(Q, 'x');
    let signalled: AbortSignal | undefined;
    const worker = startWorker(
      {
        run: (_job, signal) => {
          signalled = signal;
          return new Promise<void>((_resolve, reject) =>
            signal.addEventListener('abort', () => reject(signal.reason as Error)),
          );
        },
      },
      { leaseMs: 60 },
    );
    await vi.waitFor(() => expect(worker.running).toBe(1));
    // another worker steals the job: simulate by failing the lease over to a new owner
    await database.db
      .updateTable('jobs')
      .set({ locked_by: 'thief' })
      .where('id', '=', id)
      .execute();
    await vi.waitFor(() => expect(signalled?.aborted).toBe(true));
    await vi.waitFor(() => expect(worker.running).toBe(0));
    expect(await queue.get(id)).toMatchObject({ status: 'running', locked_by: 'thief' });
  });

  it('a run of its own job that outlived its lease cannot complete the job taken again', async () => {
    const id = await queue.enqueue(Q, 'x');
    const runs: { attempt: number; release: () => void }[] = [];
    const worker = startWorker<string>(
      {
        run: (job) =>
          new Promise<void>((resolve) => runs.push({ attempt: job.attempt, release: resolve })),
      },
      { concurrency: 2 },
    );
    await vi.waitFor(() => expect(runs).toHaveLength(1));
    // the first run stalls past its lease: the same worker takes the job again
    await database.db
      .updateTable('jobs')
      .set({ lease_until: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', id)
      .execute();
    worker.wake();
    await vi.waitFor(() => expect(runs).toHaveLength(2));
    expect(runs.map((r) => r.attempt)).toEqual([1, 2]);
    runs[0]!.release(); // the stale run ends: it must not mark the job done
    await delay(100);
    expect(await queue.get(id)).toMatchObject({ status: 'running', attempts: 2 });
    expect(worker.running).toBe(1);
    runs[1]!.release();
    await vi.waitFor(async () => expect((await queue.get(id))?.status).toBe('done'));
  });

  it('keeps going after handler, hook and database errors', async () => {
    let takes = 0;
    const flaky: JobQueue = {
      enqueue: (...a) => queue.enqueue(...a),
      renew: (...a) => queue.renew(...a),
      complete: (...a) => queue.complete(...a),
      fail: (...a) => queue.fail(...a),
      depth: (...a) => queue.depth(...a),
      get: (...a) => queue.get(...a),
      prune: (...a) => queue.prune(...a),
      take: <P>(queueName: string, workerId: string, leaseMs: number) =>
        ++takes === 1
          ? Promise.reject(new Error('connection refused'))
          : queue.take<P>(queueName, workerId, leaseMs),
    };
    await queue.enqueue(Q, 'throws', { maxAttempts: 1 });
    await queue.enqueue(Q, 'works');
    const ran: unknown[] = [];
    startWorker(
      {
        run: (job: TakenJob) => {
          if (job.payload === 'throws') throw new Error('handler broke');
          ran.push(job.payload);
          return Promise.resolve();
        },
        onFailed: () => Promise.reject(new Error('hook broke')),
      },
      { queue: flaky, pollMs: 20 },
    );
    await vi.waitFor(() => expect(ran).toEqual(['works']));
    expect(logged.some((l) => l.startsWith('error: could not take a job'))).toBe(true);
    expect(logged.some((l) => l.includes('hook broke'))).toBe(true);
    expect(await queue.depth(Q)).toMatchObject({ failed: 1, done: 1 });
  });
});
