import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { alpineSecdbToOsv } from '../alpine-secdb.js';
import { DEFAULT_MODIFIED, debianTrackerToOsv, type NativeConversion } from '../debian-tracker.js';
import { listJsonFiles } from './directory.js';
import { AdvisoryFetchError, AdvisoryHttp } from './http.js';
import {
  fingerprint,
  itemFromValue,
  type AdvisorySource,
  type OpenOptions,
  type SourceItem,
  type SourcePlan,
} from './source.js';

export type NativeFormat = 'debian-tracker' | 'alpine-secdb';
export type FeedFormat = NativeFormat | 'osv';

/** The Debian tracker's JSON is ~100 MiB today; a feed is refused well above that. */
export const MAX_FEED_BYTES = 1024 * 1024 * 1024;

/**
 * What a decoded JSON document is: an OSV record (or an array of them), the Debian security
 * tracker's JSON (`{ <package>: { <CVE>: { releases: ... } } }`), or an Alpine secdb document
 * (`{ distroversion, reponame, packages: [...] }`, or an array of them). Undefined: none of these.
 */
export function sniffFormat(json: unknown): FeedFormat | undefined {
  const first: unknown = Array.isArray(json) ? (json as unknown[])[0] : json;
  if (!isObject(first)) return undefined;
  if (typeof first.id === 'string' && typeof first.modified === 'string') return 'osv';
  if (Array.isArray(first.packages) && ('distroversion' in first || 'reponame' in first)) {
    return 'alpine-secdb';
  }
  if (Array.isArray(json)) return undefined;
  const pkg = Object.values(first).find(isObject);
  if (pkg && Object.keys(pkg).some((k) => /^(CVE|TEMP)-\d{4}-/.test(k))) return 'debian-tracker';
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One decoded feed document and where it was read. */
export interface FeedDocument {
  origin: string;
  json: unknown;
}

export interface FeedOptions {
  /** HTTP client for URL locations (shared between the sources of one update). */
  http?: AdvisoryHttp;
  /** Codename → release number for Debian releases newer than the converter knows. */
  debianReleases?: Record<string, string>;
  /** Documents already read (to sniff their format), by location: used by the first open only. */
  documents?: Map<string, FeedDocument[]>;
}

/**
 * A distro's own advisory feed, converted to OSV on every read: the Debian security tracker's
 * JSON, or Alpine secdb documents. One source may span several documents (files, URLs, or the
 * `*.json` under a directory): Alpine's converter merges the releases of one vulnerability into
 * one record, so every secdb document of an update must be converted together.
 *
 * Feeds carry no modification times. A record's fingerprint leaves `modified` out, so a feed read
 * again changes only the records whose content changed, and those get the time of the read as
 * `modified`: when regscan saw the change.
 */
export class NativeFeedSource implements AdvisorySource {
  readonly version = 1;
  readonly name: string;
  private readonly locations: string[];
  private preloaded: Map<string, FeedDocument[]>;

  constructor(
    readonly kind: NativeFormat,
    locations: string[],
    private readonly options: FeedOptions = {},
  ) {
    if (locations.length === 0) throw new Error('a feed source needs a file or URL');
    // Sorted: the same places given in another order are the same source.
    this.locations = [...new Set(locations.map((l) => (isUrl(l) ? l : resolve(l))))].sort();
    this.name = this.locations.join(' + ');
    this.preloaded = new Map(
      [...(options.documents ?? [])].map(([l, docs]) => [isUrl(l) ? l : resolve(l), docs]),
    );
  }

  async open(_state: unknown, options: OpenOptions = {}): Promise<SourcePlan> {
    const http = this.options.http ?? new AdvisoryHttp();
    const documents: FeedDocument[] = [];
    const preloaded = this.preloaded;
    this.preloaded = new Map();
    try {
      for (const location of this.locations) {
        options.signal?.throwIfAborted();
        const docs = preloaded.get(location) ?? (await loadDocuments(location, http));
        documents.push(...docs);
      }
    } finally {
      if (!this.options.http) await http.close();
    }
    // Records whose content changed get the time of this read as `modified` (the store keeps the
    // earlier time for the others: their fingerprint leaves `modified` out).
    const modified = new Date().toISOString();
    const conversion = this.convert(
      documents.map((d) => d.json),
      modified,
    );
    const origin = this.name;
    const total = conversion.advisories.length;
    const items = async function* (): AsyncGenerator<SourceItem> {
      for (const message of conversion.warnings) yield { type: 'warning', origin, message };
      let done = 0;
      for (const advisory of conversion.advisories) {
        const item = itemFromValue(advisory, `${origin}#${advisory.id}`);
        if (item.type === 'advisory') {
          item.fingerprint = fingerprint({ ...item.advisory, modified: DEFAULT_MODIFIED });
        }
        yield item;
        options.onProgress?.(++done, total, 'records');
        if (done % 256 === 0) await setImmediate();
      }
    };
    return {
      mode: 'full',
      description: `${this.kind}: ${documents.length} document(s), ${total} records`,
      items: items(),
    };
  }

  private convert(documents: unknown[], modified: string): NativeConversion {
    if (this.kind === 'alpine-secdb') {
      // Each document may itself be an array of secdb documents.
      const flat = documents.flatMap((d) => (Array.isArray(d) ? (d as unknown[]) : [d]));
      return alpineSecdbToOsv(flat, { modified });
    }
    const merged: NativeConversion = { advisories: [], warnings: [] };
    for (const doc of documents) {
      const part = debianTrackerToOsv(doc, {
        modified,
        ...(this.options.debianReleases ? { releases: this.options.debianReleases } : {}),
      });
      merged.advisories.push(...part.advisories);
      merged.warnings.push(...part.warnings);
    }
    return merged;
  }
}

export function isUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/** One JSON document per file or URL; a directory gives every `*.json` under it. */
export async function loadDocuments(location: string, http: AdvisoryHttp): Promise<FeedDocument[]> {
  if (isUrl(location)) {
    const url = new URL(location);
    const res = await http.get(url);
    if (res.status !== 200) {
      res.body.resume();
      throw new AdvisoryFetchError(`GET ${url.href}: HTTP ${res.status}`, res.status);
    }
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_FEED_BYTES) {
        res.body.destroy();
        throw new AdvisoryFetchError(`GET ${url.href}: larger than ${MAX_FEED_BYTES} bytes`);
      }
      parts.push(chunk);
    }
    return [{ origin: url.href, json: parseJson(Buffer.concat(parts), url.href) }];
  }
  const info = await stat(location);
  const files = info.isDirectory() ? await listJsonFiles(location) : [location];
  const out: FeedDocument[] = [];
  for (const file of files) {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      if (size > MAX_FEED_BYTES) throw new Error(`${file}: larger than ${MAX_FEED_BYTES} bytes`);
      out.push({ origin: file, json: parseJson(await handle.readFile(), file) });
    } finally {
      await handle.close();
    }
  }
  return out;
}

function parseJson(data: Buffer, origin: string): unknown {
  try {
    return JSON.parse(data.toString('utf8')) as unknown;
  } catch (err) {
    throw new Error(`${origin}: not JSON (${(err as Error).message})`, { cause: err });
  }
}
