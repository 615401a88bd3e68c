/**
 * Pulling from registries: a small client for the OCI distribution API (and Docker Registry
 * HTTP API v2) on undici. It fetches manifests and blobs, handles anonymous, Basic and bearer
 * token authentication, retries transient failures, and follows blob redirects without leaking
 * credentials. It never pushes.
 *
 * Transport: https, always, unless `insecure` is set, which means plain http (no TLS at all, not
 * "https without verification"). There is no silent https→http fallback, not even for localhost:
 * a test registry on 127.0.0.1 needs `insecure: true`, the way skopeo needs `--tls-verify=false`.
 *
 * Where it may connect: anywhere, unless `allowAddress` says otherwise (a service pulling from
 * registries other people configure passes `isPublicAddress`, see ./network.ts).
 */
import type { Readable } from 'node:stream';
import { digestOf, verifyBytes } from './digest.js';
import { formatReference, type RegistryReference } from './reference.js';
import { MAX_MANIFEST_BYTES, MediaTypes } from './resolve.js';
import { ImageError, type Descriptor, type ImageSource, type RawManifest } from './types.js';
import {
  Authenticator,
  DEFAULT_TOKEN_LIFETIME_S,
  basicAuthorization,
  type BearerRealm,
  type IssuedToken,
} from './registry/auth.js';
import { parseAuthChallenges } from './registry/challenge.js';
import {
  credentialsFromDockerConfig,
  defaultDockerConfigPath,
  type Credentials,
} from './registry/credentials.js';
import { RegistryError } from './registry/errors.js';
import {
  Transport,
  defaultSleep,
  discard,
  errorFromResponse,
  headerValue,
  readBody,
  withRetries,
  type HttpResponse,
  type RegistryEvent,
  type RetryPolicy,
} from './registry/transport.js';

export {
  AddressNotAllowedError,
  RegistryError,
  type RegistryErrorEntry,
} from './registry/errors.js';
export type { RegistryEvent } from './registry/transport.js';
export { parseAuthChallenges, type AuthChallenge } from './registry/challenge.js';
export type { Credentials } from './registry/credentials.js';

export interface RegistryOptions {
  /** Basic credentials; they win over a Docker config file. */
  username?: string;
  password?: string;
  /**
   * Docker `config.json` to read credentials from when no username is given. Default
   * `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` (a missing default file is fine;
   * a missing explicit one is an error). Credential helpers are ignored.
   *
   * `false`: no Docker config at all, only `username`/`password` (or none). A service pulling
   * from registries other people configure must say so: otherwise a registry URL someone
   * registers would be pulled from with the credentials of the host the service runs on.
   */
  dockerConfigPath?: string | false;
  /** Plain http instead of https (see the note at the top of this file). Default false. */
  insecure?: boolean;
  /**
   * Connections only to addresses it allows (`isPublicAddress` from `./network.js` keeps the
   * client off loopback, private networks and cloud metadata). Checked for every connection at
   * connect time, to the address DNS gave for that very connection (so a name that resolves
   * elsewhere later cannot slip through), and for hosts that are IP addresses; redirects (blob
   * storage) and token servers included. A refused address fails the request with an
   * AddressNotAllowedError before anything is sent. Default: every address.
   */
  allowAddress?: (ip: string) => boolean;
  /** Connect, headers and idle-body timeout per request, in ms. Default 30 000. */
  timeoutMs?: number;
  /** Extra attempts on connection errors, timeouts, 429 and 5xx. Default 3. */
  retries?: number;
  /** Default `regscan`. */
  userAgent?: string;
  /** First backoff delay (doubled per attempt, with jitter), in ms. Default 250. */
  retryBaseDelayMs?: number;
  /** Largest backoff delay, in ms. Default 8 000. */
  retryMaxDelayMs?: number;
  /** Longest `Retry-After` that is waited for; a longer one fails the request at once. Default 30 000. */
  maxRetryAfterMs?: number;
  /** How to wait between attempts (tests pass a recorder). Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Clock for token expiry, in ms. Default `Date.now`. */
  now?: () => number;
  /** Debug hook: every request, redirect, retry and token fetch. */
  onEvent?: (event: RegistryEvent) => void;
}

