import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/**
 * Writes OCI image layouts by hand, for images no real tool would produce (hostile or broken
 * ones). Well-formed test images come from test/images/build.sh instead.
 */

export const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * The config and manifest of a linux/amd64 image of one gzip layer, as a registry serves them
 * (for hand-written test registries).
 */
export function singleLayerManifest(layer: Buffer): { config: Buffer; manifest: Buffer } {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [sha256(gunzipSync(layer))] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: sha256(layer),
          size: layer.length,
        },
      ],
    }),
  );
  return { config, manifest };
}

export interface HandmadeImage {
  tag: string;
  /** Layer blobs as stored (compressed or not). */
  layers: Buffer[];
  /** Diff ids; by default the digest of each layer's uncompressed content. */
  diffIds?: string[];
  /** Replace the manifest bytes entirely (e.g. not JSON). */
  manifestBytes?: Buffer;
  /** Change a blob after its digest was taken: index → new bytes. */
  tamper?: Record<number, Buffer>;
}

/** The digest of the uncompressed layer, as a config's diff_ids lists it. */
function diffIdOf(blob: Buffer): string {
  if (blob[0] !== 0x1f || blob[1] !== 0x8b) return sha256(blob);
  try {
    return sha256(gunzipSync(blob));
  } catch {
    return sha256(blob); // a deliberately broken layer: any diff id will do
  }
}

async function writeBlob(root: string, bytes: Buffer, digest = sha256(bytes)): Promise<string> {
  const dir = join(root, 'blobs', 'sha256');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, digest.slice('sha256:'.length)), bytes);
  return digest;
}

export async function writeOciLayout(root: string, images: HandmadeImage[]): Promise<void> {
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifests = [];
  for (const image of images) {
    const layerDescs = [];
    for (const [i, blob] of image.layers.entries()) {
      const digest = sha256(blob);
      await writeBlob(root, image.tamper?.[i] ?? blob, digest);
      layerDescs.push({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest,
        size: blob.length,
      });
    }
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: image.diffIds ?? image.layers.map(diffIdOf) },
      }),
    );
    const configDigest = await writeBlob(root, config);
    const manifest =
      image.manifestBytes ??
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: {
            mediaType: 'application/vnd.oci.image.config.v1+json',
            digest: configDigest,
            size: config.length,
          },
          layers: layerDescs,
        }),
      );
    const manifestDigest = await writeBlob(root, manifest);
    manifests.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: manifestDigest,
      size: manifest.length,
      annotations: { 'org.opencontainers.image.ref.name': image.tag },
    });
  }
  await writeFile(join(root, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
}
