import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  defaultConfig,
  loadConfig,
  redactedConfig,
  type LoadConfigOptions,
  type ServiceConfig,
} from '../../src/service/config.js';

/**
 * loadConfig: defaults < file < environment < flags, and every validation message, with the path
 * of the setting and where its value came from. Files are real files in a temporary directory.
 */
let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'regscan-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(content: string, ext = 'yaml'): Promise<string> {
  const path = join(dir, `config-${n++}.${ext}`);
  await writeFile(path, content);
  return path;
}

function load(options: LoadConfigOptions = {}): ServiceConfig {
  return loadConfig({ env: {}, cwd: dir, ...options });
}

/** The problems loadConfig reports (it must throw a ConfigError). */
function problems(options: LoadConfigOptions): readonly string[] {
  try {
    load(options);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const error = e as ConfigError;
    // the message lists every problem
    for (const p of error.problems) expect(error.message).toContain(p);
    return error.problems;
  }
  throw new Error('loadConfig did not throw');
}

const SECRET = 'registry-secret-0123456789';
const TOKEN = 'rsp_admin-token-0123456789abcdef';

describe('loadConfig: sources and precedence', () => {
  it('has the documented defaults, paths resolved against the working directory', () => {
    const config = load();
    expect(config).toEqual({
      ...defaultConfig(join(dir, 'data')),
      advisoryDb: join(dir, 'data', 'advisories.db'),
    });
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 8080,
      workers: 2,
      queue: { leaseMs: 300_000, maxAttempts: 3, backoffMs: 5_000, pollMs: 500 },
      scan: {
        platform: 'linux/amd64',
        registryTimeoutMs: 30_000,
        registryRetries: 2,
        allowPrivateNetworks: false,
      },
      registries: [],
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.adminToken).toBeUndefined();
  });

  it('reads a YAML file, merging nested settings key by key with the defaults', async () => {
    const path = await file(`
dataDir: /srv/regscan
port: 9090
workers: 4
queue:
  leaseMs: 60000
scan:
  platform: linux/arm64/v8
registries:
  - name: main
    url: https://registry.example.com
    username: puller
    password: pull-password
    secret: ${SECRET}
`);
    const config = load({ file: path });
    expect(config).toMatchObject({
      dataDir: '/srv/regscan',
      advisoryDb: '/srv/regscan/advisories.db',
      port: 9090,
      workers: 4,
      queue: { leaseMs: 60_000, maxAttempts: 3, backoffMs: 5_000, pollMs: 500 },
      scan: {
        platform: 'linux/arm64/v8',
        registryTimeoutMs: 30_000,
        registryRetries: 2,
        allowPrivateNetworks: false,
      },
      registries: [
        {
          name: 'main',
          url: 'https://registry.example.com',
          username: 'puller',
          password: 'pull-password',
          secret: SECRET,
        },
      ],
    });
  });

  it('reads a JSON file, and REGSCAN_CONFIG names the file when --config does not', async () => {
    const path = await file(JSON.stringify({ port: 7000, host: '127.0.0.1' }), 'json');
    expect(load({ env: { REGSCAN_CONFIG: path } })).toMatchObject({
      port: 7000,
      host: '127.0.0.1',
    });
    const other = await file('port: 7001\n');
    expect(load({ env: { REGSCAN_CONFIG: path }, file: other }).port).toBe(7001);
  });

  it('an empty file is no settings', async () => {
    expect(load({ file: await file('') }).port).toBe(8080);
  });

  it('the environment overrides the file, and flags override the environment', async () => {
    const path = await file(
      `port: 8081\nhost: 10.0.0.1\nworkers: 3\ndataDir: /from/file\nadminToken: ${TOKEN}-file\n`,
    );
    const env = {
      REGSCAN_PORT: '9000',
      REGSCAN_HOST: '127.0.0.1',
      REGSCAN_WORKERS: '0',
      REGSCAN_DATA_DIR: '/from/env',
      REGSCAN_ADMIN_TOKEN: TOKEN,
      REGSCAN_DATABASE_URL: 'postgres://regscan:pw@db.internal/regscan',
    };
    expect(load({ file: path, env })).toMatchObject({
      port: 9000,
      host: '127.0.0.1',
      workers: 0,
      dataDir: '/from/env',
      advisoryDb: '/from/env/advisories.db',
      adminToken: TOKEN,
      databaseUrl: 'postgres://regscan:pw@db.internal/regscan',
    });
    expect(
      load({ file: path, env, flags: { port: '9100', dataDir: 'relative', host: '::' } }),
    ).toMatchObject({
      port: 9100,
      host: '::',
      dataDir: join(dir, 'relative'),
      advisoryDb: join(dir, 'relative', 'advisories.db'),
    });
  });

  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['ON', true],
    [' True ', true],
    ['false', false],
    ['0', false],
    ['no', false],
    ['Off', false],
  ])(
    'REGSCAN_ALLOW_PRIVATE_NETWORKS=%j sets scan.allowPrivateNetworks to %s, over the file',
    async (value, expected) => {
      const path = await file(
        `scan:\n  allowPrivateNetworks: ${!expected}\n  registryRetries: 5\n`,
      );
      expect(load({ file: path }).scan.allowPrivateNetworks).toBe(!expected);
      const config = load({ file: path, env: { REGSCAN_ALLOW_PRIVATE_NETWORKS: value } });
      // the rest of the scan mapping stays as the file and the defaults say
      expect(config.scan).toEqual({
        platform: 'linux/amd64',
        registryTimeoutMs: 30_000,
        registryRetries: 5,
        allowPrivateNetworks: expected,
      });
    },
  );

  it('an explicit advisoryDb is kept whatever the data directory', async () => {
    const path = await file('advisoryDb: /var/cache/advisories.db\n');
    expect(load({ file: path, env: { REGSCAN_DATA_DIR: '/d' } }).advisoryDb).toBe(
      '/var/cache/advisories.db',
    );
    expect(load({ env: { REGSCAN_ADVISORY_DB: 'adv.db' } }).advisoryDb).toBe(join(dir, 'adv.db'));
  });

  it('an empty environment variable counts as unset', () => {
    expect(load({ env: { REGSCAN_PORT: '', REGSCAN_ADMIN_TOKEN: '' } })).toMatchObject({
      port: 8080,
    });
    expect(load({ env: { REGSCAN_ADMIN_TOKEN: '' } }).adminToken).toBeUndefined();
  });
});

