import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
// Deep imports on purpose: the package's main entry loads sql.js (a 30 MB WASM build of SQLite) to
// read rpmdb.sqlite; we read SQLite with better-sqlite3 and only need rpm-parser's Berkeley DB page
// walking, its NDB slot walking and its header decoder.
import {
  bufferToHashIndexValues,
  bufferToHashValueContent,
  validateBerkeleyDbMetadata,
  validatePageSize,
} from '@snyk/rpm-parser/dist/berkeleydb/index.js';
import { bufferToNdbValues } from '@snyk/rpm-parser/dist/ndb/index.js';
import { bufferToPackageInfo } from '@snyk/rpm-parser/dist/rpm/index.js';
import type { PackageInfo } from '@snyk/rpm-parser/dist/rpm/types.js';
import { FileWarnings, type Analyzer, type AnalyzerOutput, type LayerFile } from '../analyzer.js';
import type { AnalyzedPackage, SourcePackage } from '../types.js';

/**
 * Red Hat family and SUSE packages: the rpm database in any of its three formats. Each holds one
 * rpm header blob per installed package (https://rpm-software-management.github.io/rpm/manual/format_header.html);
 * only the container around the blobs differs:
 * - SQLite `rpmdb.sqlite` (rpm ≥ 4.16: RHEL 9, Fedora ≥ 33, Amazon Linux 2023, CBL-Mariner 2), table
 *   `Packages(hnum, blob)`. rpm runs it in WAL mode, so recent installs may still sit in
 *   `rpmdb.sqlite-wal`, which a layer captures next to the database.
 * - Berkeley DB hash `Packages` (RHEL ≤ 8, CentOS, Amazon Linux 2).
 * - NDB `Packages.db` (SUSE since SLE 15 SP3 / openSUSE).
 * Fedora ≥ 36 and SUSE keep the database in `usr/lib/sysimage/rpm` (`var/lib/rpm` is a symlink);
 * the format is recognised from the bytes, not from the file name.
 */
const DIRS = ['var/lib/rpm/', 'usr/lib/sysimage/rpm/'];
const DATABASES = ['Packages', 'Packages.db', 'rpmdb.sqlite'];
/**
 * The write-ahead log is wanted so that it arrives in `siblings`. `-shm` is not: it is only an index
 * into the WAL that SQLite rebuilds from the WAL when it is missing, and a stale copy would be
 * trusted, not rebuilt.
 */
const WAL_SUFFIX = '-wal';
export const RPM_DATABASES = DIRS.flatMap((dir) => DATABASES.map((name) => dir + name));
const WANTED = new Set([
  ...RPM_DATABASES,
  ...RPM_DATABASES.filter((p) => p.endsWith('.sqlite')).map((p) => p + WAL_SUFFIX),
]);

/** More warnings than this for one file are summarised in a last line. */

