/**
 * Starting and stopping the whole service in one process: the database (migrated), the first
 * admin, the registries of the config file, the advisory store, the durable job queue, the scan
 * workers and the HTTP server. `regscan serve` (src/cli/serve.ts) calls startService and stops it
 * on SIGINT/SIGTERM; tests and the benchmark start it the same way on a free port.
 *
 * The advisory store is the SQLite AdvisoryStore file (`config.advisoryDb`) whichever database
 * keeps the service's state, PostgreSQL included. This is deliberate: advisories are public data
 * and the store is a cache that can always be rebuilt from its sources (`regscan db update --db
 * FILE`, or POST /api/v1/admin/advisories/sync), the matcher reads it synchronously and very
 * often, and the CLI and the service share one format and one update path. With several worker
 * machines on one PostgreSQL, each keeps (and updates) its own advisory file.
 */
import type { AddressInfo } from 'node:net';
import { AdvisoryStore } from '../advisories/store.js';
import { buildApp, type App } from '../http/app.js';
import { DatabaseJobQueue } from '../queue/queue.js';
import { Worker } from '../queue/worker.js';
import { openDatabase, type Database } from '../store/database.js';
import type { ServiceConfig } from './config.js';
import {
  SCAN_QUEUE,
  type ScanJobPayload,
  type ServiceContext,
  type ServiceLogger,
} from './context.js';
import { Metrics } from './metrics.js';
import { upsertConfiguredRegistries } from './registries.js';
import { scanJobHandler } from './scan-job.js';
import { bootstrapAdmin } from './users.js';

export interface StartServiceOptions {
  /** Where the service logs; default lines on stderr (consoleLogger). */
  logger?: ServiceLogger;
  /**
   * Log nothing and print nothing (tests, the benchmark). A generated admin token is then only
   * available as RunningService.initialAdminToken.
   */
  quiet?: boolean;
  /** How long stop() waits for running scans before aborting them (and again after). Default 30 s. */
  stopTimeoutMs?: number;
}

export interface RunningService {
  /** Base URL to reach the service (`http://127.0.0.1:PORT` when listening on all addresses). */
  url: string;
  port: number;
  ctx: ServiceContext;
  app: App;
  /** The admin token generated at this start (first start without REGSCAN_ADMIN_TOKEN). */
  initialAdminToken?: string;
  /**
   * Closes the HTTP server (waiting for requests in flight), stops the workers (waiting up to the
   * timeout for running scans, then aborting them: their jobs are retried later), then closes the
   * advisory store and the database. Calling it again returns the same promise.
   */
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

const SILENT: ServiceLogger = { info: () => {}, warn: () => {}, error: () => {} };

/** A logger writing `time level message {fields}` lines. */
export function consoleLogger(stream: NodeJS.WritableStream = process.stderr): ServiceLogger {
  const line =
    (level: string) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      const extra = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
      stream.write(`${new Date().toISOString()} ${level.padEnd(5)} ${msg}${extra}\n`);
    };
  return { info: line('info'), warn: line('warn'), error: line('error') };
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A URL one can connect to for the address the server is bound to. */
function reachableUrl(address: AddressInfo): string {
  const host =
    address.address === '0.0.0.0'
      ? '127.0.0.1'
      : address.address === '::'
        ? '[::1]'
        : address.family === 'IPv6'
          ? `[${address.address}]`
          : address.address;
  return `http://${host}:${address.port}`;
}

export async function startService(
  config: ServiceConfig,
  options: StartServiceOptions = {},
): Promise<RunningService> {
  const log = options.quiet ? SILENT : (options.logger ?? consoleLogger());
  const now = () => new Date();
  const JOB_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 30_000;

  // What is open so far, closed in reverse order if a later step fails.
  let database: Database | undefined;
  let advisories: AdvisoryStore | undefined;
  let worker: Worker<ScanJobPayload> | undefined;
  let app: App | undefined;
  let pruning: NodeJS.Timeout | undefined;
  const cleanup = async () => {
    clearInterval(pruning);
    await app?.close().catch(() => undefined);
    await worker?.stop({ timeoutMs: stopTimeoutMs }).catch(() => undefined);
    advisories?.close();
    await database?.close().catch(() => undefined);
  };

  try {
    database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
    log.info('database ready', { dialect: database.dialect, location: database.location });

    const admin = await bootstrapAdmin(database.db, config.adminToken, now());
    if (admin)
      log.info('created the admin user', {
        token: admin.generated ? 'generated' : 'from the configuration (adminToken)',
      });
    if (admin?.generated && !options.quiet) {
      process.stderr.write(
        `regscan: created user admin with token ${admin.token} — store it now, it is not shown again\n`,
      );
    }

    if (config.registries.length > 0) {
      await upsertConfiguredRegistries(database.db, config.registries, now());
      log.info('configured registries', { registries: config.registries.map((r) => r.name) });
    }

    advisories = new AdvisoryStore(config.advisoryDb);
    const status = advisories.status();
    if (status.advisories === 0) {
      log.warn(
        `the advisory database is empty: run \`regscan db update --db ${config.advisoryDb}\` or POST /api/v1/admin/advisories/sync`,
        { file: config.advisoryDb },
      );
    } else {
      log.info('advisory database', { file: config.advisoryDb, advisories: status.advisories });
    }

    const queue = new DatabaseJobQueue(database, {
      now,
      backoffMs: config.queue.backoffMs,
      maxAttempts: config.queue.maxAttempts,
    });
    const ctx: ServiceContext = {
      database,
      queue,
      advisories,
      config,
      metrics: new Metrics(queue),
      log,
      now,
      wake: () => worker?.wake(),
    };

    if (config.workers > 0) {
      worker = new Worker<ScanJobPayload>(
        {
          queue,
          queueName: SCAN_QUEUE,
          concurrency: config.workers,
          leaseMs: config.queue.leaseMs,
          pollMs: config.queue.pollMs,
          log,
        },
        scanJobHandler(ctx),
      );
      worker.start();
      log.info('workers started', { workers: config.workers, worker: worker.workerId });
      // finished jobs are kept a week (a scan keeps its own status, error and log for good)
      pruning = setInterval(
        () => {
          queue.prune(new Date(now().getTime() - JOB_RETENTION_MS)).then(
            (n) => n > 0 && log.info('pruned finished jobs', { jobs: n }),
            (e: unknown) => log.error('could not prune finished jobs', { error: messageOf(e) }),
          );
        },
        60 * 60 * 1000,
      ).unref();
    } else {
      log.info('no workers in this process (workers: 0): scans run elsewhere');
    }

    app = await buildApp(ctx);
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address() as AddressInfo;
    const url = reachableUrl(address);
    log.info('listening', { host: config.host, port: address.port, url });

    const opened = { database, advisories, app };
    let stopping: Promise<void> | undefined;
    return {
      url,
      port: address.port,
      ctx,
      app,
      ...(admin?.generated ? { initialAdminToken: admin.token } : {}),
      stop(stopOptions = {}) {
        stopping ??= (async () => {
          const timeoutMs = stopOptions.timeoutMs ?? stopTimeoutMs;
          log.info('stopping');
          clearInterval(pruning);
          try {
            await opened.app.close();
          } catch (e) {
            log.error('closing the HTTP server failed', { error: messageOf(e) });
          }
          await worker?.stop({ timeoutMs });
          opened.advisories.close();
          await opened.database.close();
          log.info('stopped');
        })();
        return stopping;
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