describe('loadConfig: secrets outside the file', () => {
  it('reads { env: NAME } and { file: PATH } (trailing newline removed)', async () => {
    const secretFile = join(dir, 'registry-secret');
    await writeFile(secretFile, `${SECRET}\n`);
    const path = await file(`
adminToken: { env: MY_ADMIN_TOKEN }
databaseUrl: { file: db-url }
registries:
  - name: main
    url: http://127.0.0.1:5000
    password: { env: PULL_PASSWORD }
    secret: { file: ${secretFile} }
`);
    await writeFile(join(dir, 'db-url'), 'postgres://u:p@localhost/regscan\n');
    const config = load({
      file: path,
      env: { MY_ADMIN_TOKEN: TOKEN, PULL_PASSWORD: 'pw from env' },
    });
    expect(config.adminToken).toBe(TOKEN);
    expect(config.databaseUrl).toBe('postgres://u:p@localhost/regscan');
    expect(config.registries[0]).toMatchObject({ password: 'pw from env', secret: SECRET });
  });

  it.each([
    [
      'an unset variable',
      'registries: [{ name: r, url: "https://r.example.com", secret: { env: NOPE } }]',
      'registries[0].secret: the environment variable NOPE is not set (named in',
    ],
    [
      'an unreadable file',
      'adminToken: { file: /nonexistent/token }',
      'adminToken: cannot read /nonexistent/token (named in',
    ],
    [
      'another shape',
      'registries: [{ name: r, url: "https://r.example.com", secret: { vault: x } }]',
      'registries[0].secret: must be a string, { env: NAME } or { file: PATH } (got {"vault":"x"} in',
    ],
  ])('%s is an error', async (_what, yaml, message) => {
    const found = problems({ file: await file(yaml) });
    expect(found.some((p) => p.startsWith(message))).toBe(true);
  });
});

