/**
 * A project's images as the scans and vulnerabilities tables know them: per repository, its tags,
 * each with the digest its latest scan was of, that scan's status, and the counts by severity of
 * the tag's open vulnerabilities (still detected, and neither dismissed nor resolved).
 *
 * One report type at a time: the registry's images (`container_scanning_for_registry`, the
 * default) or the images CI uploaded reports for (`container_scanning`), so a vulnerability found
 * both ways is never counted twice.
 */
import type { Kysely } from 'kysely';
import type { DB, ReportType, ScanStatus, ScanTrigger } from '../store/schema.js';
import { emptyCounts, SEVERITY_LEVELS, type SeverityCounts } from './vulnerabilities.js';

export interface ImageScanSummary {
  id: number;
  status: ScanStatus;
  trigger: ScanTrigger;
  digest: string | null;
  created_at: string;
  finished_at: string | null;
  error: string | null;
}

export interface ImageTag {
  /** null for scans of a digest without a tag. */
  tag: string | null;
  /** The digest of the latest scan (else of the tag's vulnerabilities). */
  digest: string | null;
  last_scan: ImageScanSummary | null;
  /** Open vulnerabilities by severity. */
  counts: SeverityCounts;
}

export interface ImageRepository {
  repository: string;
  tags: ImageTag[];
}

function compareTags(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

export async function listImages(
  db: Kysely<DB>,
  projectId: number,
  reportType: ReportType = 'container_scanning_for_registry',
): Promise<ImageRepository[]> {
  const latestScans = await db
    .selectFrom('scans')
    .select([
      'id',
      'repository',
      'tag',
      'digest',
      'status',
      'trigger',
      'created_at',
      'finished_at',
      'error',
    ])
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('scans')
        .select((s) => s.fn.max('id').as('id'))
        .where('project_id', '=', projectId)
        .where('report_type', '=', reportType)
        .groupBy(['repository', 'tag']),
    )
    .execute();
  const counted = await db
    .selectFrom('vulnerabilities')
    .select([
      'repository',
      'tag',
      'severity',
      (eb) => eb.fn.countAll<number>().as('n'),
      (eb) => eb.fn.max('digest').as('digest'),
    ])
    .where('project_id', '=', projectId)
    .where('report_type', '=', reportType)
    .where('no_longer_detected', '=', 0)
    .where('state', 'in', ['detected', 'confirmed'])
    .groupBy(['repository', 'tag', 'severity'])
    .execute();

  const repositories = new Map<string, Map<string | null, ImageTag>>();
  const tagOf = (repository: string, tag: string | null): ImageTag => {
    let tags = repositories.get(repository);
    if (!tags) repositories.set(repository, (tags = new Map<string | null, ImageTag>()));
    let entry = tags.get(tag);
    if (!entry)
      tags.set(tag, (entry = { tag, digest: null, last_scan: null, counts: emptyCounts() }));
    return entry;
  };
  for (const scan of latestScans) {
    const entry = tagOf(scan.repository, scan.tag);
    entry.digest = scan.digest;
    entry.last_scan = {
      id: scan.id,
      status: scan.status,
      trigger: scan.trigger,
      digest: scan.digest,
      created_at: scan.created_at,
      finished_at: scan.finished_at,
      error: scan.error,
    };
  }
  for (const row of counted) {
    const entry = tagOf(row.repository, row.tag);
    const severity = (SEVERITY_LEVELS as readonly string[]).includes(row.severity)
      ? (row.severity as keyof SeverityCounts)
      : 'unknown';
    entry.counts[severity] += Number(row.n);
    if (entry.digest === null && row.digest !== null) entry.digest = row.digest;
  }
  return [...repositories.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([repository, tags]) => ({
      repository,
      tags: [...tags.values()].sort((a, b) => compareTags(a.tag, b.tag)),
    }));
}
