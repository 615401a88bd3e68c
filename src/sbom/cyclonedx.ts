/**
 * CycloneDX 1.6 JSON for image inventories, built with @cyclonedx/cyclonedx-library's models and
 * serialized by its JSON normalizer (no hand-written CycloneDX JSON).
 *
 * Shape, one image (the common case, and what is stored per scanned manifest):
 *   metadata.component  the image: type container, name = repository, version = manifest
 *                       digest, purl pkg:oci/…, `regscan:image:*` properties
 *   components          the operating system (type operating-system), then one `library`
 *                       per package (purl, licences, `regscan:package:*` properties)
 *   dependencies        image → operating system → packages (image → packages without a distro)
 *
 * Several platforms of one index (`--platform all`): one document whose metadata.component is
 * the index (version = index digest), with one top-level `container` component per platform
 * holding that platform's operating system and packages as nested components; dependencies go
 * index → platform images → operating system → packages. One document keeps a multi-platform
 * scan in one file that every CycloneDX consumer can read, and the nesting keeps each package
 * attached to its platform; callers that want one BOM per manifest (the stored SBOMs) call this
 * once per platform.
 *
 * bom-refs are stable across runs: the image's purl, `os:<id>@<version>`, the package's purl.
 * When two components would share one (the same package recorded by two package databases, or
 * an `arch=all` package on two platforms), every one of them gets the distinguishing context
 * appended: `|platform=…`, then `|path=…`, then `|layer=…`.
 */
import { randomUUID } from 'node:crypto';
// subpath imports: the package's index also loads validation and XML support, which are not used
import * as Enums from '@cyclonedx/cyclonedx-library/Enums';
import * as Models from '@cyclonedx/cyclonedx-library/Models';
import * as Serialize from '@cyclonedx/cyclonedx-library/Serialize';
import * as Spec from '@cyclonedx/cyclonedx-library/Spec';
import { ociPurlFor, purlFor } from '../inventory/purl.js';
import {
  OS_PACKAGE_TYPES,
  type Distro,
  type ImageInventory,
  type ImageMetadata,
  type Package,
} from '../inventory/types.js';
import { classifyLicenses } from './license.js';

export interface CycloneDXOptions {
  /** regscan's version, for metadata.tools. */
  toolVersion?: string;
  /** Written as the metadata property `regscan:report_type` (`container_scanning_for_registry`). */
  reportType?: string;
  /** metadata.timestamp; now by default. */
  timestamp?: Date;
  /** `urn:uuid:…`; a random one by default. */
  serialNumber?: string;
}

/** A CycloneDX document as plain JSON data. */
export type CycloneDXDocument = Record<string, unknown>;

export const CYCLONEDX_SPEC_VERSION = '1.6';

const SERIAL_NUMBER = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function toCycloneDX(
  images: readonly ImageInventory[],
  options: CycloneDXOptions = {},
): CycloneDXDocument {
  return JSON.parse(toCycloneDXString(images, options)) as CycloneDXDocument;
}

/** The same document, serialized (two-space indent). */
export function toCycloneDXString(
  images: readonly ImageInventory[],
  options: CycloneDXOptions = {},
): string {
  return serializeCycloneDXBom(buildCycloneDXBom(images, options).bom);
}

/**
 * The SBOM as library models, for writers that add to it before serializing (the vulnerability
 * report in src/report adds `vulnerabilities` whose `affects` point at package components).
 */
export interface CycloneDXBom {
  bom: Models.Bom;
  /** Per image (same order as the input): each inventory package's component. */
  packageComponents: ReadonlyMap<Package, Models.Component>[];
}

export function buildCycloneDXBom(
  images: readonly ImageInventory[],
  options: CycloneDXOptions = {},
): CycloneDXBom {
  const packageComponents = images.map(() => new Map<Package, Models.Component>());
  const bom = buildBom(images, options, packageComponents);
  return { bom, packageComponents };
}

/** A BOM model as CycloneDX 1.6 JSON (two-space indent). */
export function serializeCycloneDXBom(bom: Models.Bom): string {
  const serializer = new Serialize.JsonSerializer(
    new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6),
  );
  // sortLists stays off: components are added in a deterministic order already, and sorting
  // would reorder the `regscan:image:layer` properties, whose order (bottom layer first) matters.
  return serializer.serialize(bom, { sortLists: false, space: 2 });
}

