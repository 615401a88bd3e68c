import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Advisory, OsvEvent } from '../../src/advisories/osv.js';
import type { JsonReport } from '../../src/report/json.js';
import { runCli } from '../support/cli.js';
import { validateCycloneDX16 } from '../support/cyclonedx-schema.js';
import { parseDpkgTruth, testImages, type TestImages } from '../support/images.js';

/**
 * `regscan db update` then `regscan scan` on a real image built from real Debian packages.
 *
 * No real advisory set for Debian 12 can be had here (see test/fixtures/advisories/native), so
 * the DEBIAN-TEST-* records below are written for this test, in OSV format, keyed as osv.dev
 * keys Debian records: by SOURCE package under `Debian:12`. Their versions are derived from the
 * installed versions (the Debian mirror moves between image builds): `<installed>+1` sorts after
 * the installed version, `<installed>~` before it (dpkg ordering).
 */
let images: TestImages;
let work: string;
let db: string;
const installed = new Map<string, string>(); // source package → source version

const record = (
  id: string,
  source: string,
  events: OsvEvent[],
  extra: Partial<Advisory> = {},
): Advisory => ({
  schema_version: '1.6.0',
  id,
  modified: '2026-11-01T00:00:00Z',
  summary: `${source} test advisory ${id}`,
  aliases: [`CVE-2099-${id.slice(-4)}`],
  affected: [
    { package: { ecosystem: 'Debian:12', name: source }, ranges: [{ type: 'ECOSYSTEM', events }] },
  ],
  ...extra,
});

