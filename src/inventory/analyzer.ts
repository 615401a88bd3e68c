import type { AnalyzedPackage, Distro } from './types.js';

/**
 * A file an analyzer asked for, as it appears in one layer. `content` is the whole file: analyzers
 * only ask for package databases and small metadata files, and the layer walker enforces a size
 * limit on them.
 */
export interface LayerFile {
  /** Path inside the image, normalised: no leading `/` or `./`, no `..`, no `//`. */
  path: string;
  content: Buffer;
}

/** What an analyzer found in one file. Must be JSON-serialisable: it is cached per layer. */
export interface AnalyzerOutput {
  packages?: AnalyzedPackage[];
  distro?: Omit<Distro, 'path'>;
  /** Problems with this file (bad records, truncated database). The scan goes on. */
  warnings?: string[];
}

/**
 * A plug-in that reads one kind of file. Analyzers are pure: the same bytes always give the same
 * output, which is what lets results be cached by (layer digest, analyzer id@version).
 */
export interface Analyzer {
  /** Stable identifier, part of cache keys. */
  readonly id: string;
  /** Bump when the output for the same input changes: cached results of older versions are ignored. */
  readonly version: number;
  /** Cheap predicate on a normalised path: does this analyzer need the file's bytes? */
  wants(path: string): boolean;
  /**
   * Analyse one wanted file. `siblings` holds every file of the same layer that this analyzer
   * wanted (for databases that span files, such as SQLite with its `-wal`).
   * Throwing is allowed: the error becomes a warning for that file and the scan goes on.
   */
  analyze(
    file: LayerFile,
    siblings: ReadonlyMap<string, Buffer>,
  ): AnalyzerOutput | Promise<AnalyzerOutput>;
}

export function analyzerKey(a: Pick<Analyzer, 'id' | 'version'>): string {
  return `${a.id}@${a.version}`;
}