/** The manifest types we ask for, newest first. Schema 1 is deliberately absent. */
export const MANIFEST_ACCEPT = [
  MediaTypes.ociIndex,
  MediaTypes.ociManifest,
  MediaTypes.dockerList,
  MediaTypes.dockerManifest,
].join(', ');

const KNOWN_MANIFEST_TYPES = new Set<string>([
  MediaTypes.ociIndex,
  MediaTypes.ociManifest,
  MediaTypes.dockerList,
  MediaTypes.dockerManifest,
  MediaTypes.dockerSchema1,
  MediaTypes.dockerSchema1Signed,
]);

/** The host that serves the API for a registry name: Docker Hub's is `registry-1.docker.io`. */
export function registryApiHost(registry: string): string {
  const host = registry.toLowerCase();
  if (host === 'docker.io' || host === 'index.docker.io') return 'registry-1.docker.io';
  return registry;
}

export function openRegistrySource(
  ref: RegistryReference,
  options: RegistryOptions = {},
): ImageSource {
  return new RegistrySource(ref, options);
}

class RegistrySource implements ImageSource {
  readonly reference: string;
  readonly name: string;
  readonly tag: string | undefined;

  private readonly origin: string;
  private readonly scope: string;
  private readonly transport: Transport;
  private readonly retry: RetryPolicy;
  private readonly auth: Authenticator;
  private credentialsLoad: Promise<Credentials | undefined> | undefined;

  constructor(
    private readonly ref: RegistryReference,
    private readonly options: RegistryOptions,
  ) {
    this.reference = formatReference(ref);
    this.name = `${ref.registry}/${ref.repository}`;
    this.tag = ref.tag;
    this.origin = `${options.insecure ? 'http' : 'https'}://${registryApiHost(ref.registry)}`;
    this.scope = `repository:${ref.repository}:pull`;
    this.transport = new Transport({
      timeoutMs: options.timeoutMs ?? 30_000,
      userAgent: options.userAgent ?? 'regscan',
      insecure: options.insecure ?? false,
      onEvent: options.onEvent,
      allowAddress: options.allowAddress,
    });
    this.retry = {
      retries: Math.max(0, options.retries ?? 3),
      baseDelayMs: options.retryBaseDelayMs ?? 250,
      maxDelayMs: options.retryMaxDelayMs ?? 8_000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 30_000,
      sleep: options.sleep ?? defaultSleep,
      random: Math.random,
    };
    this.auth = new Authenticator({
      registry: ref.registry,
      credentials: () => this.credentials(),
      whereCredentialsGo: this.whereCredentialsGo(),
      fetchToken: (realm, scope, creds) => this.fetchToken(realm, scope, creds),
      now: options.now ?? Date.now,
    });
  }

