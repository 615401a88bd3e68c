/**
 * The service's configuration: defaults, then a config file (YAML or JSON), then REGSCAN_*
 * environment variables, then command-line flags, validated at start (loadConfig).
 *
 * - The file is `--config FILE` or `REGSCAN_CONFIG`. Its keys are the camelCase names of
 *   ServiceConfig (`dataDir`, `queue: { leaseMs }`, `registries: [{ name, url, secret }]`); a key
 *   regscan does not know is an error, so a typo is never silently ignored. Nested mappings
 *   (`queue`, `scan`) are merged key by key with the defaults; `registries` replaces them.
 * - Secrets need not be written in the file: `adminToken`, `databaseUrl` and a registry's
 *   `password` and `secret` may be `{ env: NAME }` (read from that environment variable) or
 *   `{ file: PATH }` (read from that file, trailing newline removed; docker/Kubernetes secrets).
 * - Environment: REGSCAN_DATA_DIR, REGSCAN_DATABASE_URL, REGSCAN_HOST, REGSCAN_PORT,
 *   REGSCAN_ADMIN_TOKEN, REGSCAN_WORKERS, REGSCAN_ADVISORY_DB, REGSCAN_ALLOW_PRIVATE_NETWORKS
 *   (`true`/`false`, also `1`/`0`, `yes`/`no`, `on`/`off`). An empty variable counts as unset.
 * - Relative paths are relative to the working directory; `advisoryDb` defaults to
 *   `<dataDir>/advisories.db` with the final dataDir.
 *
 * Every problem is collected and reported at once, each with its path, what is expected and where
 * the wrong value came from: `port: must be an integer 0..65535 (got 'abc' from REGSCAN_PORT)`.
 * Secret values are never echoed in messages.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Type, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { parse as parseYaml } from 'yaml';

export interface RegistryConfig {
  name: string;
  /** Base URL regscan pulls from (`https://registry.example.com`, `http://127.0.0.1:5000`). */
  url: string;
  username?: string;
  password?: string;
  /** The secret events must carry in their Authorization header. */
  secret: string;
}

export interface ServiceConfig {
  /** Where the SQLite database, the advisory store and caches live. Default `./data`. */
  dataDir: string;
  /** `postgres://…` to keep all state in PostgreSQL; default the SQLite file `<dataDir>/regscan.db`. */
  databaseUrl?: string;
  host: string;
  port: number;
  /** Admin token to create at first start; else one is generated and printed once. */
  adminToken?: string;
  /** The advisory store file (`regscan db update --db` fills it). Default `<dataDir>/advisories.db`. */
  advisoryDb: string;
  /** Scan jobs run at once in this process; 0 runs no workers (API only). */
  workers: number;
  queue: {
    /** A running job's lease; renewed while the job runs. */
    leaseMs: number;
    maxAttempts: number;
    /** First retry delay; doubles per attempt. */
    backoffMs: number;
    /** How often idle workers look for jobs (they are also woken by enqueues in-process). */
    pollMs: number;
  };
  scan: {
    /** Platform scanned in a multi-platform image. */
    platform: string;
    /** Per-request registry timeout. */
    registryTimeoutMs: number;
    /** Registry client retries within one attempt. */
    registryRetries: number;
    /**
     * Whether project registries (added by project maintainers) may be pulled from loopback,
     * private networks, link-local addresses (cloud metadata) and the like. Default false: only
     * public addresses, checked at every connection. Instance registries (admins) are never
     * restricted. Optional in the type for configurations built in code; absent means false.
     */
    allowPrivateNetworks?: boolean;
  };
  /** Registries defined in the config file (created or updated at start, as instance registries). */
  registries: RegistryConfig[];
}

/** Invalid configuration: every problem found, one line each. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
  }
}

export const CONFIG_FILE_ENV = 'REGSCAN_CONFIG';

/** A setting an environment variable can set: a top-level one, or `mapping.key`. */
type EnvSetting = keyof ServiceConfig | 'scan.allowPrivateNetworks';

/** The environment variables loadConfig reads, and the setting each one sets. */
export const CONFIG_ENV = {
  REGSCAN_DATA_DIR: 'dataDir',
  REGSCAN_DATABASE_URL: 'databaseUrl',
  REGSCAN_HOST: 'host',
  REGSCAN_PORT: 'port',
  REGSCAN_ADMIN_TOKEN: 'adminToken',
  REGSCAN_WORKERS: 'workers',
  REGSCAN_ADVISORY_DB: 'advisoryDb',
  REGSCAN_ALLOW_PRIVATE_NETWORKS: 'scan.allowPrivateNetworks',
} as const satisfies Record<string, EnvSetting>;

