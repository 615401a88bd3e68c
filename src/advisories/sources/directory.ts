import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { setImmediate } from 'node:timers/promises';
import { join, relative, resolve } from 'node:path';
import {
  itemFromJson,
  type AdvisorySource,
  type OpenOptions,
  type SourceItem,
  type SourcePlan,
} from './source.js';

/** A record file larger than this is reported, not read (real OSV records stay under a few MiB). */
export const MAX_RECORD_BYTES = 32 * 1024 * 1024;

/**
 * A directory of OSV records, one `*.json` file each, searched recursively (the layout of
 * osv.dev's exports, of the advisory-database repositories and of an unpacked all.zip). Hidden
 * entries and symbolic links are not followed. A single `.json` file works too. Every read is the
 * directory's whole content, so a file that disappeared is a record removed from the source.
 */
export class OsvDirectorySource implements AdvisorySource {
  readonly kind = 'osv-directory' as const;
  readonly version = 1;
  readonly name: string;

  constructor(path: string) {
    this.name = resolve(path);
  }

  async open(_state: unknown, options: OpenOptions = {}): Promise<SourcePlan> {
    const root = this.name;
    const info = await stat(root);
    const files = info.isDirectory() ? await listJsonFiles(root) : [root];
    const total = files.length;
    // Record files are small and many: synchronous reads are several times faster than the
    // thread pool's, and each takes microseconds; the event loop gets a turn every few hundred.
    const items = async function* (): AsyncGenerator<SourceItem> {
      let done = 0;
      for (const file of files) {
        options.signal?.throwIfAborted();
        yield readRecord(file, info.isDirectory() ? relative(root, file) : file);
        options.onProgress?.(++done, total, 'records');
        if (done % 256 === 0) await setImmediate();
      }
    };
    return { mode: 'full', description: `${total} files`, items: items() };
  }
}

/** Every `*.json` file under `root`, sorted, skipping hidden entries and symbolic links. */
export async function listJsonFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const path = join(dir, e.name);
      if (e.isDirectory()) await walk(path);
      else if (e.isFile() && e.name.endsWith('.json')) out.push(path);
    }
  };
  await walk(root);
  return out;
}

function readRecord(file: string, origin: string): SourceItem {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    // Deleted between listing and reading, or unreadable: report it, go on with the others.
    return { type: 'invalid', origin, errors: [`cannot read: ${(err as Error).message}`] };
  }
  try {
    const { size } = fstatSync(fd);
    if (size > MAX_RECORD_BYTES) {
      return {
        type: 'invalid',
        origin,
        errors: [`file of ${size} bytes is larger than ${MAX_RECORD_BYTES}`],
      };
    }
    return itemFromJson(readFileSync(fd), origin);
  } finally {
    closeSync(fd);
  }
}
