import type { Readable } from 'node:stream';

/** OCI content descriptor (https://github.com/opencontainers/image-spec/blob/main/descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** A manifest or index exactly as stored: its digest is the digest of these bytes. */
export interface RawManifest {
  mediaType: string;
  digest: string;
  bytes: Buffer;
}

/**
 * Raw access to one image's content, wherever it lives (registry, OCI layout, archive).
 * Sources only fetch bytes: parsing, platform selection and digest verification are done once,
 * for every source alike, by `resolveImage` and `openLayer`.
 */
export interface ImageSource {
  /** What the user asked for, in transport syntax (`docker://host/repo:tag`, `oci:dir:tag`, ...). */
  readonly reference: string;
  /** Repository name for reports (`host/group/app`, or the archive's name). */
  readonly name: string;
  /** The tag the reference names, if any. */
  readonly tag?: string;
  /**
   * The manifest (or index) the reference points at when `digest` is omitted; otherwise the
   * manifest with that digest (a child of an index).
   */
  manifest(digest?: string): Promise<RawManifest>;
  /** The blob's bytes as stored. The caller verifies the digest while streaming. */
  blob(descriptor: Descriptor): Promise<Readable>;
  close(): Promise<void>;
}

/** Thrown for anything wrong with an image (bad manifest, digest mismatch, hostile layer). */
export class ImageError extends Error {
  override readonly name = 'ImageError';
}
