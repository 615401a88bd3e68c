/**
 * The scan job: what a worker does for a queued scan.
 *
 * One attempt: load the scan and its registry; mark the scan running; pull the image BY DIGEST
 * from the registry's configured URL (never from anything an event said); index it with the
 * layer cache in the database; match it against the advisories; build its CycloneDX SBOM (with
 * `regscan:report_type` = the scan's report type); then, in one transaction, record the results
 * (scan-results.ts: the SBOM, one occurrence per package, the findings ingested, the scan marked
 * successful). Each step is a line in `scan_logs`, the scan's "pipeline" log.
 *
 * An attempt that fails logs its reason and throws: the queue retries it with backoff, and the
 * scan goes back to `pending` with the error meanwhile. When the attempts are used up the worker
 * calls onFailed once, and the scan becomes `failed` with the reason. A failure that retrying
 * cannot help is not retried (a PermanentJobError: the job fails at once): the registry does not
 * have the image or refuses us, or the image itself is broken or hostile (digest mismatch, path
 * traversal, decompression bomb, invalid manifest, a NUL character in a package's name, version or
 * purl, which no database can store, …). Network errors, timeouts, 429 and 5xx
 * answers, and anything that is not about the image (the database) are retried.
 *
 * The pull uses the registry's own credentials or none: never a Docker config of the host the
 * service runs on (a registry URL someone registers must not be pulled with those). A project
 * registry (added by a project maintainer) is pulled from public addresses only, unless the
 * instance allows private networks (`scan.allowPrivateNetworks`): the registry client checks the
 * address of every connection, redirects and token servers included, so neither a private IP in
 * the URL nor a name resolving or redirecting to one reaches the service's own network. Such a
 * refusal is permanent.
 */
import type { Kysely, Transaction } from 'kysely';
import { ReferenceError } from '../image/reference.js';
import { isPublicAddress } from '../image/network.js';
import {
  AddressNotAllowedError,
  RegistryError,
  type RegistryEvent,
  type RegistryOptions,
} from '../image/registry.js';
import { isRetryableError } from '../image/registry/transport.js';
import { parsePlatform } from '../image/resolve.js';
import { ImageError } from '../image/types.js';
import type { LayerCache } from '../inventory/cache.js';
import { inventoryImage } from '../inventory/inventory-image.js';
import type { ImageInventory } from '../inventory/types.js';
import { matchInventory } from '../match/match.js';
import type { TakenJob } from '../queue/types.js';
import { PermanentJobError, type JobHandler } from '../queue/worker.js';
import { toCycloneDX } from '../sbom/cyclonedx.js';
import { DatabaseLayerCache } from '../store/layer-cache.js';
import type { DB, Registry, Scan, ScanLogsTable } from '../store/schema.js';
import { VERSION } from '../version.js';
import type { ScanJobPayload, ServiceContext } from './context.js';
import { itemsFromFindings, type IngestItem } from './ingest.js';
import { loggable, nulInPackages, recordScanResult } from './scan-results.js';

export interface ScanJobOptions {
  /** Every registry request, retry and token fetch of the pull (tests count blob fetches). */
  onRegistryEvent?: (event: RegistryEvent) => void;
}

type Db = Kysely<DB> | Transaction<DB>;
type LogLevel = ScanLogsTable['level'];

const MAX_WARNING_LINES = 20;

function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

/** Registry error codes that say the image is not there or not ours to pull. */
const PERMANENT_REGISTRY_CODES: Record<string, string> = {
  MANIFEST_UNKNOWN: 'the registry does not have the image',
  NAME_UNKNOWN: 'the registry does not have the image',
  BLOB_UNKNOWN: 'the registry does not have the image',
  UNAUTHORIZED: 'the registry refused access',
  DENIED: 'the registry refused access',
};

/**
 * Why retrying the failed pull cannot help, or undefined when it may: the registry does not have
 * the image or refuses us (401/403/404 or their error codes), or the image is broken or hostile
 * (any other error of the scanning core, down to a corrupt gzip stream). Network errors and
 * timeouts (also in the middle of a layer), 429 and 5xx are worth another try, and so is
 * anything that is not the scanning core's (the database, an abort).
 */
export function permanentFailure(e: unknown): string | undefined {
  if (e instanceof ReferenceError) return 'the image reference is invalid';
  if (!(e instanceof ImageError)) return undefined;
  // the scanning core wraps what went wrong below it: the innermost reason decides
  let err: unknown = e;
  for (let depth = 0; depth < 10; depth++) {
    if (err instanceof AddressNotAllowedError) return 'the registry address is not allowed';
    if (err instanceof RegistryError) {
      if (err.status === 404) return 'the registry does not have the image';
      if (err.status === 401 || err.status === 403) return 'the registry refused access';
      const byCode = err.code !== undefined ? PERMANENT_REGISTRY_CODES[err.code] : undefined;
      if (byCode && (err.status === undefined || err.status < 500)) return byCode;
      return undefined; // no answer, a timeout, 429, 5xx
    }
    const cause = (err as { cause?: unknown }).cause;
    if (!(err instanceof ImageError)) {
      // below the core: a transfer that broke off, or bad bytes (zlib, tar)
      return isRetryableError(err) ? undefined : 'the image is broken or hostile';
    }
    if (cause === undefined) return 'the image is broken or hostile';
    err = cause;
  }
  return 'the image is broken or hostile';
}

