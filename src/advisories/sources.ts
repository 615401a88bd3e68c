/**
 * Advisory sources: where OSV records come from, and how a place someone names (a directory, a
 * file, a URL) becomes the right source. The kinds, each in sources/:
 *
 * - `osv-directory`  a directory of OSV JSON files, searched recursively (or one file);
 * - `osv-zip`        an OSV zip archive (a bucket's `all.zip`), a file or a URL, streamed;
 * - `osv-bucket`     one ecosystem of the OSV bucket over HTTP, incremental after the first load;
 * - `debian-tracker` the Debian security tracker's JSON, converted (debian-tracker.ts);
 * - `alpine-secdb`   Alpine secdb documents, converted (alpine-secdb.ts).
 */
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { OSV_BUCKET_URL, OsvBucketSource } from './sources/bucket.js';
import { listJsonFiles, OsvDirectorySource } from './sources/directory.js';
import { AdvisoryHttp } from './sources/http.js';
import {
  isUrl,
  loadDocuments,
  NativeFeedSource,
  sniffFormat,
  type FeedDocument,
  type FeedFormat,
  type NativeFormat,
} from './sources/native.js';
import type { AdvisorySource } from './sources/source.js';
import { OsvZipSource } from './sources/zip.js';

export { OSV_BUCKET_URL, OsvBucketSource, parseModifiedIds } from './sources/bucket.js';
export type { ModifiedId, OsvBucketOptions } from './sources/bucket.js';
export { OsvDirectorySource, listJsonFiles } from './sources/directory.js';
export { AdvisoryFetchError, AdvisoryHttp, isLoopback } from './sources/http.js';
export type { HttpOptions } from './sources/http.js';
export { NativeFeedSource, sniffFormat } from './sources/native.js';
export type { FeedFormat, FeedOptions, NativeFormat } from './sources/native.js';
export { SOURCE_KINDS, fingerprint, itemFromJson, itemFromValue } from './sources/source.js';
export type {
  AdvisorySource,
  OpenOptions,
  ProgressUnit,
  SourceItem,
  SourceKind,
  SourcePlan,
  SourceState,
} from './sources/source.js';
export { OsvZipSource, osvItemsFromZip, zipEntries } from './sources/zip.js';
export type { ZipEntry } from './sources/zip.js';

import { DEFAULT_ECOSYSTEMS } from './defaults.js';

export { DEFAULT_ECOSYSTEMS };

export interface SourceSpecOptions {
  /** Bucket ecosystems to update, for a bucket base URL. Default DEFAULT_ECOSYSTEMS. */
  ecosystems?: readonly string[];
  /** What the locations hold; sniffed from the content when not given. */
  format?: FeedFormat;
  /** Shared by every HTTP source made here; the caller closes it. */
  http?: AdvisoryHttp;
  /** Bucket sources load all.zip even when an incremental update is possible. */
  full?: boolean;
  /** Debian codename → release number, for releases newer than the converter knows. */
  debianReleases?: Record<string, string>;
}

/**
 * The sources for the places named (`--source`): a bucket base URL gives one source per
 * ecosystem; a `.zip` file or URL an OSV zip; a directory or `.json` file OSV records or a native
 * feed, by `format` or by what its (first) document looks like. Every native feed location of
 * one format becomes one source, because Alpine's converter must see every release at once.
 */
export async function sourcesFor(
  locations: readonly string[],
  options: SourceSpecOptions = {},
): Promise<AdvisorySource[]> {
  // Sources made here share the caller's client, or make their own when they are opened; a client
  // made here only sniffs formats.
  const sniffer = options.http ?? new AdvisoryHttp();
  const http = options.http;
  try {
    const sources: AdvisorySource[] = [];
    const feeds = new Map<NativeFormat, string[]>();
    const documents = new Map<string, FeedDocument[]>();
    for (const location of locations.length > 0 ? locations : [OSV_BUCKET_URL]) {
      const kind = await classify(location, options.format, sniffer, documents);
      if (kind === 'bucket') {
        for (const ecosystem of options.ecosystems ?? DEFAULT_ECOSYSTEMS) {
          sources.push(
            new OsvBucketSource({
              baseUrl: location,
              ecosystem,
              ...(http ? { http } : {}),
              ...(options.full ? { full: true } : {}),
            }),
          );
        }
      } else if (kind === 'zip') sources.push(new OsvZipSource(location, http ? { http } : {}));
      else if (kind === 'osv') sources.push(new OsvDirectorySource(location));
      else feeds.set(kind, [...(feeds.get(kind) ?? []), location]);
    }
    for (const [format, group] of feeds) {
      sources.push(
        new NativeFeedSource(format, group, {
          ...(http ? { http } : {}),
          documents,
          ...(options.debianReleases ? { debianReleases: options.debianReleases } : {}),
        }),
      );
    }
    return sources;
  } finally {
    if (!options.http) await sniffer.close();
  }
}

type Classified = 'bucket' | 'zip' | 'osv' | NativeFormat;

async function classify(
  location: string,
  format: FeedFormat | undefined,
  http: AdvisoryHttp,
  documents: Map<string, FeedDocument[]>,
): Promise<Classified> {
  if (isUrl(location)) {
    const path = new URL(location).pathname;
    if (format && format !== 'osv') return format;
    if (path.endsWith('.zip')) return 'zip';
    if (!path.endsWith('.json')) return 'bucket';
    const docs = await loadDocuments(location, http);
    documents.set(location, docs);
    const kind = sniffed(location, docs[0]?.json, format);
    if (kind === 'osv') {
      throw new Error(`${location}: one OSV record is not a source; give the bucket or a zip URL`);
    }
    return kind;
  }
  const info = await stat(location);
  if (info.isFile() && extname(location).toLowerCase() === '.zip') return 'zip';
  if (format) return format;
  // Sniff one document: the first `*.json` of a directory, or the file itself.
  const first = info.isDirectory() ? (await listJsonFiles(location))[0] : location;
  if (first === undefined) return 'osv'; // an empty directory: nothing to convert
  const docs = await loadDocuments(first, http);
  if (info.isFile()) documents.set(location, docs);
  return sniffed(location, docs[0]?.json, undefined);
}

function sniffed(location: string, json: unknown, format: FeedFormat | undefined): Classified {
  const found = format ?? sniffFormat(json);
  if (found === undefined) {
    throw new Error(
      `${location}: neither OSV records, the Debian tracker's JSON nor Alpine secdb; give --format`,
    );
  }
  return found;
}
