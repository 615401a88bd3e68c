/**
 * The durable job queue's contract. One implementation (queue.ts) runs on both databases: jobs are
 * rows in the service's own database, so a scan and its job are created in one transaction (the
 * job exists exactly when the scan does) and survive a restart.
 */
import type { Transaction } from 'kysely';
import type { DB, Job } from '../store/schema.js';

export interface EnqueueOptions {
  /** Attempts before the job fails for good. Default: the queue's (3). */
  maxAttempts?: number;
  /** Not before this time. Default now. */
  runAt?: Date;
}

export interface TakenJob<P = unknown> {
  id: number;
  queue: string;
  payload: P;
  /** 1 for the first run. */
  attempt: number;
  maxAttempts: number;
  /**
   * Set when the job's previous worker stopped responding (its lease expired) on the job's last
   * attempt. take() has already marked such a job failed, with `lastError` as the reason; the taker
   * must not run it, only report the failure (the Worker calls its handler's onFailed).
   */
  expired?: boolean;
  /** The error the previous attempt recorded, if any. */
  lastError?: string | null;
}

export type FailOutcome = 'retry' | 'failed';

export interface FailOptions {
  /**
   * false: the job fails for good now, whatever attempts it has left (retrying cannot help, e.g.
   * what it works on is gone or refused). Default true: retried until its attempts are used up.
   */
  retry?: boolean;
}

export interface QueueDepth {
  queued: number;
  running: number;
  failed: number;
  done: number;
}

export interface JobQueue {
  /** Adds a job; pass the caller's transaction to make it part of it. Returns the job id. */
  enqueue(
    queue: string,
    payload: unknown,
    options?: EnqueueOptions,
    trx?: Transaction<DB>,
  ): Promise<number>;
  /**
   * Takes the next ready job of `queue` (queued and due, or running with an expired lease, i.e.
   * its worker died), marks it running under `workerId` with a lease of `leaseMs`, and counts the
   * attempt. No two workers ever hold the same job.
   */
  take<P = unknown>(
    queue: string,
    workerId: string,
    leaseMs: number,
  ): Promise<TakenJob<P> | undefined>;
  /** Extends the lease of a job this worker holds; false when it no longer holds it. */
  renew(jobId: number, workerId: string, leaseMs: number): Promise<boolean>;
  complete(jobId: number, workerId: string): Promise<void>;
  /**
   * Records the error; the job is retried with backoff until its attempts are used up, or fails
   * at once with `{ retry: false }`. 'failed' means this call made the failure final.
   */
  fail(jobId: number, workerId: string, error: string, options?: FailOptions): Promise<FailOutcome>;
  depth(queue?: string): Promise<QueueDepth>;
  /** Deletes finished jobs (done or failed) that finished before `before`; returns how many. */
  prune(before: Date): Promise<number>;
  get(jobId: number): Promise<Job | undefined>;
}
