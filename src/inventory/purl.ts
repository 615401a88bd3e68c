/**
 * Package URLs (https://github.com/package-url/purl-spec) for installed OS packages and for
 * images, as Trivy and Syft write them:
 *
 *   pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12
 *   pkg:deb/debian/libgcrypt20@1.10.1-3?arch=amd64&distro=debian-12&upstream=libgcrypt20
 *   pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=3.20.3
 *   pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rhel-9.4&epoch=1
 *   pkg:oci/app@sha256:…?arch=amd64&repository_url=127.0.0.1:5000%2Fgroup%2Fapp&tag=1.0
 *
 * Per type (purl-spec `types/*-definition.json`):
 * - deb: namespace = vendor (os-release ID); the version is the full Debian version, epoch
 *   included (`1:2.4.47-2`): the deb type has no `epoch` qualifier.
 * - apk: namespace = vendor (alpine, wolfi, ...); `distro` = the release (Trivy's convention).
 * - rpm: namespace = vendor (`redhat` for RHEL, `amazon` for Amazon Linux, ...); the version is
 *   `version-release` without the epoch, which goes into the `epoch` qualifier.
 * - oci: no namespace; name = last segment of the repository; version = the manifest digest;
 *   `repository_url` and `tag` qualifiers.
 * The `upstream` qualifier (source package, `name` or `name@version`) is Syft's, read by Grype
 * to match advisories filed against source packages; it is written only when the source
 * differs from the binary package.
 *
 * Strings are built by packageurl-js (validation, per-type normalization such as lower-casing,
 * qualifier ordering and encoding), then brought to the spec's canonical percent-encoding (see
 * `canonicalEncoding`).
 */
import { PackageURL } from 'packageurl-js';
import { parseReference } from '../image/reference.js';
import type { AnalyzedPackage, Distro, ImageMetadata } from './types.js';

/** Default vendors when the distro is unknown (deb and apk purls require a namespace). */
const DEFAULT_NAMESPACE = { deb: 'debian', apk: 'alpine', rpm: undefined } as const;

/**
 * Language packages: where the ecosystem's name splits into purl namespace and name. npm scopes
 * (`@babel/core`), Maven `group:artifact`, Go module paths (all but the last segment), Composer
 * `vendor/name`; the other types have no namespace.
 */
function splitName(type: AnalyzedPackage['type'], name: string): [string | undefined, string] {
  const cut = (sep: string) => {
    const i = name.lastIndexOf(sep);
    return i > 0
      ? ([name.slice(0, i), name.slice(i + 1)] as [string, string])
      : ([undefined, name] as [undefined, string]);
  };
  switch (type) {
    case 'npm':
      return name.startsWith('@') ? cut('/') : [undefined, name];
    case 'maven':
      return cut(':');
    case 'golang':
    case 'composer':
      return cut('/');
    default:
      return [undefined, name];
  }
}

/** os-release IDs whose rpm purl vendor is spelled differently (Trivy's family names). */
const RPM_VENDOR: Record<string, string> = {
  rhel: 'redhat',
  amzn: 'amazon',
  ol: 'oracle',
  'opensuse-leap': 'opensuse',
  'opensuse-tumbleweed': 'opensuse',
  'opensuse-leap-micro': 'opensuse',
};

const EPOCH_PREFIX = /^(\d+):/;

/** The package URL of an installed package on `distro` (undefined when it is not known). */
export function purlFor(pkg: AnalyzedPackage, distro?: Distro): string {
  const qualifiers: Record<string, string> = {};
  if (pkg.arch !== undefined && pkg.arch !== '' && pkg.arch !== '(none)') {
    qualifiers.arch = pkg.arch;
  }
  let namespace: string | undefined;
  let version = pkg.version;

  switch (pkg.type) {
    case 'deb': {
      namespace = distro?.id ?? DEFAULT_NAMESPACE.deb;
      const d = distroQualifier(distro);
      if (d !== undefined) qualifiers.distro = d;
      break;
    }
    case 'apk': {
      namespace = distro?.id ?? DEFAULT_NAMESPACE.apk;
      if (distro?.versionId) qualifiers.distro = distro.versionId;
      break;
    }
    case 'rpm': {
      namespace = distro === undefined ? DEFAULT_NAMESPACE.rpm : rpmVendor(distro.id);
      const prefix = EPOCH_PREFIX.exec(version);
      const epoch = pkg.epoch ?? (prefix ? Number(prefix[1]) : undefined);
      if (prefix) version = version.slice(prefix[0].length);
      if (epoch !== undefined && epoch > 0) qualifiers.epoch = String(epoch);
      const d = distroQualifier(distro);
      if (d !== undefined) qualifiers.distro = d;
      break;
    }
    default: {
      // language packages and runtimes: the name says it all, the distro plays no part
      const [ns, name] = splitName(pkg.type, pkg.name);
      return canonicalEncoding(
        new PackageURL(pkg.type, ns, name, version, undefined, undefined).toString(),
      );
    }
  }

  const upstream = upstreamQualifier(pkg, version);
  if (upstream !== undefined) qualifiers.upstream = upstream;

  return canonicalEncoding(
    new PackageURL(pkg.type, namespace, pkg.name, version, qualifiers, undefined).toString(),
  );
}

