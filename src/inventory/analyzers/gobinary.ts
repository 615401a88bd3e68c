import { FileWarnings, type Analyzer, type AnalyzerOutput, type LayerFile } from '../analyzer.js';
import {
  type ElfFile,
  ElfError,
  findSection,
  isElf,
  parseElf,
  PF_W,
  PT_LOAD,
  readVirtual,
  sectionBytes,
  wantsExecutable,
} from '../elf.js';
import type { AnalyzedPackage } from '../types.js';

/**
 * Go programs: the build information the Go linker writes into every binary built in module mode
 * (Go 1.13 and later), the same data `go version -m` prints. It is found by content, in any
 * executable (see `wantsExecutable`).
 *
 * Where it is. A 32-byte header: the 14-byte magic `\xff Go buildinf:`, the pointer size, a flags
 * byte, then 16 bytes whose meaning depends on the flags. It starts on a 16-byte boundary; in ELF
 * files it is the `.go.buildinfo` section, among the writable data. An ELF file with section
 * headers but no such section is no Go program (and is not searched: shared libraries are many).
 * When a file has no section headers, the writable PT_LOAD segments are searched for the magic at
 * 16-byte aligned file offsets, as Go's own reader does (the magic also sits in the read-only data
 * of programs that read build information themselves). Mach-O and PE files are searched whole,
 * also at aligned offsets (their data sections start aligned in the file).
 *
 * Two layouts:
 * - Go 1.18 and later, flags bit 0x2 ("inline"): the toolchain version and the module information
 *   follow the header as two strings, each prefixed by its length as an unsigned LEB128 varint.
 * - Go 1.13 to 1.17: two pointers (pointer size from byte 14, big-endian when flags bit 0x1 is
 *   set), each to a Go string header { data pointer, length } holding the version and the module
 *   information. Pointers are virtual addresses, read through the ELF program headers; the layout
 *   is read in ELF files only.
 *
 * The module information is wrapped in two 16-byte sentinels and is text: one record a line,
 * fields separated by tabs: `path <main package>`, `mod <path> <version> <sum>` (the main
 * module), `dep <path> <version> <sum>`, `=> <path> <version> <sum>` (replacing the module of the
 * line before), `build <key>=<value>` (Go 1.18+; keys and values with spaces or quotes are written
 * as Go quoted strings). GOPATH-mode builds have only `path` (and `build`) lines.
 *
 * What is reported (decisions):
 * - Every dependency module, with its version as recorded (`v1.2.3`, pseudo-versions included).
 * - A dependency replaced by another module (`=> example.com/fork v1.2.4`): the replacement's path
 *   and version, which is the code in the binary; `go:replaces` keeps `path@version` of the
 *   original. Replaced by a directory (`=> ../local`, version empty or `(devel)`): the original
 *   path with the version `(devel)`, since the code is a local copy of unknown version (the
 *   version the go.mod required, often a placeholder `v0.0.0`, would match every advisory);
 *   `go:replaced_by` keeps the directory, `go:replaces` the required `path@version`.
 * - The main module (property `go:main`), with its version when Go recorded one (Go 1.24+ stamps
 *   it from version control). Earlier toolchains record `(devel)`; the version is then taken from
 *   `-ldflags -X <pkg>.version=1.2.3` when the build settings name exactly one semantic version in
 *   a variable called `version`/`gitVersion` (of `main` first, then of the main module's packages,
 *   then any package, as goreleaser, Prometheus and Kubernetes builds set them); property
 *   `go:version_from`. Otherwise it keeps `(devel)`, as `go version -m` shows it: the module is
 *   listed, and the matcher refuses to compare that version rather than guess. A few build settings
 *   are kept as `go:build:<key>` properties (GOOS, GOARCH, GOEXPERIMENT and the vcs.* stamps).
 * - The Go standard library as module `stdlib`, named and versioned as the Go vulnerability
 *   database (OSV ecosystem `Go`) does (its records read `"name": "stdlib"`, events such as
 *   `"fixed": "1.25.13"`, `"fixed": "1.27.0-rc.3"`): `go1.22.5` → `1.22.5`, `go1.20` → `1.20.0`, `go1.21rc2` →
 *   `1.21.0-rc.2`, `go1.9beta1` → `1.9.0-beta.1`; suffixes (`go1.22.5 X:boringcrypto`) are dropped
 *   from the version and the whole string is kept as `go:toolchain`. This is also the form the
 *   image configuration's `GOLANG_VERSION` gives (see runtimes.ts). A development toolchain
 *   (`devel go1.23-abc…`) has no such version: no `stdlib`, and a warning.
 *
 * Not a Go binary (no build information): `{}` with no warning.
 */

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const HEADER_SIZE = 32;
const ALIGN = 16;
const FLAG_BIG_ENDIAN = 0x1;
const FLAG_INLINE = 0x2;
/** The sentinels around the module information are 16 bytes each. */
const SENTINEL = 16;
/** Longer strings than this are not what a linker wrote. */
const MAX_VERSION_LENGTH = 1024;
const MAX_MODINFO_LENGTH = 64 * 1024 * 1024;