export const rpmAnalyzer: Analyzer = {
  id: 'rpm',
  version: 1,
  needsSiblings: true,
  wants(path) {
    return WANTED.has(path);
  },
  async analyze(file: LayerFile, siblings: ReadonlyMap<string, Buffer>): Promise<AnalyzerOutput> {
    const limited = new FileWarnings(file.path);
    const warnings = limited.list;
    const warn = (message: string) => limited.add(`${file.path}: ${message}`);

    if (file.path.endsWith(WAL_SUFFIX)) {
      // Read together with its database (see sqliteHeaders); on its own it cannot be used.
      const db = file.path.slice(0, -WAL_SUFFIX.length);
      if (siblings.has(db) || file.content.length === 0) return {};
      return {
        warnings: [
          `${file.path}: write-ahead log without ${db} in the same layer; the changes it holds are not seen`,
        ],
      };
    }
    if (file.content.length === 0) return { warnings: [`${file.path}: empty file; no packages`] };

    let headers: Buffer[];
    switch (detectFormat(file.content)) {
      case 'sqlite':
        headers = await sqliteHeaders(file.content, siblings.get(file.path + WAL_SUFFIX), warn);
        break;
      case 'ndb':
        headers = await ndbHeaders(file.content, warn);
        break;
      case 'bdb':
        headers = bdbHeaders(file.content, warn);
        break;
      case 'bdb-big-endian':
        throw new Error(
          'big-endian Berkeley DB (from an s390x or ppc64 image) is not supported by the reader',
        );
      default:
        throw new Error('not an rpm database: no SQLite, NDB or Berkeley DB hash header');
    }

    // rpm-parser's header decoder misses the header's last index entry (it slices the index 8
    // bytes short). Index entries are sorted by tag and rpm appends install-time tags after the
    // package's own, so in an rpmdb that entry is one we do not read: INSTALLTID (1128) in
    // 280 of the fixtures' 285 headers, 5119 in the 5 written by rpm 4.20.
    const packages: AnalyzedPackage[] = [];
    for (const [i, blob] of headers.entries()) {
      let info: PackageInfo | undefined;
      try {
        info = await bufferToPackageInfo(blob);
      } catch (err) {
        warn(`package header #${i + 1} unreadable (${(err as Error).message}); skipped`);
        continue;
      }
      if (info === undefined) {
        warn(`package header #${i + 1} lacks a name, version, release or size; skipped`);
        continue;
      }
      // Imported signing keys are stored as pseudo-packages; they are not software.
      if (info.name === 'gpg-pubkey') continue;
      packages.push(toPackage(info, blob, warn));
    }
    limited.done();
    return { packages, warnings };
  },
};

type Format = 'sqlite' | 'ndb' | 'bdb' | 'bdb-big-endian' | 'unknown';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** `RpmP`, little-endian, at offset 0. */
const NDB_MAGIC = 0x506d7052;
/** Berkeley DB hash magic, at offset 12 in the byte order of the machine that wrote the file. */
const BDB_HASH_MAGIC = 0x00061561;

function detectFormat(data: Buffer): Format {
  if (data.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) return 'sqlite';
  if (data.length >= 4 && data.readUInt32LE(0) === NDB_MAGIC) return 'ndb';
  if (data.length >= 16) {
    if (data.readUInt32LE(12) === BDB_HASH_MAGIC) return 'bdb';
    if (data.readUInt32BE(12) === BDB_HASH_MAGIC) return 'bdb-big-endian';
  }
  return 'unknown';
}

/**
 * SQLite: better-sqlite3 on a private copy. The bytes are written to a fresh temporary directory
 * (removed afterwards, whatever happens) together with the `-wal` sibling, and opened read-only,
 * so SQLite itself replays the committed WAL frames and ignores stale or torn ones (salts and
 * checksums). The simpler `new Database(buffer)` (sqlite3_deserialize) cannot be used: it refuses
 * WAL-mode files ("unable to open database file"), and rpm always writes its database in WAL mode.
 * Opening the file where it lies is not an option either: even a read-only open of a WAL database
 * creates `-wal` and `-shm` next to it.
 */
