import { crc32, inflateRawSync } from 'node:zlib';
import type { Analyzer, AnalyzerOutput, LayerFile } from '../analyzer.js';
import type { AnalyzedPackage } from '../types.js';

/**
 * Java archives (jar, war, ear, par, and Jenkins' hpi/jpi plug-ins) and the archives nested in
 * them (Spring Boot's `BOOT-INF/lib/`, a WAR's `WEB-INF/lib/`, an EAR's modules and `lib/`).
 *
 * An archive is identified by, in order:
 * 1. every `META-INF/maven/<group>/<artifact>/pom.properties` it holds (a shaded jar holds one per
 *    artifact copied into it), which Maven writes with the exact coordinates;
 * 2. otherwise its `META-INF/MANIFEST.MF`, from which group, artifact and version are inferred
 *    (`java:guessed: manifest`);
 * 3. otherwise its file name, `snakeyaml-1.33.jar` → artifact `snakeyaml`, version `1.33`, group
 *    unknown (`java:guessed: filename`).
 * Maven names are `group:artifact`; when the group is unknown the name is the artifact alone.
 * `java:archive` says which archive a package was read from: the file's path, then `!` and the
 * entry path for each level of nesting (`app.jar!BOOT-INF/lib/snakeyaml-1.33.jar`).
 *
 * The zip reader is our own rather than fflate's `unzipSync`: that one inflates into a buffer of
 * the size an entry declares and keeps decoding past it (silently dropping the excess), so a
 * lying entry costs time without bound, and it needs the zip to start at offset 0, which a "fully
 * executable" Spring Boot jar with its launch script in front does not. This one reads the
 * central directory only, inflates only the entries it needs with Node's zlib (three to four
 * times fflate's speed on nested jars), stops an entry at its declared size, checks CRCs, and
 * bounds the work for one file: nesting depth, archives opened, directory records read and bytes
 * inflated or examined. Whatever goes past a bound is skipped with a warning.
 */

/** Archives nested deeper than this below the file itself are not opened (ear!war!jar is 2). */
export const MAX_NESTING = 3;
/** Nested archives opened for one file, all levels together. */
export const MAX_ARCHIVES = 10_000;
/** Central-directory records read for one file, all archives together. */
export const MAX_ENTRIES = 2_000_000;
/** Bytes of entries read for one file, inflated or stored, all archives together. */
export const MAX_ENTRY_BYTES = 1024 * 1024 ** 2;
/** One nested archive's size limit, the same as the layer walker's limit for a file. */
export const MAX_NESTED_ARCHIVE = 256 * 1024 ** 2;
/** A manifest or pom.properties larger than this is not metadata. */
export const MAX_METADATA = 1024 ** 2;
/** More warnings than this for one file are summarised in a last line. */
const MAX_WARNINGS = 20;

const ARCHIVE_EXTENSION = /[^/]\.(?:jar|war|ear|par|jpi|hpi)$/i;
const POM_PROPERTIES = /^META-INF\/maven\/([^/]+)\/([^/]+)\/pom\.properties$/;
const MANIFEST = 'META-INF/MANIFEST.MF';

export const javaAnalyzer: Analyzer = {
  id: 'java',
  version: 1,
  wants(path) {
    return ARCHIVE_EXTENSION.test(path);
  },
  analyze(file: LayerFile): AnalyzerOutput {
    const walk = new Walk();
    walk.archive(file.content, file.path, baseName(file.path), 0);
    return { packages: walk.packages, warnings: walk.finishWarnings(file.path) };
  },
};

class ZipError extends Error {}

/** A ZipError's message; a read past the end of a buffer is a damaged zip too. Others rethrown. */
function zipErrorMessage(err: unknown): string {
  if (err instanceof ZipError) return err.message;
  if (err instanceof RangeError) return `damaged zip: ${err.message}`;
  throw err;
}

interface ZipEntry {
  name: string;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  /** Offset of the local header in the buffer (any prefix before the zip accounted for). */
  localOffset: number;
}

