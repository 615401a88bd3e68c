/**
 * SPDX 2.3 JSON for image inventories (https://spdx.github.io/spdx-spec/v2.3/).
 *
 * Written as plain JSON: npm has no well-kept library for SPDX 2.3 JSON documents (the SPDX
 * project's own tools are in Java, Python and Go), and the subset used here is small.
 *
 * Shape: the document DESCRIBES the image (a package with primaryPackagePurpose CONTAINER and
 * the manifest digest as checksum); the image CONTAINS its operating system
 * (OPERATING-SYSTEM), which CONTAINS the packages (LIBRARY, with a purl external reference).
 * Without a distro, the image CONTAINS the packages. Several platforms: the document describes
 * the index, which CONTAINS each platform's image. The `regscan:*` facts the CycloneDX writer
 * puts into properties become package annotations.
 *
 * SPDXIDs are stable: a readable part plus a hash of what identifies the element.
 */
import { createHash, randomUUID } from 'node:crypto';
import { ociPurlFor, purlFor } from '../inventory/purl.js';
import type { Distro, ImageInventory, ImageMetadata, Package } from '../inventory/types.js';
import { platformString } from './cyclonedx.js';
import { declaredSpdxExpression } from './license.js';

export interface SPDXOptions {
  /** regscan's version, for the `Tool: regscan-<version>` creator. */
  toolVersion?: string;
  /** Recorded in creationInfo.comment as `regscan:report_type=<value>`. */
  reportType?: string;
  /** creationInfo.created; now by default. */
  timestamp?: Date;
  /** `urn:uuid:…`: its uuid makes the document namespace (random by default). */
  serialNumber?: string;
  /** The whole documentNamespace, overriding the default built from the image and uuid. */
  documentNamespace?: string;
}

export interface SPDXChecksum {
  algorithm: string;
  checksumValue: string;
}

export interface SPDXExternalRef {
  referenceCategory: 'PACKAGE-MANAGER' | 'SECURITY' | 'PERSISTENT-ID' | 'OTHER';
  referenceType: string;
  referenceLocator: string;
}

export interface SPDXAnnotation {
  annotationDate: string;
  annotationType: 'OTHER' | 'REVIEW';
  annotator: string;
  comment: string;
}

export interface SPDXPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  supplier: string;
  downloadLocation: string;
  filesAnalyzed: false;
  checksums?: SPDXChecksum[];
  sourceInfo?: string;
  licenseConcluded: string;
  licenseDeclared: string;
  licenseComments?: string;
  copyrightText: string;
  description?: string;
  externalRefs?: SPDXExternalRef[];
  primaryPackagePurpose: 'CONTAINER' | 'OPERATING-SYSTEM' | 'LIBRARY';
  annotations?: SPDXAnnotation[];
}

export interface SPDXRelationship {
  spdxElementId: string;
  relationshipType: 'DESCRIBES' | 'CONTAINS';
  relatedSpdxElement: string;
}

export interface SPDXDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { creators: string[]; created: string; comment?: string };
  packages: SPDXPackage[];
  relationships: SPDXRelationship[];
}

