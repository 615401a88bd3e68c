/**
 * The registries that send us events and that scans pull from. Each has a name, the base URL
 * regscan pulls from (the only address it ever pulls from: URLs inside events are never used),
 * optional pull credentials, and a secret its events must carry in the `Authorization` header.
 * Only the secret's sha256 is stored. A registry with a project id is a project's own registry
 * whose events feed only that project; without one it is an instance registry (admin).
 *
 * A project registry's URL must name a public host unless the instance allows private networks
 * (`scan.allowPrivateNetworks`): not `localhost`, not a loopback, private, link-local or other
 * non-public IP address. That is the early, friendly check; the real one is made by the scan at
 * every connection (a public name can still resolve to a private address), see scan-job.ts.
 *
 * Authentication looks the registry up by the sha256 of the presented secret (indexed, migration
 * 0002), as token authentication does: the table, with its passwords, is never read as a whole.
 */
import { isIP } from 'node:net';
import type { Kysely } from 'kysely';
import { isPublicAddress } from '../image/network.js';
import { isUniqueViolation } from '../store/errors.js';
import type { DB, Registry } from '../store/schema.js';
import type { RegistryConfig } from './config.js';
import { hashToken } from './users.js';

/** Bad input for a registry (name, URL, secret): the message says what and why. */
export class InvalidRegistryError extends Error {}

/** Another registry has the name already (names are unique across the instance). */
export class DuplicateRegistryError extends InvalidRegistryError {
  constructor(readonly registryName: string) {
    super(`a registry named ${registryName} exists already`);
  }
}

export interface NewRegistry {
  name: string;
  url: string;
  username?: string | null;
  password?: string | null;
  secret: string;
  /** A project's own registry; null or absent for an instance registry. */
  projectId?: number | null;
}

export interface RegistryUpdate {
  name?: string;
  url?: string;
  username?: string | null;
  password?: string | null;
  /** A new secret (the old one stops working). */
  secret?: string;
}

/** How a registry's URL is checked beyond its form. */
export interface RegistryUrlPolicy {
  /**
   * The instance setting `scan.allowPrivateNetworks`: when false (the default), a project
   * registry's URL must name a public host. Instance registries are never restricted.
   */
  allowPrivateNetworks?: boolean;
}

/** A registry as the API shows it: no secret hash, no password. */
export interface RegistryView {
  id: number;
  name: string;
  url: string;
  username: string | null;
  has_password: boolean;
  has_secret: boolean;
  project_id: number | null;
  created_at: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
export const MIN_SECRET_LENGTH = 16;
const MAX_SECRET_LENGTH = 512;

export function validateRegistryName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InvalidRegistryError(
      'registry name: 1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
  }
  return name;
}

/**
 * The base URL regscan pulls from, normalised to `scheme://host[:port]`: http or https only, no
 * credentials (they go in username/password), no path but `/`, no query or fragment.
 */
