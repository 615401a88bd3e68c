import { ADVISORY_ID_PATTERN, canonicalTimestamp } from '../schema.js';
import { MAX_RECORD_BYTES } from './directory.js';
import { AdvisoryFetchError, AdvisoryHttp } from './http.js';
import {
  itemFromJson,
  mapConcurrent,
  type AdvisorySource,
  type OpenOptions,
  type SourceItem,
  type SourcePlan,
  type SourceState,
} from './source.js';
import { closing, countBytes, osvItemsFromZip } from './zip.js';

import { OSV_BUCKET_URL } from '../defaults.js';

export { OSV_BUCKET_URL };

/** The listing of a big ecosystem is a few MiB; this is far above any. */
const MAX_LISTING_BYTES = 256 * 1024 * 1024;
const ID = new RegExp(ADVISORY_ID_PATTERN);

export interface OsvBucketOptions {
  /** The ecosystem directory of the bucket: `Debian`, `Alpine`, `npm`, `PyPI`, ... */
  ecosystem: string;
  /** Default OSV_BUCKET_URL. A mirror with the same layout works (http only on loopback). */
  baseUrl?: string;
  /** The HTTP client to use (shared between the ecosystems of one update). */
  http?: AdvisoryHttp;
  /** Always load `all.zip`, even when the store has synced this ecosystem before. */
  full?: boolean;
  /** More changed records than this and `all.zip` is loaded instead (one download beats many). */
  incrementalLimit?: number;
  /** Record files fetched at once in an incremental update. */
  concurrency?: number;
}

/**
 * One ecosystem of the OSV bucket: `<base>/<ecosystem>/all.zip` (every record), `modified_id.csv`
 * (one `<modified>,<id>` line per record, newest first) and `<id>.json` (one record).
 *
 * The first update loads all.zip. Later ones read modified_id.csv and fetch only the records whose
 * `modified` is newer than the version the store has; the listing also names every record the
 * ecosystem still holds, so records deleted from the bucket are noticed without a full load.
 */
export class OsvBucketSource implements AdvisorySource {
  readonly kind = 'osv-bucket' as const;
  readonly version = 1;
  readonly name: string;
  private readonly base: string;

  constructor(private readonly options: OsvBucketOptions) {
    const base = (options.baseUrl ?? OSV_BUCKET_URL).replace(/\/+$/, '');
    const parsed = new URL(base); // throws early on a malformed base
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`${base}: the OSV bucket is reached over http(s)`);
    }
    if (!options.ecosystem || /[/\\]|^\.\.?$/.test(options.ecosystem)) {
      throw new Error(`"${options.ecosystem}" is not an ecosystem name`);
    }
    this.base = `${base}/${encodeURIComponent(options.ecosystem)}`;
    this.name = `${base}/${options.ecosystem}`;
  }

  async open(state: SourceState, options: OpenOptions = {}): Promise<SourcePlan> {
    // A client made here is closed once the items are read (or abandoned), or when opening fails.
    const http = this.options.http ?? new AdvisoryHttp();
    const close = this.options.http ? async () => {} : () => http.close();
    try {
      const plan = await this.plan(http, state, options);
      return { ...plan, items: closing(plan.items, close) };
    } catch (err) {
      await close();
      throw err;
    }
  }

  private async plan(
    http: AdvisoryHttp,
    state: SourceState,
    options: OpenOptions,
  ): Promise<SourcePlan> {
    if (this.options.full || state.lastSync === undefined) {
      return this.fullPlan(http, options, 'all.zip');
    }
    const listingUrl = new URL(`${this.base}/modified_id.csv`);
    const text = new TextDecoder().decode(await http.bytes(listingUrl, MAX_LISTING_BYTES));
    const { entries, rejected } = parseModifiedIds(text);
    const listing = new Set<string>();
    const changed: string[] = [];
    for (const { id, modified } of entries) {
      listing.add(id);
      const stored = state.storedModified(id);
      if (stored === undefined || stored < modified) changed.push(id);
    }
    const limit = this.options.incrementalLimit ?? 5000;
    if (changed.length > limit) {
      return this.fullPlan(
        http,
        options,
        `all.zip (${changed.length} records changed, over ${limit})`,
      );
    }
    const total = changed.length;
    const fetchOne = (id: string) => this.fetchRecord(http, id, listing);
    const concurrency = this.options.concurrency ?? 8;
    const items = async function* (): AsyncGenerator<SourceItem> {
      for (const line of rejected) {
        yield { type: 'warning', origin: listingUrl.href, message: line };
      }
      let done = 0;
      for await (const item of mapConcurrent(changed, concurrency, fetchOne)) {
        options.signal?.throwIfAborted();
        yield item;
        options.onProgress?.(++done, total, 'records');
      }
    };
    return {
      mode: 'incremental',
      listing,
      description: `modified_id.csv: ${total} of ${listing.size} records changed`,
      items: items(),
    };
  }

  private async fetchRecord(
    http: AdvisoryHttp,
    id: string,
    listing: Set<string>,
  ): Promise<SourceItem> {
    const url = new URL(`${this.base}/${encodeURIComponent(id)}.json`);
    try {
      return itemFromJson(await http.bytes(url, MAX_RECORD_BYTES), url.href);
    } catch (err) {
      if (err instanceof AdvisoryFetchError && err.status === 404) {
        // Listed, then deleted before we got to it: gone from the ecosystem.
        listing.delete(id);
        return { type: 'warning', origin: url.href, message: 'listed but no longer there' };
      }
      throw err;
    }
  }

  private async fullPlan(
    http: AdvisoryHttp,
    options: OpenOptions,
    description: string,
  ): Promise<SourcePlan> {
    const url = new URL(`${this.base}/all.zip`);
    const res = await http.get(url);
    if (res.status !== 200) {
      res.body.resume();
      throw new AdvisoryFetchError(`GET ${url.href}: HTTP ${res.status}`, res.status);
    }
    const length = Number(res.headers['content-length']);
    const total = Number.isSafeInteger(length) && length > 0 ? length : undefined;
    const body = countBytes(res.body as AsyncIterable<Uint8Array>, (done) =>
      options.onProgress?.(done, total, 'bytes'),
    );
    return { mode: 'full', description, items: osvItemsFromZip(body, url.href) };
  }
}

export interface ModifiedId {
  id: string;
  /** Canonical form (see canonicalTimestamp): compares as a string. */
  modified: string;
}

/**
 * The lines of a `modified_id.csv`: `<RFC 3339 modified>,<id>`. A path in the id column
 * (`PyPI/PYSEC-...`, the form of the bucket's top-level listing) is reduced to its last segment.
 * A header line is skipped; other lines that do not parse are returned as `rejected`.
 */
export function parseModifiedIds(text: string): { entries: ModifiedId[]; rejected: string[] } {
  const entries: ModifiedId[] = [];
  const rejected: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const comma = line.indexOf(',');
    const modified = comma > 0 ? canonicalTimestamp(line.slice(0, comma).trim()) : undefined;
    const path = line
      .slice(comma + 1)
      .trim()
      .split('/');
    const id =
      path.length === 2 && /^[^.]/.test(path[0]!) ? path[1]! : path.length === 1 ? path[0]! : '';
    if (modified === undefined || !ID.test(id) || id.length > 255) {
      if (!(i === 0 && /^[a-z_ ]+,[a-z_ ]+$/i.test(line))) {
        rejected.push(`line ${i + 1}: not "<modified>,<id>": ${JSON.stringify(line.slice(0, 80))}`);
      }
      return;
    }
    entries.push({ id, modified });
  });
  return { entries, rejected };
}
