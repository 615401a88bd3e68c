/**
 * Rows for API tests, written straight into the database: users with tokens, projects with
 * members, registries, scans with log lines and SBOMs, vulnerabilities and their history. Every
 * function takes the Kysely instance and fills the columns a test does not care about with
 * plausible values, so a test states only what it is about.
 *
 * The SBOM is a real CycloneDX document: toCycloneDX over a small hand-made inventory (Debian 12
 * with openssl and zlib, and an npm package), the same writer the scan job uses.
 */
import type { Insertable, Kysely } from 'kysely';
import { purlFor } from '../../src/inventory/purl.js';
import type {
  AnalyzedPackage,
  Distro,
  ImageInventory,
  Package,
} from '../../src/inventory/types.js';
import { toCycloneDX } from '../../src/sbom/cyclonedx.js';
import { createToken, createUser } from '../../src/service/users.js';
import type {
  DB,
  Project,
  Registry,
  Role,
  Scan,
  ScansTable,
  User,
  Vulnerability,
  VulnerabilitiesTable,
  VulnerabilityHistoryTable,
} from '../../src/store/schema.js';

export interface SeededUser {
  user: User;
  /** A valid personal access token of the user. */
  token: string;
  /** `{ authorization: 'Bearer …' }`, for app.inject. */
  headers: { authorization: string };
}

/** A user with one token (read-only when asked). */
export async function seedUser(
  db: Kysely<DB>,
  username: string,
  options: { isAdmin?: boolean; readOnly?: boolean; now?: Date } = {},
): Promise<SeededUser> {
  const now = options.now ?? new Date();
  const user = await createUser(db, { username, isAdmin: options.isAdmin ?? false }, now);
  const { token } = await createToken(
    db,
    user.id,
    { name: `${username} test token`, readOnly: options.readOnly ?? false },
    now,
  );
  return { user, token, headers: { authorization: `Bearer ${token}` } };
}

