import type { Platform } from '../image/types.js';

/**
 * The inventory model: what an image holds. Produced by indexing (per-layer analyzers, then a
 * pure merge across layers) and consumed by SBOM writers and the matcher.
 */

/** Packages of the operating system's package manager. */
export type OsPackageType = 'deb' | 'apk' | 'rpm';
/** Packages of language ecosystems, named by their purl type. */
export type LanguagePackageType =
  'npm' | 'pypi' | 'golang' | 'maven' | 'gem' | 'composer' | 'nuget' | 'cargo';
/**
 * Kinds of package sources (purl types). `generic` holds language runtimes installed outside any
 * package manager (`pkg:generic/node@22.11.0`), as official language images install them.
 */
export type PackageType = OsPackageType | LanguagePackageType | 'generic';

export const OS_PACKAGE_TYPES: ReadonlySet<PackageType> = new Set<PackageType>([
  'deb',
  'apk',
  'rpm',
]);

/** The distribution an image is built on, from os-release or a fallback file. */
export interface Distro {
  /** os-release ID, lower case: `debian`, `ubuntu`, `alpine`, `rhel`, `rocky`, `sles`, ... */
  id: string;
  /** os-release VERSION_ID (`12`, `22.04`, `3.20.3`), or the fallback file's version. */
  versionId?: string;
  /** VERSION_CODENAME (`bookworm`) where given. */
  codename?: string;
  /** PRETTY_NAME or NAME. */
  name?: string;
  /** os-release ID_LIKE, split. */
  idLike?: string[];
  /** The file the distro was read from (path inside the image, no leading slash). */
  path: string;
}

/** The source package a binary package was built from (Debian `Source:`, apk origin, source rpm). */
export interface SourcePackage {
  name: string;
  /** Only when it differs from the binary package's version or is known explicitly. */
  version?: string;
}

/** One installed package as an analyzer reads it from one file of one layer. */
export interface AnalyzedPackage {
  type: PackageType;
  /**
   * Name as the ecosystem writes it, namespace included: `@babel/core` (npm),
   * `org.yaml:snakeyaml` (Maven group:artifact), `golang.org/x/net` (Go module path),
   * `symfony/console` (Composer vendor/name). PyPI names as the distribution metadata writes them.
   */
  name: string;
  /** The full version as the ecosystem writes it: deb `1:2.3-4`, apk `1.2.3-r0`, rpm `1:2.3-4.el9`. */
  version: string;
  /** rpm only: the parts of `version`. */
  epoch?: number;
  release?: string;
  arch?: string;
  source?: SourcePackage;
  /** Licence expression or names, where the package database records one. */
  licenses?: string[];
  /** Extra facts worth keeping (rpm modularity label, npm `dev`, a dpkg-installed Python package, ...). */
  properties?: Record<string, string>;
}

/** A package in a merged inventory: where it is recorded and which layer brought it. */
export interface Package extends AnalyzedPackage {
  /** The layer that introduced the package: its diff id (digest of the uncompressed layer). */
  layer: string;
  /** The package database that records it (path inside the image, no leading slash). */
  path: string;
  /** Package URL (https://github.com/package-url/purl-spec). */
  purl: string;
  /**
   * Every place the same package (same purl) was found, when more than one: a package installed
   * in node_modules and listed in package-lock.json is one package with two locations.
   * `path` and `layer` above are the first of them.
   */
  locations?: { path: string; layer: string }[];
}

export interface LayerInfo {
  /** Digest of the layer blob as stored (compressed for registries and OCI layouts). */
  digest: string;
  /** Digest of the uncompressed layer tar (config `rootfs.diff_ids`). */
  diffId: string;
  size: number;
  mediaType: string;
}

/** A problem with one file or layer that did not stop the scan. */
export interface Warning {
  layer?: string;
  path?: string;
  analyzer?: string;
  message: string;
}

export interface Inventory {
  distro?: Distro;
  packages: Package[];
  warnings: Warning[];
}

/** The image an inventory was taken from: one platform's manifest. */
export interface ImageMetadata {
  /** What was asked for, in transport syntax. */
  reference: string;
  /** Repository name (`127.0.0.1:5000/group/app`) or the local file's name. */
  name: string;
  tag?: string;
  /** Digest of the platform's image manifest. */
  manifestDigest: string;
  /** Digest of the index the manifest was chosen from, when the reference named an index. */
  indexDigest?: string;
  configDigest: string;
  platform: Platform;
  /** Bottom layer first. */
  layers: LayerInfo[];
  /** Config `created` timestamp, when present. */
  created?: string;
}

/** The result of indexing one platform of an image. */
export interface ImageInventory {
  image: ImageMetadata;
  inventory: Inventory;
}