/** The bounded state of one file's walk. */
class Walk {
  readonly packages: AnalyzedPackage[] = [];
  private readonly seen = new Set<string>();
  private readonly warnings: string[] = [];
  private dropped = 0;
  private archives = 0;
  private entries = 0;
  private bytes = 0;
  private stopped = false;

  warn(message: string): void {
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push(message);
    else this.dropped++;
  }

  finishWarnings(path: string): string[] {
    if (this.dropped > 0) this.warnings.push(`${path}: ${this.dropped} more warnings not shown`);
    return this.warnings;
  }

  private add(pkg: AnalyzedPackage): void {
    const key = `${pkg.name}\u0000${pkg.version}\u0000${pkg.properties?.['java:archive']}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.packages.push(pkg);
  }

  /** Reads one archive and, depth first, the archives in it. `label` is its `java:archive`. */
  archive(data: Uint8Array, label: string, fileName: string, depth: number): void {
    if (this.stopped) return;
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);

    let listing: ZipEntry[];
    try {
      listing = this.listEntries(buf);
    } catch (err) {
      this.warn(`${label}: ${zipErrorMessage(err)}`);
      return;
    }

    let manifest: ZipEntry | undefined;
    const poms: ZipEntry[] = [];
    const nested: ZipEntry[] = [];
    for (const entry of listing) {
      if (entry.name.toUpperCase() === MANIFEST) manifest ??= entry;
      else if (POM_PROPERTIES.test(entry.name)) poms.push(entry);
      else nested.push(entry);
    }

    const manifestText = manifest ? this.readMetadata(buf, manifest, label) : undefined;
    const mainAttributes = manifestText !== undefined ? parseManifest(manifestText) : undefined;
    const licenses = mainAttributes ? bundleLicenses(mainAttributes) : [];

    let identified = false;
    for (const pomEntry of poms) {
      const text = this.readMetadata(buf, pomEntry, label);
      if (text === undefined) continue;
      const pkg = pomPackage(pomEntry.name, text, label, (m) => this.warn(m));
      if (!pkg) continue;
      // Bundle-License describes the archive: only meaningful when it holds one artifact.
      if (poms.length === 1 && licenses.length > 0) pkg.licenses = licenses;
      this.add(pkg);
      identified = true;
    }
    if (poms.length === 0) {
      const pkg = inferPackage(mainAttributes, fileName, label);
      if (pkg) {
        if (pkg.properties?.['java:guessed'] === 'manifest' && licenses.length > 0)
          pkg.licenses = licenses;
        this.add(pkg);
        identified = true;
      }
    }
    if (!identified && poms.length === 0 && nested.length === 0)
      this.warn(`${label}: no pom.properties, manifest or file name says what this archive is`);

    for (const entry of nested) {
      const childLabel = `${label}!${entry.name}`;
      if (depth + 1 > MAX_NESTING) {
        this.warn(`${childLabel}: nested more than ${MAX_NESTING} archives deep; not opened`);
        continue;
      }
      if (this.archives >= MAX_ARCHIVES) {
        this.warn(`${childLabel}: more than ${MAX_ARCHIVES} nested archives; the rest not opened`);
        this.stopped = true;
        return;
      }
      if (entry.size > MAX_NESTED_ARCHIVE) {
        this.warn(
          `${childLabel}: ${entry.size} bytes is more than the ${MAX_NESTED_ARCHIVE} allowed; skipped`,
        );
        continue;
      }
      const content = this.readEntry(buf, entry, label);
      if (content === undefined) continue;
      this.archives++;
      this.archive(content, childLabel, baseName(entry.name), depth + 1);
      if (this.stopped) return;
    }
  }

  /**
   * The central directory's entries that matter (manifest, pom.properties, nested archives), in
   * directory order. Throws a ZipError when the buffer is not a readable zip.
   */
  private listEntries(buf: Buffer): ZipEntry[] {
    const eocd = findEndOfCentralDirectory(buf);
    if (eocd < 0) throw new ZipError('not a zip archive (no end of central directory record)');
    let count = buf.readUInt16LE(eocd + 10);
    let cdSize = buf.readUInt32LE(eocd + 12);
    let cdOffset = buf.readUInt32LE(eocd + 16);
    let cdEnd = eocd;
    const zip64 = findZip64End(buf, eocd);
    if (zip64 >= 0) {
      count = readU64(buf, zip64 + 32);
      cdSize = readU64(buf, zip64 + 40);
      cdOffset = readU64(buf, zip64 + 48);
      cdEnd = zip64;
    }
    const cdStart = cdEnd - cdSize;
    // Bytes in front of the zip (a launch script) shift every offset by the same amount.
    const shift = cdStart - cdOffset;
    if (cdStart < 0 || shift < 0)
      throw new ZipError('damaged zip: central directory out of bounds');
    if (count * 46 > cdSize)
      throw new ZipError(
        `damaged zip: ${count} entries do not fit a ${cdSize}-byte central directory`,
      );
    if (this.entries + count > MAX_ENTRIES) {
      this.stopped = true;
      throw new ZipError(
        `more than ${MAX_ENTRIES} zip entries in this file, all archives together; the rest not read`,
      );
    }
    this.entries += count;

    const found: ZipEntry[] = [];
    let p = cdStart;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cdEnd || buf.readUInt32LE(p) !== 0x02014b50)
        throw new ZipError(`damaged zip: central directory record ${i + 1} of ${count} unreadable`);
      const nameLength = buf.readUInt16LE(p + 28);
      const extraLength = buf.readUInt16LE(p + 30);
      const next = p + 46 + nameLength + extraLength + buf.readUInt16LE(p + 32);
      if (next > cdEnd)
        throw new ZipError(`damaged zip: central directory record ${i + 1} runs past its end`);
      // latin1 keeps ASCII as is, which is all the names looked for are made of
      const nameStart = p + 46;
      const ascii = buf.toString('latin1', nameStart, nameStart + nameLength);
      if (isWantedEntry(ascii)) {
        let compressedSize = buf.readUInt32LE(p + 20);
        let size = buf.readUInt32LE(p + 24);
        let localOffset = buf.readUInt32LE(p + 42);
        if (compressedSize === 0xffffffff || size === 0xffffffff || localOffset === 0xffffffff) {
          const z = readZip64Extra(buf, nameStart + nameLength, extraLength, {
            size,
            compressedSize,
            localOffset,
          });
          ({ size, compressedSize, localOffset } = z);
        }
        found.push({
          name: buf.toString('utf8', nameStart, nameStart + nameLength),
          flags: buf.readUInt16LE(p + 8),
          method: buf.readUInt16LE(p + 10),
          crc: buf.readUInt32LE(p + 16),
          compressedSize,
          size,
          localOffset: localOffset + shift,
        });
      }
      p = next;
    }
    return found;
  }

  /** A manifest or pom.properties as text, or undefined (with a warning) when unreadable. */
  private readMetadata(buf: Buffer, entry: ZipEntry, label: string): string | undefined {
    if (entry.size > MAX_METADATA) {
      this.warn(`${label}!${entry.name}: ${entry.size} bytes is too large for metadata; skipped`);
      return undefined;
    }
    const content = this.readEntry(buf, entry, label);
    if (content === undefined) return undefined;
    return Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString(
      entry.name.endsWith('.properties') ? 'latin1' : 'utf8',
    );
  }

  /** An entry's bytes (stored entries are not copied), or undefined with a warning. */
  private readEntry(buf: Buffer, entry: ZipEntry, label: string): Uint8Array | undefined {
    const where = `${label}!${entry.name}`;
    if (this.bytes + entry.size > MAX_ENTRY_BYTES) {
      this.warn(
        `${where}: reading its ${entry.size} bytes would pass the ${MAX_ENTRY_BYTES} bytes allowed for one file; skipped`,
      );
      return undefined;
    }
    this.bytes += entry.size;
    try {
      if (entry.flags & 1) throw new ZipError('encrypted entry');
      const data = entryData(buf, entry);
      let content: Uint8Array;
      if (entry.method === 0) {
        if (entry.compressedSize !== entry.size)
          throw new ZipError('stored entry whose sizes differ');
        content = data;
      } else if (entry.method === 8) {
        content = inflateBounded(data, entry.size);
      } else {
        throw new ZipError(`compression method ${entry.method} not supported`);
      }
      if (crc32(content) >>> 0 !== entry.crc) throw new ZipError('CRC-32 mismatch');
      return content;
    } catch (err) {
      this.warn(`${where}: ${zipErrorMessage(err)}; skipped`);
      return undefined;
    }
  }
}

function isWantedEntry(name: string): boolean {
  if (name.endsWith('/')) return false;
  return (
    name.toUpperCase() === MANIFEST || POM_PROPERTIES.test(name) || ARCHIVE_EXTENSION.test(name)
  );
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function readU64(buf: Buffer, at: number): number {
  const value = buf.readBigUInt64LE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER))
    throw new ZipError('damaged zip: 64-bit size out of range');
  return Number(value);
}

/** Offset of the end-of-central-directory record, searched backwards over a possible comment. */
function findEndOfCentralDirectory(buf: Buffer): number {
  const lowest = Math.max(0, buf.length - 22 - 0xffff);
  for (let i = buf.length - 22; i >= lowest; i--) {
    if (buf[i] !== 0x50 || buf.readUInt32LE(i) !== 0x06054b50) continue;
    if (i + 22 + buf.readUInt16LE(i + 20) <= buf.length) return i;
  }
  return -1;
}

/** Offset of the zip64 end-of-central-directory record, or -1 for a plain zip. */
function findZip64End(buf: Buffer, eocd: number): number {
  const locator = eocd - 20;
  if (locator < 0 || buf.readUInt32LE(locator) !== 0x07064b50) return -1;
  // The locator gives the record's offset from the start of the zip; with bytes in front of
  // the zip it is not there, but (without extensible data) it ends where the locator starts.
  const declared = readU64(buf, locator + 8);
  for (const at of [declared, locator - 56]) {
    if (at >= 0 && at + 56 <= locator && buf.readUInt32LE(at) === 0x06064b50) return at;
  }
  throw new ZipError('damaged zip: zip64 end of central directory record not found');
}

function readZip64Extra(
  buf: Buffer,
  start: number,
  length: number,
  sizes: { size: number; compressedSize: number; localOffset: number },
): { size: number; compressedSize: number; localOffset: number } {
  const out = { ...sizes };
  for (let p = start; p + 4 <= start + length;) {
    const id = buf.readUInt16LE(p);
    const size = buf.readUInt16LE(p + 2);
    const end = p + 4 + size;
    if (end > start + length) break;
    if (id === 0x0001) {
      let q = p + 4;
      const next = () => {
        if (q + 8 > end) throw new ZipError('damaged zip: short zip64 extra field');
        const v = readU64(buf, q);
        q += 8;
        return v;
      };
      // only the fields saturated in the fixed record are present, in this order
      if (out.size === 0xffffffff) out.size = next();
      if (out.compressedSize === 0xffffffff) out.compressedSize = next();
      if (out.localOffset === 0xffffffff) out.localOffset = next();
      return out;
    }
    p = end;
  }
  throw new ZipError('damaged zip: sizes say zip64 but there is no zip64 extra field');
}

/** The bytes of an entry as stored in the archive (compressed, if it is). */
function entryData(buf: Buffer, entry: ZipEntry): Buffer {
  const p = entry.localOffset;
  if (p + 30 > buf.length || buf.readUInt32LE(p) !== 0x04034b50)
    throw new ZipError('local header not found');
  const start = p + 30 + buf.readUInt16LE(p + 26) + buf.readUInt16LE(p + 28);
  const end = start + entry.compressedSize;
  if (end > buf.length) throw new ZipError('entry data runs past the end of the archive');
  return buf.subarray(start, end);
}

/**
 * Inflates a raw deflate stream that should give exactly `size` bytes. zlib stops as soon as the
 * output passes `maxOutputLength` (it checks after every 16 KiB it writes), so an entry lying
 * about its size (a zip bomb) costs no more than its declared size; one that gives less is an
 * error too.
 */
function inflateBounded(data: Uint8Array, size: number): Uint8Array {
  let out: Buffer;
  try {
    out = inflateRawSync(data, { maxOutputLength: Math.max(size, 1) });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new ZipError(`inflates to more than the ${size} bytes its header declares`);
    throw new ZipError(`bad deflate data (${err instanceof Error ? err.message : String(err)})`);
  }
  if (out.length !== size)
    throw new ZipError(`inflates to ${out.length} bytes, not the ${size} its header declares`);
  return out;
}

/**
 * Java properties (as Maven writes pom.properties): `key=value`, `key: value` or `key value`,
 * `#`/`!` comments, backslash continuations and escapes.
 */
export function parseProperties(text: string): Map<string, string> {
  const props = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^[ \t\f]+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    // an odd number of trailing backslashes joins the next line, its leading space dropped
    while (/(?:^|[^\\])(?:\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.replace(/^[ \t\f]+/, '');
    }
    let k = 0;
    while (k < line.length && !'=: \t\f'.includes(line[k]!)) k += line[k] === '\\' ? 2 : 1;
    const key = line.slice(0, k);
    let rest = line.slice(k).replace(/^[ \t\f]*/, '');
    if (rest.startsWith('=') || rest.startsWith(':')) rest = rest.slice(1).replace(/^[ \t\f]*/, '');
    if (!props.has(unescapeProperty(key))) props.set(unescapeProperty(key), unescapeProperty(rest));
  }
  return props;
}

function unescapeProperty(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|.?)/g, (_m, c: string) => {
    if (c.startsWith('u') && c.length === 5) return String.fromCharCode(parseInt(c.slice(1), 16));
    return ({ t: '\t', n: '\n', r: '\r', f: '\f' } as Record<string, string>)[c] ?? c;
  });
}

