import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { extract } from 'tar-stream';
import { ImageError } from './types.js';

/**
 * Walking one layer: the layer streams once through decompression and a tar parser; only the
 * bytes of wanted files are kept, everything else is skipped as it passes. Nothing is written to
 * disk and the layer is never held whole in memory.
 */

export interface LayerLimits {
  /** Most bytes a layer may decompress to: bounds decompression bombs. */
  maxLayerBytes: number;
  /** Most bytes of one wanted file; larger ones are skipped with a warning. */
  maxFileBytes: number;
}

export const DEFAULT_LIMITS: LayerLimits = {
  maxLayerBytes: 16 * 1024 ** 3,
  maxFileBytes: 256 * 1024 ** 2,
};

/** What one layer contributes to the image's filesystem, restricted to wanted paths. */
export interface LayerEntries {
  /** Wanted regular files (and hard links to them) with their bytes. */
  files: Map<string, Buffer>;
  /**
   * Wanted paths that are links: symlink targets as written, hard links as `/target`
   * (an absolute path inside the image). Resolved after merging, inside the image root.
   */
  links: Map<string, string>;
  /** Paths this layer deletes from lower layers (`.wh.<name>`). */
  whiteouts: string[];
  /** Directories whose lower-layer content this layer hides (`.wh..wh..opq`). */
  opaqueDirs: string[];
  /** Wanted files not read because they are larger than `maxFileBytes`. */
  skipped: { path: string; size: number; mode: number }[];
  warnings: string[];
}

/** What the walker knows of a regular file before reading it. */
export interface EntryInfo {
  size: number;
  mode: number;
}

/**
 * Receives each wanted regular file as soon as its bytes are read; the walker waits for it before
 * reading on, and keeps nothing. Without one, files are collected in `LayerEntries.files`.
 */
export type FileHandler = (path: string, content: Buffer, info: EntryInfo) => void | Promise<void>;

const GZIP = [0x1f, 0x8b];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];
const XZ = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const BZIP2 = [0x42, 0x5a, 0x68];

function startsWith(buf: Buffer, magic: number[]): boolean {
  return buf.length >= magic.length && magic.every((b, i) => buf[i] === b);
}

/**
 * Normalise a tar entry name to an image path: no leading `/` or `./`, no empty or `.` parts.
 * A `..` part is refused: a layer that tries to climb out of the root is hostile or broken.
 */
export function normalizeEntryPath(name: string): string {
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..')
      throw new ImageError(`layer entry "${name}" escapes the image root (path traversal)`);
    parts.push(part);
  }
  return parts.join('/');
}

/** Reads the first bytes of a stream without consuming them. */
async function peek(stream: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < n) {
    const chunk = stream.read() as Buffer | null;
    if (chunk !== null) {
      chunks.push(chunk);
      length += chunk.length;
      continue;
    }
    if (stream.readableEnded || stream.destroyed) break;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        stream.off('readable', done);
        stream.off('end', done);
        stream.off('error', fail);
        resolve();
      };
      const fail = (err: Error) => {
        stream.off('readable', done);
        stream.off('end', done);
        reject(err);
      };
      stream.once('readable', done);
      stream.once('end', done);
      stream.once('error', fail);
    });
    if (stream.errored) throw stream.errored;
  }
  const head = Buffer.concat(chunks);
  if (head.length > 0) stream.unshift(head);
  return head;
}

/** Counts decompressed bytes and stops the walk when a layer grows past its limit. */
class SizeLimit extends Transform {
  private seen = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) {
      done(
        new ImageError(`layer decompresses to more than ${this.max} bytes (decompression bomb?)`),
      );
      return;
    }
    done(null, chunk);
  }
}

/**
 * Output chunk size of the decompressors. zlib's default 16 KiB makes the tar parser handle
 * eight times as many chunks; 128 KiB measured about 1.8x faster on a 50 MiB gzip layer.
 */
const CHUNK = 128 * 1024;

