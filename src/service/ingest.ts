/**
 * Ingestion: the findings of one scan become vulnerabilities people triage, with their lifecycle.
 *
 * A vulnerability's identity is project + report type + repository + tag + package name +
 * advisory id (the `vulnerabilities_identity` constraint). For the image (project, report type,
 * repository, tag) of a scan, in the caller's transaction:
 * - an item with no vulnerability yet → a new one in state `detected` (history `detected`);
 * - an item whose vulnerability exists → its state, dismissal, comment and history are kept; its
 *   details (severity, CVSS, texts, versions, fix, layer, …), last detection, last scan and digest
 *   are refreshed and its "no longer detected" flag cleared (history `redetected` when it was set);
 *   a `resolved` one comes back to `detected` (a system state change in the history, user null);
 *   a `dismissed` one stays dismissed;
 * - a vulnerability of the image that the scan did not find → flagged "no longer detected" (once,
 *   with history `no_longer_detected`); its state is untouched.
 *
 * Ingestions of one project are serialised: on PostgreSQL the first thing ingestScan does is lock
 * the project's row (`FOR NO KEY UPDATE`, which foreign-key checks of concurrent inserts do not
 * wait for), so two ingestions of the same image cannot both read "no vulnerability yet" and both
 * insert it; SQLite transactions are serialised already. Under that lock a scan that is older than
 * one already ingested for the image (a retried attempt of an earlier digest that finishes late,
 * an upload that lost the race) changes nothing: its counts say `stale` and the newer scan's
 * findings stay (the caller still stores its SBOM).
 *
 * Made for images with thousands of findings: the image's vulnerabilities are read in one query,
 * rows are inserted in chunks, and the rows that only need their last detection refreshed are
 * updated together; only rows whose details changed are updated one by one.
 */
import type { Insertable, Kysely, Transaction } from 'kysely';
import type { Finding } from '../match/types.js';
import type { Inventory } from '../inventory/types.js';
import {
  cleanText,
  findingTitle,
  hasFix,
  orderedIds,
  osLabel,
  primaryCvss,
} from '../report/common.js';
import type {
  DB,
  Scan,
  Vulnerability,
  VulnerabilityHistoryTable,
  VulnerabilityState,
  VulnerabilitiesTable,
} from '../store/schema.js';
import type { ServiceContext } from './context.js';

/** One finding in a neutral form, whatever produced it (a scan, an uploaded report). */
export interface IngestItem {
  packageName: string;
  packageVersion: string;
  /** purl type: `deb`, `apk`, `npm`, …; `generic` when unknown. */
  packageType: string;
  purl: string;
  layer: string | null;
  path: string | null;
  advisoryId: string;
  /** Advisory id and aliases, the id people know it by (a CVE) first. */
  identifiers: string[];
  /** `critical`, `high`, `medium`, `low`, `negligible`, `unknown`. */
  severity: string;
  cvssVector: string | null;
  cvssScore: number | null;
  title: string | null;
  description: string | null;
  links: string[];
  fixedVersion: string | null;
  /** `fixed`, `not_fixed`, `wont_fix`, `unknown`. */
  fixState: string;
  /** Why it matched (a MatchExplanation, or what the report said); stored as JSON. */
  explanation: unknown;
  /** `debian 12`. */
  os: string | null;
}

export interface IngestCounts {
  /** Vulnerabilities created by this scan. */
  new: number;
  /** Vulnerabilities that existed and were found again. */
  existing: number;
  /** Vulnerabilities of the image this scan flagged as no longer detected. */
  noLongerDetected: number;
  /** Existing ones that came back: the flag was set, or they were resolved. */
  redetected: number;
  /**
   * Set when a newer scan of the image was ingested already: this one changed nothing (all counts
   * are 0); its findings are kept for its SBOM only.
   */
  stale?: true;
}