/** Settings whose environment variable is a number, and those whose is a boolean. */
const NUMERIC_ENV = new Set<EnvSetting>(['port', 'workers']);
const BOOLEAN_ENV = new Set<EnvSetting>(['scan.allowPrivateNetworks']);

/** Settings given on the command line (`regscan serve --port --data-dir`); they win over all. */
export interface ConfigFlags {
  port?: string | number;
  dataDir?: string;
  host?: string;
}

const FLAG_NAMES: Record<keyof ConfigFlags, string> = {
  port: '--port',
  dataDir: '--data-dir',
  host: '--host',
};

export interface LoadConfigOptions {
  /** Default process.env. */
  env?: Record<string, string | undefined>;
  /** The config file (`--config`); default REGSCAN_CONFIG from `env`, else none. */
  file?: string;
  flags?: ConfigFlags;
  /** Relative paths resolve against this directory. Default process.cwd(). */
  cwd?: string;
}

/** The configuration with nothing set: everything under `dataDir`. */
export function defaultConfig(dataDir = './data'): ServiceConfig {
  return {
    dataDir,
    host: '0.0.0.0',
    port: 8080,
    advisoryDb: join(dataDir, 'advisories.db'),
    workers: 2,
    queue: { leaseMs: 300_000, maxAttempts: 3, backoffMs: 5_000, pollMs: 500 },
    scan: {
      platform: 'linux/amd64',
      registryTimeoutMs: 30_000,
      registryRetries: 2,
      allowPrivateNetworks: false,
    },
    registries: [],
  };
}

// ---------------------------------------------------------------------------------------------
// The schema, with the sentence each setting's problems are reported with.

interface Rule {
  schema: TSchema;
  /** What the value must be, for the error message. */
  must: string;
}

const int = (min: number, max: number, unit = ''): Rule => ({
  schema: Type.Integer({ minimum: min, maximum: max }),
  must: `must be an integer ${min}..${max}${unit}`,
});
const path: Rule = { schema: Type.String({ minLength: 1 }), must: 'must be a non-empty path' };
const SECRET_FORMS = 'a string, { env: NAME } or { file: PATH }';

/** Rules by setting path (`*` for an array index). */
const RULES: Record<string, Rule> = {
  dataDir: path,
  databaseUrl: {
    schema: Type.String({ minLength: 1 }),
    must: 'must be postgres://user:password@host/database or an SQLite file path',
  },
  host: {
    schema: Type.String({ minLength: 1, pattern: '^[A-Za-z0-9.:_%\\[\\]-]+$' }),
    must: 'must be a host name or IP address to listen on, such as 0.0.0.0 or 127.0.0.1',
  },
  port: int(0, 65535),
  adminToken: {
    schema: Type.String({ minLength: 16, maxLength: 512, pattern: '^\\S+$' }),
    must: `must be 16 to 512 characters without spaces (e.g. from \`openssl rand -hex 32\`), ${SECRET_FORMS}`,
  },
  advisoryDb: path,
  workers: int(0, 64),
  'queue.leaseMs': int(1_000, 86_400_000, ' (milliseconds)'),
  'queue.maxAttempts': int(1, 100),
  'queue.backoffMs': int(0, 86_400_000, ' (milliseconds)'),
  'queue.pollMs': int(10, 3_600_000, ' (milliseconds)'),
  'scan.platform': {
    schema: Type.String({ pattern: '^[a-z0-9_]+/[a-z0-9_]+(/[a-z0-9_]+)?$' }),
    must: 'must be os/arch[/variant], such as linux/amd64 or linux/arm64/v8',
  },
  'scan.registryTimeoutMs': int(100, 3_600_000, ' (milliseconds)'),
  'scan.registryRetries': int(0, 10),
  'scan.allowPrivateNetworks': { schema: Type.Boolean(), must: 'must be true or false' },
  // as src/service/registries.ts validates registries created through the API
  'registries.*.name': {
    schema: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$' }),
    must: 'must be 1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit',
  },
  'registries.*.url': {
    schema: Type.String({ pattern: '^https?://[^/\\s?#@]+/?$' }),
    must: 'must be the http:// or https:// base URL of the registry, without a path (https://registry.example.com)',
  },
  'registries.*.username': { schema: Type.String(), must: 'must be a string' },
  'registries.*.password': { schema: Type.String(), must: `must be ${SECRET_FORMS}` },
  'registries.*.secret': {
    schema: Type.String({ pattern: '^[\\x21-\\x7e]{16,512}$' }),
    must: `must be 16 to 512 printable ASCII characters without spaces, ${SECRET_FORMS}`,
  },
};

