/**
 * The ImagePushed policy (DESIGN.md): whether a registry event becomes a scan. The caller has
 * authenticated the registry and parsed the body (registry-events.ts); here every entry is decided
 * and written to the event log (`registry_events`) with its outcome and a reason people can read:
 *
 * 1. authenticated and well-formed — done by the caller; malformed entries are logged `rejected`;
 * 2. a manifest push with a tag — else `ignored` (blob pushes, pulls, mounts, deletes, by digest);
 * 3. the repository belongs to a project: the one whose path is the longest path-component
 *    prefix of the repository (`group/app` owns `group/app` and `group/app/api`, not
 *    `group/application`). A project's own registry feeds only that project. The project has
 *    scanning for registry enabled;
 * 4. the tag is one of the project's supported tags (exact tags or globs);
 * 5. the project is under its daily limit of registry-push scans in a rolling 24 hours;
 * 6. no scan of the same project, repository, tag and digest is queued or running (registries
 *    retry deliveries; duplicates collapse into one scan).
 *
 * Steps 5 and 6 and the queueing happen in one transaction per event, which on PostgreSQL first
 * locks the project's row: concurrent events of one project are decided one after the other, so
 * the limit can never be exceeded. On SQLite, transactions are serialised already (one connection
 * per process, and the database file's write lock).
 *
 * Of those two, the duplicate check is made first: when a delivery repeats a push whose scan is
 * queued and the project has just reached its limit (that very scan may be the one that reached
 * it), the event is refused as a duplicate, naming the scan that covers it. "Daily limit reached"
 * would wrongly tell people the image is not being scanned. Either way the event is refused.
 */
import type { Transaction } from 'kysely';
import picomatch from 'picomatch';
import type { DB, EventOutcome, Project, Registry } from '../store/schema.js';
import type { ServiceContext } from './context.js';
import {
  entryFields,
  type EventFields,
  type EventFormat,
  type ImagePushedEvent,
  type ParsedEntry,
} from './registry-events.js';
import { queueScan } from './scans.js';

export interface EventResult {
  /** The event log row. */
  eventId: number;
  outcome: EventOutcome;
  reason: string;
  /** The scan queued for this event (outcome `queued`). */
  scanId: number | null;
  /** The project the event was attributed to, if any. */
  projectId: number | null;
}

