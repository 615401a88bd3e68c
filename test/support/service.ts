/**
 * The whole service for end-to-end tests and the benchmark: `startService` on SQLite (a temporary
 * data directory) or PostgreSQL (a fresh database), a real Distribution registry whose
 * notifications go to it, and a small client for the API.
 *
 * `duplicate: true` puts a relay between the registry and regscan that delivers every
 * notification twice at once, as a registry does when it retries a delivery it thinks failed.
 */
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Advisory } from '../../src/advisories/osv.js';
import type { ServiceConfig } from '../../src/service/config.js';
import { startService, type RunningService } from '../../src/service/service.js';
import type { Dialect } from '../../src/store/database.js';
import { runCli } from './cli.js';
import { createPostgresDatabase } from './postgres.js';
import { startRegistry, type TestRegistry } from './registry.js';

export const ADMIN_TOKEN = 'rsp_e2e-admin-token-0123456789abcdefghijklmnop';
export const REGISTRY_SECRET = 'e2e-registry-secret-0123456789';

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export class Api {
  constructor(
    readonly base: string,
    readonly token: string = ADMIN_TOKEN,
  ) {}

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
    const res = await fetch(this.base + path, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // CSV, metrics: text
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
  get<T = unknown>(path: string) {
    return this.call<T>('GET', path);
  }
  post<T = unknown>(path: string, body: unknown) {
    return this.call<T>('POST', path, body);
  }
  patch<T = unknown>(path: string, body: unknown) {
    return this.call<T>('PATCH', path, body);
  }
  put<T = unknown>(path: string, body: unknown) {
    return this.call<T>('PUT', path, body);
  }
  /** Every item of a paginated list (GitLab headers X-Total-Pages). */
  async all<T = unknown>(path: string): Promise<T[]> {
    const out: T[] = [];
    for (let page = 1; ; page++) {
      const sep = path.includes('?') ? '&' : '?';
      const r = await this.get<T[]>(`${path}${sep}per_page=100&page=${page}`);
      if (r.status >= 300) throw new Error(`GET ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      out.push(...r.body);
      if (page >= Number(r.headers.get('x-total-pages') ?? 1)) return out;
    }
  }
  /** GET that must answer 2xx. */
  async ok<T = unknown>(path: string): Promise<T> {
    const r = await this.get<T>(path);
    if (r.status >= 300) throw new Error(`GET ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }
}

export interface TestService {
  service: RunningService;
  api: Api;
  registry: TestRegistry;
  /** The registry's host:port as regscan pulls from it. */
  registryHost: string;
  dataDir: string;
  /** Deliveries the relay forwarded (each twice when duplicating). */
  relayed: number;
  stop(): Promise<void>;
}

export interface StartTestServiceOptions {
  dialect: Dialect;
  /** OSV records for the service's advisory store. */
  advisories?: Advisory[];
  config?: Partial<ServiceConfig>;
  /** Deliver every registry notification twice at once. */
  duplicate?: boolean;
}

/** Starts regscan, then a registry notifying it; registers the registry in regscan (admin API). */
export async function startTestService(options: StartTestServiceOptions): Promise<TestService> {
  const dataDir = await mkdtemp(join(tmpdir(), 'regscan-svc-'));
  const advisoryDb = join(dataDir, 'advisories.db');
  if (options.advisories?.length) {
    const osv = join(dataDir, 'osv');
    await mkdir(osv);
    for (const a of options.advisories)
      await writeFile(join(osv, `${a.id}.json`), JSON.stringify(a));
    const r = await runCli(['db', 'update', '-q', '--source', osv, '--db', advisoryDb]);
    if (r.code !== 0) throw new Error(`db update failed: ${r.stderr}`);
  }
  const base = options.config ?? {};
  const config: ServiceConfig = {
    dataDir,
    host: '127.0.0.1',
    port: 0,
    adminToken: ADMIN_TOKEN,
    advisoryDb,
    workers: 2,
    registries: [],
    ...base,
    databaseUrl: options.dialect === 'postgres' ? await createPostgresDatabase() : base.databaseUrl,
    queue: { leaseMs: 60_000, maxAttempts: 3, backoffMs: 200, pollMs: 200, ...base.queue },
    scan: { platform: 'linux/amd64', registryTimeoutMs: 10_000, registryRetries: 1, ...base.scan },
  };
  const service = await startService(config, { quiet: true });
  const api = new Api(service.url);

  let relay: Server | undefined;
  const state = { relayed: 0 };
  let notifyUrl = `${service.url}/api/v1/registry/events`;
  if (options.duplicate) {
    relay = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const forward = () =>
          fetch(notifyUrl, {
            method: 'POST',
            headers: {
              'content-type': String(req.headers['content-type']),
              authorization: String(req.headers.authorization),
            },
            body,
          }).then((r) => r.status);
        state.relayed++;
        void Promise.all([forward(), forward()]).then(
          ([a]) => res.writeHead(a).end(),
          () => res.writeHead(502).end(),
        );
      });
    });
    relay.listen(0, '127.0.0.1');
    await once(relay, 'listening');
    notifyUrl = `${service.url}/api/v1/registry/events`;
  }
  const relayUrl = relay
    ? `http://127.0.0.1:${(relay.address() as AddressInfo).port}/events`
    : notifyUrl;
  const registry = await startRegistry({
    notifications: { url: relayUrl, headers: { Authorization: [`Bearer ${REGISTRY_SECRET}`] } },
  });
  const created = await api.post('/api/v1/registries', {
    name: 'e2e',
    url: `http://${registry.host}`,
    secret: REGISTRY_SECRET,
  });
  if (created.status !== 201) {
    throw new Error(`registry create: ${created.status} ${JSON.stringify(created.body)}`);
  }
  return {
    service,
    api,
    registry,
    registryHost: registry.host,
    dataDir,
    get relayed() {
      return state.relayed;
    },
    async stop() {
      await registry.stop();
      relay?.close();
      await service.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until it returns a value (not undefined) or the time is up. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
