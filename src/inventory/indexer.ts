import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { openVerifiedBlob } from '../image/blob.js';
import { DEFAULT_LIMITS, walkLayer, type EntryInfo, type LayerLimits } from '../image/layer.js';
import type { ResolvedImage, ResolvedLayer } from '../image/resolve.js';
import { ImageError, type ImageSource } from '../image/types.js';
import { analyzerKey, type Analyzer, type AnalyzerOutput } from './analyzer.js';
import { ANALYZERS } from './analyzers/index.js';
import { DISTRO_FILES, osReleaseAnalyzer } from './analyzers/os-release.js';
import { noCache, type LayerCache } from './cache.js';
import { mergeLayers, type LayerAnalysis, type LayerChanges, type MergeLayer } from './merge.js';
import { purlFor } from './purl.js';
import { runtimesFromConfig } from './runtimes.js';
import type { Distro, ImageInventory, Package, Warning } from './types.js';

/**
 * Indexing: an image → its inventory. Each layer is walked once for every analyzer whose result
 * for that layer is not cached yet; results are cached by (layer digest, analyzer id@version);
 * then a pure merge gives the final filesystem's packages.
 */

export type IndexEvent =
  | {
      type: 'layer';
      state: 'cached' | 'reading' | 'done';
      digest: string;
      index: number;
      total: number;
      size: number;
    }
  | { type: 'bytes'; digest: string; bytes: number };

export interface IndexOptions {
  analyzers?: readonly Analyzer[];
  cache?: LayerCache;
  limits?: LayerLimits;
  /** Layers read at once. */
  concurrency?: number;
  onEvent?: (event: IndexEvent) => void;
}

/** Cache key of a layer's whiteouts and opaque directories; bump when the walker changes. */
const CHANGES_KEY = 'layer-changes@1';