export function validateRegistryUrl(url: unknown): string {
  if (typeof url !== 'string' || url.length === 0 || url.length > 2048) {
    throw new InvalidRegistryError('registry url: a URL such as https://registry.example.com');
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidRegistryError(`registry url: not a URL: ${JSON.stringify(url.slice(0, 100))}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidRegistryError(
      `registry url: only http and https are supported, not ${parsed.protocol.replace(/:$/, '')}`,
    );
  }
  if (parsed.username || parsed.password || /@/.test(url.split('/')[2] ?? '')) {
    throw new InvalidRegistryError(
      'registry url: no credentials in the URL; give username and password instead',
    );
  }
  if (!parsed.hostname) throw new InvalidRegistryError('registry url: no host');
  if (parsed.pathname !== '/' && parsed.pathname !== '') {
    throw new InvalidRegistryError(
      `registry url: no path (${JSON.stringify(parsed.pathname.slice(0, 100))}); give the registry's base URL`,
    );
  }
  if (parsed.search || parsed.hash || /[?#]/.test(url)) {
    throw new InvalidRegistryError('registry url: no query or fragment');
  }
  return `${parsed.protocol}//${parsed.host}`;
}

/**
 * Refuses a URL (as validateRegistryUrl returns it) whose host is `localhost` (or a name under
 * `.localhost`) or an IP address that is not public: what a project registry may not point at
 * while private networks are not allowed. Names are not resolved here: the scan checks the
 * addresses a name resolves to when it connects.
 */
export function validatePublicRegistryUrl(url: string): string {
  const host = new URL(url).hostname.toLowerCase();
  const address = host.replace(/^\[(.*)\]$/, '$1');
  const local = /(^|\.)localhost\.?$/.test(host);
  if (local || (isIP(address) !== 0 && !isPublicAddress(address))) {
    throw new InvalidRegistryError(
      `registry url: ${local ? `${host} is this machine` : `${address} is not a public address`}; ` +
        'a project registry may only be on a public network unless the instance setting ' +
        'scan.allowPrivateNetworks (REGSCAN_ALLOW_PRIVATE_NETWORKS) is on',
    );
  }
  return url;
}

/** The URL of a registry of `projectId` (null: an instance registry) under `policy`. */
function registryUrlFor(url: unknown, projectId: number | null, policy: RegistryUrlPolicy): string {
  const valid = validateRegistryUrl(url);
  if (projectId === null || policy.allowPrivateNetworks === true) return valid;
  return validatePublicRegistryUrl(valid);
}

export function validateSecret(secret: unknown): string {
  if (
    typeof secret !== 'string' ||
    secret.length < MIN_SECRET_LENGTH ||
    secret.length > MAX_SECRET_LENGTH ||
    !/^[\x21-\x7e]+$/.test(secret)
  ) {
    throw new InvalidRegistryError(
      `registry secret: ${MIN_SECRET_LENGTH} to ${MAX_SECRET_LENGTH} printable ASCII characters, no spaces`,
    );
  }
  return secret;
}

function optionalText(value: string | null | undefined, what: string): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' || value.length > 1024) {
    throw new InvalidRegistryError(`registry ${what}: at most 1024 characters`);
  }
  return value;
}

export function registryView(registry: Registry): RegistryView {
  return {
    id: registry.id,
    name: registry.name,
    url: registry.url,
    username: registry.username,
    has_password: registry.password !== null,
    has_secret: registry.secret_hash !== '',
    project_id: registry.project_id,
    created_at: registry.created_at,
  };
}

async function nameTaken(db: Kysely<DB>, name: string, exceptId?: number): Promise<boolean> {
  let q = db.selectFrom('registries').select('id').where('name', '=', name);
  if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
  return (await q.executeTakeFirst()) !== undefined;
}

/**
 * Adds a registry. A project registry's URL must be public unless `policy` allows private
 * networks (see RegistryUrlPolicy).
 */
