/**
 * What every part of the running service shares: the database, the queue, the advisory store, the
 * configuration, the metrics and a clock. Built once by startService (service.ts); tests build
 * their own with the parts they need.
 */
import type { AdvisoryIndex } from '../advisories/osv.js';
import type { JobQueue } from '../queue/types.js';
import type { Database } from '../store/database.js';
import type { ServiceConfig } from './config.js';
import type { Metrics } from './metrics.js';

export interface ServiceLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface ServiceContext {
  database: Database;
  queue: JobQueue;
  /** The advisory store scans match against (an AdvisoryStore file, or in memory in tests). */
  advisories: AdvisoryIndex;
  config: ServiceConfig;
  metrics: Metrics;
  log: ServiceLogger;
  now(): Date;
  /** Wakes the in-process workers after an enqueue (no-op when workers run elsewhere). */
  wake(): void;
}

/** The queue scan jobs go to. Payload: ScanJobPayload. */
export const SCAN_QUEUE = 'scan';

export interface ScanJobPayload {
  scanId: number;
}
