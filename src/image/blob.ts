import { pipeline as connect, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestVerifier } from './digest.js';
import { ImageError, type Descriptor, type ImageSource } from './types.js';

/**
 * The blob's bytes, verified while they stream: the returned stream errors (and never ends
 * cleanly) when the bytes do not match the descriptor's digest or size. It ends only after its
 * last byte was verified, so `readableEnded` is the proof that the bytes were right.
 *
 * The source and the verifier are joined by a pipeline, not `pipe`: a transfer error fails the
 * returned stream, destroying the returned stream releases the source (a connection, a file),
 * and the pipeline listens for errors on both from the start. A mismatch is only known at the
 * end of the bytes, possibly when nobody reads any more; it is then reported to whoever still
 * listens, and never becomes an uncaught exception.
 */
export async function openVerifiedBlob(source: ImageSource, desc: Descriptor): Promise<Readable> {
  const raw = await source.blob(desc);
  const verifier = new DigestVerifier(desc.digest, desc.size, `blob ${desc.digest}`);
  connect(raw, verifier, () => {
    // the outcome is the verifier's own: its readers see the error or the end
  });
  return verifier;
}

/** A small blob (config) read whole, verified, and refused when larger than `max`. */
export async function readBlob(
  source: ImageSource,
  desc: Descriptor,
  max: number,
  what: string,
): Promise<Buffer> {
  if (desc.size > max)
    throw new ImageError(`${what} is ${desc.size} bytes, more than the ${max} allowed`);
  const stream = await openVerifiedBlob(source, desc);
  const chunks: Buffer[] = [];
  await pipeline(stream, async function* (input: AsyncIterable<Buffer>) {
    for await (const chunk of input) chunks.push(chunk);
    yield* [];
  });
  return Buffer.concat(chunks);
}
