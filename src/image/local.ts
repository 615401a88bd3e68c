import { createReadStream } from 'node:fs';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { digestOf, verifyBytes } from './digest.js';
import type { LocalReference } from './reference.js';
import { MAX_MANIFEST_BYTES, MediaTypes } from './resolve.js';
import { indexTar, type TarMember } from './tar-index.js';
import { ImageError, type Descriptor, type ImageSource, type RawManifest } from './types.js';

/**
 * Images on local disk: an OCI layout directory, the same layout in a tar (oci-archive), and
 * `docker save` output (docker-archive). Archives are read in place through an index of member
 * offsets; nothing is extracted.
 */

/** Layers are read in 1 MiB chunks: fewer, larger chunks through the verifier and decompressor. */
const READ_CHUNK = 1024 * 1024;

/** Read access to the files of a layout, whether a directory or a tar archive. */
interface LayoutFiles {
  read(path: string, max: number): Promise<Buffer>;
  open(path: string): Promise<Readable>;
  size(path: string): Promise<number>;
  close(): Promise<void>;
}

function directoryFiles(root: string): LayoutFiles {
  return {
    async read(path, max) {
      const full = join(root, path);
      const st = await stat(full).catch(() => undefined);
      if (!st?.isFile()) throw new ImageError(`${path} not found in ${root}`);
      if (st.size > max) throw new ImageError(`${path} in ${root} is larger than ${max} bytes`);
      return readFile(full);
    },
    async open(path) {
      const full = join(root, path);
      const st = await stat(full).catch(() => undefined);
      if (!st?.isFile()) throw new ImageError(`${path} not found in ${root}`);
      return createReadStream(full, { highWaterMark: READ_CHUNK });
    },
    async size(path) {
      const st = await stat(join(root, path)).catch(() => undefined);
      if (!st?.isFile()) throw new ImageError(`${path} not found in ${root}`);
      return st.size;
    },
    async close() {},
  };
}

async function archiveFiles(file: string): Promise<LayoutFiles> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw new ImageError(`cannot open ${file}: ${(err as Error).message}`);
  }
  let members: Map<string, TarMember>;
  try {
    members = await indexTar(handle);
  } catch (err) {
    await handle.close();
    throw err;
  }
  const member = (path: string) => {
    const m = members.get(path);
    if (!m) throw new ImageError(`${path} not found in archive ${file}`);
    return m;
  };
  return {
    async read(path, max) {
      const m = member(path);
      if (m.size > max) throw new ImageError(`${path} in ${file} is larger than ${max} bytes`);
      const buf = Buffer.alloc(m.size);
      await handle.read(buf, 0, m.size, m.offset);
      return buf;
    },
    open(path) {
      const m = member(path);
      if (m.size === 0) return Promise.resolve(createReadStream(file, { start: 1, end: 0 }));
      return Promise.resolve(
        createReadStream(file, { start: m.offset, end: m.offset + m.size - 1 }),
      );
    },
    size: (path) => Promise.resolve(member(path).size),
    close: () => handle.close(),
  };
}

function blobPath(digest: string): string {
  const colon = digest.indexOf(':');
  if (colon <= 0 || !/^[a-z0-9]+:[a-f0-9]+$/.test(digest))
    throw new ImageError(`invalid digest "${digest}"`);
  return `blobs/${digest.slice(0, colon)}/${digest.slice(colon + 1)}`;
}

function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    throw new ImageError(`${what} is not valid JSON`);
  }
}

const REF_NAME = 'org.opencontainers.image.ref.name';

/** An OCI image layout (https://github.com/opencontainers/image-spec/blob/main/image-layout.md). */
class OciLayoutSource implements ImageSource {
  readonly name: string;
  private top?: Descriptor;

  constructor(
    readonly reference: string,
    private readonly files: LayoutFiles,
    private readonly location: string,
    readonly tag: string | undefined,
  ) {
    this.name = basename(location).replace(/\.tar$/, '');
  }

  private async topDescriptor(): Promise<Descriptor> {
    if (this.top) return this.top;
    const index = parseJson<{ manifests?: Descriptor[] }>(
      await this.files.read('index.json', MAX_MANIFEST_BYTES),
      `index.json of ${this.location}`,
    );
    const manifests = Array.isArray(index.manifests) ? index.manifests : [];
    const tags = manifests.map((m) => m.annotations?.[REF_NAME]).filter((t): t is string => !!t);
    let chosen: Descriptor | undefined;
    if (this.tag) {
      chosen = manifests.find((m) => m.annotations?.[REF_NAME] === this.tag);
      if (!chosen)
        throw new ImageError(
          `tag "${this.tag}" not found in ${this.location} (tags: ${tags.join(', ') || 'none'})`,
        );
    } else if (manifests.length === 1) {
      chosen = manifests[0];
    } else {
      throw new ImageError(
        `${this.location} holds ${manifests.length} images: name one with :TAG (tags: ${tags.join(', ') || 'none'})`,
      );
    }
    if (!chosen || typeof chosen.digest !== 'string')
      throw new ImageError(`index.json of ${this.location} has an invalid entry`);
    this.top = chosen;
    return chosen;
  }

