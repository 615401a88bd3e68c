import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Unzip, UnzipInflate, type UnzipFile } from 'fflate';
import { MAX_RECORD_BYTES } from './directory.js';
import { AdvisoryFetchError, AdvisoryHttp } from './http.js';
import {
  itemFromJson,
  type AdvisorySource,
  type OpenOptions,
  type SourceItem,
  type SourcePlan,
} from './source.js';

export type ZipEntry =
  { name: string; data: Uint8Array } | { name: string; error: string; data?: undefined };

export interface ZipEntryOptions {
  /** Which entries to inflate (by name); the others are skipped without being decompressed. */
  want?: (name: string) => boolean;
  /** An entry that inflates to more than this is reported as an error, not kept in memory. */
  maxEntryBytes?: number;
}

/**
 * The entries of a zip archive read as a stream, one at a time: only the current compressed chunk
 * and the entry being inflated are in memory, so a zip of hundreds of MiB is never held whole.
 * Entries are found by their local headers (what the OSV exports and fflate's zipSync write);
 * stored and deflated entries are supported.
 */
export async function* zipEntries(
  chunks: AsyncIterable<Uint8Array>,
  options: ZipEntryOptions = {},
): AsyncGenerator<ZipEntry> {
  const max = options.maxEntryBytes ?? MAX_RECORD_BYTES;
  const want = options.want ?? (() => true);
  const ready: ZipEntry[] = [];
  let failure: Error | undefined;
  let entries = 0;
  const tail = new Tail(EOCD_SEARCH);

  const unzip = new Unzip((file: UnzipFile) => {
    entries++;
    if (file.name.endsWith('/') || !want(file.name)) return;
    const parts: Uint8Array[] = [];
    let size = 0;
    let over = false;
    file.ondata = (err, chunk, final) => {
      if (err) {
        ready.push({ name: file.name, error: `cannot inflate: ${err.message}` });
        return;
      }
      if (!over) {
        size += chunk.length;
        if (size > max) {
          over = true;
          parts.length = 0;
        } else if (chunk.length > 0) parts.push(chunk);
      }
      if (!final) return;
      if (over) {
        ready.push({ name: file.name, error: `entry inflates to more than ${max} bytes` });
      } else {
        ready.push({ name: file.name, data: concat(parts, size) });
      }
    };
    try {
      file.start();
    } catch (err) {
      ready.push({ name: file.name, error: (err as Error).message });
    }
  });
  unzip.register(UnzipInflate);

  const push = (chunk: Uint8Array, final: boolean) => {
    try {
      unzip.push(chunk, final);
    } catch (err) {
      failure = new Error(`not a readable zip archive: ${(err as Error).message}`);
    }
  };
  for await (const chunk of chunks) {
    tail.push(chunk);
    push(chunk, false);
    yield* ready.splice(0);
    if (failure) throw failure;
  }
  push(new Uint8Array(0), true);
  yield* ready.splice(0);
  if (failure) throw failure;
  // A zip ends with its central directory. Without it, or with fewer entries read than it lists,
  // the archive is not one or was cut short: its records must not count as the whole source.
  const listed = centralDirectoryEntries(tail.bytes());
  if (listed === undefined) {
    throw new Error('not a zip archive, or cut short: no end of central directory');
  }
  if (listed !== entries) {
    throw new Error(`zip archive lists ${listed} entries but ${entries} were read`);
  }
}

/** The end of central directory record and its comment (at most 64 KiB) sit in this many bytes. */
const EOCD_SEARCH = 22 + 0xffff + 20 + 56;

/** The last `size` bytes of a stream. */
class Tail {
  private buffer = new Uint8Array(0);
  constructor(private readonly size: number) {}
  push(chunk: Uint8Array): void {
    if (chunk.length >= this.size) {
      this.buffer = chunk.slice(chunk.length - this.size);
      return;
    }
    const keep = Math.min(this.buffer.length, this.size - chunk.length);
    const next = new Uint8Array(keep + chunk.length);
    next.set(this.buffer.subarray(this.buffer.length - keep));
    next.set(chunk, keep);
    this.buffer = next;
  }
  bytes(): Uint8Array {
    return this.buffer;
  }
}