class ByteCounter extends Transform {
  constructor(private readonly report: (n: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.report(chunk.length);
    done(null, chunk);
  }
}

async function analyzeLayer(
  source: ImageSource,
  layer: ResolvedLayer,
  analyzers: readonly Analyzer[],
  options: Required<Pick<IndexOptions, 'cache' | 'limits'>> & IndexOptions,
  position: { index: number; total: number },
): Promise<MergeLayer> {
  const { cache } = options;
  const event = (state: 'cached' | 'reading' | 'done') =>
    options.onEvent?.({
      type: 'layer',
      state,
      digest: layer.digest,
      size: layer.size,
      ...position,
    });
  const analyses: Record<string, LayerAnalysis> = {};
  const missing: Analyzer[] = [];
  for (const a of analyzers) {
    const hit = (await cache.get(layer.digest, analyzerKey(a))) as LayerAnalysis | undefined;
    if (hit) analyses[a.id] = hit;
    else missing.push(a);
  }
  let changes = (await cache.get(layer.digest, CHANGES_KEY)) as LayerChanges | undefined;
  if (missing.length === 0 && changes) {
    event('cached');
    return { diffId: layer.diffId, changes, analyses };
  }

  event('reading');
  const blob = await openVerifiedBlob(source, layer);
  // Settles once the blob was read to its end and verified, or failed. Listening from the start
  // means no failure of the blob is ever unhandled, however late it comes (a digest mismatch is
  // only known after the last byte, which may be after the tar ended).
  const verified = finished(blob);
  verified.catch(() => {}); // awaited below once the walk succeeded; else the walk's error wins
  let stream: Readable = blob;
  if (options.onEvent) {
    const counter = new ByteCounter((bytes) =>
      options.onEvent?.({ type: 'bytes', digest: layer.digest, bytes }),
    );
    // a pipeline passes the blob's failure on to the counter (so the walk fails with it) and
    // listens on both, whenever that failure comes
    pipeline(blob, counter).catch(() => {});
    stream = counter;
  }
  // Each wanted file is analysed as soon as it is read and its bytes dropped; only analyzers that
  // need a layer's files together (SQLite and its -wal) keep theirs until the walk ends.
  const fresh: Record<string, LayerAnalysis> = {};
  const together = new Map<Analyzer, Map<string, Buffer>>();
  for (const a of missing) {
    fresh[a.id] = { files: {}, links: {}, warnings: [] };
    if (a.needsSiblings) together.set(a, new Map());
  }
  const onFile = async (path: string, content: Buffer, info: EntryInfo) => {
    for (const a of missing) {
      if (!a.wants(path, info)) continue;
      const kept = together.get(a);
      if (kept) kept.set(path, content);
      else
        fresh[a.id]!.files[path] = await analyzeFile(a, path, content, new Map([[path, content]]));
    }
  };
  let entries;
  try {
    entries = await walkLayer(
      stream,
      (path, info) => missing.some((a) => a.wants(path, info)),
      options.limits,
      onFile,
    );
    // Nothing read from a blob counts unless all of it was verified: the blob ends only after
    // its digest matched. (The walk reads to the end; this holds whatever the walk does.)
    if (!blob.readableEnded) throw new ImageError('the layer was not read to its end');
    await verified;
  } catch (err) {
    // when the blob itself failed (digest mismatch, cut short), that is the reason; the walk's
    // error is then only a consequence of the bad bytes
    const reason = blob.errored instanceof ImageError ? blob.errored : (err as Error);
    stream.destroy();
    blob.destroy();
    throw new ImageError(`layer ${layer.digest}: ${reason.message}`, { cause: reason });
  }
  changes = { whiteouts: entries.whiteouts, opaqueDirs: entries.opaqueDirs };
  for (const [a, files] of together) {
    for (const [path, content] of files)
      fresh[a.id]!.files[path] = await analyzeFile(a, path, content, files);
  }
  for (const a of missing) {
    const analysis = fresh[a.id]!;
    for (const skipped of entries.skipped) {
      if (a.wants(skipped.path, skipped)) {
        analysis.warnings.push(
          `${skipped.path}: ${skipped.size} bytes is more than the ${options.limits.maxFileBytes} allowed; skipped`,
        );
      }
    }
    for (const [path, target] of entries.links) if (a.wants(path)) analysis.links[path] = target;
    analyses[a.id] = analysis;
    await cache.set(layer.digest, analyzerKey(a), analysis);
  }
  await cache.set(layer.digest, CHANGES_KEY, changes);
  event('done');
  return { diffId: layer.diffId, changes, analyses };
}

async function analyzeFile(
  a: Analyzer,
  path: string,
  content: Buffer,
  siblings: ReadonlyMap<string, Buffer>,
): Promise<AnalyzerOutput> {
  try {
    return await a.analyze({ path, content }, siblings);
  } catch (err) {
    return { warnings: [`could not be read: ${(err as Error).message}`] };
  }
}

/** Run `fn` over `items` with at most `limit` at a time, keeping the order of results. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export async function indexImage(
  source: ImageSource,
  image: ResolvedImage,
  options: IndexOptions = {},
): Promise<ImageInventory> {
  const analyzers = options.analyzers ?? ANALYZERS;
  const opts = {
    ...options,
    cache: options.cache ?? noCache,
    limits: options.limits ?? DEFAULT_LIMITS,
  };
  const total = image.layers.length;
  const layers = await mapLimited(image.layers, options.concurrency ?? 3, (layer, index) =>
    analyzeLayer(source, layer, analyzers, opts, { index, total }),
  );
  const merged = mergeLayers(
    layers,
    analyzers.map((a) => a.id),
  );

  const warnings: Warning[] = [];
  for (const [i, layer] of layers.entries()) {
    for (const [id, analysis] of Object.entries(layer.analyses)) {
      for (const message of analysis.warnings)
        warnings.push({ layer: image.layers[i]!.diffId, analyzer: id, message });
    }
  }
  for (const u of merged.unresolved) {
    warnings.push({
      analyzer: u.analyzer,
      path: u.path,
      message: `link to ${u.target} was not followed: its target was not read`,
    });
  }

  let distro: Distro | undefined;
  const distroFiles = merged.files[osReleaseAnalyzer.id] ?? [];
  for (const path of DISTRO_FILES) {
    const file = distroFiles.find((f) => f.path === path && f.output.distro);
    if (file) {
      distro = { ...file.output.distro!, path };
      break;
    }
  }

  const packages: Package[] = [];
  for (const a of analyzers) {
    for (const file of merged.files[a.id] ?? []) {
      for (const message of file.output.warnings ?? [])
        warnings.push({ layer: file.layer, path: file.path, analyzer: a.id, message });
      (file.output.packages ?? []).forEach((p, i) => {
        packages.push({
          ...p,
          layer: file.packageLayers[i]!,
          path: file.path,
          purl: purlFor(p, distro),
        });
      });
    }
  }
  // runtimes the image configuration names; the configuration belongs to the image as a whole, so
  // they are attributed to its top layer
  const top = image.layers.at(-1)?.diffId ?? '';
  for (const p of runtimesFromConfig(image.config)) {
    packages.push({ ...p, layer: top, path: '(image config)', purl: purlFor(p, distro) });
  }
  packages.sort(
    (a, b) =>
      compareStrings(a.type, b.type) ||
      compareStrings(a.name, b.name) ||
      compareStrings(a.version, b.version) ||
      compareStrings(a.path, b.path),
  );

  return {
    image: {
      reference: source.reference,
      name: source.name,
      ...(source.tag ? { tag: source.tag } : {}),
      manifestDigest: image.manifestDigest,
      ...(image.indexDigest ? { indexDigest: image.indexDigest } : {}),
      configDigest: image.configDigest,
      platform: image.platform,
      layers: image.layers.map((l) => ({
        digest: l.digest,
        diffId: l.diffId,
        size: l.size,
        mediaType: l.mediaType,
      })),
      ...(typeof image.config.created === 'string' ? { created: image.config.created } : {}),
    },
    inventory: { ...(distro ? { distro } : {}), packages: onePerPurl(packages), warnings },
  };
}

/**
 * The same package found in several places (installed in node_modules and listed in a lockfile,
 * a jar copied twice) is one package with several locations. Input is sorted, so the first
 * location is the first path in order; properties and licences of all copies are kept.
 */
export function onePerPurl(packages: readonly Package[]): Package[] {
  const byPurl = new Map<string, Package>();
  for (const p of packages) {
    const first = byPurl.get(p.purl);
    if (!first) {
      byPurl.set(p.purl, p);
      continue;
    }
    const merged: Package = {
      ...first,
      locations: [
        ...(first.locations ?? [{ path: first.path, layer: first.layer }]),
        { path: p.path, layer: p.layer },
      ],
    };
    if (p.properties) merged.properties = { ...p.properties, ...first.properties };
    if (p.licenses) merged.licenses = [...new Set([...(first.licenses ?? []), ...p.licenses])];
    byPurl.set(p.purl, merged);
  }
  return [...byPurl.values()];
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