function pomPackage(
  entryName: string,
  text: string,
  label: string,
  warn: (message: string) => void,
): AnalyzedPackage | undefined {
  const [, pathGroup, pathArtifact] = POM_PROPERTIES.exec(entryName)!;
  const props = parseProperties(text);
  const group = props.get('groupId')?.trim() || pathGroup!;
  const artifact = props.get('artifactId')?.trim() || pathArtifact!;
  const version = props.get('version')?.trim();
  if (!version) {
    warn(`${label}!${entryName}: no version; skipped`);
    return undefined;
  }
  if (`${group}${artifact}${version}`.includes('${')) {
    warn(`${label}!${entryName}: unresolved property in ${group}:${artifact}:${version}; skipped`);
    return undefined;
  }
  return {
    type: 'maven',
    name: `${group}:${artifact}`,
    version,
    properties: { 'java:archive': label },
  };
}

/**
 * The main section of a manifest (https://docs.oracle.com/en/java/javase/17/docs/specs/jar/jar.html):
 * `Name: value` lines up to the first blank line, a line starting with one space continuing the
 * previous one. Attribute names are case-insensitive: the map's keys are lower case.
 */
export function parseManifest(text: string): Map<string, string> {
  const attributes = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)) {
    if (line === '') break;
    if (line.startsWith(' ')) {
      if (last !== undefined) attributes.set(last, attributes.get(last)! + line.slice(1));
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      last = undefined;
      continue;
    }
    const name = line.slice(0, colon).trim().toLowerCase();
    last = attributes.has(name) ? undefined : name;
    if (last !== undefined) attributes.set(name, line.slice(colon + 1).replace(/^ /, ''));
  }
  for (const [k, v] of attributes) attributes.set(k, v.trim());
  return attributes;
}

