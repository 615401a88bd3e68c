import { Transform, type TransformCallback } from 'node:stream';
import { openVerifiedBlob } from '../image/blob.js';
import { DEFAULT_LIMITS, walkLayer, type LayerLimits } from '../image/layer.js';
import type { ResolvedImage, ResolvedLayer } from '../image/resolve.js';
import { ImageError, type ImageSource } from '../image/types.js';
import { analyzerKey, type Analyzer, type AnalyzerOutput } from './analyzer.js';
import { ANALYZERS } from './analyzers/index.js';
import { DISTRO_FILES, osReleaseAnalyzer } from './analyzers/os-release.js';
import { noCache, type LayerCache } from './cache.js';
import { mergeLayers, type LayerAnalysis, type LayerChanges, type MergeLayer } from './merge.js';
import { purlFor } from './purl.js';
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
  const counted = options.onEvent
    ? blob.pipe(
        new ByteCounter((bytes) =>
          options.onEvent?.({ type: 'bytes', digest: layer.digest, bytes }),
        ),
      )
    : blob;
  if (counted !== blob) blob.on('error', (err) => counted.destroy(err));
  let entries;
  try {
    entries = await walkLayer(
      counted,
      (path) => missing.some((a) => a.wants(path)),
      options.limits,
    );
  } catch (err) {
    throw new ImageError(`layer ${layer.digest}: ${(err as Error).message}`);
  }
  changes = { whiteouts: entries.whiteouts, opaqueDirs: entries.opaqueDirs };
  for (const a of missing) {
    const wanted = new Map([...entries.files].filter(([path]) => a.wants(path)));
    const analysis: LayerAnalysis = { files: {}, links: {}, warnings: [...entries.warnings] };
    for (const [path, content] of wanted) {
      let output: AnalyzerOutput;
      try {
        output = await a.analyze({ path, content }, wanted);
      } catch (err) {
        output = { warnings: [`could not be read: ${(err as Error).message}`] };
      }
      analysis.files[path] = output;
    }
    for (const [path, target] of entries.links) if (a.wants(path)) analysis.links[path] = target;
    analyses[a.id] = analysis;
    await cache.set(layer.digest, analyzerKey(a), analysis);
  }
  await cache.set(layer.digest, CHANGES_KEY, changes);
  event('done');
  return { diffId: layer.diffId, changes, analyses };
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
    inventory: { ...(distro ? { distro } : {}), packages, warnings },
  };
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
