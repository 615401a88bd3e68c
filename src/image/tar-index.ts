import type { FileHandle } from 'node:fs/promises';
import { ImageError } from './types.js';
import { normalizeEntryPath } from './layer.js';

/**
 * Where each regular file of an uncompressed tar archive sits, so that an image archive
 * (oci-archive, docker-archive) can be read in place: a blob is a byte range of the archive file.
 *
 * Written here rather than taken from a library because tar-stream and node-tar only stream
 * entries; neither reports entry offsets, and without offsets every blob read would re-scan the
 * whole archive. Only headers are read: ustar names with prefix, GNU long names (`L`), pax
 * `path` and `size` records. Layers themselves are walked with tar-stream (see layer.ts).
 */
export interface TarMember {
  offset: number;
  size: number;
}

const BLOCK = 512;

function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? length : end).toString('utf8');
}

function numeric(block: Buffer, start: number, length: number): number {
  const raw = block.subarray(start, start + length);
  if (raw[0]! & 0x80) {
    // base-256 (GNU) for sizes past 8 GiB
    let n = 0;
    for (let i = 1; i < raw.length; i++) n = n * 256 + raw[i]!;
    return n;
  }
  const text = field(block, start, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text))
    throw new ImageError(`archive has a corrupt tar header (number "${text}")`);
  return parseInt(text, 8);
}

function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = parseInt(data.subarray(pos, space).toString('utf8'), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
}

export async function indexTar(file: FileHandle): Promise<Map<string, TarMember>> {
  const { size: total } = await file.stat();
  const members = new Map<string, TarMember>();
  const block = Buffer.alloc(BLOCK);
  let offset = 0;
  let longName: string | undefined;
  let pax = new Map<string, string>();
  while (offset + BLOCK <= total) {
    const { bytesRead } = await file.read(block, 0, BLOCK, offset);
    if (bytesRead < BLOCK) break;
    if (block.every((b) => b === 0)) break; // end of archive
    const type = String.fromCharCode(block[156] || 0x30);
    const size = pax.has('size') ? Number(pax.get('size')) : numeric(block, 124, 12);
    const dataOffset = offset + BLOCK;
    if (dataOffset + size > total) throw new ImageError('archive is truncated');
    const readData = async () => {
      if (size > 1024 * 1024) throw new ImageError('archive has an oversized tar extension header');
      const data = Buffer.alloc(size);
      await file.read(data, 0, size, dataOffset);
      return data;
    };
    if (type === 'L') {
      longName = (await readData()).toString('utf8').replace(/\0+$/, '');
    } else if (type === 'x') {
      pax = paxRecords(await readData());
    } else if (type === 'g') {
      // global pax header: nothing regscan needs
    } else {
      const prefix = field(block, 345, 155);
      const name =
        pax.get('path') ??
        longName ??
        (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
      if (type === '0' || type === '\0' || type === '7') {
        members.set(normalizeEntryPath(name), { offset: dataOffset, size });
      }
      longName = undefined;
      pax = new Map();
    }
    offset = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
  }
  return members;
}