const NOASSERTION = 'NOASSERTION';
const SHA256_DIGEST = /^sha256:([0-9a-f]{64})$/;
const UUID_URN = /^urn:uuid:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export function toSPDX(images: readonly ImageInventory[], options: SPDXOptions = {}): SPDXDocument {
  const first = images[0];
  if (first === undefined) throw new RangeError('toSPDX: no image to describe');
  let uuid: string = randomUUID();
  if (options.serialNumber !== undefined) {
    const m = UUID_URN.exec(options.serialNumber);
    if (!m) throw new RangeError(`toSPDX: serial number must be urn:uuid:<uuid>`);
    uuid = m[1] as string;
  }
  const created = spdxDate(options.timestamp ?? new Date());
  const toolVersion = options.toolVersion ?? 'unknown';
  const annotator = `Tool: regscan-${toolVersion}`;
  const ids = new SpdxIds();
  const packages: SPDXPackage[] = [];
  const relationships: SPDXRelationship[] = [];
  const relate = (from: string, type: SPDXRelationship['relationshipType'], to: string) =>
    relationships.push({ spdxElementId: from, relationshipType: type, relatedSpdxElement: to });

  const multi = images.length > 1;
  let indexId: string | undefined;
  if (multi) {
    const index = indexPackage(images, ids, created, annotator);
    packages.push(index);
    indexId = index.SPDXID;
    relate('SPDXRef-DOCUMENT', 'DESCRIBES', indexId);
  }

  for (const { image, inventory } of images) {
    const platform = platformString(image.platform);
    const imagePkg = imagePackage(image, platform, ids, created, annotator);
    packages.push(imagePkg);
    if (indexId === undefined) relate('SPDXRef-DOCUMENT', 'DESCRIBES', imagePkg.SPDXID);
    else relate(indexId, 'CONTAINS', imagePkg.SPDXID);

    let parent = imagePkg.SPDXID;
    const distro = inventory.distro;
    if (distro !== undefined) {
      const os = osPackage(distro, image, ids);
      packages.push(os);
      relate(imagePkg.SPDXID, 'CONTAINS', os.SPDXID);
      parent = os.SPDXID;
    }
    const sorted = inventory.packages
      .map((pkg) => ({ pkg, purl: pkg.purl || purlFor(pkg, distro) }))
      .sort(
        (a, b) =>
          compare(a.pkg.name, b.pkg.name) ||
          compare(a.pkg.version, b.pkg.version) ||
          compare(a.purl, b.purl) ||
          compare(a.pkg.path, b.pkg.path),
      );
    for (const { pkg, purl } of sorted) {
      const p = packagePackage(pkg, purl, multi ? platform : '', ids, created, annotator);
      packages.push(p);
      relate(parent, 'CONTAINS', p.SPDXID);
    }
  }

  const docName = first.image.tag ? `${first.image.name}:${first.image.tag}` : first.image.name;
  const creationInfo: SPDXDocument['creationInfo'] = { creators: [annotator], created };
  if (options.reportType) creationInfo.comment = `regscan:report_type=${options.reportType}`;
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: docName,
    documentNamespace:
      options.documentNamespace ??
      `https://regscan.invalid/spdx/${encodeURIComponent(docName)}-${uuid}`,
    creationInfo,
    packages,
    relationships,
  };
}

function indexPackage(
  images: readonly ImageInventory[],
  ids: SpdxIds,
  created: string,
  annotator: string,
): SPDXPackage {
  const first = (images[0] as ImageInventory).image;
  const indexDigest = images.every((i) => i.image.indexDigest === first.indexDigest)
    ? first.indexDigest
    : undefined;
  const pkg: SPDXPackage = {
    SPDXID: ids.make('Index', first.name, `${first.name}@${indexDigest ?? ''}`),
    name: first.name,
    ...(indexDigest !== undefined ? { versionInfo: indexDigest } : {}),
    ...unassertedPackageFields(),
    primaryPackagePurpose: 'CONTAINER',
  };
  if (indexDigest !== undefined) {
    const checksum = sha256Checksum(indexDigest);
    if (checksum) pkg.checksums = [checksum];
    pkg.externalRefs = [purlRef(ociPurlFor({ ...first, platform: undefined }, indexDigest))];
  }
  pkg.annotations = annotations(created, annotator, 'regscan:image:', [
    ['reference', first.reference],
    ['tag', first.tag],
    ['index_digest', indexDigest],
  ]);
  return pkg;
}

function imagePackage(
  image: ImageMetadata,
  platform: string,
  ids: SpdxIds,
  created: string,
  annotator: string,
): SPDXPackage {
  const pkg: SPDXPackage = {
    SPDXID: ids.make('Image', image.name, image.manifestDigest),
    name: image.name,
    versionInfo: image.manifestDigest,
    ...unassertedPackageFields(),
    externalRefs: [purlRef(ociPurlFor(image))],
    primaryPackagePurpose: 'CONTAINER',
  };
  const checksum = sha256Checksum(image.manifestDigest);
  if (checksum) pkg.checksums = [checksum];
  pkg.annotations = annotations(created, annotator, 'regscan:image:', [
    ['reference', image.reference],
    ['tag', image.tag],
    ['digest', image.manifestDigest],
    ['index_digest', image.indexDigest],
    ['config_digest', image.configDigest],
    ['platform', platform],
    ['created', image.created],
    ...image.layers.map((l): [string, string] => ['layer', l.diffId]),
  ]);
  return pkg;
}