/** `Bundle-License: Apache-2.0;link="…", MIT` → `['Apache-2.0', 'MIT']`. */
function bundleLicenses(attributes: Map<string, string>): string[] {
  const value = attributes.get('bundle-license');
  if (!value) return [];
  const out: string[] = [];
  for (const clause of value.match(/(?:[^,"]|"[^"]*")+/g) ?? []) {
    const name = clause.split(';')[0]!.trim();
    if (name !== '' && name !== '<<EXTERNAL>>') out.push(name);
  }
  return out;
}

/** `snakeyaml-1.33.jar` → artifact `snakeyaml`, version `1.33`: split at the first `-<digit>`. */
export function splitArchiveName(fileName: string): { artifact: string; version?: string } {
  const stem = fileName.replace(/\.(?:jar|war|ear|par|jpi|hpi)$/i, '');
  const m = /-\d/.exec(stem);
  if (!m || m.index === 0) return { artifact: stem };
  return { artifact: stem.slice(0, m.index), version: stem.slice(m.index + 1) };
}

const TOKEN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * An archive without pom.properties: group, artifact and version from the manifest where it says
 * them, the file name filling in.
 *
 * The version is the first word of `Implementation-Version` (`5.13.0 (b0)` → `5.13.0`), Jenkins'
 * `Plugin-Version` or `Bundle-Version`, then the file name's, then `Specification-Version` (the
 * version of a specification, `4.0` for servlet-api 4.0.1). Where the manifest's version is the
 * file name's with decorations (`Bundle-Version: 3.22.0.v20241030-2121` in
 * `org.eclipse.osgi-3.22.0.jar`), the file name's is the Maven version.
 *
 * The group is only taken where it is stated (Jenkins' `Group-Id`) or where the OSGi symbolic name
 * is `<group>.<artifact>` with an artifact that cannot be a Java package name
 * (`com.fasterxml.jackson.core.jackson-annotations`). `org.objenesis` or `com.sun.jna` are package
 * names, which say nothing of where the group ends (objenesis is `org.objenesis:objenesis`, jna
 * `net.java.dev.jna:jna`), and `Implementation-Vendor-Id` is often the parent organisation's
 * (`org.apache` for `commons-pool:commons-pool`): a wrong group is worse than none.
 */
function inferPackage(
  attributes: Map<string, string> | undefined,
  fileName: string,
  label: string,
): AnalyzedPackage | undefined {
  const fromName = splitArchiveName(fileName);
  const m = attributes ?? new Map<string, string>();
  // first word, unquoted: `5.13.0 (b0)` → `5.13.0`, `"1.6"` → `1.6`
  const attr = (name: string) =>
    m
      .get(name)
      ?.split(/\s+/)[0]
      ?.replace(/^"(.*)"$/, '$1') || undefined;
  let fromManifest = false;

  let group: string | undefined;
  let artifact: string;
  if (attr('short-name') && attr('group-id')) {
    // a Jenkins plug-in's manifest
    group = attr('group-id');
    artifact = attr('short-name')!;
    fromManifest = true;
  } else {
    const symbolicName = m.get('bundle-symbolicname')?.split(';')[0]!.trim() || undefined;
    const title = [m.get('implementation-title'), m.get('specification-title')].find(
      (t) => t !== undefined && TOKEN.test(t),
    );
    if (fromName.version !== undefined) {
      artifact = fromName.artifact;
    } else if (title ?? symbolicName) {
      artifact = (title ?? symbolicName)!;
      fromManifest = true;
    } else {
      artifact = fromName.artifact;
    }
    if (
      symbolicName?.endsWith(`.${artifact}`) &&
      symbolicName.length > artifact.length + 1 &&
      !/^[A-Za-z_$][\w$]*$/.test(artifact)
    ) {
      group = symbolicName.slice(0, -artifact.length - 1);
      fromManifest = true;
    }
  }

  let version = attr('implementation-version') ?? attr('plugin-version') ?? attr('bundle-version');
  if (version !== undefined && fromName.version !== undefined) {
    // the file's version decorated (an OSGi qualifier `3.22.0.v20241030-2121`, Kotlin's
    // `1.8.21-release-380(1.8.21)`) is the file's version; a longer number (`1.2.3` for 1.2) is not
    const rest = version.startsWith(fromName.version)
      ? version.slice(fromName.version.length)
      : undefined;
    if (rest !== undefined && /^(?:[^\d.]|\.\D)/.test(rest)) version = fromName.version;
  }
  if (version !== undefined) fromManifest = true;
  version ??= fromName.version;
  if (version === undefined) {
    version = attr('specification-version');
    if (version !== undefined) fromManifest = true;
  }
  if (!version || !artifact || !TOKEN.test(artifact)) return undefined;
  return {
    type: 'maven',
    name: group !== undefined ? `${group}:${artifact}` : artifact,
    version,
    properties: { 'java:archive': label, 'java:guessed': fromManifest ? 'manifest' : 'filename' },
  };
}
