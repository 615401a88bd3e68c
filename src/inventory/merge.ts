import { ImageError } from '../image/types.js';
import type { AnalyzerOutput } from './analyzer.js';
import type { AnalyzedPackage } from './types.js';

/**
 * Merging layers: a pure function from per-layer analyzer results to the files that exist in the
 * final image, each package tagged with the layer that introduced it. No I/O: unit-tested alone.
 */

/** What one analyzer found in one layer. JSON-serialisable: this is what the layer cache stores. */
export interface LayerAnalysis {
  files: Record<string, AnalyzerOutput>;
  /** Wanted paths that are symlinks or hard links (see LayerEntries.links). */
  links: Record<string, string>;
  warnings: string[];
}

/** What a layer deletes from the layers below it; independent of analyzers. */
export interface LayerChanges {
  whiteouts: string[];
  opaqueDirs: string[];
}

export interface MergeLayer {
  diffId: string;
  changes: LayerChanges;
  /** One analysis per analyzer, keyed by analyzer id. */
  analyses: Record<string, LayerAnalysis>;
}

export interface MergedFile {
  path: string;
  output: AnalyzerOutput;
  /** The layer that wrote this version of the file. */
  layer: string;
  /** For each package of `output.packages`, by index: the layer that introduced it. */
  packageLayers: string[];
}

type Entry =
  | { kind: 'file'; file: MergedFile; introduced: Map<string, string> }
  | { kind: 'link'; target: string };

export function packageKey(p: AnalyzedPackage): string {
  return `${p.type}\0${p.name}\0${p.version}\0${p.arch ?? ''}`;
}

function removeUnder(state: Map<string, Entry>, path: string): void {
  if (path === '') {
    state.clear();
    return;
  }
  const prefix = `${path}/`;
  for (const key of [...state.keys()]) {
    if (key === path || key.startsWith(prefix)) state.delete(key);
  }
}

/** Resolves a link target inside the image root; `..` above the root is an error. */
export function resolveLinkTarget(linkPath: string, target: string): string {
  const base = target.startsWith('/') ? [] : linkPath.split('/').slice(0, -1);
  const parts = [...base];
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) {
        throw new ImageError(`symlink /${linkPath} -> ${target} points outside the image root`);
      }
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts.join('/');
}

const MAX_LINK_HOPS = 40; // as the kernel's MAXSYMLINKS

export interface MergeResult {
  /** Per analyzer id: the files that exist in the final image, by path. */
  files: Record<string, MergedFile[]>;
  /** Links whose target was not among the files read; their content is unknown. */
  unresolved: { analyzer: string; path: string; target: string }[];
}

export function mergeLayers(
  layers: readonly MergeLayer[],
  analyzerIds: readonly string[],
): MergeResult {
  const result: MergeResult = { files: {}, unresolved: [] };
  for (const id of analyzerIds) {
    const state = new Map<string, Entry>();
    for (const layer of layers) {
      for (const dir of layer.changes.opaqueDirs) removeUnder(state, dir);
      for (const path of layer.changes.whiteouts) removeUnder(state, path);
      const analysis = layer.analyses[id];
      if (!analysis) continue;
      for (const [path, output] of Object.entries(analysis.files)) {
        const previous = state.get(path);
        const before = previous?.kind === 'file' ? previous.introduced : undefined;
        const introduced = new Map<string, string>();
        const packageLayers = (output.packages ?? []).map((p) => {
          const key = packageKey(p);
          const layerOf = introduced.get(key) ?? before?.get(key) ?? layer.diffId;
          introduced.set(key, layerOf);
          return layerOf;
        });
        state.set(path, {
          kind: 'file',
          file: { path, output, layer: layer.diffId, packageLayers },
          introduced,
        });
      }
      for (const [path, target] of Object.entries(analysis.links))
        state.set(path, { kind: 'link', target });
    }
    // A link is not counted itself: its target, when wanted, is counted at its real path. Links
    // are followed only to refuse hostile ones (outside the root, loops) and to report the rest.
    for (const [path, entry] of state) {
      if (entry.kind !== 'link') continue;
      let current = path;
      let target = entry.target;
      for (let hop = 0; ; hop++) {
        if (hop >= MAX_LINK_HOPS) throw new ImageError(`symlink loop at /${path}`);
        const next = resolveLinkTarget(current, target);
        const found = state.get(next);
        if (found?.kind === 'link') {
          current = next;
          target = found.target;
          continue;
        }
        if (!found) result.unresolved.push({ analyzer: id, path, target: entry.target });
        break;
      }
    }
    result.files[id] = [...state.values()]
      .filter((e): e is Extract<Entry, { kind: 'file' }> => e.kind === 'file')
      .map((e) => e.file)
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
  return result;
}