  async manifest(digest?: string): Promise<RawManifest> {
    const wanted = digest ?? this.ref.digest;
    if (wanted !== undefined) checkDigest(wanted, `manifest of ${this.name}`);
    const reference = wanted ?? this.ref.tag;
    if (reference === undefined)
      throw new ImageError(`${this.reference} names neither a tag nor a digest`);
    const what = `manifest ${this.name}${wanted ? `@${wanted}` : `:${reference}`}`;
    const { bytes, headers } = await this.fetch(
      `/v2/${this.ref.repository}/manifests/${reference}`,
      { accept: MANIFEST_ACCEPT },
      what,
      async (res) => {
        const length = Number(headerValue(res.headers, 'content-length'));
        if (length > MAX_MANIFEST_BYTES) {
          await discard(res);
          throw new ImageError(
            `${what} is ${length} bytes, more than the ${MAX_MANIFEST_BYTES} allowed`,
          );
        }
        const body = await readBody(
          res.body,
          MAX_MANIFEST_BYTES,
          () => new ImageError(`${what} is larger than ${MAX_MANIFEST_BYTES} bytes`),
        );
        return { bytes: body, headers: res.headers };
      },
    );
    if (wanted) {
      verifyBytes(bytes, wanted, what);
      const mediaType = manifestMediaType(bytes, headerValue(headers, 'content-type'), what);
      return { mediaType, digest: wanted, bytes };
    }
    const mediaType = manifestMediaType(bytes, headerValue(headers, 'content-type'), what);
    const actual = digestOf(bytes);
    const announced = headerValue(headers, 'docker-content-digest')?.trim();
    if (announced && announced.startsWith('sha256:') && announced !== actual) {
      throw new ImageError(
        `digest mismatch for ${what}: registry says ${announced}, the bytes are ${actual}`,
      );
    }
    if (announced && announced.startsWith('sha512:')) verifyBytes(bytes, announced, what);
    return { mediaType, digest: actual, bytes };
  }