/** What receiveRegistryEvents needs of a parsed body (the `ok` side of ParsedPayload). */
export interface ReceivedPayload {
  format: EventFormat;
  entries: readonly ParsedEntry[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

interface Decision {
  outcome: EventOutcome;
  reason: string;
  projectId: number | null;
  scanId: number | null;
}

/**
 * Decides every entry of one authenticated delivery, in order, and logs each. Wakes the workers
 * once if anything was queued, and counts the outcomes in the metrics.
 */
export async function receiveRegistryEvents(
  ctx: ServiceContext,
  registry: Registry,
  parsed: ReceivedPayload,
): Promise<EventResult[]> {
  const results: EventResult[] = [];
  try {
    for (const entry of parsed.entries) {
      if (entry.kind === 'candidate') {
        results.push(await decideImagePushed(ctx, registry, entry.event));
      } else {
        const outcome: EventOutcome = entry.kind === 'ignored' ? 'ignored' : 'rejected';
        const eventId = await logEvent(ctx.database.db, ctx, registry, entryFields(entry), {
          outcome,
          reason: entry.reason,
          projectId: null,
          scanId: null,
        });
        results.push({ eventId, outcome, reason: entry.reason, scanId: null, projectId: null });
      }
    }
  } finally {
    if (results.some((r) => r.outcome === 'queued')) ctx.wake();
    for (const r of results) ctx.metrics.events.inc({ outcome: r.outcome });
  }
  return results;
}

/** One candidate through steps 3–6, decided and logged in one transaction. */
export async function decideImagePushed(
  ctx: ServiceContext,
  registry: Registry,
  event: ImagePushedEvent,
): Promise<EventResult> {
  return ctx.database.db.transaction().execute(async (trx) => {
    const decision = await decide(ctx, trx, registry, event);
    const eventId = await logEvent(
      trx,
      ctx,
      registry,
      entryFields({ kind: 'candidate', event }),
      decision,
    );
    return { eventId, ...decision };
  });
}

async function decide(
  ctx: ServiceContext,
  trx: Transaction<DB>,
  registry: Registry,
  event: ImagePushedEvent,
): Promise<Decision> {
  const refused = (reason: string, projectId: number | null): Decision => ({
    outcome: 'refused',
    reason,
    projectId,
    scanId: null,
  });
  const { repository, tag, digest } = event;

  // 3. the owning project, and the registry may feed it
  const owner = await owningProject(trx, repository);
  if (registry.project_id !== null && owner?.id !== registry.project_id) {
    const own = await trx
      .selectFrom('projects')
      .select('path')
      .where('id', '=', registry.project_id)
      .executeTakeFirst();
    const ownPath = own?.path ?? `#${registry.project_id}`;
    // The same reason whoever really owns the repository (or whether anyone does): a project
    // registry's secret must not reveal which other projects exist.
    return refused(
      `repository ${repository} is not under project ${ownPath} (this registry feeds only project ${ownPath})`,
      registry.project_id,
    );
  }
  if (!owner) return refused(`no project owns repository ${repository}`, null);
  if (owner.scanning_enabled !== 1) {
    return refused(`scanning for registry is disabled in project ${owner.path}`, owner.id);
  }

  // 4. a supported tag
  const supported = supportedTags(owner.supported_tags);
  if (supported === undefined) {
    return refused(
      `project ${owner.path} has an unreadable supported tags setting; no tag is scanned`,
      owner.id,
    );
  }
  if (!tagIsSupported(tag, supported)) {
    return refused(
      `tag ${tag} is not a supported tag of project ${owner.path} (supported: ${
        supported.length ? supported.join(', ') : 'none'
      })`,
      owner.id,
    );
  }

  // 5 and 6 under the project's lock (PostgreSQL; SQLite transactions are serialised anyway)
  if (ctx.database.dialect === 'postgres') {
    await trx.selectFrom('projects').select('id').where('id', '=', owner.id).forUpdate().execute();
  }

  // 6 (checked first, see the top of the file): not already queued or running
  const active = await trx
    .selectFrom('scans')
    .select(['id', 'status'])
    .where('project_id', '=', owner.id)
    .where('repository', '=', repository)
    .where('tag', '=', tag)
    .where('digest', '=', digest)
    .where('status', 'in', ['created', 'pending', 'running'])
    .orderBy('id')
    .executeTakeFirst();
  if (active) {
    const state = active.status === 'running' ? 'running' : 'queued';
    return refused(
      `duplicate: scan ${active.id} of ${repository}:${tag}@${digest} is already ${state}`,
      owner.id,
    );
  }

  // 5. the daily limit
  const since = new Date(ctx.now().getTime() - DAY_MS).toISOString();
  const { n } = await trx
    .selectFrom('scans')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('project_id', '=', owner.id)
    .where('trigger', '=', 'registry_push')
    .where('created_at', '>', since)
    .executeTakeFirstOrThrow();
  if (Number(n) >= owner.daily_limit) {
    return refused(
      `daily limit reached: project ${owner.path} has had ${Number(n)} registry-push scans in the last 24 hours (limit ${owner.daily_limit})`,
      owner.id,
    );
  }

  const scan = await queueScan(ctx, trx, {
    projectId: owner.id,
    registryId: registry.id,
    repository,
    tag,
    digest,
    trigger: 'registry_push',
    reportType: 'container_scanning_for_registry',
  });
  return {
    outcome: 'queued',
    reason: `scan ${scan.id} queued for ${repository}:${tag} in project ${owner.path}`,
    projectId: owner.id,
    scanId: scan.id,
  };
}

/** `a/b/c` → `a/b/c`, `a/b`, `a`: the paths of the projects that could own it, longest first. */
export function repositoryPrefixes(repository: string): string[] {
  const parts = repository.split('/');
  const out: string[] = [];
  for (let i = parts.length; i > 0; i--) out.push(parts.slice(0, i).join('/'));
  return out;
}

/** The project whose path is the longest path-component prefix of the repository. */
export async function owningProject(
  db: Pick<Transaction<DB>, 'selectFrom'>,
  repository: string,
): Promise<Project | undefined> {
  const prefixes = repositoryPrefixes(repository);
  const rows = await db.selectFrom('projects').selectAll().where('path', 'in', prefixes).execute();
  let best: Project | undefined;
  for (const row of rows) if (!best || row.path.length > best.path.length) best = row;
  return best;
}

/** The supported tags setting (JSON list of tags or globs); undefined when unreadable. */
export function supportedTags(json: string): string[] | undefined {
  try {
    const value: unknown = JSON.parse(json);
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  } catch {
    // unreadable
  }
  return undefined;
}

/** True when the tag equals one of the patterns or matches it as a glob (`v*`, `release-*`). */
export function tagIsSupported(tag: string, patterns: readonly string[]): boolean {
  for (const pattern of patterns) {
    if (pattern === tag) return true;
    try {
      if (picomatch.isMatch(tag, pattern, { dot: true })) return true;
    } catch {
      // an invalid glob matches nothing
    }
  }
  return false;
}

async function logEvent(
  db: Pick<Transaction<DB>, 'insertInto'>,
  ctx: ServiceContext,
  registry: Registry,
  fields: EventFields,
  decision: Decision,
): Promise<number> {
  const row = await db
    .insertInto('registry_events')
    .values({
      registry_id: registry.id,
      received_at: ctx.now().toISOString(),
      format: fields.format,
      external_id: fields.externalId,
      action: fields.action,
      media_type: fields.mediaType,
      repository: fields.repository,
      tag: fields.tag,
      digest: fields.digest,
      outcome: decision.outcome,
      reason: decision.reason,
      project_id: decision.projectId,
      scan_id: decision.scanId,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
