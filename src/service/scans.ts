/**
 * Creating scans. A queued scan and its job are written in one transaction (the caller's), so a
 * scan is pending exactly when a job for it exists; the workers pick it up from the queue.
 */
import type { Transaction } from 'kysely';
import type { DB, ReportType, Scan, ScanTrigger } from '../store/schema.js';
import { SCAN_QUEUE, type ScanJobPayload, type ServiceContext } from './context.js';

export interface QueueScanInput {
  projectId: number;
  registryId: number | null;
  repository: string;
  tag: string | null;
  digest: string | null;
  trigger: ScanTrigger;
  reportType?: ReportType;
  userId?: number | null;
}

/** Inserts a pending scan and enqueues its job inside `trx`. Call ctx.wake() after the commit. */
export async function queueScan(
  ctx: ServiceContext,
  trx: Transaction<DB>,
  input: QueueScanInput,
): Promise<Scan> {
  const scan = await trx
    .insertInto('scans')
    .values({
      project_id: input.projectId,
      registry_id: input.registryId,
      repository: input.repository,
      tag: input.tag,
      digest: input.digest,
      trigger: input.trigger,
      report_type: input.reportType ?? 'container_scanning_for_registry',
      status: 'pending',
      error: null,
      created_at: ctx.now().toISOString(),
      started_at: null,
      finished_at: null,
      attempts: 0,
      package_count: null,
      finding_count: null,
      user_id: input.userId ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const payload: ScanJobPayload = { scanId: scan.id };
  await ctx.queue.enqueue(SCAN_QUEUE, payload, { maxAttempts: ctx.config.queue.maxAttempts }, trx);
  return scan;
}