beforeAll(async () => {
  images = await testImages();
  for (const p of parseDpkgTruth(
    await readFile(join(images.truthDir, 'base-jq.dpkg.tsv'), 'utf8'),
  )) {
    installed.set(p.source.name, p.source.version);
  }
  work = await mkdtemp(join(tmpdir(), 'regscan-scan-'));
  db = join(work, 'advisories.db');
  const dir = join(work, 'osv');
  await mkdir(dir);
  const openssl = installed.get('openssl')!;
  const zlib = installed.get('zlib')!;
  const curl = installed.get('curl')!;
  const advisories = [
    // matched through the source package openssl: reported under libssl3 and openssl
    record('DEBIAN-TEST-0001', 'openssl', [{ introduced: '0' }, { fixed: `${openssl}+1` }], {
      severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
    }),
    // fixed before the installed version: not matched
    record('DEBIAN-TEST-0002', 'openssl', [{ introduced: '0' }, { fixed: `${openssl}~` }]),
    // no fix yet, the distro rates it low
    {
      ...record('DEBIAN-TEST-0003', 'zlib', [{ introduced: '0' }]),
      affected: [
        {
          package: { ecosystem: 'Debian:12', name: 'zlib' },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
          database_specific: { urgency: 'low', fix_state: 'not_fixed' },
        },
      ],
    },
    // withdrawn: never matches
    record('DEBIAN-TEST-0004', 'curl', [{ introduced: '0' }, { fixed: `${curl}+1` }], {
      withdrawn: '2026-11-02T00:00:00Z',
    }),
    // another release of Debian: not this image's
    {
      ...record('DEBIAN-TEST-0005', 'curl', [{ introduced: '0' }]),
      affected: [
        {
          package: { ecosystem: 'Debian:11', name: 'curl' },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
        },
      ],
    },
    // for zlib, whose installed version carries an epoch
    record('DEBIAN-TEST-0006', 'zlib', [{ introduced: '0' }, { fixed: `${zlib}+1` }]),
  ];
  for (const a of advisories) await writeFile(join(dir, `${a.id}.json`), JSON.stringify(a));
  const update = await runCli(['db', 'update', '-q', '--source', dir, '--db', db]);
  expect(update.stderr).toBe('');
  expect(update.code).toBe(0);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const ref = () => `oci:${images.ociLayout}:base-jq`;

async function scanJson(...args: string[]): Promise<JsonReport> {
  const r = await runCli(['scan', '-q', '--no-cache', '--db', db, '--format', 'json', ...args]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as JsonReport;
}

const summary = (report: JsonReport) =>
  report.images[0]!.findings.map(
    (f) =>
      `${f.package.name} ${f.advisoryId} ${f.severity} ${f.fixState}${f.explanation.viaSource ? ' via-source' : ''}`,
  ).sort();

describe('regscan scan', () => {
  it('finds exactly the expected vulnerabilities in a real image', async () => {
    const report = await scanJson(ref());
    expect(summary(report)).toEqual([
      'libssl3 DEBIAN-TEST-0001 critical fixed via-source',
      'openssl DEBIAN-TEST-0001 critical fixed',
      'zlib1g DEBIAN-TEST-0003 low not_fixed via-source',
      'zlib1g DEBIAN-TEST-0006 unknown fixed via-source',
    ]);
    const libssl = report.images[0]!.findings.find((f) => f.package.name === 'libssl3')!;
    expect(libssl.installedVersion).toBe(installed.get('openssl'));
    expect(libssl.fixedVersions).toEqual([`${installed.get('openssl')}+1`]);
    expect(libssl.identifiers).toEqual(['CVE-2099-0001', 'DEBIAN-TEST-0001']);
    expect(libssl.explanation).toMatchObject({
      searchedName: 'openssl',
      ecosystem: 'Debian:12',
      viaSource: true,
    });
    expect(libssl.package.layer).toBe(images.images.images['base-jq'].layers[0]!.diffId);
  });

  it('filters by severity and fix, and sets the exit code', async () => {
    expect(summary(await scanJson(ref(), '--severity', 'critical'))).toHaveLength(2);
    expect(
      summary(await scanJson(ref(), '--ignore-unfixed')).some((s) =>
        s.includes('DEBIAN-TEST-0003'),
      ),
    ).toBe(false);
    const r = await runCli(['scan', '-q', '--no-cache', '--db', db, '--exit-code', '3', ref()]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/Total: 4 \(.*CRITICAL: 2/);
    const none = await runCli([
      'scan',
      '-q',
      '--no-cache',
      '--db',
      db,
      '--exit-code',
      '3',
      '--severity',
      'high',
      ref(),
    ]);
    expect(none.code).toBe(0);
  });

  it('matches a stored SBOM the same as the image', async () => {
    const sbom = join(work, 'base-jq.cdx.json');
    expect((await runCli(['sbom', '-q', '--no-cache', ref(), '-o', sbom])).code).toBe(0);
    const fromSbom = await scanJson('--sbom', sbom);
    expect(summary(fromSbom)).toEqual(summary(await scanJson(ref())));
  });

  it('writes CycloneDX with vulnerabilities that validates', async () => {
    const r = await runCli([
      'scan',
      '-q',
      '--no-cache',
      '--db',
      db,
      '--format',
      'cyclonedx',
      ref(),
    ]);
    expect(r.code).toBe(0);
    const bom = JSON.parse(r.stdout) as { vulnerabilities: { id: string }[] };
    expect(validateCycloneDX16(bom)).toEqual([]);
    // one entry per affected package, named by its CVE as Trivy does
    expect(bom.vulnerabilities.map((v) => v.id).sort()).toEqual([
      'CVE-2099-0001',
      'CVE-2099-0001',
      'CVE-2099-0003',
      'CVE-2099-0006',
    ]);
  });

  it('writes SARIF and GitLab reports', async () => {
    const sarif = await runCli([
      'scan',
      '-q',
      '--no-cache',
      '--db',
      db,
      '--format',
      'sarif',
      ref(),
    ]);
    const log = JSON.parse(sarif.stdout) as { version: string; runs: { results: unknown[] }[] };
    expect(log.version).toBe('2.1.0');
    expect(log.runs[0]!.results).toHaveLength(4);
    const gitlab = await runCli([
      'scan',
      '-q',
      '--no-cache',
      '--db',
      db,
      '--format',
      'gitlab',
      ref(),
    ]);
    const report = JSON.parse(gitlab.stdout) as { version: string; vulnerabilities: unknown[] };
    expect(report.version).toBe('15.0.7');
    expect(report.vulnerabilities).toHaveLength(4);
  });

  it('says clearly when there is no advisory database, and when arguments conflict', async () => {
    const missing = await runCli(['scan', '-q', '--db', join(work, 'nope.db'), ref()]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /advisory database .*nope\.db does not exist: run "regscan db update" first/,
    );
    const both = await runCli(['scan', '-q', '--db', db, '--sbom', 'x.json', ref()]);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/either an IMAGE or --sbom FILE/);
  });
});
