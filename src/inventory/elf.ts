import { DEFAULT_LIMITS } from '../image/layer.js';
import type { FileInfo } from './analyzer.js';

/**
 * Just enough of ELF (System V gABI, "ELF Header", "Sections" and "Program Header" chapters:
 * https://refspecs.linuxfoundation.org/elf/gabi4+/contents.html) to find a named section's bytes
 * and to read bytes at a virtual address: what the analyzers of content-detected files need (Go
 * build information in `.go.buildinfo`, cargo-auditable's `.dep-v0`). 32- and 64-bit, either byte
 * order; nothing is relocated or executed, and every offset is checked against the file's length,
 * so a truncated or hostile file gives an `ElfError`, never a read outside the buffer.
 */

export class ElfError extends Error {
  override name = 'ElfError';
}

export interface ElfSection {
  name: string;
  /** sh_type: 1 PROGBITS, 8 NOBITS (no bytes in the file), ... */
  type: number;
  /** sh_flags, low 32 bits: 0x1 WRITE, 0x2 ALLOC, 0x4 EXECINSTR, 0x800 COMPRESSED. */
  flags: number;
  addr: number;
  offset: number;
  size: number;
}

export interface ElfSegment {
  /** p_type: 1 is PT_LOAD. */
  type: number;
  /** p_flags: 0x1 X, 0x2 W, 0x4 R. */
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
}

export interface ElfFile {
  bits: 32 | 64;
  littleEndian: boolean;
  /** e_type: 2 executable, 3 shared object (PIE executables too). */
  type: number;
  /** e_machine: 62 x86-64, 183 AArch64, 3 i386, 40 ARM, 22 s390, 21 PPC64, ... */
  machine: number;
  /** Empty when the file has no section header table (stripped of it, as `sstrip` does). */
  sections: ElfSection[];
  segments: ElfSegment[];
}

export const PT_LOAD = 1;
export const PF_W = 0x2;
export const SHT_NOBITS = 8;
export const SHF_COMPRESSED = 0x800;

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
/** More section or program headers than this is not a file any linker wrote. */
const MAX_HEADERS = 65536;

export function isElf(buf: Buffer): boolean {
  return buf.length >= 4 && buf.subarray(0, 4).equals(ELF_MAGIC);
}

/** Bounds-checked reads in the file's byte order and word size. */
class Reader {
  constructor(
    readonly buf: Buffer,
    readonly bits: 32 | 64,
    readonly le: boolean,
  ) {}

  private check(offset: number, length: number, what: string): void {
    if (offset < 0 || length < 0 || offset + length > this.buf.length) {
      throw new ElfError(
        `${what} at offset ${offset} lies beyond the end of the file (truncated?)`,
      );
    }
  }

  u8(offset: number, what: string): number {
    this.check(offset, 1, what);
    return this.buf[offset]!;
  }

  u16(offset: number, what: string): number {
    this.check(offset, 2, what);
    return this.le ? this.buf.readUInt16LE(offset) : this.buf.readUInt16BE(offset);
  }

  u32(offset: number, what: string): number {
    this.check(offset, 4, what);
    return this.le ? this.buf.readUInt32LE(offset) : this.buf.readUInt32BE(offset);
  }

  u64(offset: number, what: string): number {
    this.check(offset, 8, what);
    const v = this.le ? this.buf.readBigUInt64LE(offset) : this.buf.readBigUInt64BE(offset);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`${what} is out of range`);
    return Number(v);
  }

  /** A word: 4 bytes in ELF32, 8 in ELF64 (addresses, offsets, sizes). */
  word(offset: number, what: string): number {
    return this.bits === 32 ? this.u32(offset, what) : this.u64(offset, what);
  }

  /** sh_flags is a word; only its low 32 bits carry flags anyone uses. */
  flags(offset: number, what: string): number {
    if (this.bits === 32) return this.u32(offset, what);
    return this.le ? this.u32(offset, what) : this.u32(offset + 4, what);
  }
}

/**
 * Parses the ELF header, the section header table (with section names) and the program header
 * table. Throws `ElfError` for a file that starts like ELF but is not a readable one.
 */
