import { verifyBytes } from './digest.js';
import {
  ImageError,
  type Descriptor,
  type ImageSource,
  type Platform,
  type RawManifest,
} from './types.js';
import { readBlob } from './blob.js';

export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

const INDEX_TYPES = new Set<string>([MediaTypes.ociIndex, MediaTypes.dockerList]);
const MANIFEST_TYPES = new Set<string>([MediaTypes.ociManifest, MediaTypes.dockerManifest]);
/** Manifests and configs are small; Distribution itself refuses manifests over 4 MiB. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** The parts of an image config regscan reads. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  config?: { Env?: string[]; Labels?: Record<string, string> };
  rootfs?: { type?: string; diff_ids?: string[] };
}

export interface ResolvedLayer extends Descriptor {
  diffId: string;
}

/** One runnable image: a platform's manifest with its config and layers. */
export interface ResolvedImage {
  manifestDigest: string;
  indexDigest?: string;
  configDigest: string;
  config: ImageConfig;
  platform: Platform;
  layers: ResolvedLayer[];
}

export type PlatformChoice = Platform | 'all';

export function parsePlatform(text: string): PlatformChoice {
  if (text === 'all') return 'all';
  const [os, architecture, variant, ...rest] = text.split('/');
  if (!os || !architecture || rest.length > 0) {
    throw new ImageError(`invalid platform "${text}": expected os/arch[/variant] or "all"`);
  }
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return false;
  if (want.os !== have.os || want.architecture !== have.architecture) return false;
  // arm64 images often omit the (only) variant v8; a wanted variant must match when both say one.
  return !want.variant || !have.variant || want.variant === have.variant;
}

interface ParsedDocument {
  mediaType: string;
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
}

export function parseManifest(raw: RawManifest, what: string): ParsedDocument {
  if (raw.bytes.length > MAX_MANIFEST_BYTES) {
    throw new ImageError(`${what} is larger than ${MAX_MANIFEST_BYTES} bytes`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(raw.bytes.toString('utf8'));
  } catch {
    throw new ImageError(`${what} is not valid JSON`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ImageError(`${what} is not a JSON object`);
  }
  const d = doc as Record<string, unknown>;
  if (
    d.schemaVersion === 1 ||
    raw.mediaType === MediaTypes.dockerSchema1 ||
    raw.mediaType === MediaTypes.dockerSchema1Signed
  ) {
    throw new ImageError(
      `${what} is a Docker schema 1 manifest, which is not supported (push the image again with a current client)`,
    );
  }
  // The document's own mediaType field wins over a generic transport type.
  let mediaType = typeof d.mediaType === 'string' ? d.mediaType : raw.mediaType;
  if (!INDEX_TYPES.has(mediaType) && !MANIFEST_TYPES.has(mediaType)) {
    // OCI allows omitting mediaType: tell an index from a manifest by its shape.
    if (Array.isArray(d.manifests)) mediaType = MediaTypes.ociIndex;
    else if (d.config && Array.isArray(d.layers)) mediaType = MediaTypes.ociManifest;
    else throw new ImageError(`${what} has unsupported media type "${mediaType || '(none)'}"`);
  }
  if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(d.manifests)) throw new ImageError(`${what}: index without "manifests"`);
    return {
      mediaType,
      manifests: d.manifests.map((m, i) => descriptor(m, `${what} manifests[${i}]`)),
    };
  }
  if (!Array.isArray(d.layers)) throw new ImageError(`${what}: manifest without "layers"`);
  return {
    mediaType,
    config: descriptor(d.config, `${what} config`),
    layers: d.layers.map((l, i) => descriptor(l, `${what} layers[${i}]`)),
  };
}

const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-f0-9]{32,}$/;

function descriptor(value: unknown, what: string): Descriptor {
  if (typeof value !== 'object' || value === null)
    throw new ImageError(`${what} is not a descriptor`);
  const v = value as Record<string, unknown>;
  if (typeof v.digest !== 'string' || !DIGEST.test(v.digest)) {
    throw new ImageError(`${what} has an invalid digest ${JSON.stringify(v.digest)}`);
  }
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) {
    throw new ImageError(`${what} has an invalid size ${JSON.stringify(v.size)}`);
  }
  const d: Descriptor = {
    mediaType: typeof v.mediaType === 'string' ? v.mediaType : '',
    digest: v.digest,
    size: v.size,
  };
  const p = v.platform as Record<string, unknown> | undefined;
  if (p && typeof p.os === 'string' && typeof p.architecture === 'string') {
    d.platform = { os: p.os, architecture: p.architecture };
    if (typeof p.variant === 'string' && p.variant) d.platform.variant = p.variant;
  }
  if (v.annotations && typeof v.annotations === 'object')
    d.annotations = v.annotations as Record<string, string>;
  return d;
}

