import { inflateSync } from 'node:zlib';
import { FileWarnings, type Analyzer, type AnalyzerOutput, type LayerFile } from '../analyzer.js';
import { ElfError, findSection, isElf, parseElf, sectionBytes, wantsExecutable } from '../elf.js';
import type { AnalyzedPackage } from '../types.js';

/**
 * Rust crates, from two places:
 *
 * - `Cargo.lock` files (https://doc.rust-lang.org/cargo/guide/cargo-toml-vs-cargo-lock.html): one
 *   `[[package]]` table per crate of the build graph, with `name`, `version` and, for crates that
 *   come from somewhere, `source` (`registry+https://github.com/rust-lang/crates.io-index`,
 *   `sparse+https://index.crates.io/`, `git+https://…#<commit>`). Lock files of every format
 *   version: v1's `[metadata]` checksums and `[root]` table, v2's per-package checksums, v3/v4's
 *   top-level `version = N`. Lock files inside cargo's own caches (`…/cargo/registry/`,
 *   `…/cargo/git/`: the sources of downloaded crates, not something built into the image) are not
 *   asked for.
 * - Binaries built with cargo-auditable (https://github.com/rust-secure-code/cargo-auditable): an
 *   ELF section `.dep-v0` holding zlib-compressed JSON `{"packages": [{name, version, source,
 *   kind?, dependencies?, root?}]}` (schema: cargo-auditable.schema.json in that repository),
 *   `source` being `crates.io`, `git`, `local`, `registry` or another string, `kind` `build` or
 *   (when absent) `runtime`. Detected by content in any executable, like Go binaries.
 *
 * Decisions:
 * - Crates without a source (no `source` key in Cargo.lock; `"source": "local"` in audit data) are
 *   not reported: they are the project's own workspace members and path dependencies, code that
 *   was never published. Crate names are not namespaced, so a local crate that happens to share a
 *   name with a crates.io crate would otherwise be matched against that crate's advisories.
 * - Crates from somewhere other than crates.io keep their source as `cargo:source` (a git URL
 *   with its commit, another registry's index); a crate's name and version are still what
 *   advisories name, so they are listed and matched like the others.
 * - Cargo.lock lists the whole resolved graph, including dev-dependencies and crates for other
 *   platforms; it cannot tell which were compiled, so all are listed. Audit data records only what
 *   was compiled; build-only crates (build scripts, proc macros) are listed with
 *   `cargo:kind: build`.
 */

/** Decompressed audit data larger than this is not what cargo-auditable writes. */
const MAX_AUDIT_JSON = 64 * 1024 * 1024;

const CRATES_IO_SOURCES = new Set([
  'registry+https://github.com/rust-lang/crates.io-index',
  'sparse+https://index.crates.io/',
]);

/** Cargo's caches of downloaded sources, under `~/.cargo` or the official image's `/usr/local/cargo`. */
const CARGO_CACHE = /(?:^|\/)\.?cargo\/(?:registry|git)\//;

export function isCargoLock(path: string): boolean {
  return (path === 'Cargo.lock' || path.endsWith('/Cargo.lock')) && !CARGO_CACHE.test(path);
}

// --- Cargo.lock -------------------------------------------------------------------------------

/**
 * A reader for the subset of TOML (https://toml.io/en/v1.0.0) that Cargo writes into lock files:
 * `[table]` and `[[array-of-tables]]` headers, `key = value` with bare or quoted keys, and values
 * that are strings (basic, with escapes, or literal), integers, booleans and arrays of those
 * (spanning lines, with comments and trailing commas). No TOML library is a dependency of this
 * project and this subset is small; anything else (inline tables, multi-line strings, dates) is
 * reported for its line and the line skipped, which is also what happens to garbage.
 */
export type LockValue = string | number | boolean | LockValue[];

export interface LockTable {
  /** The header's name: `package`, `metadata`, `patch.unused`, or '' before any header. */
  name: string;
  /** `[[name]]`: one element of an array of tables. */
  array: boolean;
  /** 1-based line of the header. */
  line: number;
  values: Map<string, LockValue>;
}

class LockSyntaxError extends Error {}

