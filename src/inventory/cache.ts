import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Per-layer analysis results, keyed by (layer blob digest, analyzer id@version). The blob digest is
 * verified before anything is stored under it, so one project's image can never poison another's
 * results in a shared cache.
 */
export interface LayerCache {
  get(layerDigest: string, key: string): Promise<unknown>;
  set(layerDigest: string, key: string, value: unknown): Promise<void>;
}

/** No caching: every layer is read every time. */
export const noCache: LayerCache = {
  get: () => Promise.resolve(undefined),
  set: () => Promise.resolve(),
};

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'regscan');
}

const SAFE = /^[a-z0-9]+:[a-f0-9]+$/;

/** One JSON file per (layer, key) under `dir/layers/<alg>/<hex>/`. Writes are atomic. */
export class FileLayerCache implements LayerCache {
  constructor(private readonly dir: string = join(defaultCacheDir(), 'layers')) {}

  private file(layerDigest: string, key: string): string | undefined {
    if (!SAFE.test(layerDigest) || !/^[\w.@-]+$/.test(key)) return undefined;
    const [alg, hex] = layerDigest.split(':') as [string, string];
    return join(this.dir, alg, hex, `${key}.json`);
  }

  async get(layerDigest: string, key: string): Promise<unknown> {
    const file = this.file(layerDigest, key);
    if (!file) return undefined;
    try {
      return JSON.parse(await readFile(file, 'utf8')) as unknown;
    } catch {
      return undefined; // missing or unreadable: recompute
    }
  }

  async set(layerDigest: string, key: string, value: unknown): Promise<void> {
    const file = this.file(layerDigest, key);
    if (!file) return;
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, JSON.stringify(value));
    await rename(tmp, file);
  }
}

/** In memory, for tests and for one process's repeated scans. */
export class MemoryLayerCache implements LayerCache {
  readonly entries = new Map<string, unknown>();
  get(layerDigest: string, key: string): Promise<unknown> {
    return Promise.resolve(this.entries.get(`${layerDigest}/${key}`));
  }
  set(layerDigest: string, key: string, value: unknown): Promise<void> {
    this.entries.set(`${layerDigest}/${key}`, structuredClone(value));
    return Promise.resolve();
  }
}
