import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ImageError } from './types.js';

const ALGORITHMS: Record<string, string> = { sha256: 'sha256', sha512: 'sha512' };

function algorithmOf(digest: string): string {
  const alg = digest.slice(0, digest.indexOf(':'));
  const node = ALGORITHMS[alg];
  if (!node) throw new ImageError(`unsupported digest algorithm in "${digest}"`);
  return node;
}

export function digestOf(bytes: Buffer, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(ALGORITHMS[algorithm] ?? algorithm)
    .update(bytes)
    .digest('hex')}`;
}

/** Throws unless `bytes` have the expected digest. */
export function verifyBytes(bytes: Buffer, expected: string, what: string): void {
  const actual = digestOf(bytes, algorithmOf(expected));
  if (actual !== expected) {
    throw new ImageError(`digest mismatch for ${what}: expected ${expected}, got ${actual}`);
  }
}

/**
 * Passes bytes through while hashing them; fails the stream at its end when the digest or the
 * size (when known) differs from the descriptor's, and as soon as more bytes than announced arrive.
 */
export class DigestVerifier extends Transform {
  private readonly hash;
  private received = 0;

  constructor(
    private readonly expected: string,
    private readonly size: number | undefined,
    private readonly what: string,
  ) {
    super();
    this.hash = createHash(algorithmOf(expected));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    if (this.size !== undefined && this.size >= 0 && this.received > this.size) {
      done(new ImageError(`${this.what} is larger than its descriptor's ${this.size} bytes`));
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.size !== undefined && this.size >= 0 && this.received !== this.size) {
      done(new ImageError(`${this.what} is truncated: ${this.received} of ${this.size} bytes`));
      return;
    }
    const actual = `${this.expected.slice(0, this.expected.indexOf(':'))}:${this.hash.digest('hex')}`;
    if (actual !== this.expected) {
      done(
        new ImageError(
          `digest mismatch for ${this.what}: expected ${this.expected}, got ${actual}`,
        ),
      );
      return;
    }
    done();
  }
}