/** Build settings kept as `go:build:<key>` properties of the main module. */
const KEPT_SETTINGS = new Set([
  'GOOS',
  'GOARCH',
  'GOEXPERIMENT',
  'vcs',
  'vcs.revision',
  'vcs.time',
  'vcs.modified',
]);

export interface GoModule {
  path: string;
  version: string;
  sum?: string;
  replace?: GoModule;
}

/** The raw build information of one binary. */
export interface GoBuildInfo {
  /** As the binary records it: `go1.22.5`, `go1.22.5 X:boringcrypto`, `devel go1.23-…`. */
  goVersion: string;
  /** The main package's import path (`path` line). */
  path?: string;
  main?: GoModule;
  deps: GoModule[];
  /** `build` lines, in order, keys and values unquoted. */
  settings: [string, string][];
}

/** A problem with a binary that has build information but not a readable one. */
class BuildInfoError extends Error {}

interface RawBuildInfo {
  version: string;
  modinfo: Buffer;
}

/** Reads an unsigned LEB128 varint of at most 8 bytes at `offset` (a length: far less in fact). */
function readUvarint(buf: Buffer, offset: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    const at = offset + i;
    if (at >= buf.length) throw new BuildInfoError('string length cut short (truncated?)');
    const byte = buf[at]!;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return { value, next: at + 1 };
    scale *= 128;
  }
  throw new BuildInfoError('string length is not a valid varint');
}

function readInlineString(buf: Buffer, offset: number, max: number, what: string) {
  const { value: length, next } = readUvarint(buf, offset);
  if (length > max) throw new BuildInfoError(`${what} of ${length} bytes`);
  if (next + length > buf.length) {
    throw new BuildInfoError(`${what} runs past the end of the data (truncated?)`);
  }
  return { bytes: buf.subarray(next, next + length), next: next + length };
}

/**
 * Decodes the header at the start of `data` (which runs to the end of what may hold the strings).
 * `elf` is needed only for the pointer layout.
 */
function decodeHeader(data: Buffer, file: Buffer, elf: ElfFile | undefined): RawBuildInfo {
  const raw = decodeStrings(data, file, elf);
  // what a linker writes: `go1.22.5`, `go1.22.5 X:boringcrypto`, `devel go1.23-abc Tue …`
  if (!/^[\x20-\x7e]+$/.test(raw.version)) {
    throw new BuildInfoError(
      raw.version === '' ? 'no Go version' : 'the Go version is not printable text',
    );
  }
  return raw;
}

