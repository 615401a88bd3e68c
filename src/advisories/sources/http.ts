import { isIP } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { Agent } from 'undici';

export interface HttpOptions {
  /** Connect, headers and idle-body timeout. */
  timeoutMs?: number;
  /** Extra attempts after the first for connection errors, 429 and 5xx. */
  retries?: number;
  /** Allows plain http to hosts other than loopback (advisories could then be altered on the way). */
  insecure?: boolean;
  userAgent?: string;
  /** Called before each retry's wait, for progress output. */
  onRetry?: (url: string, attempt: number, reason: string) => void;
}

export class AdvisoryFetchError extends Error {
  override name = 'AdvisoryFetchError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface HttpBody {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  url: URL;
  body: Readable;
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * GETs for advisory downloads, through one undici Agent (connection reuse across the thousands of
 * small record fetches of an incremental sync). Follows redirects, retries transient failures with
 * backoff, and refuses plain http except to loopback unless `insecure`.
 */
export class AdvisoryHttp {
  private readonly agent: Agent;
  private readonly retries: number;

  constructor(private readonly options: HttpOptions = {}) {
    const timeout = options.timeoutMs ?? 60_000;
    this.agent = new Agent({
      connect: { timeout },
      headersTimeout: timeout,
      bodyTimeout: timeout,
      connections: 16,
    });
    this.retries = options.retries ?? 3;
  }

  /** One GET; the caller reads or dumps the body. 404 and other statuses are returned as they are. */
  async get(url: URL): Promise<HttpBody> {
    for (let attempt = 0; ; attempt++) {
      const left = attempt < this.retries;
      let res: HttpBody;
      try {
        res = await this.follow(url);
      } catch (err) {
        if (err instanceof AdvisoryFetchError || !left || !isRetryable(err)) throw wrap(err, url);
        await this.wait(url, attempt, describe(err));
        continue;
      }
      if ((res.status === 429 || res.status >= 500) && left) {
        res.body.resume();
        await this.wait(url, attempt, `HTTP ${res.status}`);
        continue;
      }
      return res;
    }
  }

  /** The body as bytes, refusing more than `maxBytes`; a status other than 200 is an error. */
  async bytes(url: URL, maxBytes: number): Promise<Uint8Array> {
    for (let attempt = 0; ; attempt++) {
      const res = await this.get(url);
      if (res.status !== 200) {
        res.body.resume();
        throw new AdvisoryFetchError(`GET ${url.href}: HTTP ${res.status}`, res.status);
      }
      try {
        return await readAll(res.body, maxBytes, url);
      } catch (err) {
        // A connection that drops in the middle of a body is worth another try too.
        if (err instanceof AdvisoryFetchError || attempt >= this.retries || !isRetryable(err)) {
          throw wrap(err, url);
        }
        await this.wait(url, attempt, describe(err));
      }
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async follow(start: URL): Promise<HttpBody> {
    let url = start;
    for (let hop = 0; hop <= 5; hop++) {
      this.checkProtocol(url);
      const res = await this.agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: { 'user-agent': this.options.userAgent ?? 'regscan' },
      });
      const location = res.headers.location;
      if (!REDIRECTS.has(res.statusCode) || typeof location !== 'string') {
        return { status: res.statusCode, headers: res.headers, url, body: res.body };
      }
      await res.body.dump();
      url = new URL(location, url);
    }
    throw new AdvisoryFetchError(`GET ${start.href}: too many redirects`);
  }

  private checkProtocol(url: URL): void {
    if (url.protocol === 'https:') return;
    if (url.protocol !== 'http:') {
      throw new AdvisoryFetchError(`${url.href}: only http and https URLs can be fetched`);
    }
    if (!this.options.insecure && !isLoopback(url.hostname)) {
      throw new AdvisoryFetchError(
        `${url.href}: plain http is only used for loopback addresses; use https (or allow insecure)`,
      );
    }
  }

  private async wait(url: URL, attempt: number, reason: string): Promise<void> {
    this.options.onRetry?.(url.href, attempt + 1, reason);
    const ceiling = Math.min(10_000, 250 * 2 ** attempt);
    await delay(ceiling / 2 + Math.random() * (ceiling / 2));
  }
}

export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return false;
}

async function readAll(body: Readable, maxBytes: number, url: URL): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      body.destroy();
      throw new AdvisoryFetchError(`GET ${url.href}: body larger than ${maxBytes} bytes`);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts, size);
}

function codes(err: unknown, depth = 0): string[] {
  if (typeof err !== 'object' || err === null || depth > 3) return [];
  const e = err as { code?: unknown; cause?: unknown };
  return [...(typeof e.code === 'string' ? [e.code] : []), ...codes(e.cause, depth + 1)];
}

function isRetryable(err: unknown): boolean {
  return codes(err).some((c) => RETRYABLE_CODES.has(c));
}

function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = codes(err)[0];
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

function wrap(err: unknown, url: URL): Error {
  if (err instanceof AdvisoryFetchError) return err;
  return new AdvisoryFetchError(`GET ${url.href}: ${describe(err)}`);
}