async function sqliteHeaders(
  content: Buffer,
  wal: Buffer | undefined,
  warn: (message: string) => void,
): Promise<Buffer[]> {
  checkSqliteSize(content);
  const dir = await mkdtemp(join(tmpdir(), 'regscan-rpmdb-'));
  try {
    const path = join(dir, 'rpmdb.sqlite');
    await writeFile(path, content);
    if (wal !== undefined && wal.length > 0) await writeFile(path + WAL_SUFFIX, wal);
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      // The file comes from an image: never run functions named by its schema (views, triggers).
      db.pragma('trusted_schema = OFF');
      const table = db
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'Packages'")
        .get();
      if (table === undefined) throw new Error('SQLite database without a Packages table');
      // The instance numbers first, then each header on its own: in a damaged file a bad blob
      // (its overflow pages cut off, say) then costs one package, not the rest of the table.
      const hnums = db.prepare('SELECT hnum FROM Packages ORDER BY hnum').pluck().all();
      const select = db.prepare('SELECT blob FROM Packages WHERE hnum = ?').pluck();
      const headers: Buffer[] = [];
      let damaged = 0;
      let firstError = '';
      for (const hnum of hnums) {
        let blob: unknown;
        try {
          blob = select.get(hnum);
        } catch (err) {
          if (damaged++ === 0) firstError = (err as Error).message;
          continue;
        }
        if (Buffer.isBuffer(blob)) headers.push(blob);
        else warn(`package ${String(hnum)} has no header blob; skipped`);
      }
      if (damaged > 0)
        warn(`${damaged} of ${hnums.length} packages unreadable (${firstError}); skipped`);
      return headers;
    } finally {
      db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * SQLite refuses a file shorter than its header says with a bare "database disk image is
 * malformed" (https://www.sqlite.org/fileformat2.html#in_header_database_size): say what it is.
 * The header's page count is trusted only when valid, as SQLite does; a checkpoint never leaves
 * the main file shorter than its page count, WAL or not.
 */
function checkSqliteSize(content: Buffer): void {
  if (content.length < 100) throw new Error('truncated SQLite database: no complete header');
  const raw = content.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  const pages = content.readUInt32BE(28);
  const valid = pages > 0 && content.readUInt32BE(24) === content.readUInt32BE(92);
  if (valid && pages * pageSize > content.length)
    throw new Error(
      `truncated SQLite database: ${content.length} bytes, its header announces ${pages} pages of ${pageSize}`,
    );
}

/** NDB: rpm-parser reads the slot pages and the blobs they point to. */
async function ndbHeaders(data: Buffer, warn: (message: string) => void): Promise<Buffer[]> {
  const headers = await bufferToNdbValues(data);
  // rpm-parser skips a slot whose blob is missing or damaged without telling: count them here.
  const used = usedNdbSlots(data);
  if (headers.length < used)
    warn(`${used - headers.length} of ${used} packages unreadable (damaged or truncated file)`);
  return headers;
}

const NDB_SLOT_MAGIC = 0x746f6c53; // `Slot`

/** Slots in use, counted over the same range rpm-parser reads (it checked that range exists). */
function usedNdbSlots(data: Buffer): number {
  const slots = data.readUInt32LE(12) * 256;
  let used = 0;
  for (let i = 0; i < slots; i++) {
    const at = 32 + i * 16;
    if (data.readUInt32LE(at) === NDB_SLOT_MAGIC && data.readUInt32LE(at + 4) !== 0) used++;
  }
  return used;
}

const BDB_PAGE_HEADER = 26;
const P_HASH = 13;
const H_OFFPAGE = 3;

/**
 * Berkeley DB: rpm-parser's `bufferToHashDbValues` is not used whole, for two reasons: it stops
 * one page short (it loops `page < last_pgno`, so a hash page that is the file's last page is never
 * read), and one bad item or a truncated file makes it throw everything away. This loop walks
 * pages 1..last_pgno itself and uses rpm-parser's per-page helpers, so a damaged item costs one
 * package and a warning. Like rpm-parser (and go-rpmdb), it reads only values stored on overflow
 * pages: rpm headers are always larger than the inline-item limit (and the one small record,
 * rpm's key-0 counter, is not a package).
 */
function bdbHeaders(data: Buffer, warn: (message: string) => void): Buffer[] {
  if (data.length < 512) throw new Error('truncated Berkeley DB: smaller than one page');
  validateBerkeleyDbMetadata(data);
  const pageSize = data.readUInt32LE(20);
  validatePageSize(pageSize);
  const lastPage = data.readUInt32LE(32);
  const pages = Math.floor(data.length / pageSize);
  if (lastPage >= pages) warn(`truncated: ${pages} of ${lastPage + 1} pages present`);
  const headers: Buffer[] = [];
  for (let p = 1; p <= Math.min(lastPage, pages - 1); p++) {
    const page = data.subarray(p * pageSize, (p + 1) * pageSize);
    if (page[25] !== P_HASH) continue;
    let items: number[];
    try {
      items = bufferToHashIndexValues(page, page.readUInt16LE(20));
    } catch (err) {
      warn(`hash page ${p} unreadable (${(err as Error).message}); skipped`);
      continue;
    }
    for (const at of items) {
      if (page[at] !== H_OFFPAGE) continue;
      // An overflow item is 12 bytes: type, padding, first page, length.
      if (at < BDB_PAGE_HEADER || at + 12 > pageSize) {
        warn(`hash page ${p}: item offset ${at} outside the page; skipped`);
        continue;
      }
      // rpm-parser allocates the announced length before reading: bound it by the file.
      const length = page.readUInt32LE(at + 8);
      if (length > data.length) {
        warn(`hash page ${p}: item of ${length} bytes is larger than the file; skipped`);
        continue;
      }
      try {
        headers.push(bufferToHashValueContent(data, page, at, pageSize));
      } catch (err) {
        warn(`hash page ${p}: overflow chain unreadable (${(err as Error).message}); skipped`);
      }
    }
  }
  return headers;
}

function toPackage(
  info: PackageInfo,
  blob: Buffer,
  warn: (message: string) => void,
): AnalyzedPackage {
  // rpm's EVR as matching needs it: epoch 0 and no epoch compare equal, so `0:` is left out.
  const evr = `${info.version}${info.release ? `-${info.release}` : ''}`;
  const pkg: AnalyzedPackage = {
    type: 'rpm',
    name: info.name,
    version: info.epoch ? `${info.epoch}:${evr}` : evr,
    release: info.release,
  };
  if (info.epoch !== undefined) pkg.epoch = info.epoch;
  if (info.arch) pkg.arch = info.arch;
  if (info.sourceRPM && info.sourceRPM !== '(none)') {
    const source = parseSourceRpm(info.sourceRPM);
    if (source) pkg.source = source;
    else warn(`${info.name}: unreadable source rpm name "${info.sourceRPM}"`);
  }
  const license = headerString(blob, TAG_LICENSE);
  if (license) pkg.licenses = [license];
  if (info.module) pkg.properties = { 'rpm:modularitylabel': info.module };
  return pkg;
}

/**
 * `openssl-3.0.7-27.el9.src.rpm` → `{ name: 'openssl', version: '3.0.7-27.el9' }`. Name may contain
 * dashes, version and release may not, so the split is from the right. The file name carries no
 * epoch: the version is exactly what it says (a matcher comparing it against epoch-ful ranges must
 * supply the binary package's epoch, which a source and its binaries share).
 */
export function parseSourceRpm(file: string): SourcePackage | undefined {
  const m = /^(.+)-([^-]+)-([^-]+)\.(?:src|nosrc)\.rpm$/.exec(file);
  if (!m) return undefined;
  return { name: m[1]!, version: `${m[2]!}-${m[3]!}` };
}

/** rpm's lib/rpmtag.h: the tag rpm-parser does not decode, and the string types it may have. */
const TAG_LICENSE = 1014;
const STRING_TYPES = new Set([6 /* STRING */, 8 /* STRING_ARRAY */, 9 /* I18NSTRING */]);

/**
 * The first string of one tag, read straight from the header blob: rpm-parser's `PackageInfo` has
 * no licence. Layout: entry count and data length (big-endian uint32 each), then 16-byte index
 * entries (tag, type, offset into the data, count), then the data; strings end with NUL.
 */
function headerString(blob: Buffer, tag: number): string | undefined {
  if (blob.length < 8) return undefined;
  const entries = blob.readUInt32BE(0);
  const dataLength = blob.readUInt32BE(4);
  const dataStart = 8 + entries * 16;
  const dataEnd = dataStart + dataLength;
  if (dataEnd > blob.length) return undefined;
  for (let i = 0; i < entries; i++) {
    const at = 8 + i * 16;
    if (blob.readInt32BE(at) !== tag) continue;
    if (!STRING_TYPES.has(blob.readUInt32BE(at + 4))) return undefined;
    const offset = blob.readInt32BE(at + 8);
    if (offset < 0 || offset >= dataLength) return undefined;
    const end = blob.indexOf(0, dataStart + offset);
    if (end < 0 || end >= dataEnd) return undefined;
    return blob.toString('utf8', dataStart + offset, end);
  }
  return undefined;
}