export interface IngestInput {
  /** The scan the items come from: its project, report type, repository, tag and digest. */
  scan: Scan;
  items: readonly IngestItem[];
}

const CVE_ID = /^CVE-\d{4}-\d{4,}$/i;
const LINK = /^(https?|ftp):\/\/\S+$/i;
/** Rows per multi-row INSERT: ~35 columns each stays far below both databases' parameter limits. */
const INSERT_CHUNK = 200;
/** Ids per `IN (…)` list. */
const ID_CHUNK = 1000;

/** The items of matched findings; `inventory` gives the operating system. */
export function itemsFromFindings(
  findings: readonly Finding[],
  inventory: Inventory,
): IngestItem[] {
  const os = osLabel(inventory) ?? null;
  return findings.map((f) => {
    const cvss = primaryCvss(f);
    const details = cleanText(f.details ?? '', { newlines: true }).trim();
    const links: string[] = [];
    for (const url of f.references) if (LINK.test(url) && !links.includes(url)) links.push(url);
    return {
      packageName: f.package.name,
      packageVersion: f.installedVersion,
      packageType: f.package.type,
      purl: f.package.purl,
      layer: f.package.layer || null,
      path: f.package.path || null,
      advisoryId: f.advisoryId,
      identifiers: orderedIds(f),
      severity: f.severity,
      cvssVector: cvss?.vector ?? null,
      cvssScore: cvss?.score ?? null,
      title: findingTitle(f) ?? null,
      description: details !== '' ? details : null,
      links,
      fixedVersion: f.fixedVersions.length > 0 ? f.fixedVersions.join(', ') : null,
      fixState: hasFix(f) ? 'fixed' : f.fixState,
      explanation: f.explanation,
      os,
    };
  });
}

function identity(packageName: string, advisoryId: string): string {
  return `${packageName}\u0000${advisoryId}`;
}

/** The columns an item refreshes on its vulnerability (everything but identity and lifecycle). */
type Details = Pick<
  VulnerabilitiesTable,
  | 'package_type'
  | 'package_version'
  | 'purl'
  | 'severity'
  | 'cvss_vector'
  | 'cvss_score'
  | 'identifiers'
  | 'cve'
  | 'title'
  | 'description'
  | 'links'
  | 'fixed_version'
  | 'fix_state'
  | 'has_fix'
  | 'os'
  | 'layer'
  | 'path'
  | 'explanation'
>;

const DETAIL_COLUMNS: readonly (keyof Details)[] = [
  'package_type',
  'package_version',
  'purl',
  'severity',
  'cvss_vector',
  'cvss_score',
  'identifiers',
  'cve',
  'title',
  'description',
  'links',
  'fixed_version',
  'fix_state',
  'has_fix',
  'os',
  'layer',
  'path',
  'explanation',
];

function detailsOf(item: IngestItem): Details {
  const identifiers = item.identifiers.length > 0 ? item.identifiers : [item.advisoryId];
  const fixed = item.fixedVersion !== null && item.fixedVersion !== '' ? item.fixedVersion : null;
  return {
    package_type: item.packageType,
    package_version: item.packageVersion,
    purl: item.purl,
    severity: item.severity,
    cvss_vector: item.cvssVector,
    cvss_score: item.cvssScore !== null && Number.isFinite(item.cvssScore) ? item.cvssScore : null,
    identifiers: JSON.stringify(identifiers),
    cve: identifiers.find((id) => CVE_ID.test(id)) ?? null,
    title: item.title,
    description: item.description,
    links: JSON.stringify(item.links),
    fixed_version: fixed,
    fix_state: item.fixState,
    has_fix: fixed !== null || item.fixState === 'fixed' ? 1 : 0,
    os: item.os,
    layer: item.layer,
    path: item.path,
    explanation: JSON.stringify(item.explanation ?? null),
  };
}

