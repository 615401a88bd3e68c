import { pack, type Header } from 'tar-stream';

/** Test input: one tar entry. `content` only for regular files. */
export interface TarEntry extends Partial<Header> {
  name: string;
  content?: string | Buffer;
}

/** A real tar archive (written by tar-stream's packer) holding `entries` in order. */
export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  for (const { content, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (content === undefined) {
        p.entry(
          { type: 'file', mode: 0o644, ...header, ...(header.type ? {} : { size: 0 }) },
          '',
          cb,
        );
      } else {
        const body = Buffer.isBuffer(content) ? content : Buffer.from(content);
        p.entry({ type: 'file', mode: 0o644, ...header, size: body.length }, body, cb);
      }
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}
