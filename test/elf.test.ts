import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ElfError,
  findSection,
  isElf,
  parseElf,
  readVirtual,
  sectionBytes,
  wantsExecutable,
} from '../src/inventory/elf.js';
import { buildElf } from './support/elf-builder.js';

const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url));

describe('parseElf', () => {
  it('reads a real gcc-linked executable: sections by name, PT_LOAD segments', () => {
    const buf = fixture('go/legacy-pointer.elf');
    const elf = parseElf(buf);
    expect(elf).toMatchObject({ bits: 64, littleEndian: true, type: 2, machine: 62 });
    // as `readelf -S` lists them
    expect(elf.sections.map((s) => s.name)).toEqual(
      expect.arrayContaining(['', '.text', '.rodata', '.data', '.go.buildinfo', '.shstrtab']),
    );
    const bi = findSection(elf, '.go.buildinfo')!;
    expect(bi).toMatchObject({ addr: 0x404030, offset: 0x3030, size: 0x20, flags: 0x3 });
    expect(sectionBytes(buf, bi)!.subarray(0, 14).toString('latin1')).toBe('\xff Go buildinf:');
    expect(elf.segments.filter((s) => s.type === 1).length).toBeGreaterThanOrEqual(2);
    // the pointer at byte 16 of the section leads through the segments to a string header
    const versionHeader = sectionBytes(buf, bi)!.readBigUInt64LE(16);
    const header = readVirtual(buf, elf, Number(versionHeader), 16)!;
    const text = readVirtual(buf, elf, Number(header.readBigUInt64LE(0)), 9)!;
    expect(text.toString()).toBe('go1.16.15');
  });

  it.each([
    [32, true],
    [32, false],
    [64, true],
    [64, false],
  ] as const)('reads %i-bit files, little-endian %s', (bits, littleEndian) => {
    const buf = buildElf({
      bits,
      littleEndian,
      sections: [
        { name: '.text', data: Buffer.from('code'), addr: 0x1000, flags: 0x6 },
        { name: '.data', data: Buffer.from('hello, data'), addr: 0x2000 },
        { name: '.note', data: Buffer.from('no address'), flags: 0 },
      ],
    });
    const elf = parseElf(buf);
    expect(elf.bits).toBe(bits);
    expect(elf.littleEndian).toBe(littleEndian);
    expect(elf.sections.map((s) => s.name)).toEqual(['', '.text', '.data', '.note', '.shstrtab']);
    expect(sectionBytes(buf, findSection(elf, '.note')!)!.toString()).toBe('no address');
    expect(elf.segments.map((s) => [s.vaddr, s.filesz, s.flags])).toEqual([
      [0x1000, 4, 0x5],
      [0x2000, 11, 0x6],
    ]);
    expect(readVirtual(buf, elf, 0x2007, 4)!.toString()).toBe('data');
    expect(readVirtual(buf, elf, 0x2007, 5)).toBeUndefined(); // runs past the segment
    expect(readVirtual(buf, elf, 0x3000, 1)).toBeUndefined();
  });

  it('reads a file without section headers through its program headers', () => {
    const buf = buildElf({
      noSectionHeaders: true,
      sections: [{ name: '.data', data: Buffer.from('mapped'), addr: 0x5000 }],
    });
    const elf = parseElf(buf);
    expect(elf.sections).toEqual([]);
    expect(readVirtual(buf, elf, 0x5000, 6)!.toString()).toBe('mapped');
  });

  it('gives no bytes for a NOBITS section', () => {
    const buf = buildElf({ sections: [{ name: '.bss', data: Buffer.alloc(0), type: 8 }] });
    expect(sectionBytes(buf, findSection(parseElf(buf), '.bss')!)).toBeUndefined();
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['text', Buffer.from('#!/bin/sh\necho hello\n')],
    ['ELF magic only', Buffer.from('\x7fELF', 'latin1')],
  ])('refuses %s', (_name, buf) => {
    expect(() => parseElf(buf)).toThrow(ElfError);
  });

  it('says what is wrong with truncated and inconsistent files', () => {
    const real = fixture('go/legacy-pointer.elf');
    // the section header table sits at the end of the file
    expect(() => parseElf(real.subarray(0, real.length - 100))).toThrow(
      /section header table lies beyond the end of the file/,
    );
    expect(() => parseElf(real.subarray(0, 40))).toThrow(/ELF header cut short/);
    const badClass = Buffer.from(real);
    badClass[4] = 7;
    expect(() => parseElf(badClass)).toThrow(/unknown ELF class 7/);
    // a section claiming bytes past the end of the file
    const elf = parseElf(real);
    const section = { ...findSection(elf, '.data')!, size: real.length };
    expect(() => sectionBytes(real, section)).toThrow(/lies beyond the end of the file/);
  });

  it('never reads outside the buffer, whatever the header says', () => {
    const real = fixture('go/legacy-pointer.elf');
    // deterministic pseudo-random corruption of the ELF header and the tables it points to
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    const shoff = Number(real.readBigUInt64LE(0x28));
    for (let round = 0; round < 2000; round++) {
      const buf = Buffer.from(real);
      for (let k = 0; k < 4; k++) {
        const where = next() % 2 === 0 ? next() % 64 : shoff + (next() % (real.length - shoff));
        buf[where] = next() & 0xff;
      }
      try {
        const elf = parseElf(buf);
        for (const s of elf.sections) {
          try {
            sectionBytes(buf, s);
          } catch (err) {
            expect(err).toBeInstanceOf(ElfError);
          }
        }
      } catch (err) {
        expect(err).toBeInstanceOf(ElfError);
      }
    }
  });

  it('isElf looks at the magic only', () => {
    expect(isElf(Buffer.from('\x7fELF', 'latin1'))).toBe(true);
    expect(isElf(Buffer.from('\x7fEL', 'latin1'))).toBe(false);
    expect(isElf(Buffer.from('MZ\x90\x00', 'latin1'))).toBe(false);
  });
});

describe('wantsExecutable', () => {
  const MiB = 1024 * 1024;
  it.each([
    ['usr/bin/skopeo', { size: 16 * MiB, mode: 0o755 }, true],
    ['app/server', { size: 30 * MiB, mode: 0o700 }, true],
    ['ko-app/hello', { size: 5 * MiB, mode: 0o555 }, true],
    ['usr/lib/x86_64-linux-gnu/libfoo.so.1', { size: 200_000, mode: 0o755 }, true],
    ['opt/tool/bin/tool', { size: 4096, mode: 0o100 }, true],
    ['usr/bin/skopeo', { size: 16 * MiB, mode: 0o644 }, false], // no executable bit
    ['usr/bin/tiny', { size: 1023, mode: 0o755 }, false], // too small for a program
    ['usr/bin/huge', { size: 300 * MiB, mode: 0o755 }, false], // above the walker's limit
    ['usr/bin/script.sh', { size: 5000, mode: 0o755 }, false],
    ['usr/lib/python3/dist-packages/x/cli.py', { size: 5000, mode: 0o755 }, false],
    ['etc/init.d/ssh', { size: 4000, mode: 0o755 }, false],
    ['usr/share/doc/foo/examples/run', { size: 4000, mode: 0o755 }, false],
    ['usr/include/foo.h', { size: 4000, mode: 0o755 }, false],
  ])('%s %o', (path, info, expected) => {
    expect(wantsExecutable(path, info)).toBe(expected);
  });

  it.each(['usr/bin/bash', 'usr/local/bin/app', 'bin/sh', 'app/server', ''])(
    'without size and mode (a link): %s is not wanted',
    (path) => {
      expect(wantsExecutable(path)).toBe(false);
    },
  );
});
