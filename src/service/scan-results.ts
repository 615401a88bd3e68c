/**
 * Recording a scan's results, the same for a registry scan (scan-job.ts) and an uploaded CI
 * report (ci-reports.ts), in the caller's transaction: take the project's ingestion lock; store
 * the scan's SBOM document and one occurrence per package; ingest the findings (ingest.ts); mark
 * the scan successful with its counts. Each step is a line in the scan's log.
 *
 * PostgreSQL text cannot hold a NUL character: package data with one (a hostile image, a crafted
 * SBOM) must be refused before it gets here. nulInPackages says where one is, so each caller can
 * refuse it its own way (a permanent scan failure, a 400).
 */
import type { Insertable, Kysely, Transaction } from 'kysely';
import type { ImageInventory } from '../inventory/types.js';
import type { DB, Scan, SbomOccurrencesTable, ScanLogsTable } from '../store/schema.js';
import type { ServiceContext } from './context.js';
import {
  ingestScan,
  lockProjectForIngestion,
  type IngestCounts,
  type IngestItem,
} from './ingest.js';

const OCCURRENCE_CHUNK = 300;

/** What the scan log says instead of the ingestion counts when the scan was stale. */
export const STALE_SCAN_MESSAGE =
  'a newer scan of this image was already ingested; findings kept for its SBOM only';

export interface ScanResult {
  /** The scan, already in the database (status `running`): its project, image and report type. */
  scan: Scan;
  /** The indexed images; their packages become the SBOM occurrences. */
  images: readonly ImageInventory[];
  /** The SBOM document to store; null stores none (and no occurrences). */
  sbomDocument: unknown;
  /** The findings. */
  items: readonly IngestItem[];
  packageCount: number | null;
  findingCount: number;
  /**
   * The digest the occurrences record; default: each image's manifest digest. (An uploaded SBOM
   * records the scan's digest, null when the SBOM names none.)
   */
  occurrenceDigest?: string | null;
}

/**
 * Where the first NUL character in the packages (or operating system) of `images` is, as
 * `package name "a\u0000b"`; undefined when there is none.
 */
export function nulInPackages(images: readonly ImageInventory[]): string | undefined {
  const hasNul = (text: string | undefined) => text !== undefined && text.includes('\u0000');
  for (const { inventory } of images) {
    const d = inventory.distro;
    if (d) {
      for (const [what, text] of [
        ['operating system id', d.id],
        ['operating system version', d.versionId],
      ] as const) {
        if (hasNul(text)) return `${what} ${JSON.stringify(text)}`;
      }
    }
    for (const p of inventory.packages) {
      for (const [what, text] of [
        ['package name', p.name],
        ['package version', p.version],
        ['package type', p.type],
        ['package purl', p.purl],
        ['package layer', p.layer],
        ['package path', p.path],
      ] as const) {
        if (hasNul(text)) return `${what} ${JSON.stringify(text)}`;
      }
    }
  }
  return undefined;
}

/** A log line (or error) as PostgreSQL text can hold it: NUL characters written out as `\0`. */
export function loggable(message: string): string {
  return message.replaceAll('\u0000', '\\0');
}

/**
 * Stores the SBOM and occurrences of `result.scan`, ingests its findings and marks it successful,
 * all in `trx`. A stale scan (a newer one of the image was ingested already) keeps its SBOM, and
 * its log says so.
 */
export async function recordScanResult(
  ctx: ServiceContext,
  trx: Transaction<DB> | Kysely<DB>,
  result: ScanResult,
): Promise<IngestCounts> {
  const { scan } = result;
  const log = (level: ScanLogsTable['level'], message: string) =>
    trx
      .insertInto('scan_logs')
      .values({ scan_id: scan.id, at: ctx.now().toISOString(), level, message: loggable(message) })
      .execute();
  const now = ctx.now().toISOString();

  // first: inserts below take a key-share lock on the project's row
  await lockProjectForIngestion(ctx, trx, scan.project_id);

  if (result.sbomDocument !== null) {
    // a retried attempt after a crash mid-commit cannot leave rows, but be sure
    await trx.deleteFrom('sbom_occurrences').where('scan_id', '=', scan.id).execute();
    await trx.deleteFrom('sboms').where('scan_id', '=', scan.id).execute();
    await trx
      .insertInto('sboms')
      .values({
        scan_id: scan.id,
        project_id: scan.project_id,
        digest: scan.digest,
        document: JSON.stringify(result.sbomDocument),
        created_at: now,
      })
      .execute();
    const occurrences: Insertable<SbomOccurrencesTable>[] = result.images.flatMap(
      ({ image, inventory }) =>
        inventory.packages.map((p) => ({
          project_id: scan.project_id,
          scan_id: scan.id,
          component_name: p.name,
          component_version: p.version,
          package_type: p.type,
          purl: p.purl,
          repository: scan.repository,
          digest:
            result.occurrenceDigest !== undefined ? result.occurrenceDigest : image.manifestDigest,
          layer: p.layer || null,
          path: p.path || null,
          source_type: scan.report_type,
        })),
    );
    for (let i = 0; i < occurrences.length; i += OCCURRENCE_CHUNK) {
      await trx
        .insertInto('sbom_occurrences')
        .values(occurrences.slice(i, i + OCCURRENCE_CHUNK))
        .execute();
    }
    await log('info', `stored SBOM: ${occurrences.length} components`);
  }

  const counts = await ingestScan(ctx, trx, { scan, items: result.items });
  if (counts.stale) {
    await log('info', STALE_SCAN_MESSAGE);
    ctx.log.info('stale scan: a newer scan of the image was already ingested', { scan: scan.id });
  } else {
    await log(
      'info',
      `ingested: ${counts.new} new, ${counts.existing} existing, ${counts.redetected} detected again, ` +
        `${counts.noLongerDetected} no longer detected`,
    );
  }
  await trx
    .updateTable('scans')
    .set({
      status: 'success',
      error: null,
      package_count: result.packageCount,
      finding_count: result.findingCount,
      finished_at: ctx.now().toISOString(),
    })
    .where('id', '=', scan.id)
    .execute();
  return counts;
}