export function parseElf(buf: Buffer): ElfFile {
  if (!isElf(buf)) throw new ElfError('not an ELF file');
  if (buf.length < 52) throw new ElfError('ELF header cut short (truncated?)');
  const cls = buf[4];
  const data = buf[5];
  if (cls !== 1 && cls !== 2) throw new ElfError(`unknown ELF class ${cls}`);
  if (data !== 1 && data !== 2) throw new ElfError(`unknown ELF byte order ${data}`);
  const bits = cls === 1 ? 32 : 64;
  const r = new Reader(buf, bits, data === 1);
  const type = r.u16(16, 'e_type');
  const machine = r.u16(18, 'e_machine');
  // the header's layout after e_version (offset 20) depends on the word size
  const w = bits === 32 ? 4 : 8;
  const phoff = r.word(24 + w, 'e_phoff');
  const shoff = r.word(24 + 2 * w, 'e_shoff');
  const base = 24 + 3 * w + 4; // past e_flags
  const phentsize = r.u16(base + 2, 'e_phentsize');
  let phnum = r.u16(base + 4, 'e_phnum');
  const shentsize = r.u16(base + 6, 'e_shentsize');
  let shnum = r.u16(base + 8, 'e_shnum');
  let shstrndx = r.u16(base + 10, 'e_shstrndx');

  const shdrSize = bits === 32 ? 40 : 64;
  const phdrSize = bits === 32 ? 32 : 56;

  const sections: ElfSection[] = [];
  if (shoff !== 0) {
    if (shentsize < shdrSize) throw new ElfError(`section header entries of ${shentsize} bytes`);
    // Extended numbering: with 0xff00 sections or more, the real count and string table index
    // live in section 0's sh_size and sh_link.
    if (shnum === 0) shnum = r.word(shoff + (bits === 32 ? 20 : 32), 'section count');
    if (shstrndx === 0xffff)
      shstrndx = r.u32(shoff + (bits === 32 ? 24 : 40), 'string table index');
    if (shnum > MAX_HEADERS) throw new ElfError(`${shnum} section headers`);
    if (shoff + shnum * shentsize > buf.length) {
      throw new ElfError('section header table lies beyond the end of the file (truncated?)');
    }
    const nameOffsets: number[] = [];
    for (let i = 0; i < shnum; i++) {
      const h = shoff + i * shentsize;
      nameOffsets.push(r.u32(h, 'sh_name'));
      const typ = r.u32(h + 4, 'sh_type');
      const flags = r.flags(h + 8, 'sh_flags');
      const addr = r.word(h + 8 + w, 'sh_addr');
      const offset = r.word(h + 8 + 2 * w, 'sh_offset');
      const size = r.word(h + 8 + 3 * w, 'sh_size');
      sections.push({ name: '', type: typ, flags, addr, offset, size });
    }
    const strtab = sections[shstrndx];
    if (strtab && strtab.type !== SHT_NOBITS) {
      const start = strtab.offset;
      const end = start + strtab.size;
      if (end > buf.length) {
        throw new ElfError('section name table lies beyond the end of the file (truncated?)');
      }
      for (const [i, s] of sections.entries()) {
        const at = start + nameOffsets[i]!;
        if (at >= end) continue;
        const nul = buf.indexOf(0, at);
        s.name = buf.toString('latin1', at, nul < 0 || nul > end ? end : nul);
      }
    }
  }

  const segments: ElfSegment[] = [];
  if (phoff !== 0) {
    if (phnum === 0xffff && sections[0]) phnum = r.u32(shoff + (bits === 32 ? 28 : 44), 'phnum');
    if (phentsize < phdrSize) throw new ElfError(`program header entries of ${phentsize} bytes`);
    if (phnum > MAX_HEADERS) throw new ElfError(`${phnum} program headers`);
    if (phoff + phnum * phentsize > buf.length) {
      throw new ElfError('program header table lies beyond the end of the file (truncated?)');
    }
    for (let i = 0; i < phnum; i++) {
      const h = phoff + i * phentsize;
      const typ = r.u32(h, 'p_type');
      if (bits === 32) {
        segments.push({
          type: typ,
          offset: r.u32(h + 4, 'p_offset'),
          vaddr: r.u32(h + 8, 'p_vaddr'),
          filesz: r.u32(h + 16, 'p_filesz'),
          memsz: r.u32(h + 20, 'p_memsz'),
          flags: r.u32(h + 24, 'p_flags'),
        });
      } else {
        segments.push({
          type: typ,
          flags: r.u32(h + 4, 'p_flags'),
          offset: r.u64(h + 8, 'p_offset'),
          vaddr: r.u64(h + 16, 'p_vaddr'),
          filesz: r.u64(h + 32, 'p_filesz'),
          memsz: r.u64(h + 40, 'p_memsz'),
        });
      }
    }
  }
  return { bits, littleEndian: data === 1, type, machine, sections, segments };
}