describe('loadConfig: validation', () => {
  // [what, file content or undefined, env, the exact problem (FILE = the file's path)]
  const cases: [string, string | undefined, Record<string, string>, string][] = [
    [
      'port not a number',
      undefined,
      { REGSCAN_PORT: 'abc' },
      "port: must be an integer 0..65535 (got 'abc' from REGSCAN_PORT)",
    ],
    [
      'port out of range',
      undefined,
      { REGSCAN_PORT: '70000' },
      'port: must be an integer 0..65535 (got 70000 from REGSCAN_PORT)',
    ],
    [
      'port in the file as text',
      'port: "8080"',
      {},
      "port: must be an integer 0..65535 (got '8080' in FILE)",
    ],
    [
      'negative workers',
      undefined,
      { REGSCAN_WORKERS: '-1' },
      'workers: must be an integer 0..64 (got -1 from REGSCAN_WORKERS)',
    ],
    [
      'a host with a space',
      undefined,
      { REGSCAN_HOST: 'my host' },
      "host: must be a host name or IP address to listen on, such as 0.0.0.0 or 127.0.0.1 (got 'my host' from REGSCAN_HOST)",
    ],
    [
      'a short admin token (not echoed)',
      undefined,
      { REGSCAN_ADMIN_TOKEN: 'hunter2' },
      'adminToken: must be 16 to 512 characters without spaces (e.g. from `openssl rand -hex 32`), a string, { env: NAME } or { file: PATH } (got a secret of 7 characters from REGSCAN_ADMIN_TOKEN)',
    ],
    [
      'a database URL of another kind (password not echoed)',
      undefined,
      { REGSCAN_DATABASE_URL: 'mysql://u:hunter2@db/regscan' },
      'databaseUrl: must be postgres://user:password@host/database or an SQLite file path (got a mysql:// URL from REGSCAN_DATABASE_URL)',
    ],
    [
      'an empty data directory',
      'dataDir: ""',
      {},
      "dataDir: must be a non-empty path (got '' in FILE)",
    ],
    [
      'a lease too short',
      'queue: { leaseMs: 10 }',
      {},
      'queue.leaseMs: must be an integer 1000..86400000 (milliseconds) (got 10 in FILE)',
    ],
    [
      'no attempts',
      'queue: { maxAttempts: 0 }',
      {},
      'queue.maxAttempts: must be an integer 1..100 (got 0 in FILE)',
    ],
    [
      'a negative backoff',
      'queue: { backoffMs: -5 }',
      {},
      'queue.backoffMs: must be an integer 0..86400000 (milliseconds) (got -5 in FILE)',
    ],
    [
      'a fractional poll interval',
      'queue: { pollMs: 1.5 }',
      {},
      'queue.pollMs: must be an integer 10..3600000 (milliseconds) (got 1.5 in FILE)',
    ],
    [
      'queue not a mapping',
      'queue: 5',
      {},
      'queue: must be a mapping (leaseMs, maxAttempts, backoffMs, pollMs) (got 5 in FILE)',
    ],
    [
      'a platform without architecture',
      'scan: { platform: linux }',
      {},
      "scan.platform: must be os/arch[/variant], such as linux/amd64 or linux/arm64/v8 (got 'linux' in FILE)",
    ],
    [
      'a registry timeout in words',
      'scan: { registryTimeoutMs: fast }',
      {},
      "scan.registryTimeoutMs: must be an integer 100..3600000 (milliseconds) (got 'fast' in FILE)",
    ],
    [
      'too many registry retries',
      'scan: { registryRetries: 11 }',
      {},
      'scan.registryRetries: must be an integer 0..10 (got 11 in FILE)',
    ],
    [
      'private networks allowed in words',
      undefined,
      { REGSCAN_ALLOW_PRIVATE_NETWORKS: 'sometimes' },
      "scan.allowPrivateNetworks: must be true or false (got 'sometimes' from REGSCAN_ALLOW_PRIVATE_NETWORKS)",
    ],
    [
      'private networks allowed as YAML 1.1 yes (a string in YAML 1.2)',
      'scan: { allowPrivateNetworks: yes }',
      {},
      "scan.allowPrivateNetworks: must be true or false (got 'yes' in FILE)",
    ],
    [
      'scan not a mapping, whatever the environment says inside it',
      'scan: fast',
      { REGSCAN_ALLOW_PRIVATE_NETWORKS: 'true' },
      "scan: must be a mapping (platform, registryTimeoutMs, registryRetries, allowPrivateNetworks) (got 'fast' in FILE)",
    ],
    [
      'registries not a list',
      'registries: { name: main }',
      {},
      'registries: must be a list of registries ({ name, url, username, password, secret }) (got {"name":"main"} in FILE)',
    ],
    [
      'a registry without its secret',
      'registries: [{ name: main, url: "https://r.example.com" }]',
      {},
      'registries[0].secret: is required (in FILE)',
    ],
    [
      'a registry URL with a path',
      `registries: [{ name: main, url: "https://r.example.com/v2/", secret: ${SECRET} }]`,
      {},
      "registries[0].url: must be the http:// or https:// base URL of the registry, without a path (https://registry.example.com) (got 'https://r.example.com/v2/' in FILE)",
    ],
    [
      'a registry URL of another scheme',
      `registries: [{ name: main, url: "ftp://r.example.com", secret: ${SECRET} }]`,
      {},
      "registries[0].url: must be the http:// or https:// base URL of the registry, without a path (https://registry.example.com) (got 'ftp://r.example.com' in FILE)",
    ],
    [
      'a registry name with a space',
      `registries: [{ name: "my registry", url: "https://r.example.com", secret: ${SECRET} }]`,
      {},
      `registries[0].name: must be 1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit (got 'my registry' in FILE)`,
    ],
    [
      'a short registry secret (not echoed)',
      'registries: [{ name: main, url: "https://r.example.com", secret: tooshort }]',
      {},
      'registries[0].secret: must be 16 to 512 printable ASCII characters without spaces, a string, { env: NAME } or { file: PATH } (got a secret of 8 characters in FILE)',
    ],
    [
      'two registries of one name',
      `registries:\n  - { name: main, url: "https://a.example.com", secret: ${SECRET} }\n  - { name: main, url: "https://b.example.com", secret: ${SECRET} }`,
      {},
      "registries[1].name: 'main' is already the name of registries[0] (names must be unique)",
    ],
    [
      'an unknown top-level key',
      'prot: 8080',
      {},
      'prot: unknown setting in FILE (did you mean port?)',
    ],
    [
      'an unknown nested key',
      'queue: { leaseMS: 60000 }',
      {},
      'queue.leaseMS: unknown setting in FILE (did you mean queue.leaseMs?)',
    ],
    [
      'an unknown registry key',
      `registries: [{ name: main, url: "https://r.example.com", secret: ${SECRET}, secert: x }]`,
      {},
      'registries[0].secert: unknown setting in FILE (did you mean registries[0].secret?)',
    ],
    [
      'an unknown key like nothing known',
      'scan: { zzzzzzzz: 1 }',
      {},
      'scan.zzzzzzzz: unknown setting in FILE (known: platform, registryTimeoutMs, registryRetries, allowPrivateNetworks)',
    ],
    [
      'a list as the file',
      '- port: 1',
      {},
      'the config file FILE must hold a mapping of settings (got [{"port":1}])',
    ],
  ];

  it.each(cases)('%s', async (_what, content, env, expected) => {
    const path = content === undefined ? undefined : await file(content);
    const found = problems({ env, ...(path ? { file: path } : {}) });
    expect(found).toEqual([path ? expected.replace('FILE', path) : expected]);
    expect(found.join('\n')).not.toContain('hunter2');
  });

  it('invalid YAML and a missing file are reported with the file name', async () => {
    const bad = await file('port: [1, 2\n');
    expect(problems({ file: bad })[0]).toMatch(
      new RegExp(`^the config file ${bad} is not valid YAML: `),
    );
    const badJson = await file('{"port": ', 'json');
    expect(problems({ file: badJson })[0]).toMatch(
      new RegExp(`^the config file ${badJson} is not valid JSON: `),
    );
    expect(problems({ file: join(dir, 'missing.yaml') })).toEqual([
      `cannot read the config file ${join(dir, 'missing.yaml')}: no such file`,
    ]);
  });

  it('reports every problem at once, from every source', async () => {
    const path = await file('prot: 1\nqueue: { maxAttempts: 0 }\n');
    const found = problems({ file: path, env: { REGSCAN_PORT: 'abc', REGSCAN_WORKERS: '100' } });
    expect(found).toHaveLength(4);
    expect(found).toEqual(
      expect.arrayContaining([
        `prot: unknown setting in ${path} (did you mean port?)`,
        `queue.maxAttempts: must be an integer 1..100 (got 0 in ${path})`,
        "port: must be an integer 0..65535 (got 'abc' from REGSCAN_PORT)",
        'workers: must be an integer 0..64 (got 100 from REGSCAN_WORKERS)',
      ]),
    );
    try {
      load({ file: path, env: { REGSCAN_PORT: 'abc', REGSCAN_WORKERS: '100' } });
    } catch (e) {
      expect((e as Error).message).toMatch(/^invalid configuration \(4 problems\):\n {2}- /);
    }
  });

  it('a flag is named as the origin of its value', () => {
    expect(problems({ flags: { port: 'x' } })).toEqual([
      "port: must be an integer 0..65535 (got 'x' from --port)",
    ]);
  });
});

describe('redactedConfig', () => {
  it('hides every secret', () => {
    const config: ServiceConfig = {
      ...defaultConfig('/d'),
      databaseUrl: 'postgres://regscan:db-password@db/regscan',
      adminToken: TOKEN,
      registries: [{ name: 'r', url: 'https://r', password: 'pull-password', secret: SECRET }],
    };
    const text = JSON.stringify(redactedConfig(config));
    for (const secret of ['db-password', TOKEN, 'pull-password', SECRET]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('postgres://regscan:***@db/regscan');
  });
});
