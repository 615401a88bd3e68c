/**
 * Registry records on both databases: validation of names, URLs and secrets, the stored secret
 * hash, authentication by secret (Bearer or raw header), updates, deletion and the registries of
 * the config file.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  authenticateRegistry,
  createRegistry,
  deleteRegistry,
  DuplicateRegistryError,
  getRegistry,
  InvalidRegistryError,
  listRegistries,
  registryView,
  secretFromAuthorization,
  updateRegistry,
  upsertConfiguredRegistries,
  validatePublicRegistryUrl,
  validateRegistryUrl,
} from '../../src/service/registries.js';
import { hashToken } from '../../src/service/users.js';
import type { Database } from '../../src/store/database.js';
import { BACKENDS, openTestDatabase } from '../support/postgres.js';
import { seedProject } from '../support/seed.js';

describe('registry URLs', () => {
  it.each([
    ['https://registry.example.com', 'https://registry.example.com'],
    ['https://registry.example.com/', 'https://registry.example.com'],
    ['http://127.0.0.1:5000', 'http://127.0.0.1:5000'],
    ['HTTPS://Registry.Example.com:443/', 'https://registry.example.com'],
    ['http://[::1]:5000', 'http://[::1]:5000'],
  ])('%s → %s', (url, normalised) => {
    expect(validateRegistryUrl(url)).toBe(normalised);
  });

  it.each([
    ['ftp://registry.example.com', /only http and https/],
    ['file:///etc/passwd', /only http and https/],
    ['https://user:pass@registry.example.com', /no credentials/],
    ['https://user@registry.example.com', /no credentials/],
    ['https://registry.example.com/v2/', /no path/],
    ['https://registry.example.com/group', /no path/],
    ['https://registry.example.com/?x=1', /no query/],
    ['https://registry.example.com/#x', /no query/],
    ['registry.example.com', /not a URL/],
    ['', /a URL such as/],
  ])('refuses %s', (url, message) => {
    expect(() => validateRegistryUrl(url)).toThrow(InvalidRegistryError);
    expect(() => validateRegistryUrl(url)).toThrow(message);
  });
});

describe('project registry URLs while private networks are not allowed', () => {
  it.each([
    'https://registry.example.com',
    'http://8.8.8.8:5000',
    'https://[2001:4860:4860::8888]',
    'https://localhost.example.com',
  ])('accepts %s', (url) => {
    expect(validatePublicRegistryUrl(url)).toBe(url);
  });

  it.each([
    ['http://localhost:5000', 'localhost is this machine'],
    ['http://localhost.:5000', 'localhost. is this machine'],
    ['http://a.b.localhost', 'a.b.localhost is this machine'],
    ['http://127.0.0.1:5000', '127.0.0.1 is not a public address'],
    ['http://127.1.2.3', '127.1.2.3 is not a public address'],
    ['http://0.0.0.0:5000', '0.0.0.0 is not a public address'],
    ['http://10.1.2.3', '10.1.2.3 is not a public address'],
    ['http://172.31.255.255', '172.31.255.255 is not a public address'],
    ['http://192.168.1.1', '192.168.1.1 is not a public address'],
    ['http://169.254.169.254', '169.254.169.254 is not a public address'],
    ['http://100.100.100.200', '100.100.100.200 is not a public address'],
    ['http://[::1]:5000', '::1 is not a public address'],
    ['http://[fd00::1]', 'fd00::1 is not a public address'],
    ['http://[fe80::1]', 'fe80::1 is not a public address'],
    ['http://[::ffff:7f00:1]', '::ffff:7f00:1 is not a public address'],
    ['http://[64:ff9b::a9fe:a9fe]', '64:ff9b::a9fe:a9fe is not a public address'],
  ])('refuses %s', (url, why) => {
    expect(() => validatePublicRegistryUrl(url)).toThrow(InvalidRegistryError);
    expect(() => validatePublicRegistryUrl(url)).toThrow(why);
    expect(() => validatePublicRegistryUrl(url)).toThrow(
      'unless the instance setting scan.allowPrivateNetworks (REGSCAN_ALLOW_PRIVATE_NETWORKS) is on',
    );
  });
});

describe('the secret in an Authorization header', () => {
  it.each<[string | string[] | undefined, string | undefined]>([
    ['Bearer abc', 'abc'],
    ['bearer   abc  ', 'abc'],
    ['abc', 'abc'],
    ['  abc ', 'abc'],
    [['Bearer abc', 'Bearer other'], 'abc'],
    ['', undefined],
    [undefined, undefined],
    ['x'.repeat(2000), undefined],
  ])('%j → %j', (header, secret) => {
    expect(secretFromAuthorization(header)).toBe(secret);
  });
});

describe.each(BACKENDS)('registries on %s', (dialect) => {
  let database: Database;
  beforeEach(async () => {
    database = await openTestDatabase(dialect);
  });
  afterEach(async () => {
    await database.close();
  });

  it('stores only the hash of the secret and authenticates by it', async () => {
    const db = database.db;
    const a = await createRegistry(db, {
      name: 'a',
      url: 'https://a.example/',
      secret: 'secret-of-a-0123456789',
      username: 'puller',
      password: 'pw',
    });
    const b = await createRegistry(db, {
      name: 'b',
      url: 'https://b.example',
      secret: 'secret-of-b-0123456789',
    });
    expect(a).toMatchObject({
      url: 'https://a.example',
      secret_hash: hashToken('secret-of-a-0123456789'),
    });
    expect(JSON.stringify(await listRegistries(db))).not.toContain('secret-of-a');
    expect((await authenticateRegistry(db, 'secret-of-a-0123456789'))?.id).toBe(a.id);
    expect((await authenticateRegistry(db, 'secret-of-b-0123456789'))?.id).toBe(b.id);
    for (const wrong of [
      '',
      'secret-of-c-0123456789',
      'secret-of-a-012345678',
      hashToken('secret-of-a-0123456789'),
      undefined,
    ]) {
      expect(await authenticateRegistry(db, wrong)).toBeUndefined();
    }
    expect(registryView(a)).toEqual({
      id: a.id,
      name: 'a',
      url: 'https://a.example',
      username: 'puller',
      has_password: true,
      has_secret: true,
      project_id: null,
      created_at: a.created_at,
    });
  });

  it('validates its input', async () => {
    const db = database.db;
    const good = { name: 'r', url: 'https://r.example', secret: 'long-enough-secret-0123' };
    await createRegistry(db, good);
    const cases: [object, RegExp][] = [
      [{ ...good, name: 'other', secret: 'short' }, /secret: 16 to 512/],
      [{ ...good, name: 'other', secret: 'has a space in it 0123456' }, /secret/],
      [{ ...good, name: 'bad name' }, /registry name/],
      [{ ...good, name: '' }, /registry name/],
      [{ ...good, name: 'other', url: 'https://u:p@r.example' }, /no credentials/],
    ];
    for (const [input, message] of cases) {
      await expect(createRegistry(db, input as typeof good)).rejects.toThrow(message);
    }
    // a taken name is its own error (the API answers it 409)
    await expect(createRegistry(db, good)).rejects.toThrow(DuplicateRegistryError);
    await expect(createRegistry(db, good)).rejects.toThrow('a registry named r exists already');
    expect(await listRegistries(db)).toHaveLength(1);
  });

  it('updates, lists by project and deletes', async () => {
    const db = database.db;
    const project = await seedProject(db, 'p');
    const instance = await createRegistry(db, {
      name: 'i',
      url: 'https://i.example',
      secret: 'instance-secret-0123',
    });
    const own = await createRegistry(db, {
      name: 'own',
      url: 'https://own.example',
      secret: 'own-secret-0123456789',
      projectId: project.id,
    });
    expect((await listRegistries(db, { projectId: project.id })).map((r) => r.id)).toEqual([
      own.id,
    ]);
    expect((await listRegistries(db, { projectId: null })).map((r) => r.id)).toEqual([instance.id]);

    const updated = await updateRegistry(db, own.id, {
      secret: 'new-own-secret-0123456',
      url: 'http://own.example:8080',
      password: null,
    });
    expect(updated?.url).toBe('http://own.example:8080');
    expect(await authenticateRegistry(db, 'own-secret-0123456789')).toBeUndefined();
    expect((await authenticateRegistry(db, 'new-own-secret-0123456'))?.id).toBe(own.id);
    await expect(updateRegistry(db, own.id, { name: 'i' })).rejects.toThrow(DuplicateRegistryError);
    expect(await updateRegistry(db, 9999, { url: 'https://x.example' })).toBeUndefined();

    expect(await deleteRegistry(db, own.id)).toBe(true);
    expect(await deleteRegistry(db, own.id)).toBe(false);
    expect(await getRegistry(db, own.id)).toBeUndefined();
  });

  it('a project registry must be public unless private networks are allowed; an instance one need not', async () => {
    const db = database.db;
    const project = await seedProject(db, 'p');
    const secret = 'some-secret-0123456789';
    const own = { name: 'own', url: 'http://127.0.0.1:5000', secret, projectId: project.id };
    // refused by default and with the setting off
    for (const policy of [undefined, { allowPrivateNetworks: false }]) {
      await expect(createRegistry(db, own, new Date(), policy)).rejects.toThrow(
        /^registry url: 127\.0\.0\.1 is not a public address; .*scan\.allowPrivateNetworks/,
      );
    }
    expect(await listRegistries(db)).toEqual([]);
    // an instance registry (admins, the config file) may be anywhere
    const instance = await createRegistry(db, { ...own, name: 'instance', projectId: null });
    expect(instance.url).toBe('http://127.0.0.1:5000');
    // allowed by the setting
    const allowed = await createRegistry(db, own, new Date(), { allowPrivateNetworks: true });
    expect(allowed.project_id).toBe(project.id);

    // an update moving a public project registry onto a private network is refused too
    const other = await createRegistry(db, {
      ...own,
      name: 'other',
      url: 'https://registry.example.com',
    });
    await expect(updateRegistry(db, other.id, { url: 'http://[::1]:5000' })).rejects.toThrow(
      '::1 is not a public address',
    );
    expect((await getRegistry(db, other.id))?.url).toBe('https://registry.example.com');
    const moved = await updateRegistry(
      db,
      other.id,
      { url: 'http://[::1]:5000', password: null },
      { allowPrivateNetworks: true },
    );
    expect(moved?.url).toBe('http://[::1]:5000');
    // the instance registry can move anywhere
    expect(
      (await updateRegistry(db, instance.id, { url: 'http://10.0.0.5', password: null }))?.url,
    ).toBe('http://10.0.0.5');
  });

  it('creates and then updates the registries of the config file', async () => {
    const db = database.db;
    const [first] = await upsertConfiguredRegistries(db, [
      { name: 'cfg', url: 'https://cfg.example', secret: 'config-secret-0123456' },
    ]);
    const [second] = await upsertConfiguredRegistries(db, [
      {
        name: 'cfg',
        url: 'https://cfg2.example/',
        secret: 'config-secret-changed',
        username: 'u',
        password: 'p',
      },
    ]);
    expect(second).toMatchObject({
      id: first!.id,
      url: 'https://cfg2.example',
      username: 'u',
      password: 'p',
    });
    expect(await authenticateRegistry(db, 'config-secret-0123456')).toBeUndefined();
    expect((await authenticateRegistry(db, 'config-secret-changed'))?.id).toBe(first!.id);
    expect(await listRegistries(db)).toHaveLength(1);
    await expect(
      upsertConfiguredRegistries(db, [
        { name: 'bad', url: 'ftp://x', secret: 'config-secret-0123456' },
      ]),
    ).rejects.toThrow(
      'registries[0] (bad): registry url: only http and https are supported, not ftp',
    );
  });
});