function buildBom(
  images: readonly ImageInventory[],
  options: CycloneDXOptions,
  packageComponents: Map<Package, Models.Component>[],
): Models.Bom {
  const first = images[0];
  if (first === undefined) throw new RangeError('toCycloneDX: no image to describe');
  const serialNumber = options.serialNumber ?? `urn:uuid:${randomUUID()}`;
  if (!SERIAL_NUMBER.test(serialNumber)) {
    throw new RangeError(`toCycloneDX: serial number must be urn:uuid:<uuid>: ${serialNumber}`);
  }

  const multi = images.length > 1;
  const plans = images.map((image) => planImage(image, multi));
  assignBomRefs(plans);

  const bom = new Models.Bom({ serialNumber });
  bom.metadata.timestamp = options.timestamp ?? new Date();
  bom.metadata.tools.components.add(
    new Models.Component(Enums.ComponentType.Application, 'regscan', {
      version: options.toolVersion ?? 'unknown',
    }),
  );
  if (options.reportType !== undefined && options.reportType !== '') {
    bom.metadata.properties.add(new Models.Property('regscan:report_type', options.reportType));
  }

  if (!multi) {
    const plan = plans[0] as ImagePlan;
    const image = imageComponent(plan);
    bom.metadata.component = image;
    for (const c of contentComponents(plan, image, packageComponents[0])) bom.components.add(c);
    return bom;
  }

  const index = indexComponent(images);
  bom.metadata.component = index;
  for (const [i, plan] of plans.entries()) {
    const image = imageComponent(plan);
    for (const c of contentComponents(plan, image, packageComponents[i])) image.components.add(c);
    index.dependencies.add(image.bomRef);
    bom.components.add(image);
  }
  return bom;
}

/** One image's components before they become models: what bom-refs are decided on. */
interface ImagePlan {
  image: ImageMetadata;
  distro?: Distro;
  platform: string;
  imageRef: Ref;
  osRef?: Ref;
  packages: { pkg: Package; purl: string; ref: Ref }[];
}

/** Candidate bom-refs, most preferred first; `value` is the chosen one. */
interface Ref {
  candidates: string[];
  value?: string;
}

function planImage({ image, inventory }: ImageInventory, multi: boolean): ImagePlan {
  const platform = platformString(image.platform);
  const scope = multi ? [`platform=${platform}`] : [];
  const distro = inventory.distro;
  const packages = inventory.packages
    .map((pkg) => ({ pkg, purl: pkg.purl || purlFor(pkg, distro) }))
    .sort(
      (a, b) =>
        compare(a.pkg.name, b.pkg.name) ||
        compare(a.pkg.version, b.pkg.version) ||
        compare(a.purl, b.purl) ||
        compare(a.pkg.path, b.pkg.path) ||
        compare(a.pkg.layer, b.pkg.layer),
    )
    .map(({ pkg, purl }) => ({
      pkg,
      purl,
      ref: refWithContext(purl, [...scope, `path=${pkg.path}`, `layer=${pkg.layer}`]),
    }));
  const osName = distro === undefined ? undefined : `os:${distro.id}@${distro.versionId ?? ''}`;
  return {
    image,
    ...(distro !== undefined ? { distro } : {}),
    platform,
    imageRef: { candidates: [ociPurlFor(image)] },
    ...(osName !== undefined ? { osRef: refWithContext(osName, scope) } : {}),
    packages,
  };
}

function refWithContext(base: string, context: string[]): Ref {
  const candidates = [base];
  for (const part of context) candidates.push(`${candidates[candidates.length - 1]}|${part}`);
  return { candidates };
}

/**
 * Chooses every bom-ref: the first candidate no other component wants at the same level; ties
 * move together to their next candidate, so the outcome does not depend on input order.
 */
function assignBomRefs(plans: ImagePlan[]): void {
  const refs: Ref[] = [];
  for (const plan of plans) {
    refs.push(plan.imageRef);
    if (plan.osRef) refs.push(plan.osRef);
    for (const p of plan.packages) refs.push(p.ref);
  }
  const taken = new Set<string>();
  let pending = refs;
  for (let level = 0; pending.length > 0; level++) {
    const at = (r: Ref) => r.candidates[Math.min(level, r.candidates.length - 1)] as string;
    const counts = new Map<string, number>();
    for (const r of pending) counts.set(at(r), (counts.get(at(r)) ?? 0) + 1);
    const exhausted = pending.every((r) => level >= r.candidates.length - 1);
    const next: Ref[] = [];
    for (const r of pending) {
      const value = at(r);
      if (counts.get(value) === 1 && !taken.has(value)) {
        r.value = value;
        taken.add(value);
      } else {
        next.push(r);
      }
    }
    pending = next;
    if (exhausted) break;
  }
  // Identical in every respect (the same package twice in one database): number them.
  for (const r of pending) {
    const base = r.candidates[r.candidates.length - 1] as string;
    let n = 1;
    while (taken.has(`${base}|${n}`)) n++;
    r.value = `${base}|${n}`;
    taken.add(r.value);
  }
}

