import { pack, type Headers } from 'tar-stream';

/** Test input: one tar entry. `content` only for regular files. */
export interface TarEntry extends Partial<Headers> {
  name: string;
  content?: string | Buffer;
}

/** A real tar archive (written by tar-stream's packer) holding `entries` in order. */
export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  for (const { content, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      const body =
        content === undefined
          ? undefined
          : Buffer.isBuffer(content)
            ? content
            : Buffer.from(content);
      p.entry(
        { type: 'file', mode: 0o644, ...header, ...(body ? { size: body.length } : {}) },
        body,
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}
