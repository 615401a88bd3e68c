/**
 * Test input: small ELF files written field by field from the System V gABI layout (ELF header,
 * program headers, section contents, `.shstrtab`, section header table), for the cases no real
 * binary here has: 32-bit and big-endian files, missing section headers, broken tables.
 */

export interface ElfBuildSection {
  name: string;
  data: Buffer;
  /** Virtual address; sections with one also get a PT_LOAD program header. */
  addr?: number;
  /** sh_type; PROGBITS (1) by default. */
  type?: number;
  /** sh_flags; ALLOC|WRITE (0x3) by default. */
  flags?: number;
}

export interface ElfBuildOptions {
  bits?: 32 | 64;
  littleEndian?: boolean;
  sections?: ElfBuildSection[];
  /** Leave the section header table out (e_shoff = 0), as `sstrip` does. */
  noSectionHeaders?: boolean;
  machine?: number;
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

export function buildElf(options: ElfBuildOptions = {}): Buffer {
  const bits = options.bits ?? 64;
  const le = options.littleEndian ?? true;
  const sections = options.sections ?? [];
  const w = bits === 32 ? 4 : 8;
  const ehsize = bits === 32 ? 52 : 64;
  const phentsize = bits === 32 ? 32 : 56;
  const shentsize = bits === 32 ? 40 : 64;
  const loaded = sections.filter((s) => s.addr !== undefined);

  // layout
  const phoff = loaded.length > 0 ? ehsize : 0;
  let at = align(ehsize + loaded.length * phentsize, 16);
  const offsets: number[] = [];
  for (const s of sections) {
    offsets.push(at);
    at = align(at + s.data.length, 16);
  }
  const names = ['', ...sections.map((s) => s.name), '.shstrtab'];
  const nameOffsets: number[] = [];
  let strtab = '';
  for (const n of names) {
    nameOffsets.push(strtab.length);
    strtab += `${n}\0`;
  }
  const strtabOffset = at;
  at = align(at + strtab.length, 8);
  const shoff = options.noSectionHeaders ? 0 : at;
  const shnum = options.noSectionHeaders ? 0 : names.length;
  const total = at + shnum * shentsize;

  const buf = Buffer.alloc(total);
  const u16 = (o: number, v: number) => (le ? buf.writeUInt16LE(v, o) : buf.writeUInt16BE(v, o));
  const u32 = (o: number, v: number) => (le ? buf.writeUInt32LE(v, o) : buf.writeUInt32BE(v, o));
  const word = (o: number, v: number) => {
    if (bits === 32) u32(o, v);
    else if (le) buf.writeBigUInt64LE(BigInt(v), o);
    else buf.writeBigUInt64BE(BigInt(v), o);
  };

  // ELF header
  buf.write('\x7fELF', 0, 'latin1');
  buf[4] = bits === 32 ? 1 : 2;
  buf[5] = le ? 1 : 2;
  buf[6] = 1; // EI_VERSION
  u16(16, 2); // ET_EXEC
  u16(18, options.machine ?? (bits === 32 ? 3 : 62));
  u32(20, 1); // e_version
  word(24, 0); // e_entry
  word(24 + w, phoff);
  word(24 + 2 * w, shoff);
  const base = 24 + 3 * w + 4;
  u16(base, ehsize);
  u16(base + 2, phentsize);
  u16(base + 4, loaded.length);
  u16(base + 6, shentsize);
  u16(base + 8, shnum);
  u16(base + 10, shnum === 0 ? 0 : names.length - 1);

  // program headers: one PT_LOAD per section with an address
  loaded.forEach((s, i) => {
    const h = phoff + i * phentsize;
    const offset = offsets[sections.indexOf(s)]!;
    const pflags = 0x4 | ((s.flags ?? 0x3) & 0x1 ? 0x2 : 0) | ((s.flags ?? 0x3) & 0x4 ? 0x1 : 0);
    u32(h, 1);
    if (bits === 32) {
      u32(h + 4, offset);
      u32(h + 8, s.addr!);
      u32(h + 12, s.addr!);
      u32(h + 16, s.data.length);
      u32(h + 20, s.data.length);
      u32(h + 24, pflags);
      u32(h + 28, 16);
    } else {
      u32(h + 4, pflags);
      word(h + 8, offset);
      word(h + 16, s.addr!);
      word(h + 24, s.addr!);
      word(h + 32, s.data.length);
      word(h + 40, s.data.length);
      word(h + 48, 16);
    }
  });

  // contents
  sections.forEach((s, i) => s.data.copy(buf, offsets[i]));
  buf.write(strtab, strtabOffset, 'latin1');

  // section headers: null, the sections, .shstrtab
  if (shnum > 0) {
    const header = (
      i: number,
      v: { type: number; flags: number; addr: number; offset: number; size: number },
    ) => {
      const h = shoff + i * shentsize;
      u32(h, nameOffsets[i]!);
      u32(h + 4, v.type);
      word(h + 8, v.flags);
      word(h + 8 + w, v.addr);
      word(h + 8 + 2 * w, v.offset);
      word(h + 8 + 3 * w, v.size);
    };
    sections.forEach((s, i) =>
      header(i + 1, {
        type: s.type ?? 1,
        flags: s.flags ?? 0x3,
        addr: s.addr ?? 0,
        offset: offsets[i]!,
        size: s.data.length,
      }),
    );
    header(names.length - 1, {
      type: 3,
      flags: 0,
      addr: 0,
      offset: strtabOffset,
      size: strtab.length,
    });
  }
  return buf;
}