function osPackage(distro: Distro, image: ImageMetadata, ids: SpdxIds): SPDXPackage {
  return {
    SPDXID: ids.make(
      'OperatingSystem',
      distro.id,
      `${image.manifestDigest}|${distro.id}@${distro.versionId ?? ''}`,
    ),
    name: distro.id,
    ...(distro.versionId ? { versionInfo: distro.versionId } : {}),
    ...unassertedPackageFields(),
    ...(distro.name ? { description: distro.name } : {}),
    primaryPackagePurpose: 'OPERATING-SYSTEM',
  };
}

function packagePackage(
  pkg: Package,
  purl: string,
  platform: string,
  ids: SpdxIds,
  created: string,
  annotator: string,
): SPDXPackage {
  const declared = declaredSpdxExpression(pkg.licenses);
  const raw = (pkg.licenses ?? []).map((l) => l.trim()).filter((l) => l !== '');
  const out: SPDXPackage = {
    SPDXID: ids.make('Package', pkg.name, `${platform}|${purl}|${pkg.path}|${pkg.layer}`),
    name: pkg.name,
    versionInfo: pkg.version,
    ...unassertedPackageFields(),
    licenseDeclared: declared ?? NOASSERTION,
    externalRefs: [purlRef(purl)],
    primaryPackagePurpose: 'LIBRARY',
  };
  if (declared === undefined && raw.length > 0) {
    out.licenseComments = `Licences as recorded by the package database: ${raw.join('; ')}`;
  }
  if (pkg.source !== undefined) {
    out.sourceInfo = `built package from: ${pkg.source.name}${pkg.source.version ? ` ${pkg.source.version}` : ''}`;
  }
  out.annotations = annotations(created, annotator, 'regscan:package:', [
    ['type', pkg.type],
    ['source_name', pkg.source?.name],
    ['source_version', pkg.source?.version],
    ['layer_diff_id', pkg.layer],
    ['path', pkg.path],
    ['arch', pkg.arch],
    ...Object.keys(pkg.properties ?? {})
      .sort()
      .map((k): [string, string | undefined] => [k, pkg.properties?.[k]]),
  ]);
  return out;
}

function unassertedPackageFields() {
  return {
    supplier: NOASSERTION,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false as const,
    licenseConcluded: NOASSERTION,
    licenseDeclared: NOASSERTION,
    copyrightText: NOASSERTION,
  };
}

function purlRef(purl: string): SPDXExternalRef {
  return { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl };
}

function sha256Checksum(digest: string): SPDXChecksum | undefined {
  const m = SHA256_DIGEST.exec(digest);
  return m ? { algorithm: 'SHA256', checksumValue: m[1] as string } : undefined;
}

function annotations(
  created: string,
  annotator: string,
  prefix: string,
  facts: [string, string | undefined][],
): SPDXAnnotation[] {
  return facts
    .filter((f): f is [string, string] => f[1] !== undefined && f[1] !== '')
    .map(([name, value]) => ({
      annotationDate: created,
      annotationType: 'OTHER' as const,
      annotator,
      comment: `${prefix}${name}=${value}`,
    }));
}

/** SPDX dates are `YYYY-MM-DDThh:mm:ssZ`, without fractional seconds. */
function spdxDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** SPDXIDs (`SPDXRef-[A-Za-z0-9.-]+`): kind, a readable name, a hash of the identity. */
class SpdxIds {
  readonly #used = new Set<string>(['SPDXRef-DOCUMENT']);

  make(kind: string, name: string, identity: string): string {
    const readable = name.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
    const hash = createHash('sha256').update(identity).digest('hex').slice(0, 16);
    const base = `SPDXRef-${kind}-${readable}-${hash}`;
    let id = base;
    for (let n = 2; this.#used.has(id); n++) id = `${base}-${n}`;
    this.#used.add(id);
    return id;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