  async manifest(digest?: string): Promise<RawManifest> {
    const desc = digest ? undefined : await this.topDescriptor();
    const want = digest ?? desc!.digest;
    const bytes = await this.files.read(blobPath(want), MAX_MANIFEST_BYTES);
    verifyBytes(bytes, want, `manifest ${want}`);
    return { mediaType: desc?.mediaType ?? '', digest: want, bytes };
  }

  blob(desc: Descriptor): Promise<Readable> {
    return this.files.open(blobPath(desc.digest));
  }

  close(): Promise<void> {
    return this.files.close();
  }
}

interface DockerArchiveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/**
 * `docker save` output: manifest.json names each image's config file and layer files. regscan
 * presents it as an image with a Docker v2 manifest built from those files, so the rest of the
 * pipeline treats every source alike.
 */
class DockerArchiveSource implements ImageSource {
  readonly name: string;
  readonly tag: string | undefined;
  private built?: { manifest: RawManifest; blobs: Map<string, string> };

  constructor(
    readonly reference: string,
    private readonly files: LayoutFiles,
    private readonly location: string,
    private readonly wanted: string | undefined,
  ) {
    this.name = basename(location).replace(/\.tar$/, '');
    this.tag = wanted;
  }

  private async build() {
    if (this.built) return this.built;
    const entries = parseJson<DockerArchiveEntry[]>(
      await this.files.read('manifest.json', MAX_MANIFEST_BYTES),
      `manifest.json of ${this.location}`,
    );
    if (!Array.isArray(entries) || entries.length === 0)
      throw new ImageError(`${this.location} holds no images`);
    let entry: DockerArchiveEntry | undefined;
    if (this.wanted) {
      entry = entries.find((e) =>
        e.RepoTags?.some((t) => t === this.wanted || t.endsWith(`/${this.wanted}`)),
      );
      if (!entry) throw new ImageError(`${this.wanted} not found in ${this.location}`);
    } else if (entries.length === 1) {
      entry = entries[0];
    } else {
      throw new ImageError(`${this.location} holds ${entries.length} images: name one with :REF`);
    }
    if (!entry || typeof entry.Config !== 'string' || !Array.isArray(entry.Layers)) {
      throw new ImageError(`manifest.json of ${this.location} has an invalid entry`);
    }
    const configBytes = await this.files.read(entry.Config, MAX_MANIFEST_BYTES);
    const config = parseJson<{ rootfs?: { diff_ids?: string[] } }>(
      configBytes,
      `config of ${this.location}`,
    );
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== entry.Layers.length) {
      throw new ImageError(
        `${this.location}: config lists ${diffIds.length} diff ids for ${entry.Layers.length} layers`,
      );
    }
    const blobs = new Map<string, string>();
    const configDigest = digestOf(configBytes);
    blobs.set(configDigest, entry.Config);
    const layers: Descriptor[] = [];
    for (const [i, path] of entry.Layers.entries()) {
      // Content-addressed names (`blobs/sha256/<hex>`, newer docker) say their digest; legacy
      // `<id>/layer.tar` files are uncompressed, so their digest is the diff id. Both are verified
      // while the layer streams.
      const m = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(path);
      const digest = m ? `${m[1]}:${m[2]}` : diffIds[i]!;
      const size = await this.files.size(path);
      layers.push({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar', digest, size });
      blobs.set(digest, path);
    }
    const manifestJson = {
      schemaVersion: 2,
      mediaType: MediaTypes.dockerManifest,
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        digest: configDigest,
        size: configBytes.length,
      },
      layers,
    };
    const bytes = Buffer.from(JSON.stringify(manifestJson));
    this.built = {
      manifest: { mediaType: MediaTypes.dockerManifest, digest: digestOf(bytes), bytes },
      blobs,
    };
    return this.built;
  }

  async manifest(digest?: string): Promise<RawManifest> {
    const { manifest } = await this.build();
    if (digest && digest !== manifest.digest)
      throw new ImageError(`${this.location} has no manifest ${digest}`);
    return manifest;
  }

  async blob(desc: Descriptor): Promise<Readable> {
    const { blobs } = await this.build();
    const path = blobs.get(desc.digest);
    if (!path) throw new ImageError(`${this.location} has no blob ${desc.digest}`);
    return this.files.open(path);
  }

  close(): Promise<void> {
    return this.files.close();
  }
}

export async function openLocalSource(
  ref: LocalReference,
  reference: string,
): Promise<ImageSource> {
  const st = await stat(ref.path).catch(() => undefined);
  if (!st) throw new ImageError(`${ref.path} does not exist`);
  if (ref.transport === 'oci') {
    if (!st.isDirectory())
      throw new ImageError(`oci:${ref.path} is not a directory (for a tar use oci-archive:)`);
    return new OciLayoutSource(reference, directoryFiles(ref.path), ref.path, ref.tag);
  }
  if (!st.isFile()) throw new ImageError(`${ref.transport}:${ref.path} is not a file`);
  const files = await archiveFiles(ref.path);
  return ref.transport === 'oci-archive'
    ? new OciLayoutSource(reference, files, ref.path, ref.tag)
    : new DockerArchiveSource(reference, files, ref.path, ref.tag);
}