/** A project; scanning for registry is on and `latest` supported unless said otherwise. */
export async function seedProject(
  db: Kysely<DB>,
  path: string,
  options: {
    scanningEnabled?: boolean;
    supportedTags?: string[];
    dailyLimit?: number;
    now?: Date;
  } = {},
): Promise<Project> {
  return db
    .insertInto('projects')
    .values({
      path,
      name: path.split('/').pop() ?? path,
      scanning_enabled: options.scanningEnabled === false ? 0 : 1,
      supported_tags: JSON.stringify(options.supportedTags ?? ['latest']),
      daily_limit: options.dailyLimit ?? 50,
      created_at: (options.now ?? new Date()).toISOString(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function seedMember(
  db: Kysely<DB>,
  projectId: number,
  userId: number,
  role: Role,
): Promise<void> {
  await db
    .insertInto('members')
    .values({ project_id: projectId, user_id: userId, role, created_at: new Date().toISOString() })
    .execute();
}

export interface SeededTeam {
  /** A developer: reads and changes what is in the projects. */
  dev: SeededUser;
  /** A reporter: sees the projects, not what is in them. */
  reporter: SeededUser;
  /** A maintainer whose token is read-only: reads everything, changes nothing. */
  readOnly: SeededUser;
  /** The owner of `other`, and no member of the team's projects. */
  outsider: SeededUser;
  /** `other/app`, the outsider's project. */
  other: Project;
}

/**
 * The cast of most API tests: `dev`, `reporter` and `reader` (read-only token) members of each
 * of `projects`, and `outsider`, who owns another project, other/app, and nothing more.
 */
export async function seedTeam(db: Kysely<DB>, projects: Project[]): Promise<SeededTeam> {
  const dev = await seedUser(db, 'dev');
  const reporter = await seedUser(db, 'reporter');
  const outsider = await seedUser(db, 'outsider');
  const readOnly = await seedUser(db, 'reader', { readOnly: true });
  for (const project of projects) {
    await seedMember(db, project.id, dev.user.id, 'developer');
    await seedMember(db, project.id, reporter.user.id, 'reporter');
    await seedMember(db, project.id, readOnly.user.id, 'maintainer');
  }
  const other = await seedProject(db, 'other/app');
  await seedMember(db, other.id, outsider.user.id, 'owner');
  return { dev, reporter, readOnly, outsider, other };
}

/** A registry (instance-wide unless projectId is given); the secret is not usable. */
export async function seedRegistry(
  db: Kysely<DB>,
  name: string,
  options: { url?: string; projectId?: number | null } = {},
): Promise<Registry> {
  return db
    .insertInto('registries')
    .values({
      project_id: options.projectId ?? null,
      name,
      url: options.url ?? 'http://127.0.0.1:5000',
      username: null,
      password: null,
      secret_hash: '0'.repeat(64),
      created_at: new Date().toISOString(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** `sha256:` followed by 64 copies of c (a hex digit). */
export function fakeDigest(c: string): string {
  return `sha256:${c.repeat(64).slice(0, 64)}`;
}

/** A scan; by default a successful registry-push scan of `<project>:latest`. */
export async function seedScan(
  db: Kysely<DB>,
  projectId: number,
  over: Partial<Insertable<ScansTable>> = {},
): Promise<Scan> {
  const created = over.created_at ?? new Date().toISOString();
  const status = over.status ?? 'success';
  const done = status === 'success' || status === 'failed' || status === 'skipped';
  return db
    .insertInto('scans')
    .values({
      project_id: projectId,
      registry_id: null,
      repository: 'group/app',
      tag: 'latest',
      digest: fakeDigest('a'),
      trigger: 'registry_push',
      report_type: 'container_scanning_for_registry',
      status,
      error: null,
      created_at: created,
      started_at: done || status === 'running' ? created : null,
      finished_at: done ? created : null,
      attempts: done ? 1 : 0,
      package_count: status === 'success' ? 3 : null,
      finding_count: status === 'success' ? 0 : null,
      user_id: null,
      ...over,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function seedScanLog(
  db: Kysely<DB>,
  scanId: number,
  lines: { level?: 'info' | 'warn' | 'error'; message: string; at?: string }[],
): Promise<void> {
  for (const line of lines) {
    await db
      .insertInto('scan_logs')
      .values({
        scan_id: scanId,
        at: line.at ?? new Date().toISOString(),
        level: line.level ?? 'info',
        message: line.message,
      })
      .execute();
  }
}

const DEBIAN_12: Distro = {
  id: 'debian',
  versionId: '12',
  codename: 'bookworm',
  name: 'Debian GNU/Linux 12 (bookworm)',
  idLike: [],
  path: 'etc/os-release',
};

/** A small image inventory: Debian 12 with openssl and zlib1g, and lodash from npm. */
export function smallInventory(
  repository = '127.0.0.1:5000/group/app',
  tag = 'latest',
  digest = fakeDigest('a'),
): ImageInventory {
  const layer = fakeDigest('1');
  const pkg = (p: AnalyzedPackage, path: string): Package => ({
    ...p,
    layer,
    path,
    purl: purlFor(p, p.type === 'deb' ? DEBIAN_12 : undefined),
  });
  return {
    image: {
      reference: `docker://${repository}:${tag}`,
      name: repository,
      tag,
      manifestDigest: digest,
      configDigest: fakeDigest('c'),
      platform: { os: 'linux', architecture: 'amd64' },
      layers: [
        {
          digest: fakeDigest('d'),
          diffId: layer,
          size: 1000,
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        },
      ],
    },
    inventory: {
      distro: DEBIAN_12,
      packages: [
        pkg(
          { type: 'deb', name: 'openssl', version: '3.0.15-1~deb12u1', arch: 'amd64' },
          'var/lib/dpkg/status',
        ),
        pkg(
          {
            type: 'deb',
            name: 'zlib1g',
            version: '1:1.2.13.dfsg-1',
            arch: 'amd64',
            source: { name: 'zlib' },
          },
          'var/lib/dpkg/status',
        ),
        pkg(
          { type: 'npm', name: 'lodash', version: '4.17.20', licenses: ['MIT'] },
          'app/node_modules/lodash/package.json',
        ),
      ],
      warnings: [],
    },
  };
}

/** Stores the CycloneDX SBOM of smallInventory() for the scan; returns the document. */
export async function seedSbom(
  db: Kysely<DB>,
  scan: Scan,
  image: ImageInventory = smallInventory(
    `127.0.0.1:5000/${scan.repository}`,
    scan.tag ?? 'latest',
    scan.digest ?? fakeDigest('a'),
  ),
): Promise<Record<string, unknown>> {
  const document = toCycloneDX([image], {
    toolVersion: '0.0.0-test',
    reportType: scan.report_type,
    timestamp: new Date('2025-01-02T03:04:05.000Z'),
    serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
  });
  await db
    .insertInto('sboms')
    .values({
      scan_id: scan.id,
      project_id: scan.project_id,
      digest: scan.digest,
      document: JSON.stringify(document),
      created_at: new Date().toISOString(),
    })
    .execute();
  return document;
}

export interface VulnerabilitySeed extends Partial<
  Omit<Insertable<VulnerabilitiesTable>, 'identifiers' | 'links' | 'explanation'>
> {
  /** Default: [cve ?? advisory_id]. */
  identifiers?: string[];
  links?: string[];
  explanation?: unknown;
}

let sequence = 0;

/**
 * A vulnerability of the project; by default a `detected`, still-detected medium finding in
 * openssl of `group/app:latest` (registry report type), with a fresh advisory id.
 */
export async function seedVulnerability(
  db: Kysely<DB>,
  projectId: number,
  over: VulnerabilitySeed = {},
): Promise<Vulnerability> {
  const n = ++sequence;
  const { identifiers, links, explanation, ...columns } = over;
  const advisoryId = columns.advisory_id ?? `DSA-${1000 + n}-1`;
  const cve = columns.cve !== undefined ? columns.cve : `CVE-2024-${String(10000 + n)}`;
  const at = columns.first_detected_at ?? new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString();
  const packageName = columns.package_name ?? 'openssl';
  const version = columns.package_version ?? '3.0.15-1~deb12u1';
  const fixed = columns.fixed_version !== undefined ? columns.fixed_version : null;
  return db
    .insertInto('vulnerabilities')
    .values({
      project_id: projectId,
      report_type: 'container_scanning_for_registry',
      repository: 'group/app',
      tag: 'latest',
      package_name: packageName,
      advisory_id: advisoryId,
      package_type: 'deb',
      package_version: version,
      purl: `pkg:deb/debian/${packageName}@${version}?arch=amd64&distro=debian-12`,
      severity: 'medium',
      cvss_vector: null,
      cvss_score: null,
      cve,
      title: `${cve ?? advisoryId} in ${packageName}`,
      description: `A flaw in ${packageName}.`,
      fixed_version: fixed,
      fix_state: fixed !== null ? 'fixed' : 'not_fixed',
      has_fix: fixed !== null ? 1 : 0,
      digest: fakeDigest('a'),
      os: 'debian 12',
      layer: fakeDigest('1'),
      path: 'var/lib/dpkg/status',
      state: 'detected',
      dismissal_reason: null,
      comment: null,
      no_longer_detected: 0,
      first_detected_at: at,
      last_detected_at: at,
      last_scan_id: null,
      updated_at: at,
      ...columns,
      identifiers: JSON.stringify(identifiers ?? [...(cve ? [cve] : []), advisoryId]),
      links: JSON.stringify(links ?? [`https://security-tracker.debian.org/tracker/${advisoryId}`]),
      explanation: JSON.stringify(
        explanation ?? {
          advisoryId,
          ecosystem: 'Debian:12',
          searchedName: packageName,
          viaSource: false,
          searchedVersion: version,
        },
      ),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function seedHistory(
  db: Kysely<DB>,
  vulnerabilityId: number,
  over: Partial<Insertable<VulnerabilityHistoryTable>> = {},
): Promise<void> {
  await db
    .insertInto('vulnerability_history')
    .values({
      vulnerability_id: vulnerabilityId,
      at: new Date().toISOString(),
      user_id: null,
      action: 'detected',
      from_state: null,
      to_state: 'detected',
      dismissal_reason: null,
      comment: null,
      scan_id: null,
      ...over,
    })
    .execute();
}