function decodeStrings(data: Buffer, file: Buffer, elf: ElfFile | undefined): RawBuildInfo {
  if (data.length < HEADER_SIZE) throw new BuildInfoError('header cut short (truncated?)');
  const ptrSize = data[14]!;
  const flags = data[15]!;
  if (flags & FLAG_INLINE) {
    const version = readInlineString(data, HEADER_SIZE, MAX_VERSION_LENGTH, 'Go version');
    const modinfo = readInlineString(data, version.next, MAX_MODINFO_LENGTH, 'module information');
    return { version: version.bytes.toString('utf8'), modinfo: modinfo.bytes };
  }
  if (ptrSize !== 4 && ptrSize !== 8) throw new BuildInfoError(`pointer size ${ptrSize}`);
  if (!elf) {
    throw new BuildInfoError('pre-Go 1.18 (pointer) layout is read in ELF files only');
  }
  const bigEndian = (flags & FLAG_BIG_ENDIAN) !== 0;
  const pointer = (buf: Buffer, at: number): number => {
    if (ptrSize === 4) return bigEndian ? buf.readUInt32BE(at) : buf.readUInt32LE(at);
    const v = bigEndian ? buf.readBigUInt64BE(at) : buf.readBigUInt64LE(at);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(v);
  };
  const goString = (addr: number, max: number, what: string): Buffer => {
    const header = addr < 0 ? undefined : readVirtual(file, elf, addr, 2 * ptrSize);
    if (!header)
      throw new BuildInfoError(
        `${what}: string header at 0x${addr.toString(16)} is not in the file`,
      );
    const at = pointer(header, 0);
    const length = pointer(header, ptrSize);
    if (length < 0 || length > max) throw new BuildInfoError(`${what} of ${length} bytes`);
    if (length === 0) return Buffer.alloc(0);
    const bytes = at < 0 ? undefined : readVirtual(file, elf, at, length);
    if (!bytes)
      throw new BuildInfoError(`${what}: bytes at 0x${at.toString(16)} are not in the file`);
    return bytes;
  };
  return {
    version: goString(pointer(data, 16), MAX_VERSION_LENGTH, 'Go version').toString('utf8'),
    modinfo: goString(pointer(data, 16 + ptrSize), MAX_MODINFO_LENGTH, 'module information'),
  };
}

/**
 * File ranges [start, end) to search for the magic when there is no `.go.buildinfo` section: the
 * writable segments of an ELF file, or the whole file. Candidates are 16-byte aligned in the file.
 */
function searchRanges(file: Buffer, elf: ElfFile | undefined): [number, number][] {
  if (!elf) return [[0, file.length]];
  const writable = elf.segments.filter((s) => s.type === PT_LOAD && s.flags & PF_W);
  if (writable.length === 0) return [[0, file.length]];
  return writable.map((s) => [s.offset, Math.min(s.offset + s.filesz, file.length)]);
}

/**
 * Finds and decodes the build information header. Undefined when there is none (not a Go
 * program, or a Go program older than 1.13); throws `BuildInfoError` when there is one and it
 * cannot be read.
 */
function findBuildInfo(file: Buffer): RawBuildInfo | undefined {
  let elf: ElfFile | undefined;
  if (isElf(file)) {
    elf = parseElf(file);
    const section = findSection(elf, '.go.buildinfo');
    if (section) {
      const bytes = sectionBytes(file, section);
      if (!bytes) return undefined;
      // Go's reader looks at the section's start (or the first aligned magic in it); the strings
      // of the inline layout follow the header inside the section
      for (let i = 0; i + MAGIC.length <= bytes.length; i += ALIGN) {
        if (bytes.subarray(i, i + MAGIC.length).equals(MAGIC)) {
          return decodeHeader(bytes.subarray(i), file, elf);
        }
      }
      return undefined;
    }
    // With section headers and no .go.buildinfo, this is no Go 1.13+ binary: stop here rather
    // than search every shared library.
    if (elf.sections.length > 0) return undefined;
  } else if (!isMachO(file) && !isPe(file)) {
    return undefined;
  }
  let firstError: BuildInfoError | undefined;
  for (const [start, end] of searchRanges(file, elf)) {
    const range = file.subarray(start, end);
    let at = range.indexOf(MAGIC);
    while (at >= 0) {
      // aligned in the file: segments need not start aligned, but offset ≡ address modulo the
      // page size, so an aligned address has an aligned file offset
      if ((start + at) % ALIGN === 0) {
        try {
          return decodeHeader(range.subarray(at), file, elf);
        } catch (err) {
          if (!(err instanceof BuildInfoError)) throw err;
          firstError ??= err;
        }
      }
      at = range.indexOf(MAGIC, at + 1);
    }
  }
  if (firstError) throw firstError;
  return undefined;
}

