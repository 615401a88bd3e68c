/**
 * The durable job queue: jobs are rows of the `jobs` table in the service's own database, so they
 * survive restarts and can be enqueued inside the transaction that creates what they work on. One
 * implementation serves both databases:
 *
 * - take() is one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING *`. On PostgreSQL the
 *   subquery locks its row `FOR UPDATE SKIP LOCKED`, so concurrent takers on many connections
 *   never pick the same job and never wait on each other. On SQLite the statement alone is
 *   enough: writes are serialised (one connection per process, and the file lock across
 *   processes), so the select and the update cannot interleave with another taker's.
 * - A job is ready when it is queued and due, or running with an expired lease (its worker died).
 *   A job whose lease expired on its *last* attempt is not run again: take() marks it failed in
 *   the same statement and hands it out flagged `expired`, so exactly one worker reports that
 *   failure (the Worker calls its handler's onFailed, e.g. to mark the scan failed).
 * - fail() retries with backoff (1 s, 2 s, 4 s, …) until the attempts are used up; a caller that
 *   knows retrying cannot help passes `{ retry: false }` and the job fails at once.
 * - complete(), fail() and renew() only touch a job this worker still holds (running, locked by
 *   it, same attempt): a worker that lost its lease cannot overwrite the new owner's state.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../store/database.js';
import type { DB, Job, JobStatus } from '../store/schema.js';
import type {
  EnqueueOptions,
  FailOptions,
  FailOutcome,
  JobQueue,
  QueueDepth,
  TakenJob,
} from './types.js';

export interface DatabaseJobQueueOptions {
  /** The clock (default: real time). */
  now?: () => Date;
  /** First retry delay; doubles with every attempt. Default 1 s. */
  backoffMs?: number;
  /** Attempts of a job enqueued without its own maxAttempts. Default 3. */
  maxAttempts?: number;
}

/** The reason recorded for a job whose worker died during its last attempt. */
export const LEASE_EXPIRED_ERROR =
  'the worker running it stopped responding (lease expired) on its last attempt';

export class DatabaseJobQueue implements JobQueue {
  private readonly db: Kysely<DB>;
  private readonly now: () => Date;
  private readonly backoffMs: number;
  private readonly maxAttempts: number;

  constructor(
    private readonly database: Database,
    options: DatabaseJobQueueOptions = {},
  ) {
    this.db = database.db;
    this.now = options.now ?? (() => new Date());
    this.backoffMs = options.backoffMs ?? 1000;
    this.maxAttempts = options.maxAttempts ?? 3;
  }