/**
 * Resolve what a source's reference names into runnable images: follow an index to the wanted
 * platform(s), read each config, pair layers with their diff ids. Every manifest and config is
 * verified against its digest.
 */
export async function resolveImages(
  source: ImageSource,
  platform: PlatformChoice | undefined,
): Promise<ResolvedImage[]> {
  const top = await source.manifest();
  const doc = parseManifest(top, `manifest of ${source.reference}`);
  if (doc.manifests) {
    const want = platform ?? DEFAULT_PLATFORM;
    // Attestation manifests (buildx) carry platform unknown/unknown: never images to scan.
    const images = doc.manifests.filter(
      (m) => m.platform && m.platform.os !== 'unknown' && !INDEX_TYPES.has(m.mediaType),
    );
    const chosen =
      want === 'all' ? images : images.filter((m) => platformMatches(want, m.platform)).slice(0, 1);
    if (chosen.length === 0) {
      const have = images.map((m) => formatPlatform(m.platform!)).join(', ') || 'none';
      throw new ImageError(
        `${source.reference} has no image for platform ${want === 'all' ? 'any' : formatPlatform(want)} (platforms: ${have})`,
      );
    }
    const out: ResolvedImage[] = [];
    for (const m of chosen) {
      const child = await source.manifest(m.digest);
      verifyBytes(child.bytes, m.digest, `manifest ${m.digest}`);
      const childDoc = parseManifest(child, `manifest ${m.digest} of ${source.reference}`);
      if (childDoc.manifests)
        throw new ImageError(`nested index ${m.digest} in ${source.reference} is not supported`);
      out.push(await resolveManifest(source, child.digest, childDoc, top.digest, m.platform));
    }
    return out;
  }
  const image = await resolveManifest(source, top.digest, doc, undefined, undefined);
  if (platform && platform !== 'all' && !platformMatches(platform, image.platform)) {
    throw new ImageError(
      `${source.reference} is a single-platform image for ${formatPlatform(image.platform)}, not ${formatPlatform(platform)}`,
    );
  }
  return [image];
}

async function resolveManifest(
  source: ImageSource,
  manifestDigest: string,
  doc: ParsedDocument,
  indexDigest: string | undefined,
  indexPlatform: Platform | undefined,
): Promise<ResolvedImage> {
  const configDesc = doc.config!;
  const bytes = await readBlob(
    source,
    configDesc,
    MAX_MANIFEST_BYTES,
    `config ${configDesc.digest}`,
  );
  let config: ImageConfig;
  try {
    config = JSON.parse(bytes.toString('utf8')) as ImageConfig;
  } catch {
    throw new ImageError(`config ${configDesc.digest} of ${source.reference} is not valid JSON`);
  }
  if (typeof config !== 'object' || config === null)
    throw new ImageError(`config ${configDesc.digest} is not a JSON object`);
  const diffIds = config.rootfs?.diff_ids ?? [];
  const layers = doc.layers!;
  if (
    diffIds.length !== layers.length ||
    !diffIds.every((d) => typeof d === 'string' && DIGEST.test(d))
  ) {
    throw new ImageError(
      `config ${configDesc.digest} of ${source.reference} lists ${diffIds.length} diff ids for ${layers.length} layers`,
    );
  }
  const platform: Platform = indexPlatform ?? {
    os: config.os ?? 'unknown',
    architecture: config.architecture ?? 'unknown',
    ...(config.variant ? { variant: config.variant } : {}),
  };
  return {
    manifestDigest,
    ...(indexDigest ? { indexDigest } : {}),
    configDigest: configDesc.digest,
    config,
    platform,
    layers: layers.map((l, i) => ({ ...l, diffId: diffIds[i]! })),
  };
}
