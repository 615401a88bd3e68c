import type { Analyzer, AnalyzerOutput, LayerFile } from '../analyzer.js';

/**
 * The distribution: `/etc/os-release` or `/usr/lib/os-release` (freedesktop.org os-release(5)),
 * with the older release files as fallbacks for images that have no os-release. Which file wins
 * when several exist is decided after merging layers (see DISTRO_FILES in the indexer).
 */
export const OS_RELEASE_FILES = ['etc/os-release', 'usr/lib/os-release'];
export const FALLBACK_FILES = ['etc/alpine-release', 'etc/redhat-release', 'etc/debian_version'];
/** In order of preference. */
export const DISTRO_FILES = [...OS_RELEASE_FILES, ...FALLBACK_FILES];

/** Parse os-release's shell-like `KEY=value` lines (values may be quoted, with `\` escapes). */
export function parseOsRelease(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2]!;
    const q = value[0];
    if ((q === '"' || q === "'") && value.endsWith(q) && value.length >= 2) {
      value = value.slice(1, -1);
      if (q === '"') value = value.replace(/\\(["\\`$])/g, '$1');
    }
    out.set(m[1]!, value);
  }
  return out;
}

function fromOsRelease(text: string): AnalyzerOutput {
  const kv = parseOsRelease(text);
  const id = kv.get('ID')?.toLowerCase();
  if (!id) return { warnings: ['os-release without ID'] };
  const distro: AnalyzerOutput['distro'] = { id };
  const versionId = kv.get('VERSION_ID');
  if (versionId) distro.versionId = versionId;
  const codename = kv.get('VERSION_CODENAME');
  if (codename) distro.codename = codename;
  const name = kv.get('PRETTY_NAME') ?? kv.get('NAME');
  if (name) distro.name = name;
  const like = kv.get('ID_LIKE');
  if (like) distro.idLike = like.split(/\s+/).filter(Boolean);
  return { distro };
}

/** `/etc/redhat-release` first words → os-release ID. Anything else there is RHEL itself. */
const REDHAT_FAMILY: [string, string][] = [
  ['centos', 'centos'],
  ['rocky', 'rocky'],
  ['almalinux', 'almalinux'],
  ['fedora', 'fedora'],
  ['oracle', 'ol'],
];
const REDHAT = /^(.*?)\s+(?:Linux\s+)?release\s+([\d.]+)/i;

function fromFallback(path: string, text: string): AnalyzerOutput {
  const first = text.split(/\r?\n/)[0]!.trim();
  if (path === 'etc/alpine-release') {
    return first
      ? { distro: { id: 'alpine', versionId: first } }
      : { warnings: ['empty alpine-release'] };
  }
  if (path === 'etc/debian_version') {
    // `12.5` on releases, `trixie/sid` on testing: only numbers are a version
    return {
      distro: {
        id: 'debian',
        ...(/^\d+(\.\d+)*$/.test(first) ? { versionId: first.split('.')[0]! } : {}),
      },
    };
  }
  const m = REDHAT.exec(first);
  if (!m) return { warnings: [`unrecognised release line "${first.slice(0, 80)}"`] };
  const product = m[1]!.toLowerCase();
  const id = REDHAT_FAMILY.find(([prefix]) => product.startsWith(prefix))?.[1] ?? 'rhel';
  return { distro: { id, versionId: m[2]!, name: first } };
}

export const osReleaseAnalyzer: Analyzer = {
  id: 'os-release',
  version: 1,
  wants: (path) => DISTRO_FILES.includes(path),
  analyze(file: LayerFile): AnalyzerOutput {
    const text = file.content.toString('utf8');
    return OS_RELEASE_FILES.includes(file.path)
      ? fromOsRelease(text)
      : fromFallback(file.path, text);
  },
};