function isMachO(buf: Buffer): boolean {
  if (buf.length < 4) return false;
  const m = buf.readUInt32BE(0);
  // 32/64-bit in either byte order, and universal (fat) files
  return [0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(m);
}

function isPe(buf: Buffer): boolean {
  if (buf.length < 0x40 || buf[0] !== 0x4d || buf[1] !== 0x5a) return false;
  const pe = buf.readUInt32LE(0x3c);
  return pe + 4 <= buf.length && buf.toString('latin1', pe, pe + 4) === 'PE\0\0';
}

/**
 * The module information between the 16-byte sentinels Go wraps it in (binary bytes, which is why
 * this works on bytes before any UTF-8 decoding). Without them, text that starts like module
 * information is taken whole; anything else is ignored with a warning.
 */
function unwrapModinfo(modinfo: Buffer, warn: (m: string) => void): string {
  if (modinfo.length === 0) return '';
  const n = modinfo.length;
  if (n >= 2 * SENTINEL + 1 && modinfo[n - SENTINEL - 1] === 0x0a) {
    return modinfo.toString('utf8', SENTINEL, n - SENTINEL);
  }
  const text = modinfo.toString('utf8');
  if (/^(?:path|mod)\t/.test(text)) return text;
  warn('module information is not in the expected form; ignored');
  return '';
}

/** Unquotes a Go double-quoted string literal (strconv.Quote output); undefined if malformed. */
export function unquoteGo(s: string): string | undefined {
  if (s.length < 2 || !s.startsWith('"') || !s.endsWith('"')) return undefined;
  const body = s.slice(1, -1);
  const bytes: number[] = [];
  const pushText = (t: string) => bytes.push(...Buffer.from(t, 'utf8'));
  const SIMPLE: Record<string, number> = {
    a: 7,
    b: 8,
    f: 12,
    n: 10,
    r: 13,
    t: 9,
    v: 11,
    '\\': 92,
    '"': 34,
    "'": 39,
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '"') return undefined;
    if (c !== '\\') {
      const cp = body.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      pushText(ch);
      i += ch.length - 1;
      continue;
    }
    const e = body[++i];
    if (e === undefined) return undefined;
    if (e in SIMPLE) {
      bytes.push(SIMPLE[e]!);
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) return undefined;
      const v = parseInt(hex, 16);
      if (e === 'x') bytes.push(v);
      else if (v > 0x10ffff) return undefined;
      else pushText(String.fromCodePoint(v));
      i += n;
    } else if (/[0-7]/.test(e)) {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) return undefined;
      bytes.push(parseInt(oct, 8) & 0xff);
      i += 2;
    } else {
      return undefined;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** `key=value` of a `build` line, either side possibly quoted. */
function parseSetting(text: string): [string, string] | undefined {
  let key: string;
  let rest: string;
  if (text.startsWith('"')) {
    const end = closingQuote(text);
    if (end < 0) return undefined;
    const k = unquoteGo(text.slice(0, end + 1));
    if (k === undefined || text[end + 1] !== '=') return undefined;
    key = k;
    rest = text.slice(end + 2);
  } else {
    const eq = text.indexOf('=');
    if (eq <= 0) return undefined;
    key = text.slice(0, eq);
    rest = text.slice(eq + 1);
  }
  if (rest.startsWith('"')) {
    const value = unquoteGo(rest);
    return value === undefined ? undefined : [key, value];
  }
  return [key, rest];
}

/** Index of the quote closing the Go string literal that starts at 0; -1 if none. */
function closingQuote(s: string): number {
  for (let i = 1; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i;
  }
  return -1;
}

/**
 * Parses module information text (what sits between the sentinels). Unknown or malformed lines
 * are reported through `warn` and skipped.
 */
export function parseModinfo(
  goVersion: string,
  text: string,
  warn: (message: string) => void = () => {},
): GoBuildInfo {
  const info: GoBuildInfo = { goVersion, deps: [], settings: [] };
  let last: GoModule | undefined;
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    const tab = line.indexOf('\t');
    const word = tab < 0 ? line : line.slice(0, tab);
    const rest = tab < 0 ? '' : line.slice(tab + 1);
    const where = `module information line ${i + 1}`;
    const module = (): GoModule | undefined => {
      const f = rest.split('\t');
      const [path, version = '', sum = ''] = f;
      if (!path || f.length > 3) {
        warn(`${where}: not "${word}<TAB>path<TAB>version[<TAB>sum]"; skipped`);
        return undefined;
      }
      const m: GoModule = { path, version };
      if (sum) m.sum = sum;
      return m;
    };
    switch (word) {
      case 'go': // not written into binaries; `go version -m` prints it
        break;
      case 'path':
        info.path = rest;
        break;
      case 'mod': {
        const m = module();
        if (m) info.main = last = m;
        break;
      }
      case 'dep': {
        const m = module();
        if (m) info.deps.push(m);
        last = m;
        break;
      }
      case '=>': {
        const m = module();
        if (!m) break;
        if (!last || last.replace) {
          warn(`${where}: a replacement without a module line before it; skipped`);
          break;
        }
        last.replace = m;
        break;
      }
      case 'build': {
        const setting = parseSetting(rest);
        if (setting) info.settings.push(setting);
        else warn(`${where}: unreadable build setting; skipped`);
        break;
      }
      default:
        warn(`${where}: unknown record "${word.slice(0, 40)}"; skipped`);
    }
  }
  return info;
}