export function readLockTables(text: string, warn: (line: number, message: string) => void) {
  const tables: LockTable[] = [{ name: '', array: false, line: 1, values: new Map() }];
  let i = 0;
  let line = 1;

  const peek = () => text[i];
  const fail = (message: string): never => {
    throw new LockSyntaxError(message);
  };
  /** Skips spaces and tabs, and with `newlines` also line ends and comments. */
  const skip = (newlines: boolean) => {
    for (;;) {
      const c = text[i];
      if (c === ' ' || c === '\t' || c === '\r') i++;
      else if (newlines && c === '\n') {
        i++;
        line++;
      } else if (newlines && c === '#') {
        while (i < text.length && text[i] !== '\n') i++;
      } else return;
    }
  };
  const basicString = (): string => {
    i++; // opening "
    let out = '';
    for (;;) {
      const c = text[i];
      if (c === undefined || c === '\n') return fail('unterminated string');
      i++;
      if (c === '"') return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[i++];
      const simple: Record<string, string> = {
        b: '\b',
        t: '\t',
        n: '\n',
        f: '\f',
        r: '\r',
        '"': '"',
        '\\': '\\',
      };
      if (e !== undefined && e in simple) out += simple[e];
      else if (e === 'u' || e === 'U') {
        const n = e === 'u' ? 4 : 8;
        const hex = text.slice(i, i + n);
        if (!new RegExp(`^[0-9A-Fa-f]{${n}}$`).test(hex)) fail('bad \\u escape');
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail('bad \\u escape');
        out += String.fromCodePoint(cp);
        i += n;
      } else fail(`unknown escape \\${e ?? ''}`);
    }
  };
  const literalString = (): string => {
    const end = text.indexOf("'", i + 1);
    const nl = text.indexOf('\n', i + 1);
    if (end < 0 || (nl >= 0 && nl < end)) fail('unterminated string');
    const s = text.slice(i + 1, end);
    i = end + 1;
    return s;
  };
  const key = (): string => {
    const c = peek();
    if (c === '"') return basicString();
    if (c === "'") return literalString();
    const m = /^[A-Za-z0-9_.-]+/.exec(text.slice(i, i + 256));
    if (!m) return fail('expected a key');
    i += m[0].length;
    return m[0];
  };
  const value = (depth: number): LockValue => {
    const c = peek();
    if (c === '"') {
      if (text.startsWith('"""', i)) fail('multi-line strings are not read');
      return basicString();
    }
    if (c === "'") {
      if (text.startsWith("'''", i)) fail('multi-line strings are not read');
      return literalString();
    }
    if (c === '[') {
      if (depth > 8) fail('arrays nested too deep');
      i++;
      const items: LockValue[] = [];
      for (;;) {
        skip(true);
        if (peek() === ']') {
          i++;
          return items;
        }
        items.push(value(depth + 1));
        skip(true);
        if (peek() === ',') i++;
        else if (peek() !== ']') fail('expected "," or "]" in an array');
      }
    }
    const m = /^(?:true|false|[+-]?[0-9][0-9_]*)(?=[\s,\]#]|$)/.exec(text.slice(i, i + 64));
    if (!m) return fail('unsupported value');
    i += m[0].length;
    if (m[0] === 'true' || m[0] === 'false') return m[0] === 'true';
    return Number(m[0].replace(/_/g, ''));
  };

  while (i < text.length) {
    skip(true);
    if (i >= text.length) break;
    const start = line;
    try {
      if (peek() === '[') {
        const array = text.startsWith('[[', i);
        i += array ? 2 : 1;
        skip(false);
        const parts = [key()];
        skip(false);
        while (peek() === '.') {
          i++;
          skip(false);
          parts.push(key());
          skip(false);
        }
        if (!text.startsWith(array ? ']]' : ']', i)) fail('unterminated table header');
        i += array ? 2 : 1;
        tables.push({ name: parts.join('.'), array, line: start, values: new Map() });
      } else {
        const k = key();
        skip(false);
        if (peek() !== '=') fail('expected "=" after a key');
        i++;
        skip(false);
        const v = value(0);
        const table = tables.at(-1)!;
        if (table.values.has(k)) warn(start, `key "${k}" given twice; the last one is used`);
        table.values.set(k, v);
      }
      skip(false);
      if (i < text.length && peek() !== '\n' && peek() !== '#')
        fail('unexpected text after a value');
    } catch (err) {
      if (!(err instanceof LockSyntaxError)) throw err;
      warn(line, `${err.message}; line skipped`);
      // resume on the line after the one where reading stopped
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
    }
  }
  return tables;
}

function analyzeLock(file: LayerFile, warn: (m: string) => void): AnalyzedPackage[] {
  const text = file.content.toString('utf8');
  let lines = 0;
  const tables = readLockTables(text, (line, message) => {
    lines++;
    warn(`${file.path}:${line}: ${message}`);
  });
  const packages: AnalyzedPackage[] = [];
  let seen = 0;
  for (const t of tables) {
    if (!(t.name === 'package' && t.array)) continue;
    seen++;
    const name = t.values.get('name');
    const version = t.values.get('version');
    const source = t.values.get('source');
    if (typeof name !== 'string' || name === '' || typeof version !== 'string' || version === '') {
      warn(`${file.path}:${t.line}: [[package]] without a string name and version; skipped`);
      continue;
    }
    if (source === undefined) continue; // a workspace member or path dependency (see above)
    if (typeof source !== 'string') {
      warn(`${file.path}:${t.line}: source of ${name} is not a string; skipped`);
      continue;
    }
    const pkg: AnalyzedPackage = { type: 'cargo', name, version };
    if (!CRATES_IO_SOURCES.has(source)) pkg.properties = { 'cargo:source': source };
    packages.push(pkg);
  }
  if (seen === 0 && lines > 0) throw new Error('not a Cargo.lock: no [[package]] tables read');
  return packages;
}

// --- cargo-auditable --------------------------------------------------------------------------

function analyzeAuditable(
  file: LayerFile,
  warn: (m: string) => void,
): AnalyzedPackage[] | undefined {
  if (!isElf(file.content)) return undefined;
  let compressed: Buffer | undefined;
  try {
    const elf = parseElf(file.content);
    const section = findSection(elf, '.dep-v0');
    compressed = section ? sectionBytes(file.content, section) : undefined;
  } catch (err) {
    // an unreadable ELF file: the Go binary analyzer, which reads every executable too, says so
    if (err instanceof ElfError) return undefined;
    throw err;
  }
  if (!compressed) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(
      inflateSync(compressed, { maxOutputLength: MAX_AUDIT_JSON }).toString('utf8'),
    );
  } catch (err) {
    warn(`${file.path}: unreadable cargo-auditable data (.dep-v0): ${(err as Error).message}`);
    return [];
  }
  const list = (json as { packages?: unknown } | null)?.packages;
  if (typeof json !== 'object' || json === null || !Array.isArray(list)) {
    warn(`${file.path}: cargo-auditable data (.dep-v0) without a "packages" array`);
    return [];
  }
  const packages: AnalyzedPackage[] = [];
  for (const [i, entry] of (list as unknown[]).entries()) {
    const p = entry as Record<string, unknown> | null;
    const name = p?.name;
    const version = p?.version;
    const source = p?.source;
    if (
      typeof name !== 'string' ||
      name === '' ||
      typeof version !== 'string' ||
      version === '' ||
      typeof source !== 'string'
    ) {
      warn(
        `${file.path}: cargo-auditable packages[${i}] without a name, version and source; skipped`,
      );
      continue;
    }
    if (source === 'local') continue; // the project's own crates (see above)
    const properties: Record<string, string> = {};
    if (source !== 'crates.io') properties['cargo:source'] = source;
    if (p?.kind === 'build') properties['cargo:kind'] = 'build';
    if (p?.root === true) properties['cargo:root'] = 'true';
    const pkg: AnalyzedPackage = { type: 'cargo', name, version };
    if (Object.keys(properties).length > 0) pkg.properties = properties;
    packages.push(pkg);
  }
  return packages;
}

export const cargoAnalyzer: Analyzer = {
  id: 'cargo',
  version: 1,
  wants(path, info) {
    return isCargoLock(path) || wantsExecutable(path, info);
  },
  analyze(file: LayerFile): AnalyzerOutput {
    const limited = new FileWarnings(file.path);
    const warnings = limited.list;
    const warn = (message: string) => limited.add(message);
    const packages = isCargoLock(file.path)
      ? analyzeLock(file, warn)
      : analyzeAuditable(file, warn);
    if (packages === undefined) return {};
    limited.done();
    return { packages, warnings };
  },
};