export async function createRegistry(
  db: Kysely<DB>,
  input: NewRegistry,
  now: Date = new Date(),
  policy: RegistryUrlPolicy = {},
): Promise<Registry> {
  const name = validateRegistryName(input.name);
  const url = registryUrlFor(input.url, input.projectId ?? null, policy);
  const secret = validateSecret(input.secret);
  if (await nameTaken(db, name)) throw new DuplicateRegistryError(name);
  try {
    return await db
      .insertInto('registries')
      .values({
        project_id: input.projectId ?? null,
        name,
        url,
        username: optionalText(input.username, 'username'),
        password: optionalText(input.password, 'password'),
        secret_hash: hashToken(secret),
        created_at: now.toISOString(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (e) {
    // added at the same moment by another request
    if (isUniqueViolation(e)) throw new DuplicateRegistryError(name);
    throw e;
  }
}

/**
 * Changes what `update` names; undefined when no registry has this id. A new URL of a project
 * registry must be public unless `policy` allows private networks, whoever changes it.
 */
export async function updateRegistry(
  db: Kysely<DB>,
  id: number,
  update: RegistryUpdate,
  policy: RegistryUrlPolicy = {},
): Promise<Registry | undefined> {
  const values: Partial<Omit<Registry, 'id'>> = {};
  if (update.name !== undefined) {
    values.name = validateRegistryName(update.name);
    if (await nameTaken(db, values.name, id)) throw new DuplicateRegistryError(values.name);
  }
  if (update.url !== undefined) {
    const existing = await getRegistry(db, id);
    if (!existing) return undefined;
    values.url = registryUrlFor(update.url, existing.project_id, policy);
    // The stored credentials were given for the old host: pointed elsewhere without them being
    // given again, a scan would send them to whoever runs the new host.
    if (values.url !== existing.url && update.password === undefined) {
      throw new InvalidRegistryError(
        'changing the URL needs the credentials again: give password (or null to remove it)',
      );
    }
  }
  if (update.username !== undefined) values.username = optionalText(update.username, 'username');
  if (update.password !== undefined) values.password = optionalText(update.password, 'password');
  if (update.secret !== undefined) values.secret_hash = hashToken(validateSecret(update.secret));
  if (Object.keys(values).length === 0) return getRegistry(db, id);
  try {
    return await db
      .updateTable('registries')
      .set(values)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  } catch (e) {
    // renamed to a name another request took at the same moment
    if (values.name !== undefined && isUniqueViolation(e)) {
      throw new DuplicateRegistryError(values.name);
    }
    throw e;
  }
}

export async function getRegistry(db: Kysely<DB>, id: number): Promise<Registry | undefined> {
  return db.selectFrom('registries').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Registries in id order: all of them, or with `projectId` those of one project (null: the
 * instance registries).
 */
export async function listRegistries(
  db: Kysely<DB>,
  filter: { projectId?: number | null } = {},
): Promise<Registry[]> {
  let q = db.selectFrom('registries').selectAll().orderBy('id');
  if (filter.projectId === null) q = q.where('project_id', 'is', null);
  else if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId);
  return q.execute();
}

/** Deletes a registry; its events and scans stay (their registry_id becomes null). */
export async function deleteRegistry(db: Kysely<DB>, id: number): Promise<boolean> {
  const result = await db.deleteFrom('registries').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/**
 * The secret in an `Authorization` header: `Bearer <secret>` (Distribution's configured header),
 * or the whole value as it is (Harbor sends its configured "auth header" value unchanged).
 */
export function secretFromAuthorization(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (trimmed === '' || trimmed.length > MAX_SECRET_LENGTH + 16) return undefined;
  const bearer = /^Bearer\s+(\S+)$/i.exec(trimmed);
  return bearer ? bearer[1] : trimmed;
}

/**
 * The registry whose secret this is, or undefined: one indexed lookup by the secret's sha256.
 * No constant-time comparison is needed: what an attacker could learn from the timing of a
 * lookup is how much of the *hash* of their guess matches a stored hash, which says nothing
 * usable about a secret of at least 16 characters (they cannot choose hash prefixes to work
 * towards one); this is the same reasoning as for API tokens (users.ts).
 */
export async function authenticateRegistry(
  db: Kysely<DB>,
  presentedSecret: string | undefined,
): Promise<Registry | undefined> {
  if (!presentedSecret || presentedSecret.length > MAX_SECRET_LENGTH) return undefined;
  return db
    .selectFrom('registries')
    .selectAll()
    .where('secret_hash', '=', hashToken(presentedSecret))
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
}

/**
 * Creates or updates the registries of the config file (as instance registries), matched by name:
 * url, credentials and secret follow the file. Registries not in the file are left alone.
 */
export async function upsertConfiguredRegistries(
  db: Kysely<DB>,
  configs: readonly RegistryConfig[],
  now: Date = new Date(),
): Promise<Registry[]> {
  const out: Registry[] = [];
  for (const [i, config] of configs.entries()) {
    try {
      out.push(await upsertConfiguredRegistry(db, config, now));
    } catch (e) {
      if (e instanceof InvalidRegistryError) {
        throw new InvalidRegistryError(`registries[${i}] (${String(config.name)}): ${e.message}`);
      }
      throw e;
    }
  }
  return out;
}

async function upsertConfiguredRegistry(
  db: Kysely<DB>,
  config: RegistryConfig,
  now: Date,
): Promise<Registry> {
  const existing = await db
    .selectFrom('registries')
    .selectAll()
    .where('name', '=', validateRegistryName(config.name))
    .executeTakeFirst();
  if (!existing) {
    return createRegistry(db, config, now);
  }
  // the file wins: url, credentials and secret, and it is an instance registry
  const updated = await db
    .updateTable('registries')
    .set({
      url: validateRegistryUrl(config.url),
      username: optionalText(config.username, 'username'),
      password: optionalText(config.password, 'password'),
      secret_hash: hashToken(validateSecret(config.secret)),
      project_id: null,
    })
    .where('id', '=', existing.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return updated;
}
