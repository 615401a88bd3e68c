import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ImageError } from '../types.js';

export interface Credentials {
  username: string;
  password: string;
}

/** Docker Hub is known under several names; config files usually say `https://index.docker.io/v1/`. */
const DOCKER_HUB_NAMES = ['docker.io', 'index.docker.io', 'registry-1.docker.io'];

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function defaultDockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG;
  return dir ? join(dir, 'config.json') : join(homedir(), '.docker', 'config.json');
}

/** `https://host:5000/v1/` → `host:5000`; the form Docker config keys are compared in. */
function hostOfConfigKey(key: string): string {
  let host = key.trim().toLowerCase();
  host = host.replace(/^[a-z][a-z0-9+.-]*:\/\//, '');
  const slash = host.indexOf('/');
  return slash >= 0 ? host.slice(0, slash) : host;
}

function namesOf(registry: string): string[] {
  const host = registry.toLowerCase();
  return DOCKER_HUB_NAMES.includes(host) ? DOCKER_HUB_NAMES : [host];
}

/**
 * Credentials for `registry` from a Docker `config.json`: `auths[key].auth` (base64 `user:pass`)
 * or `auths[key].username`/`password`. Credential helpers (`credsStore`, `credHelpers`) and
 * identity tokens are not supported and are ignored. A missing file gives no credentials unless
 * `required` (an explicitly configured path); a malformed one is an error.
 */
export async function credentialsFromDockerConfig(
  registry: string,
  path: string,
  required: boolean,
): Promise<Credentials | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ImageError(`cannot read Docker config ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ImageError(`Docker config ${path} is not valid JSON`);
  }
  const auths = (doc as { auths?: unknown } | null)?.auths;
  if (typeof auths !== 'object' || auths === null) return undefined;
  const wanted = namesOf(registry);
  for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
    if (!wanted.includes(hostOfConfigKey(key))) continue;
    const creds = credentialsOfEntry(entry, key, path);
    if (creds) return creds;
  }
  return undefined;
}

function credentialsOfEntry(entry: unknown, key: string, path: string): Credentials | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  if (typeof e.auth === 'string' && e.auth !== '') {
    const decoded = Buffer.from(e.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) {
      throw new ImageError(
        `Docker config ${path}: auths["${key}"].auth is not base64 "user:password"`,
      );
    }
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof e.username === 'string' && e.username !== '' && typeof e.password === 'string') {
    return { username: e.username, password: e.password };
  }
  return undefined;
}
