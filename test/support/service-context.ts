/**
 * A real ServiceContext for tests: a fresh database of the given kind, the real job queue on it,
 * an in-memory advisory index (tests add the OSV records they need), a controllable clock, and a
 * log that keeps its lines for assertions. No workers run unless a test starts them.
 */
import { MemoryAdvisoryIndex } from '../../src/advisories/osv.js';
import { DatabaseJobQueue } from '../../src/queue/queue.js';
import type { ServiceConfig } from '../../src/service/config.js';
import type { ServiceContext, ServiceLogger } from '../../src/service/context.js';
import { Metrics } from '../../src/service/metrics.js';
import type { Dialect } from '../../src/store/database.js';
import { openTestDatabase } from './postgres.js';

export interface TestContext extends ServiceContext {
  advisories: MemoryAdvisoryIndex;
  /** Lines logged, as `level: message`. */
  logged: string[];
  /** Moves the clock (ctx.now()) by ms; by default the clock is real time. */
  advanceClock(ms: number): void;
  /** Times ctx.wake() was called. */
  wakes: number;
  close(): Promise<void>;
}

/** Settings to change; `queue` and `scan` are merged key by key with the test defaults. */
export type TestConfigOverrides = Omit<Partial<ServiceConfig>, 'queue' | 'scan'> & {
  queue?: Partial<ServiceConfig['queue']>;
  scan?: Partial<ServiceConfig['scan']>;
};

export function testConfig(overrides: TestConfigOverrides = {}): ServiceConfig {
  const { queue, scan, ...rest } = overrides;
  return {
    dataDir: '/nonexistent',
    host: '127.0.0.1',
    port: 0,
    advisoryDb: ':memory:',
    workers: 0,
    registries: [],
    ...rest,
    queue: { leaseMs: 30_000, maxAttempts: 3, backoffMs: 50, pollMs: 50, ...queue },
    scan: {
      platform: 'linux/amd64',
      registryTimeoutMs: 5_000,
      registryRetries: 0,
      // as in production: project registries only on public networks
      allowPrivateNetworks: false,
      ...scan,
    },
  };
}

export async function makeTestContext(
  dialect: Dialect,
  config: TestConfigOverrides = {},
): Promise<TestContext> {
  const database = await openTestDatabase(dialect);
  let offset = 0;
  const now = () => new Date(Date.now() + offset);
  const queue = new DatabaseJobQueue(database, { now, backoffMs: config.queue?.backoffMs ?? 50 });
  const logged: string[] = [];
  const line =
    (level: string) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      logged.push(`${level}: ${msg}${fields ? ' ' + JSON.stringify(fields) : ''}`);
    };
  const log: ServiceLogger = { info: line('info'), warn: line('warn'), error: line('error') };
  const ctx: TestContext = {
    database,
    queue,
    advisories: new MemoryAdvisoryIndex(),
    config: testConfig(config),
    metrics: new Metrics(queue),
    log,
    now,
    wake: () => {
      ctx.wakes++;
    },
    logged,
    wakes: 0,
    advanceClock: (ms) => {
      offset += ms;
    },
    close: () => database.close(),
  };
  return ctx;
}
