import { PackageURL } from 'packageurl-js';
import type {
  AnalyzedPackage,
  Distro,
  ImageInventory,
  Package,
  PackageType,
} from '../inventory/types.js';

/**
 * Reading a CycloneDX SBOM back into inventories, so a stored SBOM can be matched again without
 * the image (`regscan scan --sbom`, and later continuous re-matching). Reads regscan's own
 * documents completely, and others (Trivy's, Syft's) as far as their purls and properties tell:
 * OS packages by purl, the source package from our properties, Trivy's `SrcName`/`SrcVersion`
 * properties or Syft's `upstream` qualifier.
 */
export class SbomError extends Error {
  override readonly name = 'SbomError';
}

interface Property {
  name?: unknown;
  value?: unknown;
}
interface Component {
  type?: unknown;
  name?: unknown;
  version?: unknown;
  purl?: unknown;
  description?: unknown;
  properties?: Property[];
  components?: Component[];
}

const TYPES = new Set<PackageType>([
  'deb',
  'apk',
  'rpm',
  'npm',
  'pypi',
  'golang',
  'maven',
  'gem',
  'composer',
  'nuget',
  'cargo',
  'generic',
]);

/** The ecosystem's own name from a purl's namespace and name (see purlFor). */
function ecosystemName(type: PackageType, namespace: string | undefined, name: string): string {
  if (!namespace) return name;
  if (type === 'maven') return `${namespace}:${name}`;
  if (type === 'npm' || type === 'golang' || type === 'composer') return `${namespace}/${name}`;
  return name;
}

function props(c: Component): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of Array.isArray(c.properties) ? c.properties : []) {
    if (typeof p.name === 'string' && typeof p.value === 'string' && !out.has(p.name))
      out.set(p.name, p.value);
  }
  return out;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function distroOf(os: Component | undefined): Distro | undefined {
  const id = os && str(os.name);
  if (!os || !id) return undefined;
  const p = props(os);
  const distro: Distro = { id, path: p.get('regscan:os:path') ?? '' };
  const versionId = str(os.version);
  if (versionId) distro.versionId = versionId;
  const codename = p.get('regscan:os:codename');
  if (codename) distro.codename = codename;
  const name = str(os.description);
  if (name) distro.name = name;
  const idLike = p.get('regscan:os:id_like');
  if (idLike) distro.idLike = idLike.split(' ');
  return distro;
}

function packageOf(c: Component, warnings: string[]): Package | undefined {
  const purlText = str(c.purl);
  if (!purlText) return undefined;
  let purl: PackageURL;
  try {
    purl = PackageURL.fromString(purlText);
  } catch {
    warnings.push(`component ${String(c.name)}: unreadable purl ${purlText}`);
    return undefined;
  }
  if (!TYPES.has(purl.type as PackageType)) return undefined;
  const type = purl.type as PackageType;
  const p = props(c);
  const q = purl.qualifiers ?? {};
  if (!purl.version) {
    warnings.push(`component ${purl.name}: purl without a version; skipped`);
    return undefined;
  }
  const pkg: AnalyzedPackage = {
    type,
    name: ecosystemName(type, purl.namespace ?? undefined, purl.name),
    version: purl.version,
  };
  if (type === 'rpm') {
    const epoch = q.epoch ?? p.get('aquasecurity:trivy:PkgEpoch');
    if (epoch && epoch !== '0') pkg.version = `${epoch}:${purl.version}`;
    if (epoch !== undefined) pkg.epoch = Number(epoch);
    const dash = purl.version.lastIndexOf('-');
    if (dash > 0) pkg.release = purl.version.slice(dash + 1);
  }
  const arch = q.arch ?? p.get('regscan:package:arch');
  if (arch) pkg.arch = arch;
  const sourceName = p.get('regscan:package:source_name') ?? p.get('aquasecurity:trivy:SrcName');
  const upstream = q.upstream;
  if (sourceName) {
    const trivyVersion = p.get('aquasecurity:trivy:SrcVersion');
    const trivyRelease = p.get('aquasecurity:trivy:SrcRelease');
    const version =
      p.get('regscan:package:source_version') ??
      (trivyVersion ? `${trivyVersion}${trivyRelease ? `-${trivyRelease}` : ''}` : undefined);
    pkg.source = { name: sourceName, ...(version ? { version } : {}) };
  } else if (upstream) {
    const at = upstream.indexOf('@');
    pkg.source =
      at > 0
        ? { name: upstream.slice(0, at), version: upstream.slice(at + 1) }
        : { name: upstream };
  }
  return {
    ...pkg,
    layer: p.get('regscan:package:layer_diff_id') ?? p.get('aquasecurity:trivy:LayerDiffID') ?? '',
    path: p.get('regscan:package:path') ?? '',
    purl: purlText,
  };
}

/** One image's content: an OS component (if any) and package components. */
function inventoryOf(components: Component[], warnings: string[]) {
  const flat: Component[] = [];
  const walk = (list: Component[]) => {
    for (const c of list) {
      flat.push(c);
      if (Array.isArray(c.components)) walk(c.components);
    }
  };
  walk(components);
  const distro = distroOf(flat.find((c) => c.type === 'operating-system'));
  const packages = flat
    .map((c) => packageOf(c, warnings))
    .filter((p): p is Package => p !== undefined);
  return {
    ...(distro ? { distro } : {}),
    packages,
    warnings: warnings.map((message) => ({ message })),
  };
}

function imageOf(top: Component | undefined): ImageInventory['image'] {
  const p = top ? props(top) : new Map<string, string>();
  const [os = 'unknown', architecture = 'unknown', variant] = (
    p.get('regscan:image:platform') ?? ''
  ).split('/');
  return {
    reference: p.get('regscan:image:reference') ?? str(top?.name) ?? 'sbom',
    name: str(top?.name) ?? 'sbom',
    ...(p.get('regscan:image:tag') ? { tag: p.get('regscan:image:tag') } : {}),
    manifestDigest: p.get('regscan:image:digest') ?? str(top?.version) ?? '',
    configDigest: p.get('regscan:image:config_digest') ?? '',
    platform: { os, architecture, ...(variant ? { variant } : {}) },
    layers: [],
  };
}

export function fromCycloneDX(doc: unknown): ImageInventory[] {
  if (
    typeof doc !== 'object' ||
    doc === null ||
    (doc as { bomFormat?: unknown }).bomFormat !== 'CycloneDX'
  ) {
    throw new SbomError('not a CycloneDX JSON document (no "bomFormat": "CycloneDX")');
  }
  const bom = doc as { metadata?: { component?: Component }; components?: Component[] };
  const components = Array.isArray(bom.components) ? bom.components : [];
  // regscan writes several platforms as top-level container components with nested content
  const platforms = components.filter((c) => c.type === 'container' && Array.isArray(c.components));
  if (platforms.length > 0) {
    return platforms.map((c) => ({
      image: imageOf(c),
      inventory: inventoryOf(c.components ?? [], []),
    }));
  }
  return [{ image: imageOf(bom.metadata?.component), inventory: inventoryOf(components, []) }];
}