function decompressorFor(head: Buffer): Transform | undefined {
  if (startsWith(head, GZIP)) return createGunzip({ chunkSize: CHUNK });
  if (startsWith(head, ZSTD)) return createZstdDecompress({ chunkSize: CHUNK });
  if (startsWith(head, XZ) || startsWith(head, BZIP2)) {
    throw new ImageError('layer uses an unsupported compression (xz or bzip2)');
  }
  return undefined; // an uncompressed tar
}

/**
 * Walk a layer blob (already being verified against its digest by the caller's stream) and
 * collect the entries `wants` selects: regular files are asked about with their size and mode,
 * links by path alone. Whiteouts and opaque markers are always collected.
 */
export async function walkLayer(
  blob: Readable,
  wants: (path: string, info?: EntryInfo) => boolean,
  limits: LayerLimits = DEFAULT_LIMITS,
  onFile?: FileHandler,
): Promise<LayerEntries> {
  const result: LayerEntries = {
    files: new Map(),
    links: new Map(),
    whiteouts: [],
    opaqueDirs: [],
    skipped: [],
    warnings: [],
  };
  const deliver: FileHandler = onFile ?? ((path, content) => void result.files.set(path, content));
  const head = await peek(blob, 6);
  const stages: (Transform | Readable)[] = [blob];
  const decompress = decompressorFor(head);
  if (decompress) stages.push(decompress);
  stages.push(new SizeLimit(limits.maxLayerBytes));
  const tar = extract();

  const consume = async () => {
    for await (const entry of tar) {
      const h = entry.header;
      let path: string;
      try {
        path = normalizeEntryPath(h.name);
      } catch (err) {
        entry.resume();
        throw err;
      }
      const slash = path.lastIndexOf('/');
      const base = path.slice(slash + 1);
      const dir = slash >= 0 ? path.slice(0, slash) : '';
      if (base.startsWith('.wh.')) {
        if (base === '.wh..wh..opq') result.opaqueDirs.push(dir);
        else if (!base.startsWith('.wh..wh.'))
          result.whiteouts.push(dir ? `${dir}/${base.slice(4)}` : base.slice(4));
        entry.resume();
        continue;
      }
      const regular = h.type === 'file' || h.type === 'contiguous-file';
      const info: EntryInfo = { size: h.size ?? 0, mode: h.mode ?? 0 };
      if (path === '' || !(regular ? wants(path, info) : wants(path))) {
        entry.resume();
        continue;
      }
      if (regular) {
        if (info.size > limits.maxFileBytes) {
          result.warnings.push(
            `${path}: ${info.size} bytes is more than the ${limits.maxFileBytes} allowed; skipped`,
          );
          result.skipped.push({ path, ...info });
          entry.resume();
          continue;
        }
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        result.links.delete(path);
        await deliver(path, Buffer.concat(chunks), info);
      } else if (h.type === 'symlink') {
        result.links.set(path, h.linkname ?? '');
        result.files.delete(path);
        entry.resume();
      } else if (h.type === 'link') {
        const target = normalizeEntryPath(h.linkname ?? '');
        // a handler keeps no bytes: the link then points at its target, counted where it is
        const bytes = onFile ? undefined : result.files.get(target);
        if (bytes) {
          result.files.set(path, bytes);
          result.links.delete(path);
        } else {
          result.links.set(path, `/${target}`);
          result.files.delete(path);
        }
        entry.resume();
      } else {
        entry.resume();
      }
    }
  };

  try {
    await Promise.all([pipeline([...stages, tar] as unknown as [Readable, Transform]), consume()]);
  } catch (err) {
    for (const s of stages) s.destroy();
    tar.destroy();
    if (err instanceof ImageError) throw err;
    // the cause tells a broken layer (zlib, tar) from a transfer that failed (a network error)
    throw new ImageError(`layer could not be read: ${(err as Error).message}`, { cause: err });
  }
  return result;
}