const MAPPING_MUST: Record<string, string> = {
  '': 'must be a mapping of settings',
  queue: 'must be a mapping (leaseMs, maxAttempts, backoffMs, pollMs)',
  scan: 'must be a mapping (platform, registryTimeoutMs, registryRetries, allowPrivateNetworks)',
  registries: 'must be a list of registries ({ name, url, username, password, secret })',
  'registries.*': 'must be a mapping (name, url, username, password, secret)',
};

/** Paths whose values are secret: never shown in messages. */
const SECRET_PATHS = new Set([
  'adminToken',
  'databaseUrl',
  'registries.*.password',
  'registries.*.secret',
]);

const rule = (key: string) => RULES[key]!.schema;
const strict = { additionalProperties: false } as const;
const RegistrySchema = Type.Object(
  {
    name: rule('registries.*.name'),
    url: rule('registries.*.url'),
    username: Type.Optional(rule('registries.*.username')),
    password: Type.Optional(rule('registries.*.password')),
    secret: rule('registries.*.secret'),
  },
  strict,
);
const ConfigSchema = Type.Object(
  {
    dataDir: rule('dataDir'),
    databaseUrl: Type.Optional(rule('databaseUrl')),
    host: rule('host'),
    port: rule('port'),
    adminToken: Type.Optional(rule('adminToken')),
    advisoryDb: rule('advisoryDb'),
    workers: rule('workers'),
    queue: Type.Object(
      {
        leaseMs: rule('queue.leaseMs'),
        maxAttempts: rule('queue.maxAttempts'),
        backoffMs: rule('queue.backoffMs'),
        pollMs: rule('queue.pollMs'),
      },
      strict,
    ),
    scan: Type.Object(
      {
        platform: rule('scan.platform'),
        registryTimeoutMs: rule('scan.registryTimeoutMs'),
        registryRetries: rule('scan.registryRetries'),
        allowPrivateNetworks: rule('scan.allowPrivateNetworks'),
      },
      strict,
    ),
    registries: Type.Array(RegistrySchema),
  },
  strict,
);

/** Every known setting path, for "did you mean" suggestions. */
const KNOWN_PATHS = [...Object.keys(RULES), ...Object.keys(MAPPING_MUST).filter((k) => k !== '')];

// ---------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;
type Segment = string | number;

const isMapping = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `registries[0].url` */
function displayPath(segments: readonly Segment[]): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out ? `.${s}` : s;
  return out || '(top level)';
}

/** `registries.*.url`: the key of RULES. */
function rulePath(segments: readonly Segment[]): string {
  return segments.map((s) => (typeof s === 'number' ? '*' : s)).join('.');
}

function segmentsOf(pointer: string): Segment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function valueAt(root: unknown, segments: readonly Segment[]): unknown {
  let v = root;
  for (const s of segments) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[s];
  }
  return v;
}

function shown(value: unknown, secret: boolean): string {
  if (secret) {
    return typeof value === 'string' ? `a secret of ${value.length} characters` : typeof value;
  }
  if (typeof value === 'string') {
    const text = value.length > 80 ? `${value.slice(0, 77)}…` : value;
    return `'${text}'`;
  }
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 80 ? `${json.slice(0, 77)}…` : json;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(
        row[j]! + 1,
        row[j - 1]! + 1,
        diagonal + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      );
      diagonal = above;
    }
  }
  return row[b.length]!;
}

function suggestion(parent: readonly Segment[], key: string): string {
  const prefix = rulePath(parent);
  const siblings = KNOWN_PATHS.filter((k) => {
    const at = k.lastIndexOf('.');
    return (at < 0 ? '' : k.slice(0, at)) === prefix;
  }).map((k) => k.slice(k.lastIndexOf('.') + 1));
  const best = siblings
    .map((s) => ({ s, d: editDistance(key, s) }))
    .filter(({ d, s }) => d <= Math.max(2, Math.floor(s.length / 3)))
    .sort((a, b) => a.d - b.d)[0];
  if (best) return ` (did you mean ${displayPath([...parent, best.s])}?)`;
  return siblings.length > 0 ? ` (known: ${siblings.join(', ')})` : '';
}