/**
 * The purl of an image (type oci): version = `digest` (the platform's manifest digest by
 * default; pass the index digest for the purl of a multi-platform index). `repository_url` is
 * written for registry images only: a local archive's name locates nothing.
 */
export function ociPurlFor(
  image: Pick<ImageMetadata, 'reference' | 'name' | 'tag' | 'manifestDigest'> & {
    platform?: ImageMetadata['platform'];
  },
  digest: string = image.manifestDigest,
): string {
  const segments = image.name.split('/');
  const name = segments[segments.length - 1] ?? image.name;
  const qualifiers: Record<string, string> = {};
  if (isRegistryReference(image.reference)) qualifiers.repository_url = image.name;
  if (image.tag !== undefined && image.tag !== '') qualifiers.tag = image.tag;
  if (image.platform !== undefined) qualifiers.arch = image.platform.architecture;
  return canonicalEncoding(
    new PackageURL('oci', undefined, name, digest, qualifiers, undefined).toString(),
  );
}

function isRegistryReference(reference: string): boolean {
  try {
    return parseReference(reference).transport === 'docker';
  } catch {
    return !/^(oci|oci-archive|docker-archive):/.test(reference);
  }
}

/** `debian-12`, `ubuntu-22.04`, `rhel-9.4`; the codename when there is no VERSION_ID (sid). */
function distroQualifier(distro: Distro | undefined): string | undefined {
  if (distro === undefined) return undefined;
  const release = distro.versionId || distro.codename;
  return release ? `${distro.id}-${release}` : undefined;
}

function rpmVendor(id: string): string {
  return RPM_VENDOR[id] ?? id;
}

/** `source` or `source@version` when the source package differs from the binary package. */
function upstreamQualifier(pkg: AnalyzedPackage, versionInPurl: string): string | undefined {
  const source = pkg.source;
  if (source === undefined || source.name === '') return undefined;
  const versionDiffers =
    source.version !== undefined &&
    source.version !== '' &&
    source.version !== pkg.version &&
    source.version !== versionInPurl;
  if (versionDiffers) return `${source.name}@${source.version}`;
  return source.name !== pkg.name ? source.name : undefined;
}

/** Characters the spec says must never be percent-encoded, though packageurl-js encodes them. */
const NEVER_ENCODED = /%(3A|7E)/gi;
/** Characters packageurl-js leaves bare although they are not in the spec's permitted set. */
const MUST_ENCODE = /[+!*'()]/g;

/**
 * packageurl-js 2.0 encodes with encodeURIComponent and URLSearchParams, which differs from
 * the spec's canonical form (ECMA-427, "Character encoding"; purl-spec test suite, e.g.
 * `pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64` and
 * `checksum=sha1:ad95…%2Csha256:41bf…`) in three ways: it leaves `+` bare in versions, and it
 * percent-encodes `:` and `~` in qualifier values. The canonical form encodes every character
 * outside alphanumerics, `.-_~`, `:` and the separators, and never encodes `:` or `~`. Both
 * forms parse to the same components (the tests check the round trip); the canonical one is
 * what Trivy writes, so string comparisons across tools work for the common `+debNuM`
 * versions. Raw `+` can only come from the version (elsewhere packageurl-js encodes it),
 * raw `!*'()` are left bare by encodeURIComponent in any component, and `%3A`/`%7E` can only
 * stand for data: both rewrites are safe on the whole string.
 */
function canonicalEncoding(purl: string): string {
  return purl
    .replace(NEVER_ENCODED, (triplet) => (triplet.toUpperCase() === '%3A' ? ':' : '~'))
    .replace(MUST_ENCODE, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}
