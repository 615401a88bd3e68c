/**
 * Image references in skopeo's transport syntax:
 *   docker://host/repo:tag, docker://host/repo@sha256:…  (a bare reference means docker://)
 *   oci:DIR[:tag]   oci-archive:FILE[:tag]   docker-archive:FILE[:ref]
 */

export type ImageReference = RegistryReference | LocalReference;

export interface RegistryReference {
  transport: 'docker';
  /** Registry host as written (`docker.io` for Docker Hub), with port if any. */
  registry: string;
  /** Repository path inside the registry (`library/alpine`, `group/app`). */
  repository: string;
  tag?: string;
  digest?: string;
}

export interface LocalReference {
  transport: 'oci' | 'oci-archive' | 'docker-archive';
  path: string;
  /** Tag (`org.opencontainers.image.ref.name`) for OCI, image reference for docker-archive. */
  tag?: string;
}

export class ReferenceError extends Error {
  override readonly name = 'ReferenceError';
}

const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const TAG = /^[\w][\w.-]{0,127}$/;
// Distribution's repository name grammar: path components of lower-case alphanumerics and separators.
const REPO_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** One path component of a repository name (`app` in `group/app`), by Distribution's grammar. */
export function isRepositoryComponent(value: string): boolean {
  return REPO_COMPONENT.test(value);
}

/** A repository name by Distribution's grammar: lowercase path components joined by `/`. */
export function isRepositoryName(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= 255 &&
    value.split('/').every((c) => REPO_COMPONENT.test(c))
  );
}

/** A tag: letters, digits, `_`, `.` and `-`, at most 128, not starting with `.` or `-`. */
export function isTag(value: unknown): value is string {
  return typeof value === 'string' && TAG.test(value);
}

export function parseReference(input: string): ImageReference {
  const text = input.trim();
  if (text === '') throw new ReferenceError('empty image reference');
  const colon = text.indexOf(':');
  const scheme = colon > 0 ? text.slice(0, colon) : '';
  if (text.startsWith('docker://')) return parseDockerReference(text.slice('docker://'.length));
  if (scheme === 'oci' || scheme === 'oci-archive' || scheme === 'docker-archive') {
    return parseLocal(scheme, text.slice(colon + 1));
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(text)) {
    throw new ReferenceError(
      `unsupported transport in "${input}" (use docker://, oci:, oci-archive: or docker-archive:)`,
    );
  }
  return parseDockerReference(text);
}

function parseLocal(transport: LocalReference['transport'], rest: string): LocalReference {
  if (rest === '') throw new ReferenceError(`${transport}: needs a path`);
  // The path may itself contain ':' (rare); the tag is what follows the last ':' when it holds no '/'.
  const last = rest.lastIndexOf(':');
  if (last > 0 && !rest.slice(last + 1).includes('/')) {
    const tag = rest.slice(last + 1);
    const path = rest.slice(0, last);
    if (tag === '') throw new ReferenceError(`${transport}:${rest}: empty tag`);
    return { transport, path, tag };
  }
  return { transport, path: rest };
}

export function parseDockerReference(text: string): RegistryReference {
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new ReferenceError(`invalid digest "${digest}" in "${text}"`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw new ReferenceError(`invalid tag "${tag}" in "${text}"`);
  }
  const parts = rest.split('/');
  let registry = 'docker.io';
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    parts.shift();
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = 'docker.io';
  if (registry === 'docker.io' && parts.length === 1) parts.unshift('library');
  for (const p of parts) {
    if (!REPO_COMPONENT.test(p))
      throw new ReferenceError(`invalid repository name "${parts.join('/')}" in "${text}"`);
  }
  if (!tag && !digest) tag = 'latest';
  return { transport: 'docker', registry, repository: parts.join('/'), tag, digest };
}

export function formatReference(ref: ImageReference): string {
  if (ref.transport === 'docker') {
    return `docker://${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
  }
  return `${ref.transport}:${ref.path}${ref.tag ? `:${ref.tag}` : ''}`;
}