function imageComponent(plan: ImagePlan): Models.Component {
  const { image } = plan;
  const purl = plan.imageRef.candidates[0] as string;
  const component = new Models.Component(Enums.ComponentType.Container, image.name, {
    bomRef: plan.imageRef.value as string,
    version: image.manifestDigest,
    purl,
  });
  const add = (name: string, value: string | undefined) => {
    if (value !== undefined && value !== '') {
      component.properties.add(new Models.Property(`regscan:image:${name}`, value));
    }
  };
  add('reference', image.reference);
  add('tag', image.tag);
  add('digest', image.manifestDigest);
  add('index_digest', image.indexDigest);
  add('config_digest', image.configDigest);
  add('platform', plan.platform);
  add('created', image.created);
  for (const layer of image.layers) add('layer', layer.diffId);
  return component;
}

function indexComponent(images: readonly ImageInventory[]): Models.Component {
  const first = (images[0] as ImageInventory).image;
  const indexDigest = images.every((i) => i.image.indexDigest === first.indexDigest)
    ? first.indexDigest
    : undefined;
  const component = new Models.Component(Enums.ComponentType.Container, first.name, {
    bomRef:
      indexDigest === undefined
        ? `regscan:images:${first.name}`
        : ociPurlFor({ ...first, platform: undefined }, indexDigest),
    ...(indexDigest !== undefined
      ? { version: indexDigest, purl: ociPurlFor({ ...first, platform: undefined }, indexDigest) }
      : {}),
  });
  component.properties.add(new Models.Property('regscan:image:reference', first.reference));
  if (first.tag) component.properties.add(new Models.Property('regscan:image:tag', first.tag));
  if (indexDigest !== undefined) {
    component.properties.add(new Models.Property('regscan:image:index_digest', indexDigest));
  }
  return component;
}

/** The operating system and package components of one image, wired into `image`'s graph. */
function contentComponents(
  plan: ImagePlan,
  image: Models.Component,
  byPackage?: Map<Package, Models.Component>,
): Models.Component[] {
  const packages = plan.packages.map((p) => {
    const component = packageComponent(p.pkg, p.purl, p.ref);
    byPackage?.set(p.pkg, component);
    return component;
  });
  let os: Models.Component | undefined;
  if (plan.distro !== undefined && plan.osRef !== undefined) {
    os = osComponent(plan.distro, plan.osRef);
    image.dependencies.add(os.bomRef);
  }
  // the OS holds its own packages; language packages and runtimes belong to the image
  plan.packages.forEach((p, i) => {
    const owner = os !== undefined && OS_PACKAGE_TYPES.has(p.pkg.type) ? os : image;
    owner.dependencies.add(packages[i]!.bomRef);
  });
  return os === undefined ? packages : [os, ...packages];
}

function osComponent(distro: Distro, ref: Ref): Models.Component {
  const component = new Models.Component(Enums.ComponentType.OperatingSystem, distro.id, {
    bomRef: ref.value as string,
    ...(distro.versionId ? { version: distro.versionId } : {}),
    ...(distro.name ? { description: distro.name } : {}),
  });
  const add = (name: string, value: string | undefined) => {
    if (value) component.properties.add(new Models.Property(`regscan:os:${name}`, value));
  };
  add('codename', distro.codename);
  add('id_like', distro.idLike?.join(' '));
  add('path', distro.path);
  return component;
}

function packageComponent(pkg: Package, purl: string, ref: Ref): Models.Component {
  const component = new Models.Component(Enums.ComponentType.Library, pkg.name, {
    bomRef: ref.value as string,
    version: pkg.version,
    purl,
  });
  for (const choice of classifyLicenses(pkg.licenses)) {
    switch (choice.kind) {
      case 'id':
        component.licenses.add(new Models.SpdxLicense(choice.id));
        break;
      case 'expression':
        component.licenses.add(new Models.LicenseExpression(choice.expression));
        break;
      case 'name':
        component.licenses.add(new Models.NamedLicense(choice.name));
        break;
    }
  }
  const add = (name: string, value: string | undefined) => {
    if (value !== undefined && value !== '') {
      component.properties.add(new Models.Property(`regscan:package:${name}`, value));
    }
  };
  add('type', pkg.type);
  add('source_name', pkg.source?.name);
  add('source_version', pkg.source?.version);
  add('layer_diff_id', pkg.layer);
  add('path', pkg.path);
  add('arch', pkg.arch);
  for (const key of Object.keys(pkg.properties ?? {}).sort()) add(key, pkg.properties?.[key]);
  return component;
}

export function platformString(platform: ImageMetadata['platform']): string {
  const parts = [platform.os, platform.architecture];
  if (platform.variant) parts.push(platform.variant);
  return parts.join('/');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