  async enqueue(
    queue: string,
    payload: unknown,
    options: EnqueueOptions = {},
    trx?: Transaction<DB>,
  ): Promise<number> {
    const now = this.now().toISOString();
    const row = await (trx ?? this.db)
      .insertInto('jobs')
      .values({
        queue,
        payload: JSON.stringify(payload ?? null),
        status: 'queued',
        attempts: 0,
        max_attempts: options.maxAttempts ?? this.maxAttempts,
        run_at: (options.runAt ?? this.now()).toISOString(),
        lease_until: null,
        locked_by: null,
        last_error: null,
        created_at: now,
        updated_at: now,
        finished_at: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async take<P = unknown>(
    queue: string,
    workerId: string,
    leaseMs: number,
  ): Promise<TakenJob<P> | undefined> {
    const now = this.now();
    const at = now.toISOString();
    let next = this.db
      .selectFrom('jobs')
      .select('id')
      .where('queue', '=', queue)
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', at)]),
          eb.and([eb('status', '=', 'running'), eb('lease_until', '<', at)]),
        ]),
      )
      .orderBy('run_at')
      .orderBy('id')
      .limit(1);
    if (this.database.dialect === 'postgres') next = next.forUpdate().skipLocked();
    // SET expressions see the row as it was before the update, on both databases.
    const lastAttemptExpired = sql<boolean>`(status = 'running' and attempts >= max_attempts)`;
    const expiredOr = <T>(ifExpired: unknown, otherwise: unknown) =>
      sql<T>`case when ${lastAttemptExpired} then ${ifExpired} else ${otherwise} end`;
    const row = await this.db
      .updateTable('jobs')
      .set({
        status: expiredOr<JobStatus>(sql`'failed'`, sql`'running'`),
        attempts: expiredOr<number>(sql`attempts`, sql`attempts + 1`),
        lease_until: expiredOr<string | null>(
          sql`null`,
          new Date(now.getTime() + leaseMs).toISOString(),
        ),
        locked_by: expiredOr<string | null>(sql`null`, workerId),
        last_error: expiredOr<string | null>(LEASE_EXPIRED_ERROR, sql`last_error`),
        finished_at: expiredOr<string | null>(at, sql`null`),
        updated_at: at,
      })
      .where('id', '=', next)
      .returningAll()
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      id: row.id,
      queue: row.queue,
      payload: JSON.parse(row.payload) as P,
      attempt: row.attempts,
      maxAttempts: row.max_attempts,
      expired: row.status === 'failed',
      lastError: row.last_error,
    };
  }

  async renew(jobId: number, workerId: string, leaseMs: number): Promise<boolean> {
    const now = this.now();
    const result = await this.db
      .updateTable('jobs')
      .set({
        lease_until: new Date(now.getTime() + leaseMs).toISOString(),
        updated_at: now.toISOString(),
      })
      .where('id', '=', jobId)
      .where('status', '=', 'running')
      .where('locked_by', '=', workerId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async complete(jobId: number, workerId: string): Promise<void> {
    const at = this.now().toISOString();
    await this.db
      .updateTable('jobs')
      .set({ status: 'done', lease_until: null, finished_at: at, updated_at: at })
      .where('id', '=', jobId)
      .where('status', '=', 'running')
      .where('locked_by', '=', workerId)
      .execute();
  }

  /**
   * Returns 'retry' also when this worker no longer holds the job (nothing is changed then: the
   * job's new owner decides its fate), so the caller reports a failure only when it was final.
   * With `{ retry: false }` the job fails now even with attempts left.
   */
  async fail(
    jobId: number,
    workerId: string,
    error: string,
    options: FailOptions = {},
  ): Promise<FailOutcome> {
    const job = await this.db
      .selectFrom('jobs')
      .selectAll()
      .where('id', '=', jobId)
      .where('status', '=', 'running')
      .where('locked_by', '=', workerId)
      .executeTakeFirst();
    if (!job) return 'retry';
    const now = this.now();
    const retry = options.retry !== false && job.attempts < job.max_attempts;
    const result = await this.db
      .updateTable('jobs')
      .set({
        status: retry ? 'queued' : 'failed',
        run_at: retry
          ? new Date(now.getTime() + this.backoffMs * 2 ** (job.attempts - 1)).toISOString()
          : job.run_at,
        lease_until: null,
        locked_by: retry ? null : workerId,
        last_error: error,
        finished_at: retry ? null : now.toISOString(),
        updated_at: now.toISOString(),
      })
      .where('id', '=', jobId)
      .where('status', '=', 'running')
      .where('locked_by', '=', workerId)
      .where('attempts', '=', job.attempts)
      .executeTakeFirst();
    return !retry && result.numUpdatedRows > 0n ? 'failed' : 'retry';
  }

  async depth(queue?: string): Promise<QueueDepth> {
    let query = this.db
      .selectFrom('jobs')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('status');
    if (queue !== undefined) query = query.where('queue', '=', queue);
    const depth: QueueDepth = { queued: 0, running: 0, failed: 0, done: 0 };
    for (const row of await query.execute()) depth[row.status] = Number(row.n);
    return depth;
  }

  async prune(before: Date): Promise<number> {
    const result = await this.db
      .deleteFrom('jobs')
      .where('status', 'in', ['done', 'failed'])
      .where('finished_at', '<', before.toISOString())
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  get(jobId: number): Promise<Job | undefined> {
    return this.db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
  }
}
