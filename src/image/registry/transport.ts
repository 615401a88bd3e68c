import { lookup as dnsLookup } from 'node:dns';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP, type LookupFunction } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent } from 'undici';
import type { Readable } from 'node:stream';
import { ImageError } from '../types.js';
import {
  AddressNotAllowedError,
  RegistryError,
  describeErrorBody,
  parseErrorBody,
} from './errors.js';

/** What the client does, for debugging and tests. Nothing is ever logged by the client itself. */
export type RegistryEvent =
  | { type: 'request'; method: 'GET'; url: string; status: number; authorization: boolean }
  | { type: 'redirect'; from: string; to: string; authorization: 'kept' | 'dropped' | 'none' }
  | { type: 'retry'; url: string; attempt: number; delayMs: number; reason: string }
  | { type: 'token'; realm: string; service?: string; scope: string };

export interface RetryPolicy {
  /** Extra attempts after the first. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited for: the request fails at once. */
  maxRetryAfterMs: number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

export const defaultSleep = (ms: number): Promise<void> => delay(ms);

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The URL that answered, after redirects. */
  url: URL;
  body: Readable & { dump(opts?: { limit: number }): Promise<void> };
}

export interface TransportOptions {
  timeoutMs: number;
  userAgent: string;
  /** Allows plain http targets (the registry itself and redirects). */
  insecure: boolean;
  onEvent: ((event: RegistryEvent) => void) | undefined;
  /** Connections only to addresses it allows (every hop, checked at connect time); all if unset. */
  allowAddress: ((ip: string) => boolean) | undefined;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;
/** Error bodies are read for their message only; never more than this. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * HTTP GETs through one undici Agent (a connection pool per origin). Redirects are followed by
 * hand so that the Authorization header only ever goes to the origin it was meant for: blob
 * storage behind a registry (S3, a CDN) gets a pre-signed URL and must not see our credentials.
 */
export class Transport {
  private readonly agent: Agent;
  private closed = false;
  /** Response bodies not yet consumed: close() must be able to end them. */
  private readonly openBodies = new Set<Readable>();