/** The AddressNotAllowedError behind `e` (the core may wrap it), if any. */
function addressRefusal(e: unknown): AddressNotAllowedError | undefined {
  let err: unknown = e;
  for (let depth = 0; depth < 10 && err instanceof Error; depth++) {
    if (err instanceof AddressNotAllowedError) return err;
    err = err.cause;
  }
  return undefined;
}

/** `host[:port]` of a registry's base URL, and whether it is plain http. */
export function registryEndpoint(url: string): { host: string; insecure: boolean } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`the registry URL "${url}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new Error(`the registry URL "${url}" is neither http nor https`);
  }
  if (u.pathname !== '/' && u.pathname !== '') {
    throw new Error(`the registry URL "${url}" has a path; only a base URL is supported`);
  }
  return { host: u.host, insecure: u.protocol === 'http:' };
}

/** The handler workers of the scan queue run. */
export function scanJobHandler(
  ctx: ServiceContext,
  options: ScanJobOptions = {},
): Required<JobHandler<ScanJobPayload>> {
  const db = ctx.database.db;

  async function log(on: Db, scanId: number, level: LogLevel, message: string): Promise<void> {
    await on
      .insertInto('scan_logs')
      .values({ scan_id: scanId, at: ctx.now().toISOString(), level, message: loggable(message) })
      .execute();
  }

  async function attempt(scan: Scan, job: TakenJob<ScanJobPayload>, signal: AbortSignal) {
    const stopIfAborted = () => {
      if (signal.aborted) throw new Error(`aborted: ${messageOf(signal.reason)}`);
    };
    if (scan.digest === null) throw new Error('the scan names no manifest digest to pull');
    if (scan.registry_id === null) throw new Error('the scan names no registry to pull from');
    const registry: Registry | undefined = await db
      .selectFrom('registries')
      .selectAll()
      .where('id', '=', scan.registry_id)
      .executeTakeFirst();
    if (!registry) throw new Error(`registry #${scan.registry_id} no longer exists`);
    const { host, insecure } = registryEndpoint(registry.url);
    const reference = `${host}/${scan.repository}@${scan.digest}`;
    const label = `${scan.repository}${scan.tag !== null ? `:${scan.tag}` : ''}@${scan.digest}`;
    await log(
      db,
      scan.id,
      'info',
      `pulling ${label} from registry ${registry.name} (${registry.url}), attempt ${job.attempt} of ${job.maxAttempts}`,
    );

    // a maintainer's registry must not reach the service's own network (SSRF)
    const publicOnly =
      registry.project_id !== null && ctx.config.scan.allowPrivateNetworks !== true;
    const registryOptions: RegistryOptions = {
      insecure,
      ...(publicOnly ? { allowAddress: isPublicAddress } : {}),
      timeoutMs: ctx.config.scan.registryTimeoutMs,
      retries: ctx.config.scan.registryRetries,
      ...(registry.username !== null ? { username: registry.username } : {}),
      ...(registry.password !== null ? { password: registry.password } : {}),
      // the registry's credentials or none, never the service host's Docker config
      dockerConfigPath: false,
      ...(options.onRegistryEvent ? { onEvent: options.onRegistryEvent } : {}),
    };
    // the cache tells which layers were read from the registry
    const cache = new LayerUseTracker(new DatabaseLayerCache(db, () => ctx.now()));
    const pull = inventoryImage(reference, {
      registry: registryOptions,
      platform: parsePlatform(ctx.config.scan.platform),
      cache,
      signal, // an aborted job (lost lease, shutdown) closes its pull
    });
    const images = await abortable(pull, signal).catch((e: unknown) => {
      if (!publicOnly || !addressRefusal(e)) throw e;
      throw new ImageError(
        `${messageOf(e)}: a project registry may only be reached on a public network unless the ` +
          'instance setting scan.allowPrivateNetworks (REGSCAN_ALLOW_PRIVATE_NETWORKS) is on',
        { cause: e },
      );
    });
    stopIfAborted();
    const withTag: ImageInventory[] = images.map(({ image, inventory }) => ({
      image: { ...image, ...(scan.tag !== null ? { tag: scan.tag } : {}) },
      inventory,
    }));
    const packageCount = withTag.reduce((n, i) => n + i.inventory.packages.length, 0);
    const layerCount = withTag.reduce((n, i) => n + i.image.layers.length, 0);
    await log(
      db,
      scan.id,
      'info',
      `indexed ${packageCount} packages in ${layerCount} layers (${Math.max(0, layerCount - cache.layersRead())} from the layer cache)`,
    );
    // PostgreSQL text cannot hold a NUL: no database will take such a package, retrying is futile
    const nul = nulInPackages(withTag);
    if (nul !== undefined) {
      throw new ImageError(`${nul} contains a NUL character: the image is broken or hostile`);
    }
    const warnings = withTag.flatMap((i) => i.inventory.warnings.map((w) => w.message));

    const items: IngestItem[] = [];
    let findingCount = 0;
    for (const { inventory } of withTag) {
      const result = matchInventory(inventory, ctx.advisories);
      findingCount += result.findings.length;
      items.push(...itemsFromFindings(result.findings, inventory));
      warnings.push(...result.warnings);
    }
    for (const w of warnings.slice(0, MAX_WARNING_LINES)) await log(db, scan.id, 'warn', w);
    if (warnings.length > MAX_WARNING_LINES) {
      await log(db, scan.id, 'warn', `… and ${warnings.length - MAX_WARNING_LINES} more warnings`);
    }
    await log(db, scan.id, 'info', `matched: ${findingCount} findings`);

    const sbom = toCycloneDX(withTag, {
      toolVersion: VERSION,
      reportType: scan.report_type,
      timestamp: ctx.now(),
    });
    stopIfAborted();

    await db.transaction().execute(async (trx) => {
      await recordScanResult(ctx, trx, {
        scan,
        images: withTag,
        sbomDocument: sbom,
        items,
        packageCount,
        findingCount,
      });
    });
  }

  function observe(scan: Scan, status: 'success' | 'failed', startedAt: string | null): void {
    ctx.metrics.scans.inc({ status, trigger: scan.trigger });
    if (startedAt !== null) {
      const seconds = (ctx.now().getTime() - Date.parse(startedAt)) / 1000;
      if (Number.isFinite(seconds) && seconds >= 0)
        ctx.metrics.scanDuration.observe({ status }, seconds);
    }
  }

  return {
    async run(job, signal) {
      const scan = await db
        .selectFrom('scans')
        .selectAll()
        .where('id', '=', job.payload.scanId)
        .executeTakeFirst();
      if (!scan) {
        ctx.log.warn('scan job for a scan that no longer exists', { scan: job.payload.scanId });
        return;
      }
      if (scan.status === 'success' || scan.status === 'failed' || scan.status === 'skipped') {
        ctx.log.warn('scan job for a finished scan', { scan: scan.id, status: scan.status });
        return;
      }
      const startedAt = ctx.now().toISOString();
      await db
        .updateTable('scans')
        .set({ status: 'running', started_at: startedAt, attempts: job.attempt, error: null })
        .where('id', '=', scan.id)
        .execute();
      try {
        await attempt(scan, job, signal);
      } catch (e) {
        const reason = loggable(messageOf(e));
        const permanent = permanentFailure(e);
        const last = permanent !== undefined || job.attempt >= job.maxAttempts;
        const outlook =
          permanent !== undefined ? ` (not retried: ${permanent})` : last ? '' : ' (will retry)';
        try {
          await log(
            db,
            scan.id,
            'error',
            `attempt ${job.attempt} of ${job.maxAttempts} failed: ${reason}${outlook}`,
          );
          await db
            .updateTable('scans')
            .set(last ? { error: reason } : { status: 'pending', error: reason })
            .where('id', '=', scan.id)
            .execute();
        } catch (inner) {
          ctx.log.error('could not record a failed scan attempt', {
            scan: scan.id,
            error: messageOf(inner),
          });
        }
        if (permanent !== undefined) throw new PermanentJobError(reason, { cause: e });
        throw e instanceof Error ? e : new Error(reason);
      }
      observe(scan, 'success', startedAt);
      ctx.log.info('scan succeeded', { scan: scan.id });
    },

    async onFailed(job, error) {
      const scan = await db
        .selectFrom('scans')
        .selectAll()
        .where('id', '=', job.payload.scanId)
        .executeTakeFirst();
      if (!scan || scan.status === 'success' || scan.status === 'failed') return;
      await log(
        db,
        scan.id,
        'error',
        `scan failed after ${job.attempt} attempt${job.attempt === 1 ? '' : 's'}: ${error}`,
      );
      await db
        .updateTable('scans')
        .set({ status: 'failed', error, finished_at: ctx.now().toISOString() })
        .where('id', '=', scan.id)
        .execute();
      observe(scan, 'failed', scan.started_at);
    },
  };
}

/** A layer cache that remembers which layers missed, i.e. were read from the registry. */
class LayerUseTracker implements LayerCache {
  private readonly missed = new Set<string>();
  constructor(private readonly inner: LayerCache) {}
  async get(layerDigest: string, key: string): Promise<unknown> {
    const value = await this.inner.get(layerDigest, key);
    if (value === undefined) this.missed.add(layerDigest);
    return value;
  }
  set(layerDigest: string, key: string, value: unknown): Promise<void> {
    return this.inner.set(layerDigest, key, value);
  }
  layersRead(): number {
    return this.missed.size;
  }
}

/** `promise`, or a rejection as soon as `signal` aborts (the promise is left to settle alone). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(new Error(`aborted: ${messageOf(signal.reason)}`));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      reject(new Error(`aborted: ${messageOf(signal.reason)}`));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
