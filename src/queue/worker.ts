/**
 * The worker loop: takes jobs of one queue and runs up to `concurrency` of them at once with a
 * handler. While a job runs its lease is renewed every leaseMs/3; a handler that throws fails the
 * attempt (the queue retries it with backoff), unless it throws a PermanentJobError, which fails
 * the job for good at once. When the failure is final — or the job's previous worker died on its
 * last attempt — the handler's onFailed hook reports it.
 *
 * An idle worker looks for jobs every pollMs, or at once when woken (wake(), called after an
 * in-process enqueue) or when one of its jobs finishes. Nothing that goes wrong in a handler or
 * in the database stops the loop: it is logged and the loop carries on.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ServiceLogger } from '../service/context.js';
import type { JobQueue, TakenJob } from './types.js';

export interface WorkerOptions {
  queue: JobQueue;
  queueName: string;
  /** Jobs run at once. */
  concurrency: number;
  /** Lease of a running job; renewed every leaseMs/3 while it runs. */
  leaseMs: number;
  /** How often an idle worker looks for jobs when nobody wakes it. */
  pollMs: number;
  /** Default: host, pid and a random suffix (unique per Worker). */
  workerId?: string;
  log?: ServiceLogger;
}

/**
 * What a handler throws when retrying cannot help (what the job works on is gone, refused or
 * broken): the job fails for good at once, whatever attempts it has left, and onFailed is called.
 */
export class PermanentJobError extends Error {
  override readonly name = 'PermanentJobError';
}

export interface JobHandler<P = unknown> {
  /**
   * Does the job; throws to fail the attempt (a PermanentJobError to fail the job for good).
   * `signal` aborts when the worker stops or loses the job.
   */
  run(job: TakenJob<P>, signal: AbortSignal): Promise<void>;
  /** Called once when the job has failed for good, with the reason. */
  onFailed?(job: TakenJob<P>, error: string): Promise<void>;
}

interface RunningJob {
  controller: AbortController;
  done: Promise<void>;
}

const SILENT: ServiceLogger = { info: () => {}, warn: () => {}, error: () => {} };

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class Worker<P = unknown> {
  readonly workerId: string;
  private readonly log: ServiceLogger;
  /**
   * Running jobs by holder: `workerId/<random>`, new for every take, is what the job row is locked
   * by. Should this worker take back a job of its own whose lease expired (a long stall), the old
   * run holds a different name and can neither renew, complete nor fail the new one.
   */
  private readonly jobs = new Map<string, RunningJob>();
  private loop?: Promise<void>;
  private stopping = false;
  private woken = false;
  private interruptSleep?: () => void;
  private sleeping = false;

  constructor(
    private readonly options: WorkerOptions,
    private readonly handler: JobHandler<P>,
  ) {
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.log = options.log ?? SILENT;
  }

  /** Jobs running now. */
  get running(): number {
    return this.jobs.size;
  }

  /** True while the loop waits for pollMs or a wake (it found nothing to take, or is full). */
  get waiting(): boolean {
    return this.sleeping;
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.runLoop();
  }

  /** Makes the loop look for jobs now rather than after pollMs. */
  wake(): void {
    this.woken = true;
    this.interruptSleep?.();
  }

  /**
   * Stops taking jobs and waits up to `timeoutMs` for the running ones; then aborts their signals
   * and waits up to `timeoutMs` more for them to settle (handlers are expected to honour the
   * signal; an aborted job's attempt fails and is retried later, by this process or another).
   */
  async stop({ timeoutMs }: { timeoutMs: number }): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loop;
    this.loop = undefined;
    if (!(await this.settled(timeoutMs))) {
      this.log.warn('stopping: aborting running jobs', {
        queue: this.options.queueName,
        jobs: [...this.jobs.keys()],
      });
      for (const job of this.jobs.values()) job.controller.abort(new Error('the worker stopped'));
      if (!(await this.settled(timeoutMs))) {
        this.log.error('stopping: jobs did not stop when aborted', {
          queue: this.options.queueName,
          jobs: [...this.jobs.keys()],
        });
      }
    }
  }

  /** Resolves when no job is running. */
  async idle(): Promise<void> {
    while (this.jobs.size > 0) await Promise.all([...this.jobs.values()].map((j) => j.done));
  }

  private async settled(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>(
      (resolve) => (timer = setTimeout(resolve, timeoutMs, false)),
    );
    const result = await Promise.race([this.idle().then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  private async runLoop(): Promise<void> {
    const { queue, queueName, concurrency, leaseMs, pollMs } = this.options;
    while (!this.stopping) {
      this.woken = false;
      try {
        while (!this.stopping && this.jobs.size < concurrency) {
          const holder = `${this.workerId}/${randomUUID().slice(0, 8)}`;
          const job = await queue.take<P>(queueName, holder, leaseMs);
          if (!job) break;
          this.launch(job, holder);
        }
      } catch (e) {
        this.log.error('could not take a job', { queue: queueName, error: messageOf(e) });
        this.woken = false; // wait pollMs before trying the database again
      }
      await this.sleep(pollMs);
    }
  }

  private async sleep(ms: number): Promise<void> {
    if (this.woken || this.stopping) return;
    this.sleeping = true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.interruptSleep = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.interruptSleep = undefined;
    this.sleeping = false;
  }

  private launch(job: TakenJob<P>, holder: string): void {
    const controller = new AbortController();
    const done = this.runJob(job, holder, controller).finally(() => {
      this.jobs.delete(holder);
      this.wake(); // a slot is free
    });
    this.jobs.set(holder, { controller, done });
  }

  /** Never rejects: every failure is recorded in the queue and/or logged. */
  private async runJob(
    job: TakenJob<P>,
    holder: string,
    controller: AbortController,
  ): Promise<void> {
    const { queue, queueName, leaseMs } = this.options;
    const fields = { queue: queueName, job: job.id, attempt: job.attempt };
    if (job.expired) {
      await this.reportFailure(job, job.lastError ?? 'lease expired');
      return;
    }
    const renewal = setInterval(() => {
      queue.renew(job.id, holder, leaseMs).then(
        (held) => {
          if (held || controller.signal.aborted) return;
          this.log.warn('lost the lease of a running job; aborting it', fields);
          controller.abort(new Error('the worker lost the lease of the job'));
        },
        (e: unknown) =>
          this.log.error('could not renew a lease', { ...fields, error: messageOf(e) }),
      );
    }, leaseMs / 3);
    let error: string | undefined;
    let retry = true;
    try {
      await this.handler.run(job, controller.signal);
    } catch (e) {
      error = messageOf(e);
      retry = !(e instanceof PermanentJobError);
    } finally {
      clearInterval(renewal);
    }
    try {
      if (error === undefined) {
        await queue.complete(job.id, holder);
      } else if ((await queue.fail(job.id, holder, error, { retry })) === 'failed') {
        await this.reportFailure(job, error);
      } else {
        this.log.warn('job failed; it will be retried', { ...fields, error });
      }
    } catch (e) {
      // the job stays running until its lease expires; then it is taken again
      this.log.error('could not record the outcome of a job', { ...fields, error: messageOf(e) });
    }
  }

  private async reportFailure(job: TakenJob<P>, reason: string): Promise<void> {
    const fields = { queue: this.options.queueName, job: job.id, attempt: job.attempt };
    this.log.error('job failed', { ...fields, error: reason });
    try {
      await this.handler.onFailed?.(job, reason);
    } catch (e) {
      this.log.error('the failure hook of a job failed', { ...fields, error: messageOf(e) });
    }
  }
}