export function findSection(elf: ElfFile, name: string): ElfSection | undefined {
  return elf.sections.find((s) => s.name === name);
}

/**
 * The bytes a section holds in the file (a view, not a copy); undefined for a section with no
 * bytes in the file (NOBITS). Throws when the section claims bytes past the end of the file.
 */
export function sectionBytes(buf: Buffer, section: ElfSection): Buffer | undefined {
  if (section.type === SHT_NOBITS) return undefined;
  if (section.offset + section.size > buf.length) {
    throw new ElfError(`section ${section.name} lies beyond the end of the file (truncated?)`);
  }
  return buf.subarray(section.offset, section.offset + section.size);
}

/**
 * `length` bytes at virtual address `addr`, as the loader maps them: through the PT_LOAD segments
 * (the file's part of each; the zero-filled rest is not in the file), or through the sections when
 * there are no program headers (a relocatable object). Undefined when no part of the file is
 * mapped there, or the range runs past what the file holds.
 */
export function readVirtual(
  buf: Buffer,
  elf: ElfFile,
  addr: number,
  length: number,
): Buffer | undefined {
  const ranges = elf.segments.some((s) => s.type === PT_LOAD)
    ? elf.segments
        .filter((s) => s.type === PT_LOAD)
        .map((s) => ({ vaddr: s.vaddr, offset: s.offset, size: s.filesz }))
    : elf.sections
        .filter((s) => s.addr !== 0 && s.type !== SHT_NOBITS)
        .map((s) => ({ vaddr: s.addr, offset: s.offset, size: s.size }));
  for (const { vaddr, offset, size } of ranges) {
    if (addr < vaddr || addr + length > vaddr + size) continue;
    const start = offset + (addr - vaddr);
    if (start + length > buf.length) return undefined;
    return buf.subarray(start, start + length);
  }
  return undefined;
}

/** Smallest file worth reading as a compiled program: below this it is a script or a stub. */
export const MIN_EXECUTABLE_BYTES = 1024;
/** Files the walker would not read anyway (its default limit) are not asked for. */
export const MAX_EXECUTABLE_BYTES = DEFAULT_LIMITS.maxFileBytes;

/** Places where executable-bit files are documentation, headers or configuration, not programs. */
const NOT_PROGRAMS =
  /^(?:usr\/share\/(?:doc|man|info|locale|zoneinfo)\/|usr\/include\/|etc\/|proc\/|sys\/|dev\/)/;
/** Names of files that carry an executable bit but are text (scripts, sources, data). */
const TEXT_NAME =
  /\.(?:sh|bash|py|pl|pm|rb|js|mjs|cjs|ts|php|lua|tcl|txt|md|json|ya?ml|xml|html?|css|h|c|go|rs|java|conf|cfg|ini)$/i;
/**
 * Which files the analyzers of compiled programs (Go build information, cargo-auditable data)
 * ask for. Whether a file is one is decided from its bytes, so the walker is asked for every
 * regular file with an executable bit (`info.mode & 0o111`), between 1 KiB and the walker's
 * default size limit, outside the few places that hold no programs and not named like a script.
 * Shared libraries with an executable bit are read too: Go `c-shared` libraries and Rust cdylibs
 * carry the same data.
 *
 * Without `info` the answer is no, whatever the path. The walker asks that way about links
 * (symlinks, hard links) only, and wanting a link gains nothing here — links are not counted, the
 * file they lead to is read at its own path — while a wanted link whose target is not read (the
 * `usr/bin/pager → /etc/alternatives/pager` chains of every Debian image) becomes a warning.
 */
export function wantsExecutable(path: string, info?: FileInfo): boolean {
  if (info === undefined) return false;
  if ((info.mode & 0o111) === 0) return false;
  if (info.size < MIN_EXECUTABLE_BYTES || info.size > MAX_EXECUTABLE_BYTES) return false;
  return !NOT_PROGRAMS.test(path) && !TEXT_NAME.test(path);
}
