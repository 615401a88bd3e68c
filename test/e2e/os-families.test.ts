import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inventoryImage } from '../../src/inventory/inventory-image.js';
import { runCli } from '../support/cli.js';
import { validateCycloneDX16 } from '../support/cyclonedx-schema.js';
import { writeOciLayout } from '../support/oci-layout.js';
import { makeTar } from '../support/tar.js';

/**
 * Alpine and RPM-based images through the whole core (layer walk, analyzers, merge, purls, SBOM).
 * No Alpine or RPM packages can be installed on this Debian machine, so these images are
 * assembled from the real package databases in test/fixtures/pkgdb (see their SOURCE.md) plus
 * the distributions' real os-release text.
 */
const fixture = (path: string) => readFile(new URL(`../fixtures/pkgdb/${path}`, import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'regscan-osfam-'));
  const alpine = await makeTar([
    {
      name: 'etc/os-release',
      content:
        'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.18.4\nPRETTY_NAME="Alpine Linux v3.18"\n',
    },
    { name: 'etc/alpine-release', content: '3.18.4\n' },
    { name: 'lib/apk/db/installed', content: await fixture('apk/alpine-3.18-x86_64.installed') },
  ]);
  const amazon = await makeTar([
    {
      name: 'usr/lib/os-release',
      content:
        'NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"\n',
    },
    { name: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
    {
      name: 'var/lib/rpm/rpmdb.sqlite',
      content: await fixture('rpm/amazonlinux2023-sqlite/rpmdb.sqlite'),
    },
  ]);
  // an upper layer that deletes the apk database: the image has no packages left
  const wipe = await makeTar([{ name: 'lib/apk/db/.wh.installed', content: '' }]);
  await writeOciLayout(join(dir, 'oci'), [
    { tag: 'alpine', layers: [gzipSync(alpine)] },
    { tag: 'amazon', layers: [gzipSync(amazon)] },
    { tag: 'alpine-wiped', layers: [gzipSync(alpine), gzipSync(wipe)] },
  ]);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ref = (tag: string) => `oci:${join(dir, 'oci')}:${tag}`;

describe('other OS families through the whole core', () => {
  it('Alpine: apk packages with origin, arch and an apk purl', async () => {
    const expected = JSON.parse(
      (await fixture('apk/alpine-3.18-x86_64.expected.json')).toString(),
    ) as { name: string; version: string; origin: string }[];
    const [result] = await inventoryImage(ref('alpine'));
    const inv = result!.inventory;
    expect(inv.distro).toMatchObject({ id: 'alpine', versionId: '3.18.4', path: 'etc/os-release' });
    expect(inv.packages.map((p) => `${p.name}@${p.version}<${p.source?.name}`).sort()).toEqual(
      expected.map((p) => `${p.name}@${p.version}<${p.origin}`).sort(),
    );
    const busybox = inv.packages.find((p) => p.name === 'busybox')!;
    expect(busybox.purl).toMatch(
      /^pkg:apk\/alpine\/busybox@1\.36\.0-r9\?arch=x86_64&distro=3\.18\.4/,
    );
    expect(busybox.path).toBe('lib/apk/db/installed');
  });

  it('Amazon Linux 2023: rpm packages from rpmdb.sqlite, distro through an os-release symlink', async () => {
    const expected = JSON.parse(
      (await fixture('rpm/amazonlinux2023-sqlite/expected-rpm418.json')).toString(),
    ) as { name: string }[];
    const [result] = await inventoryImage(ref('amazon'));
    const inv = result!.inventory;
    expect(inv.distro).toMatchObject({ id: 'amzn', versionId: '2023', path: 'usr/lib/os-release' });
    expect(
      inv.packages
        .filter((p) => p.type === 'rpm')
        .map((p) => p.name)
        .sort(),
    ).toEqual(
      expected
        .map((p) => p.name)
        .filter((n) => n !== 'gpg-pubkey')
        .sort(),
    );
    expect(inv.packages.find((p) => p.name === 'ncurses-base')?.purl).toMatch(
      /^pkg:rpm\/amazon\/ncurses-base@6\.2-4\.20200222\.amzn2023\.0\.4\?arch=noarch/,
    );
  });

  it('a whiteout of the package database in an upper layer leaves no packages', async () => {
    const [result] = await inventoryImage(ref('alpine-wiped'));
    expect(result!.inventory.distro?.id).toBe('alpine');
    expect(result!.inventory.packages).toEqual([]);
  });

  it('the CLI writes schema-valid CycloneDX for both', async () => {
    for (const tag of ['alpine', 'amazon']) {
      const r = await runCli(['sbom', '-q', '--no-cache', ref(tag)]);
      expect(r.code).toBe(0);
      expect(validateCycloneDX16(JSON.parse(r.stdout))).toEqual([]);
    }
  });
});