/** Reads the build information of a Go binary; undefined when the file is not one. */
export function readGoBuildInfo(
  content: Buffer,
  warn: (message: string) => void = () => {},
): GoBuildInfo | undefined {
  const raw = findBuildInfo(content);
  if (!raw) return undefined;
  return parseModinfo(raw.version, unwrapModinfo(raw.modinfo, warn), warn);
}

const GO_RELEASE =
  /^go([1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?(?:\.(0|[1-9][0-9]*))?(?:(rc|beta)([1-9][0-9]*))?(?=$|[\s+-])/;

/**
 * The standard library's version as the Go vulnerability database writes it, from the toolchain
 * version a binary records; undefined for development toolchains.
 */
export function stdlibVersion(goVersion: string): string | undefined {
  const m = GO_RELEASE.exec(goVersion.trim());
  if (!m) return undefined;
  const [, major, minor = '0', patch = '0', pre, preNumber] = m;
  return `${major}.${minor}.${patch}${pre ? `-${pre}.${preNumber}` : ''}`;
}

/** A version `-ldflags -X` may set: semantic, with or without the `v`. */
const LDFLAGS_VERSION =
  /^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const VERSION_VARIABLE = /^(?:version|gitversion)$/i;

/** Splits a flags string as the go command does: on spaces, with '…' or "…" quoting a field. */
function splitFlags(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (/\s/.test(s[i]!)) {
      i++;
      continue;
    }
    const q = s[i];
    if (q === '"' || q === "'") {
      const end = s.indexOf(q, i + 1);
      if (end < 0) return out; // unbalanced: what came before is still usable
      out.push(s.slice(i + 1, end));
      i = end + 1;
    } else {
      let end = i;
      while (end < s.length && !/\s/.test(s[end]!)) end++;
      out.push(s.slice(i, end));
      i = end;
    }
  }
  return out;
}

/** The main module's version from `-X pkg.version=1.2.3` in the ldflags, when unambiguous. */
function versionFromLdflags(
  ldflags: string,
  mainPath: string,
): { version: string; from: string } | undefined {
  const args = splitFlags(ldflags);
  const found: { key: string; pkg: string; value: string }[] = [];
  for (let i = 0; i < args.length; i++) {
    let assignment: string | undefined;
    const a = args[i]!;
    if (a === '-X' || a === '--X') assignment = args[++i];
    else if (a.startsWith('-X=') || a.startsWith('--X=')) assignment = a.slice(a.indexOf('=') + 1);
    if (!assignment) continue;
    const eq = assignment.indexOf('=');
    if (eq <= 0) continue;
    const key = assignment.slice(0, eq);
    const value = assignment.slice(eq + 1);
    const dot = key.lastIndexOf('.');
    if (dot <= 0 || !VERSION_VARIABLE.test(key.slice(dot + 1))) continue;
    if (!LDFLAGS_VERSION.test(value)) continue;
    found.push({ key, pkg: key.slice(0, dot), value });
  }
  const tiers = [
    found.filter((f) => f.pkg === 'main'),
    found.filter((f) => f.pkg === mainPath || f.pkg.startsWith(`${mainPath}/`)),
    found,
  ];
  for (const tier of tiers) {
    if (tier.length === 0) continue;
    const values = new Set(tier.map((f) => f.value.replace(/^v/, '')));
    if (values.size !== 1) return undefined;
    const value = tier[0]!.value;
    return {
      version: value.startsWith('v') ? value : `v${value}`,
      from: `-ldflags -X ${tier[0]!.key}`,
    };
  }
  return undefined;
}

const DEVEL = '(devel)';

function modulePackage(m: GoModule): AnalyzedPackage {
  const r = m.replace;
  if (!r) return { type: 'golang', name: m.path, version: m.version || DEVEL };
  const replaces = `${m.path}@${m.version}`;
  if (r.version === '' || r.version === DEVEL) {
    // a directory: the code is a local copy of unknown version
    return {
      type: 'golang',
      name: m.path,
      version: DEVEL,
      properties: { 'go:replaces': replaces, 'go:replaced_by': r.path },
    };
  }
  return {
    type: 'golang',
    name: r.path,
    version: r.version,
    properties: { 'go:replaces': replaces },
  };
}

/** The packages a binary's build information stands for (see the module comment). */
export function goPackages(info: GoBuildInfo, warn: (m: string) => void): AnalyzedPackage[] {
  const packages: AnalyzedPackage[] = [];
  const settings = new Map(info.settings);
  if (info.main) {
    const pkg = modulePackage(info.main);
    const properties: Record<string, string> = { ...pkg.properties, 'go:main': 'true' };
    if (pkg.version === DEVEL && !info.main.replace) {
      const ldflags = settings.get('-ldflags');
      const found = ldflags ? versionFromLdflags(ldflags, info.main.path) : undefined;
      if (found) {
        pkg.version = found.version;
        properties['go:version_from'] = found.from;
      }
    }
    if (info.path && info.path !== info.main.path) properties['go:path'] = info.path;
    for (const [key, value] of info.settings) {
      if (KEPT_SETTINGS.has(key)) properties[`go:build:${key}`] = value;
    }
    pkg.properties = properties;
    packages.push(pkg);
  }
  for (const dep of info.deps) packages.push(modulePackage(dep));
  const stdlib = stdlibVersion(info.goVersion);
  if (stdlib) {
    packages.push({
      type: 'golang',
      name: 'stdlib',
      version: stdlib,
      properties: { 'go:toolchain': info.goVersion },
    });
  } else {
    warn(
      `Go toolchain "${info.goVersion.slice(0, 80)}" is not a release: standard library not listed`,
    );
  }
  return packages;
}

export const gobinaryAnalyzer: Analyzer = {
  id: 'gobinary',
  version: 1,
  wants: wantsExecutable,
  analyze(file: LayerFile): AnalyzerOutput {
    const limited = new FileWarnings(file.path);
    const warnings = limited.list;
    const warn = (message: string) => limited.add(`${file.path}: ${message}`);
    let info: GoBuildInfo | undefined;
    try {
      info = readGoBuildInfo(file.content, warn);
    } catch (err) {
      if (err instanceof ElfError) {
        // an executable that looks like ELF but is not readable: it may or may not be Go
        return { warnings: [`${file.path}: unreadable ELF file: ${err.message}`] };
      }
      if (err instanceof BuildInfoError) {
        return { warnings: [`${file.path}: unreadable Go build information: ${err.message}`] };
      }
      throw err;
    }
    if (!info) return {};
    const packages = goPackages(info, warn);
    limited.done();
    return { packages, warnings };
  },
};