  async blob(descriptor: Descriptor): Promise<Readable> {
    checkDigest(descriptor.digest, `blob of ${this.name}`);
    const what = `blob ${this.name}@${descriptor.digest}`;
    return this.fetch(`/v2/${this.ref.repository}/blobs/${descriptor.digest}`, {}, what, (res) =>
      Promise.resolve(res.body),
    );
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  /**
   * GET a registry path with authentication and retries; `read` gets the 2xx response and its
   * errors (a body cut short) are retried like connection errors.
   */
  private async fetch<T>(
    path: string,
    headers: Record<string, string>,
    what: string,
    read: (res: HttpResponse) => Promise<T>,
  ): Promise<T> {
    const url = new URL(path, this.origin);
    return withRetries(
      this.retry,
      this.transport,
      url,
      what,
      () => this.authorizedGet(url, headers, what),
      async (res) => {
        if (res.status >= 200 && res.status < 300) return read(res);
        throw await errorFromResponse(res, what, await this.hint(res.status));
      },
    );
  }

  /** One GET with the known authorization; on 401, answer the challenge and try once more. */
  private async authorizedGet(
    url: URL,
    headers: Record<string, string>,
    what: string,
  ): Promise<HttpResponse> {
    const sent = await this.auth.upfront(this.scope);
    const first = await this.transport.get(
      url,
      headers,
      sent ? { value: sent, origin: this.origin } : undefined,
    );
    if (first.status !== 401 || first.url.origin !== this.origin) return first;
    const challenges = parseAuthChallenges(first.headers['www-authenticate']);
    await discard(first);
    const retry = await this.auth.answer(challenges, this.scope, sent, what);
    return this.transport.get(url, headers, { value: retry, origin: this.origin });
  }

  private async hint(status: number): Promise<string> {
    if (status !== 401 && status !== 403) return '';
    const creds = await this.credentials().catch(() => undefined);
    if (!creds) return `no credentials were given (${this.whereCredentialsGo()})`;
    return status === 401
      ? `the credentials of user "${creds.username}" were not accepted`
      : `user "${creds.username}" may not pull ${this.ref.repository}`;
  }

  private whereCredentialsGo(): string {
    return this.options.dockerConfigPath === false
      ? 'set username/password'
      : 'set username/password or a Docker config.json entry';
  }

  private credentials(): Promise<Credentials | undefined> {
    this.credentialsLoad ??= this.loadCredentials();
    return this.credentialsLoad;
  }

  private async loadCredentials(): Promise<Credentials | undefined> {
    const { username, password, dockerConfigPath } = this.options;
    if (username !== undefined && username !== '') return { username, password: password ?? '' };
    if (dockerConfigPath === false) return undefined;
    const path = dockerConfigPath ?? defaultDockerConfigPath();
    return credentialsFromDockerConfig(this.ref.registry, path, dockerConfigPath !== undefined);
  }

  /** GET realm?service=…&scope=… (Basic credentials when we have some) → `token`/`access_token`. */
  private async fetchToken(
    realm: BearerRealm,
    scope: string,
    creds: Credentials | undefined,
  ): Promise<IssuedToken> {
    let url: URL;
    try {
      url = new URL(realm.realm);
    } catch {
      throw new RegistryError(
        `registry ${this.ref.registry} sent an invalid token realm "${realm.realm}"`,
        401,
      );
    }
    if (realm.service !== undefined) url.searchParams.set('service', realm.service);
    url.searchParams.set('scope', scope);
    if (creds) url.searchParams.set('account', creds.username);
    const what = `token for ${scope} from ${url.origin}${url.pathname}`;
    this.transport.emit({ type: 'token', realm: realm.realm, service: realm.service, scope });
    const authorization = creds
      ? { value: basicAuthorization(creds), origin: url.origin }
      : undefined;
    return withRetries(
      this.retry,
      this.transport,
      url,
      what,
      () => this.transport.get(url, { accept: 'application/json' }, authorization),
      async (res) => {
        if (res.status === 401 || res.status === 403) {
          throw await errorFromResponse(
            res,
            what,
            creds
              ? `the token server rejected the credentials of user "${creds.username}"`
              : 'the token server refused anonymous access; give credentials',
          );
        }
        if (res.status < 200 || res.status >= 300) throw await errorFromResponse(res, what);
        const body = await readBody(
          res.body,
          1024 * 1024,
          () => new RegistryError(`${what}: response too large`),
        );
        return parseTokenResponse(body, what);
      },
    );
  }
}

/** Digests go into URL paths: only the OCI digest grammar may (descriptors come from manifests). */
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

function checkDigest(digest: string, what: string): void {
  if (!DIGEST.test(digest))
    throw new ImageError(`invalid digest ${JSON.stringify(digest)} for ${what}`);
}

function parseTokenResponse(body: Buffer, what: string): IssuedToken {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw new RegistryError(`${what}: the token server's answer is not JSON`);
  }
  const d = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
  const token =
    typeof d.token === 'string' && d.token !== ''
      ? d.token
      : typeof d.access_token === 'string' && d.access_token !== ''
        ? d.access_token
        : undefined;
  if (!token) throw new RegistryError(`${what}: the token server's answer has no token`);
  const expiresIn =
    typeof d.expires_in === 'number' && Number.isFinite(d.expires_in) && d.expires_in > 0
      ? d.expires_in
      : DEFAULT_TOKEN_LIFETIME_S;
  return { token, expiresIn };
}

/**
 * The manifest's media type: the document's own `mediaType` field (it is part of the digested
 * bytes), else a recognised Content-Type, else its shape (OCI lets both omit it). Schema 1 is
 * refused here, whichever way it shows.
 */
function manifestMediaType(bytes: Buffer, contentType: string | undefined, what: string): string {
  const transportType = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  let doc: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(bytes.toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      doc = parsed as Record<string, unknown>;
    }
  } catch {
    // Not JSON: the resolver reports that with more context; the type still comes from the header.
  }
  const field = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  const schema1 =
    doc.schemaVersion === 1 ||
    [field, transportType].some(
      (t) => t === MediaTypes.dockerSchema1 || t === MediaTypes.dockerSchema1Signed,
    );
  if (schema1) {
    throw new ImageError(
      `${what} is a Docker schema 1 manifest: schema 1 manifests are not supported (push the image again with a current client)`,
    );
  }
  if (field) return field;
  if (KNOWN_MANIFEST_TYPES.has(transportType)) return transportType;
  if (Array.isArray(doc.manifests)) return MediaTypes.ociIndex;
  if (doc.config !== undefined && Array.isArray(doc.layers)) return MediaTypes.ociManifest;
  return transportType;
}