/** Where each value came from, by path: the deepest recorded prefix of a path names its origin. */
class Origins {
  private readonly map = new Map<string, string>();
  set(segments: readonly Segment[], origin: string): void {
    this.map.set(segments.join('\u0000'), origin);
  }
  of(segments: readonly Segment[]): string | undefined {
    for (let n = segments.length; n >= 0; n--) {
      const found = this.map.get(segments.slice(0, n).join('\u0000'));
      if (found !== undefined) return found;
    }
    return undefined;
  }
}

/** Copies `layer` into `target`, mappings key by key (except registries, which is replaced). */
function merge(
  target: Json,
  layer: Json,
  origins: Origins,
  origin: string,
  at: Segment[] = [],
): void {
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    const here = [...at, key];
    if (isMapping(value) && isMapping(target[key]) && key !== 'registries') {
      merge(target[key], value, origins, origin, here);
    } else {
      target[key] = value;
      origins.set(here, origin);
    }
  }
}

/** Replaces `{ env: NAME }` / `{ file: PATH }` at the secret paths of a file's settings. */
function resolveSecretRefs(
  settings: Json,
  env: Record<string, string | undefined>,
  cwd: string,
  where: string,
  problems: string[],
): void {
  const visit = (holder: Json, key: string, segments: Segment[]) => {
    const value = holder[key];
    if (!isMapping(value)) return;
    const keys = Object.keys(value);
    const at = displayPath(segments);
    if (keys.length === 1 && keys[0] === 'env' && typeof value.env === 'string') {
      const found = env[value.env];
      if (found === undefined || found === '') {
        problems.push(
          `${at}: the environment variable ${value.env} is not set (named in ${where})`,
        );
        delete holder[key];
      } else holder[key] = found;
    } else if (keys.length === 1 && keys[0] === 'file' && typeof value.file === 'string') {
      const file = resolve(cwd, value.file);
      try {
        holder[key] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      } catch (e) {
        problems.push(
          `${at}: cannot read ${file} (named in ${where}): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
        delete holder[key];
      }
    } else {
      problems.push(`${at}: must be ${SECRET_FORMS} (got ${shown(value, false)} in ${where})`);
      delete holder[key];
    }
  };
  visit(settings, 'adminToken', ['adminToken']);
  visit(settings, 'databaseUrl', ['databaseUrl']);
  if (Array.isArray(settings.registries)) {
    settings.registries.forEach((registry: unknown, i) => {
      if (!isMapping(registry)) return;
      visit(registry, 'password', ['registries', i, 'password']);
      visit(registry, 'secret', ['registries', i, 'secret']);
    });
  }
}

function readConfigFile(file: string, problems: string[]): Json | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    problems.push(
      `cannot read the config file ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`,
    );
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    problems.push(
      `the config file ${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`,
    );
    return undefined;
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isMapping(parsed)) {
    problems.push(
      `the config file ${file} must hold a mapping of settings (got ${shown(parsed, false)})`,
    );
    return undefined;
  }
  return parsed;
}

/** An integer-looking string becomes a number; anything else stays text, for validation to name. */
function numeric(text: string): number | string {
  return /^\s*-?\d+\s*$/.test(text) ? Number(text) : text;
}

/** `true`/`1`/`yes`/`on` and `false`/`0`/`no`/`off` (any case); anything else stays text. */
function booleanText(text: string): boolean | string {
  const word = text.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(word)) return true;
  if (['false', '0', 'no', 'off'].includes(word)) return false;
  return text;
}

/** A deep copy of JSON-like data, so that merging never writes into the defaults or the file. */
function copy<T>(value: T): T {
  return structuredClone(value);
}

/**
 * Reads the configuration: defaults, the config file, the environment, the flags. Throws a
 * ConfigError listing every problem.
 */
export function loadConfig(options: LoadConfigOptions = {}): ServiceConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];
  const origins = new Origins();
  const merged = copy(defaultConfig()) as unknown as Json;
  delete merged.advisoryDb; // derived from the final dataDir below
  origins.set([], 'the defaults');

  const fileName = options.file ?? (env[CONFIG_FILE_ENV] || undefined);
  if (fileName !== undefined) {
    const file = resolve(cwd, fileName);
    const settings = readConfigFile(file, problems);
    if (settings) {
      resolveSecretRefs(settings, env, cwd, file, problems);
      merge(merged, settings, origins, `in ${file}`);
    }
  }

  // every variable sets one scalar, top-level or in a mapping (`scan.allowPrivateNetworks`)
  for (const [name, setting] of Object.entries(CONFIG_ENV) as [string, EnvSetting][]) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const segments = setting.split('.');
    const key = segments.pop()!;
    const holder = valueAt(merged, segments);
    // a mapping the file replaced by something else is reported as such, not overwritten
    if (!isMapping(holder)) continue;
    holder[key] = NUMERIC_ENV.has(setting)
      ? numeric(value)
      : BOOLEAN_ENV.has(setting)
        ? booleanText(value)
        : value;
    origins.set([...segments, key], `from ${name}`);
  }

  for (const [key, value] of Object.entries(options.flags ?? {}) as [
    keyof ConfigFlags,
    unknown,
  ][]) {
    if (value === undefined) continue;
    merged[key] = typeof value === 'string' && key === 'port' ? numeric(value) : value;
    origins.set([key], `from ${FLAG_NAMES[key]}`);
  }

  if (merged.advisoryDb === undefined && typeof merged.dataDir === 'string') {
    merged.advisoryDb = join(merged.dataDir, 'advisories.db');
    origins.set(['advisoryDb'], 'the default <dataDir>/advisories.db');
  }

  problems.push(...schemaProblems(merged, origins));
  if (problems.length === 0)
    problems.push(...semanticProblems(merged as unknown as ServiceConfig, origins));
  if (problems.length > 0) throw new ConfigError(problems);

  const config = merged as unknown as ServiceConfig;
  config.dataDir = resolve(cwd, config.dataDir);
  config.advisoryDb = resolve(cwd, config.advisoryDb);
  return config;
}

function schemaProblems(value: Json, origins: Origins): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  const add = (line: string) => {
    if (!seen.has(line)) {
      seen.add(line);
      lines.push(line);
    }
  };
  const reported = new Set<string>();
  for (const error of Value.Errors(ConfigSchema, value)) {
    const segments = segmentsOf(error.instancePath);
    const params = error.params as {
      additionalProperties?: string[];
      requiredProperties?: string[];
    };
    if (error.keyword === 'boolean') continue; // the additionalProperties error says it better
    if (error.keyword === 'additionalProperties') {
      for (const key of params.additionalProperties ?? []) {
        const origin = origins.of([...segments, key]);
        add(
          `${displayPath([...segments, key])}: unknown setting${origin ? ` ${origin}` : ''}${suggestion(segments, key)}`,
        );
      }
      continue;
    }
    if (error.keyword === 'required') {
      for (const key of params.requiredProperties ?? []) {
        const origin = origins.of(segments);
        add(`${displayPath([...segments, key])}: is required${origin ? ` (${origin})` : ''}`);
      }
      continue;
    }
    const key = rulePath(segments);
    if (reported.has(error.instancePath)) continue; // one line per setting
    reported.add(error.instancePath);
    const must = RULES[key]?.must ?? MAPPING_MUST[key] ?? error.message;
    const origin = origins.of(segments);
    const got = shown(valueAt(value, segments), SECRET_PATHS.has(key));
    add(`${displayPath(segments)}: ${must} (got ${got}${origin ? ` ${origin}` : ''})`);
  }
  return lines;
}

/** What the schema cannot say: the database URL's scheme, duplicate registry names. */
function semanticProblems(config: ServiceConfig, origins: Origins): string[] {
  const problems: string[] = [];
  if (config.databaseUrl !== undefined) {
    const url = config.databaseUrl;
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
    if (!['postgres', 'postgresql', 'sqlite', 'file', undefined].includes(scheme)) {
      const origin = origins.of(['databaseUrl']);
      problems.push(
        `databaseUrl: ${RULES.databaseUrl!.must} (got a ${scheme}:// URL${origin ? ` ${origin}` : ''})`,
      );
    }
  }
  const names = new Map<string, number>();
  config.registries.forEach((r, i) => {
    const first = names.get(r.name);
    if (first !== undefined) {
      problems.push(
        `registries[${i}].name: '${r.name}' is already the name of registries[${first}] (names must be unique)`,
      );
    } else names.set(r.name, i);
  });
  return problems;
}

/** The configuration without its secrets, for logs. */
export function redactedConfig(config: ServiceConfig): Record<string, unknown> {
  return {
    ...config,
    ...(config.databaseUrl !== undefined
      ? { databaseUrl: config.databaseUrl.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@') }
      : {}),
    ...(config.adminToken !== undefined ? { adminToken: '***' } : {}),
    registries: config.registries.map((r) => ({
      ...r,
      secret: '***',
      ...(r.password !== undefined ? { password: '***' } : {}),
    })),
  };
}