function sameDetails(row: Vulnerability, details: Details): boolean {
  return DETAIL_COLUMNS.every((c) => {
    const a = row[c];
    const b = details[c];
    if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) < 1e-6;
    return a === b;
  });
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Serialises the ingestions of a project until `trx` ends: on PostgreSQL, locks the project's row
 * (`FOR NO KEY UPDATE`: concurrent inserts referencing the project do not wait for it, and it is
 * deadlock-free even after this transaction inserted such rows); on SQLite a no-op, transactions
 * are serialised. ingestScan takes it; callers may take it earlier in the same transaction.
 */
export async function lockProjectForIngestion(
  ctx: ServiceContext,
  trx: Transaction<DB> | Kysely<DB>,
  projectId: number,
): Promise<void> {
  if (ctx.database.dialect !== 'postgres') return;
  await trx
    .selectFrom('projects')
    .select('id')
    .where('id', '=', projectId)
    .forNoKeyUpdate()
    .execute();
}

/**
 * Whether a scan newer than `scan` (a greater id) was ingested for its image already: one of the
 * image's vulnerabilities was last seen by it, or it finished successfully.
 */
async function newerScanIngested(trx: Transaction<DB> | Kysely<DB>, scan: Scan, tag: string) {
  const byVulnerability = await trx
    .selectFrom('vulnerabilities')
    .select('id')
    .where('project_id', '=', scan.project_id)
    .where('report_type', '=', scan.report_type)
    .where('repository', '=', scan.repository)
    .where('tag', '=', tag)
    .where('last_scan_id', '>', scan.id)
    .limit(1)
    .executeTakeFirst();
  if (byVulnerability) return true;
  const byScan = await trx
    .selectFrom('scans')
    .select('id')
    .where('project_id', '=', scan.project_id)
    .where('report_type', '=', scan.report_type)
    .where('repository', '=', scan.repository)
    .where('tag', '=', tag)
    .where('status', '=', 'success')
    .where('id', '>', scan.id)
    .limit(1)
    .executeTakeFirst();
  return byScan !== undefined;
}

/**
 * Applies one scan's items to the vulnerabilities of its image, inside `trx` (the caller commits
 * it together with the scan's own status). Items repeating an identity count once (the first).
 * Takes the project's ingestion lock first; a scan older than one already ingested for the image
 * changes nothing and comes back `stale`.
 */
