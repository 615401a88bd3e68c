/**
 * A small token server for a Distribution registry configured with `auth: token` (the Docker
 * token authentication spec): `GET /token?service=…&scope=repository:<name>:<actions>` with
 * optional Basic credentials answers `{token, access_token, expires_in, issued_at}`.
 *
 * The token is a JWT signed RS256 with a self-signed certificate made by `openssl req -x509`;
 * the certificate goes into the JWT header as `x5c` and is also the registry's `rootcertbundle`,
 * which is what Distribution 2.8 accepts. Claims: iss, sub, aud (= service), exp, nbf, iat, jti,
 * access[{type, name, actions}], where actions are those asked for that the user may do.
 */
import { execFile } from 'node:child_process';
import {
  createPrivateKey,
  createSign,
  randomUUID,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TokenUser {
  password: string;
  /** Actions granted on every repository: `pull`, `push`, `delete`, `*`. */
  actions: string[];
}

export interface TokenServerOptions {
  /** Directory for the key and certificate (created by the caller). */
  dir: string;
  issuer?: string;
  service?: string;
  users?: Record<string, TokenUser>;
  /** Actions anonymous requests get (default none: the token has empty access). */
  anonymousActions?: string[];
  /** `expires_in` of issued tokens, in seconds. Default 300. */
  expiresIn?: number;
}

/** One request the token server answered. */
export interface TokenRequest {
  account: string | undefined;
  service: string | undefined;
  scopes: string[];
  status: number;
  userAgent: string | undefined;
}

export interface TokenServer {
  /** `http://127.0.0.1:PORT/token`: the realm to configure. */
  realm: string;
  issuer: string;
  service: string;
  /** PEM path of the signing certificate: the registry's `rootcertbundle`. */
  certPath: string;
  /** Every request so far, in order (tests count and filter these). */
  requests: TokenRequest[];
  stop(): Promise<void>;
}

export const DEFAULT_TOKEN_USERS: Record<string, TokenUser> = {
  alice: { password: 'alicepass', actions: ['pull', 'push', 'delete'] },
  bob: { password: 'bobpass', actions: ['pull'] },
};

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const issuer = options.issuer ?? 'regscan-test-issuer';
  const service = options.service ?? 'regscan-test-registry';
  const users = options.users ?? DEFAULT_TOKEN_USERS;
  const expiresIn = options.expiresIn ?? 300;
  const keyPath = join(options.dir, 'token.key');
  const certPath = join(options.dir, 'token.crt');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${issuer}`,
    '-keyout',
    keyPath,
    '-out',
    certPath,
  ]);
  const key = createPrivateKey(await readFile(keyPath));
  const certDer = new X509Certificate(await readFile(certPath)).raw.toString('base64');
  const requests: TokenRequest[] = [];

  const server = createServer((req, res) => {
    const record = (
      status: number,
      account: string | undefined,
      scopes: string[],
      svc: string | undefined,
    ): void => {
      requests.push({
        account,
        service: svc,
        scopes,
        status,
        userAgent: req.headers['user-agent'],
      });
    };
    try {
      handle(
        req,
        res,
        {
          key,
          certDer,
          issuer,
          service,
          users,
          expiresIn,
          anonymous: options.anonymousActions ?? [],
        },
        record,
      );
    } catch (err) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: String(err) }] }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    issuer,
    service,
    certPath,
    requests,
    stop: () => closeServer(server),
  };
}

interface Signer {
  key: KeyObject;
  certDer: string;
  issuer: string;
  service: string;
  users: Record<string, TokenUser>;
  expiresIn: number;
  anonymous: string[];
}

function handle(
  req: IncomingMessage,
  res: ServerResponse,
  s: Signer,
  record: (
    status: number,
    account: string | undefined,
    scopes: string[],
    service: string | undefined,
  ) => void,
): void {
  const url = new URL(req.url ?? '/', 'http://token.invalid');
  const scopes = url.searchParams.getAll('scope').flatMap((v) => v.split(' ').filter(Boolean));
  const service = url.searchParams.get('service') ?? undefined;
  if (url.pathname !== '/token' || req.method !== 'GET') {
    record(404, undefined, scopes, service);
    res.writeHead(404).end();
    return;
  }
  const fail = (status: number, code: string, message: string, account?: string): void => {
    record(status, account, scopes, service);
    res.writeHead(status, {
      'content-type': 'application/json',
      ...(status === 401 ? { 'www-authenticate': 'Basic realm="regscan-test-token"' } : {}),
    });
    res.end(JSON.stringify({ errors: [{ code, message }] }));
  };
  if (service !== undefined && service !== s.service) {
    fail(400, 'UNSUPPORTED', `unknown service "${service}"`);
    return;
  }
  let account: string | undefined;
  let allowed = s.anonymous;
  const header = req.headers.authorization;
  if (header) {
    const match = /^Basic\s+(\S+)$/i.exec(header);
    const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const name = colon > 0 ? decoded.slice(0, colon) : '';
    const user = s.users[name];
    if (!user || user.password !== decoded.slice(colon + 1)) {
      fail(401, 'UNAUTHORIZED', 'invalid username or password', name || undefined);
      return;
    }
    account = name;
    allowed = user.actions;
  }
  const access = scopes.flatMap((scope) => {
    // repository:<name>:<actions> — the name may itself hold ':' only with a port, which
    // repository names never have; split on the first and last colon.
    const first = scope.indexOf(':');
    const last = scope.lastIndexOf(':');
    if (first < 0 || last <= first) return [];
    const type = scope.slice(0, first);
    const name = scope.slice(first + 1, last);
    const asked = scope.slice(last + 1).split(',');
    const actions = asked.filter((a) => allowed.includes('*') || allowed.includes(a));
    return [{ type, name, actions }];
  });
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: s.issuer,
    sub: account ?? '',
    aud: s.service,
    exp: now + s.expiresIn,
    nbf: now - 10,
    iat: now,
    jti: randomUUID(),
    access,
  };
  const token = signJwt({ typ: 'JWT', alg: 'RS256', x5c: [s.certDer] }, claims, s.key);
  record(200, account, scopes, service);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      token,
      access_token: token,
      expires_in: s.expiresIn,
      issued_at: new Date(now * 1000).toISOString(),
    }),
  );
}

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

function signJwt(header: object, claims: object, key: KeyObject): string {
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = createSign('RSA-SHA256').update(input).sign(key);
  return `${input}.${base64url(signature)}`;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