/**
 * The number of entries the central directory lists, read from the end of central directory record
 * (and its zip64 form when the count does not fit 16 bits). Undefined: no such record.
 */
export function centralDirectoryEntries(tail: Uint8Array): number | undefined {
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  for (let at = tail.length - 22; at >= 0; at--) {
    if (view.getUint32(at, true) !== 0x06054b50) continue;
    // The comment must run exactly to the end, or this is a signature inside other bytes.
    if (at + 22 + view.getUint16(at + 20, true) !== tail.length) continue;
    const count = view.getUint16(at + 10, true);
    if (count !== 0xffff) return count;
    const locator = at - 20;
    if (locator < 0 || view.getUint32(locator, true) !== 0x07064b50) return count;
    // The zip64 record is usually right before its locator.
    const record = locator - 56;
    if (record < 0 || view.getUint32(record, true) !== 0x06064b50) return undefined;
    return Number(view.getBigUint64(record + 32, true));
  }
  return undefined;
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The OSV records in a zip stream: every `*.json` entry, in archive order. */
export async function* osvItemsFromZip(
  chunks: AsyncIterable<Uint8Array>,
  origin: string,
): AsyncGenerator<SourceItem> {
  for await (const entry of zipEntries(chunks, { want: (name) => name.endsWith('.json') })) {
    const at = `${origin}:${entry.name}`;
    if (entry.data) yield itemFromJson(entry.data, at);
    else yield { type: 'invalid', origin: at, errors: [entry.error] };
  }
}

/** Counts the bytes of a stream as they pass. */
export async function* countBytes(
  chunks: AsyncIterable<Uint8Array>,
  onBytes: (done: number) => void,
): AsyncGenerator<Uint8Array> {
  let done = 0;
  for await (const chunk of chunks) {
    done += chunk.length;
    yield chunk;
    onBytes(done);
  }
}

/**
 * An OSV zip archive, a local file or a URL (an `all.zip` from the OSV bucket, or any zip of record
 * files), streamed. Each read is its whole content.
 */
export class OsvZipSource implements AdvisorySource {
  readonly kind = 'osv-zip' as const;
  readonly version = 1;
  readonly name: string;

  constructor(
    location: string,
    private readonly options: { http?: AdvisoryHttp } = {},
  ) {
    this.name = /^https?:\/\//i.test(location) ? new URL(location).href : resolve(location);
  }

  async open(_state: unknown, options: OpenOptions = {}): Promise<SourcePlan> {
    const progress = (total: number | undefined) => (done: number) =>
      options.onProgress?.(done, total, 'bytes');
    if (!/^https?:/.test(this.name)) {
      const { size } = await stat(this.name);
      const stream = createReadStream(this.name, {
        highWaterMark: 1024 * 1024,
        signal: options.signal,
      }) as AsyncIterable<Uint8Array>;
      return {
        mode: 'full',
        description: `zip of ${(size / 1024 / 1024).toFixed(1)} MiB`,
        items: osvItemsFromZip(countBytes(stream, progress(size)), this.name),
      };
    }
    const http = this.options.http ?? new AdvisoryHttp();
    const close = this.options.http ? async () => {} : () => http.close();
    try {
      const url = new URL(this.name);
      const res = await http.get(url);
      if (res.status !== 200) {
        res.body.resume();
        throw new AdvisoryFetchError(`GET ${url.href}: HTTP ${res.status}`, res.status);
      }
      const length = Number(res.headers['content-length']);
      const total = Number.isSafeInteger(length) && length > 0 ? length : undefined;
      const body = countBytes(res.body as AsyncIterable<Uint8Array>, progress(total));
      return {
        mode: 'full',
        description: total ? `zip of ${(total / 1024 / 1024).toFixed(1)} MiB` : 'zip',
        items: closing(osvItemsFromZip(body, url.href), close),
      };
    } catch (err) {
      await close();
      throw err;
    }
  }
}

/** Runs `close` once `items` are read to the end, fail, or are abandoned. */
export async function* closing<T>(
  items: AsyncIterable<T>,
  close: () => Promise<void>,
): AsyncGenerator<T> {
  try {
    yield* items;
  } finally {
    await close();
  }
}