export async function ingestScan(
  ctx: ServiceContext,
  trx: Transaction<DB> | Kysely<DB>,
  input: IngestInput,
): Promise<IngestCounts> {
  const { scan } = input;
  if (scan.tag === null) throw new Error(`scan ${scan.id} has no tag: nothing to ingest it under`);
  const tag = scan.tag;
  const now = ctx.now().toISOString();

  await lockProjectForIngestion(ctx, trx, scan.project_id);
  if (await newerScanIngested(trx, scan, tag)) {
    return { new: 0, existing: 0, noLongerDetected: 0, redetected: 0, stale: true };
  }

  const items = new Map<string, IngestItem>();
  for (const item of input.items) {
    const key = identity(item.packageName, item.advisoryId);
    if (!items.has(key)) items.set(key, item);
  }

  const rows = await trx
    .selectFrom('vulnerabilities')
    .selectAll()
    .where('project_id', '=', scan.project_id)
    .where('report_type', '=', scan.report_type)
    .where('repository', '=', scan.repository)
    .where('tag', '=', tag)
    .execute();
  const existing = new Map(rows.map((r) => [identity(r.package_name, r.advisory_id), r]));

  const history: Insertable<VulnerabilityHistoryTable>[] = [];
  const systemEntry = (
    vulnerabilityId: number,
    action: string,
    from: VulnerabilityState | null,
    to: VulnerabilityState | null,
  ): Insertable<VulnerabilityHistoryTable> => ({
    vulnerability_id: vulnerabilityId,
    at: now,
    user_id: null,
    action,
    from_state: from,
    to_state: to,
    dismissal_reason: null,
    comment: null,
    scan_id: scan.id,
  });

  const counts: IngestCounts = { new: 0, existing: 0, noLongerDetected: 0, redetected: 0 };
  const fresh: Insertable<VulnerabilitiesTable>[] = [];
  const seen: number[] = [];
  const returning: { id: number; flagged: boolean }[] = []; // resolved → detected
  const changed: { id: number; details: Details }[] = [];

  for (const [key, item] of items) {
    const details = detailsOf(item);
    const row = existing.get(key);
    if (!row) {
      fresh.push({
        project_id: scan.project_id,
        report_type: scan.report_type,
        repository: scan.repository,
        tag,
        package_name: item.packageName,
        advisory_id: item.advisoryId,
        ...details,
        digest: scan.digest,
        state: 'detected',
        dismissal_reason: null,
        comment: null,
        no_longer_detected: 0,
        first_detected_at: now,
        last_detected_at: now,
        last_scan_id: scan.id,
        updated_at: now,
      });
      continue;
    }
    existing.delete(key);
    counts.existing++;
    seen.push(row.id);
    if (!sameDetails(row, details)) changed.push({ id: row.id, details });
    if (row.state === 'resolved') {
      // its history is written once the update tells whether it really came back
      returning.push({ id: row.id, flagged: row.no_longer_detected === 1 });
    } else if (row.no_longer_detected === 1) {
      history.push(systemEntry(row.id, 'redetected', null, null));
      counts.redetected++;
    }
  }

  for (const chunk of chunks(fresh, INSERT_CHUNK)) {
    const inserted = await trx
      .insertInto('vulnerabilities')
      .values(chunk)
      .returning('id')
      .execute();
    for (const { id } of inserted) history.push(systemEntry(id, 'detected', null, 'detected'));
    counts.new += inserted.length;
  }

  for (const ids of chunks(seen, ID_CHUNK)) {
    await trx
      .updateTable('vulnerabilities')
      .set({
        last_detected_at: now,
        last_scan_id: scan.id,
        digest: scan.digest,
        no_longer_detected: 0,
        updated_at: now,
      })
      .where('id', 'in', ids)
      .execute();
  }
  for (const batch of chunks(returning, ID_CHUNK)) {
    const updated = await trx
      .updateTable('vulnerabilities')
      .set({ state: 'detected', dismissal_reason: null })
      .where(
        'id',
        'in',
        batch.map((r) => r.id),
      )
      // a state someone set since the read stays (e.g. a dismissal committed meanwhile)
      .where('state', '=', 'resolved')
      .returning('id')
      .execute();
    const cameBack = new Set(updated.map((r) => r.id));
    for (const { id, flagged } of batch) {
      if (cameBack.has(id)) {
        history.push(
          flagged
            ? systemEntry(id, 'redetected', 'resolved', 'detected')
            : systemEntry(id, 'state_change', 'resolved', 'detected'),
        );
        counts.redetected++;
      } else if (flagged) {
        history.push(systemEntry(id, 'redetected', null, null));
        counts.redetected++;
      }
    }
  }
  for (const { id, details } of changed) {
    await trx.updateTable('vulnerabilities').set(details).where('id', '=', id).execute();
  }

  // what is left of the image's vulnerabilities was not found by this scan
  const gone = [...existing.values()].filter((r) => r.no_longer_detected === 0).map((r) => r.id);
  for (const ids of chunks(gone, ID_CHUNK)) {
    await trx
      .updateTable('vulnerabilities')
      .set({ no_longer_detected: 1, updated_at: now })
      .where('id', 'in', ids)
      .execute();
  }
  for (const id of gone) history.push(systemEntry(id, 'no_longer_detected', null, null));
  counts.noLongerDetected = gone.length;

  for (const chunk of chunks(history, INSERT_CHUNK)) {
    await trx.insertInto('vulnerability_history').values(chunk).execute();
  }
  return counts;
}