  constructor(private readonly options: TransportOptions) {
    const { allowAddress } = options;
    this.agent = new Agent({
      connect: {
        timeout: options.timeoutMs,
        ...(allowAddress ? { lookup: guardedLookup(allowAddress) } : {}),
      },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  emit(event: RegistryEvent): void {
    this.options.onEvent?.(event);
  }

  /**
   * One GET of `url`, following redirects. `authorization.value` is sent only to its `origin`,
   * and once a redirect leaves that origin it is not sent again, even if a later hop comes back.
   */
  async get(
    url: URL,
    headers: Record<string, string>,
    authorization?: { value: string; origin: string },
  ): Promise<HttpResponse> {
    if (this.closed) throw new ImageError('registry source is closed');
    let current = url;
    let auth = authorization;
    for (let hop = 0; ; hop++) {
      this.checkProtocol(current, url);
      this.checkAddressLiteral(current, url);
      const sendAuth = auth !== undefined && current.origin === auth.origin;
      const res = await this.agent.request({
        origin: current.origin,
        path: `${current.pathname}${current.search}`,
        method: 'GET',
        headers: {
          'user-agent': this.options.userAgent,
          ...headers,
          ...(sendAuth ? { authorization: auth!.value } : {}),
        },
      });
      this.emit({
        type: 'request',
        method: 'GET',
        url: current.href,
        status: res.statusCode,
        authorization: sendAuth,
      });
      const location = headerValue(res.headers, 'location');
      if (!REDIRECTS.has(res.statusCode) || location === undefined) {
        const body = res.body;
        this.openBodies.add(body);
        body.once('close', () => this.openBodies.delete(body));
        return { status: res.statusCode, headers: res.headers, url: current, body };
      }
      await res.body.dump({ limit: MAX_ERROR_BODY }).catch(() => undefined);
      if (hop >= MAX_REDIRECTS) {
        throw new RegistryError(`too many redirects fetching ${url.href}`, res.statusCode);
      }
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new RegistryError(
          `invalid redirect location "${location}" from ${current.href}`,
          res.statusCode,
        );
      }
      if (auth !== undefined && next.origin !== auth.origin) {
        this.emit({
          type: 'redirect',
          from: current.href,
          to: next.href,
          authorization: 'dropped',
        });
        auth = undefined;
      } else {
        this.emit({
          type: 'redirect',
          from: current.href,
          to: next.href,
          authorization: auth ? 'kept' : 'none',
        });
      }
      current = next;
    }
  }

  private checkProtocol(target: URL, original: URL): void {
    if (target.protocol === 'https:') return;
    if (target.protocol === 'http:' && this.options.insecure) return;
    if (target.protocol === 'http:') {
      throw new RegistryError(
        `refusing plain http ${target.href}${target === original ? '' : ` (redirected from ${original.href})`}; set insecure to allow it`,
      );
    }
    throw new RegistryError(`unsupported URL scheme in ${target.href}`);
  }

  /**
   * A host that is an IP address is connected to without a DNS lookup, so guardedLookup never
   * sees it: it is checked here, on every hop, redirects included.
   */
  private checkAddressLiteral(target: URL, original: URL): void {
    const allow = this.options.allowAddress;
    if (!allow) return;
    const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
    if (isIP(host) !== 0 && !allow(host)) {
      throw new AddressNotAllowedError(
        host,
        target.host,
        target === original ? undefined : original.href,
      );
    }
  }

  /**
   * Closes the connections. Requests still in flight (a blob body nobody finished reading) get
   * two seconds, then their bodies are destroyed with an error, so close() never hangs.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closing = this.agent.close();
    const timer = delay(2000, 'timeout' as const, { ref: false });
    if ((await Promise.race([closing.then(() => 'closed' as const), timer])) === 'timeout') {
      for (const body of this.openBodies)
        body.destroy(new ImageError('registry source closed while reading'));
      await this.agent.destroy();
    }
    await closing;
  }
}

/**
 * dns.lookup, but every address a name resolves to must pass `allow`, or the connection fails
 * with an AddressNotAllowedError before it is made. Doing this at connect time (not by resolving
 * the name beforehand) means a name that resolves differently the second time (DNS rebinding)
 * cannot slip through. Handles both answers net.connect asks for: one address, or all of them
 * (`all: true`, with autoSelectFamily).
 */
function guardedLookup(allow: (ip: string) => boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, options, (err, address, family) => {
      if (err) {
        callback(err, address, family);
        return;
      }
      const addresses = typeof address === 'string' ? [address] : address.map((a) => a.address);
      const refused = addresses.find((a) => !allow(a));
      if (refused !== undefined) {
        callback(new AddressNotAllowedError(refused, hostname), address, family);
        return;
      }
      callback(null, address, family);
    });
  };
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  if (Array.isArray(v)) return v[0];
  return v;
}

/** Reads at most `limit` bytes; throws `tooLarge()` beyond that. */
export async function readBody(
  body: Readable,
  limit: number,
  tooLarge: () => Error,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Builds the error for a non-2xx answer, with the registry's error codes when it sent any. */
export async function errorFromResponse(
  res: HttpResponse,
  what: string,
  hint = '',
): Promise<RegistryError> {
  let text = '';
  try {
    text = (await readBody(res.body, MAX_ERROR_BODY, () => new Error('large'))).toString('utf8');
  } catch {
    // A body we cannot read still leaves us the status.
  }
  const errors = parseErrorBody(text);
  const detail = describeErrorBody(errors, text);
  const retryAfter = res.status === 429 ? headerValue(res.headers, 'retry-after') : undefined;
  const parts = [
    `${what}: ${detail || statusText(res.status)}`,
    `(HTTP ${res.status} from ${res.url.host}${retryAfter ? `, retry after ${retryAfter}` : ''})`,
  ];
  if (hint) parts.push(`- ${hint}`);
  return new RegistryError(parts.join(' '), res.status, errors);
}

function statusText(status: number): string {
  switch (status) {
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not found';
    case 429:
      return 'too many requests';
    default:
      return status >= 500 ? 'server error' : 'request failed';
  }
}

const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

function errorCodes(err: unknown, depth = 0): string[] {
  if (typeof err !== 'object' || err === null || depth > 3) return [];
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  const out = typeof e.code === 'string' ? [e.code] : [];
  if (e.cause) out.push(...errorCodes(e.cause, depth + 1));
  if (Array.isArray(e.errors))
    for (const inner of e.errors) out.push(...errorCodes(inner, depth + 1));
  return out;
}

/** Connection failures and timeouts: worth another try. */
export function isRetryableError(err: unknown): boolean {
  if (err instanceof ImageError) return false;
  return errorCodes(err).some((c) => RETRYABLE_CODES.has(c));
}

function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function backoff(policy: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  // "Equal jitter": half fixed, half random, so delays grow but concurrent clients spread out.
  return Math.round(ceiling / 2 + policy.random() * (ceiling / 2));
}

const CERTIFICATE_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME/;

/** One line about a network failure, with its code and, for TLS, what to do about it. */
export function describeNetworkError(err: unknown, host: string): string {
  const codes = errorCodes(err);
  const code = codes.find((c) => c !== 'UND_ERR_SOCKET') ?? codes[0];
  if (code && (code.startsWith('ERR_SSL_') || code === 'EPROTO')) {
    return `TLS handshake with ${host} failed (${code}); if the registry speaks plain http, set insecure`;
  }
  if (code && CERTIFICATE_CODES.test(code)) {
    return `the TLS certificate of ${host} is not trusted (${code}); add its CA with NODE_EXTRA_CA_CERTS`;
  }
  const message = (err instanceof Error && err.message ? err.message : String(err))
    .split('\n')[0]!
    .trim();
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

/**
 * Runs `send` until it gives a response that is not worth retrying, then hands it to `accept`.
 * Retried: connection errors and timeouts (also while `accept` reads a body), 429 (waiting for
 * `Retry-After` when it is short) and 5xx except 501/505. Other statuses go to `accept` at once,
 * which turns them into errors.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  transport: Transport,
  url: URL,
  what: string,
  send: () => Promise<HttpResponse>,
  accept: (res: HttpResponse) => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const left = attempt < policy.retries;
    let res: HttpResponse;
    try {
      res = await send();
    } catch (err) {
      if (!isRetryableError(err)) {
        if (err instanceof ImageError) throw err;
        throw new RegistryError(`${what}: ${describeNetworkError(err, url.host)}`);
      }
      const reason = describeNetworkError(err, url.host);
      if (!left)
        throw new RegistryError(`${what}: ${reason} (gave up after ${attempt + 1} attempts)`);
      const ms = backoff(policy, attempt);
      transport.emit({ type: 'retry', url: url.href, attempt: attempt + 1, delayMs: ms, reason });
      await policy.sleep(ms);
      continue;
    }
    if (isRetryableStatus(res.status) && left) {
      const retryAfter = parseRetryAfter(headerValue(res.headers, 'retry-after'));
      if (retryAfter === undefined || retryAfter <= policy.maxRetryAfterMs) {
        await res.body.dump({ limit: MAX_ERROR_BODY }).catch(() => undefined);
        const ms = retryAfter ?? backoff(policy, attempt);
        transport.emit({
          type: 'retry',
          url: res.url.href,
          attempt: attempt + 1,
          delayMs: ms,
          reason: `HTTP ${res.status}`,
        });
        await policy.sleep(ms);
        continue;
      }
      // Asked to come back much later: fail now rather than hang; the error says when.
    }
    try {
      return await accept(res);
    } catch (err) {
      if (!isRetryableError(err)) throw err;
      const reason = describeNetworkError(err, res.url.host);
      if (!left)
        throw new RegistryError(`${what}: ${reason} (gave up after ${attempt + 1} attempts)`);
      const ms = backoff(policy, attempt);
      transport.emit({
        type: 'retry',
        url: res.url.href,
        attempt: attempt + 1,
        delayMs: ms,
        reason,
      });
      await policy.sleep(ms);
    }
  }
}

/** Drains a body we do not need (so the connection can be reused). */
export async function discard(res: HttpResponse): Promise<void> {
  await res.body.dump({ limit: MAX_ERROR_BODY }).catch(() => undefined);
}
