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

export interface FileInfo {
  size: number;
  /** Unix permission bits (`0o755`). */
  mode: number;
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
  /**
   * Cheap predicate on a normalised path (and, when the walker knows them, the entry's size and
   * mode): does this analyzer need the file's bytes? Content-detected files (Go binaries) are
   * asked for by mode and size; the analyzer then says from the bytes whether they are its own.
   */
  wants(path: string, info?: FileInfo): boolean;
  /**
   * Set when `analyze` needs the other wanted files of the same layer (`siblings`), as a SQLite
   * database needs its `-wal`. Otherwise each file is analysed as soon as it has been read and its
   * bytes are dropped, so a layer of large files never sits in memory at once.
   */
  readonly needsSiblings?: boolean;
  /**
   * Analyse one wanted file. `siblings` holds every file of the same layer that this analyzer
   * wanted when `needsSiblings` is set, and only the file itself otherwise.
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

/** Most warnings kept for one file; more would only repeat what is wrong with it. */
export const MAX_FILE_WARNINGS = 20;

/** A file's warnings, at most MAX_FILE_WARNINGS, then one line saying how many more there were. */
export class FileWarnings {
  readonly list: string[] = [];
  private dropped = 0;

  constructor(private readonly path: string) {}

  add(text: string): void {
    if (this.list.length < MAX_FILE_WARNINGS) this.list.push(text);
    else this.dropped++;
  }

  /** The warnings, with the count of those left out. */
  done(): string[] {
    if (this.dropped > 0) this.list.push(`${this.path}: ${this.dropped} more warnings not shown`);
    this.dropped = 0;
    return this.list;
  }
}
