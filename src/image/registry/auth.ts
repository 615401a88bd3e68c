import type { AuthChallenge } from './challenge.js';
import type { Credentials } from './credentials.js';
import { RegistryError } from './errors.js';

/** A bearer token as the token server gave it. */
export interface IssuedToken {
  token: string;
  /** Lifetime in seconds (`expires_in`; 60 when the server does not say). */
  expiresIn: number;
}

export interface BearerRealm {
  realm: string;
  service: string | undefined;
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

export interface AuthenticatorDeps {
  /** The registry host, for messages. */
  registry: string;
  credentials: () => Promise<Credentials | undefined>;
  /** What to tell a user who gave no credentials, e.g. `set username/password`. */
  whereCredentialsGo: string;
  fetchToken: (
    realm: BearerRealm,
    scope: string,
    credentials: Credentials | undefined,
  ) => Promise<IssuedToken>;
  now: () => number;
}

export const DEFAULT_TOKEN_LIFETIME_S = 60;

export function basicAuthorization(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}`;
}

/**
 * Decides the Authorization header for registry requests.
 *
 * The first request goes out bare; its 401 challenge tells the scheme. From then on requests
 * carry credentials up front: Basic credentials, or a bearer token for the request's scope,
 * cached until shortly before its `expires_in` runs out (so one token serves many requests).
 * A 401 on a request that carried a token fetches one fresh token and the request is tried
 * once more; the caller gives up after that.
 */
export class Authenticator {
  private scheme: { kind: 'basic' } | ({ kind: 'bearer' } & BearerRealm) | undefined;
  private readonly tokens = new Map<string, Promise<CachedToken>>();
  /** Scope we asked for → scope the registry's challenge named for it (usually the same). */
  private readonly scopeAliases = new Map<string, string>();

  constructor(private readonly deps: AuthenticatorDeps) {}

  /** The Authorization to send before any challenge, or undefined (not known yet / anonymous). */
  async upfront(scope: string): Promise<string | undefined> {
    const scheme = this.scheme;
    if (!scheme) return undefined;
    if (scheme.kind === 'basic') {
      const creds = await this.deps.credentials();
      return creds ? basicAuthorization(creds) : undefined;
    }
    const effective = this.scopeAliases.get(scope) ?? scope;
    return this.token(scheme, effective, undefined);
  }

  /**
   * The Authorization to retry with after a 401 carrying `challenges`, given what was `sent`.
   * Throws when the registry cannot be satisfied (no usable scheme, no credentials for Basic,
   * the same Basic credentials were already refused).
   */
  async answer(
    challenges: AuthChallenge[],
    scope: string,
    sent: string | undefined,
    what: string,
  ): Promise<string> {
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (bearer) {
      const realm = bearer.params.realm;
      if (!realm) {
        throw new RegistryError(
          `${what}: registry ${this.deps.registry} sent a Bearer challenge without a realm`,
          401,
        );
      }
      const scheme = { kind: 'bearer' as const, realm, service: bearer.params.service };
      this.scheme = scheme;
      const challengeScope = bearer.params.scope ?? scope;
      if (challengeScope !== scope) this.scopeAliases.set(scope, challengeScope);
      return this.token(scheme, challengeScope, sent);
    }
    if (basic) {
      this.scheme = { kind: 'basic' };
      const creds = await this.deps.credentials();
      if (!creds) {
        throw new RegistryError(
          `${what}: registry ${this.deps.registry} requires authentication and no credentials were given (${this.deps.whereCredentialsGo})`,
          401,
          [{ code: 'UNAUTHORIZED', message: 'authentication required' }],
        );
      }
      const header = basicAuthorization(creds);
      if (sent === header) {
        throw new RegistryError(
          `${what}: registry ${this.deps.registry} rejected the credentials of user "${creds.username}"`,
          401,
          [{ code: 'UNAUTHORIZED', message: 'authentication required' }],
        );
      }
      return header;
    }
    const schemes = challenges.map((c) => c.scheme).join(', ') || 'none';
    throw new RegistryError(
      `${what}: registry ${this.deps.registry} answered 401 with no supported authentication challenge (schemes: ${schemes})`,
      401,
    );
  }

  /**
   * A token for `scope`, from the cache unless it is expired or is the one the registry just
   * refused (`refused`); concurrent callers share one fetch.
   */
  private async token(
    realm: BearerRealm,
    scope: string,
    refused: string | undefined,
  ): Promise<string> {
    const key = `${realm.realm}\n${realm.service ?? ''}\n${scope}`;
    const pending = this.tokens.get(key);
    if (pending) {
      try {
        const cached = await pending;
        if (cached.header !== refused && cached.expiresAt > this.deps.now()) return cached.header;
      } catch {
        // A failed fetch is not cached: fetch again below.
      }
      // Another caller may have replaced it while we waited.
      if (this.tokens.get(key) !== pending) return this.token(realm, scope, refused);
    }
    const fetching = this.fetch(realm, scope);
    this.tokens.set(key, fetching);
    fetching.catch(() => {
      if (this.tokens.get(key) === fetching) this.tokens.delete(key);
    });
    return (await fetching).header;
  }

  private async fetch(realm: BearerRealm, scope: string): Promise<CachedToken> {
    const creds = await this.deps.credentials();
    const issued = await this.deps.fetchToken(realm, scope, creds);
    const lifetimeMs = Math.max(1, issued.expiresIn) * 1000;
    // Renew a little early, so a token does not expire between our check and the registry's.
    const margin = Math.min(10_000, lifetimeMs / 10);
    return { header: `Bearer ${issued.token}`, expiresAt: this.deps.now() + lifetimeMs - margin };
  }
}
