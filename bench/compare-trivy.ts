/**
 * What regscan finds against what Trivy finds, on the same test images: counts per package type
 * for both tools and every package only one of them reports. Packages are compared by purl
 * without qualifiers (type/namespace/name@version), which both tools write; Trivy's deb `epoch`
 * qualifier is folded into the version first, where the purl spec puts it. Trivy is a yardstick
 * here, never a dependency (see run.ts for where its binary comes from).
 *
 *   tsx bench/compare-trivy.ts [TAG ...]       (npm run bench runs it over every test image)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PackageURL } from 'packageurl-js';
import { inventoryImage } from '../src/inventory/inventory-image.js';

export interface Comparison {
  tag: string;
  /** purl type → [regscan, trivy] counts. */
  counts: Record<string, [number, number]>;
  onlyRegscan: string[];
  onlyTrivy: string[];
  note?: string;
}

/** `type/namespace/name@version`, lower-cased where the purl type is case-insensitive. */
function key(purl: string): string | undefined {
  try {
    const p = PackageURL.fromString(purl);
    const name = [p.namespace, p.name].filter(Boolean).join('/');
    // Trivy writes a deb epoch as a qualifier, the purl spec (and regscan) in the version
    const epoch = p.type === 'deb' ? p.qualifiers?.epoch : undefined;
    const version =
      epoch && !p.version?.includes(':') ? `${epoch}:${p.version}` : (p.version ?? '');
    const text = `${p.type}/${name}@${version}`;
    return p.type === 'maven' || p.type === 'nuget' ? text : text.toLowerCase();
  } catch {
    return undefined;
  }
}

function trivyKeys(
  trivy: string,
  layout: string,
  tag: string,
  work: string,
): { keys: Set<string>; note?: string } {
  const out = join(work, `${tag}.cdx.json`);
  const base = ['image', '--input', `${layout}:${tag}`, '--format', 'cyclonedx', '--offline-scan'];
  const offline = ['--skip-db-update', '--skip-java-db-update', '--quiet'];
  const run = (extra: string[]) =>
    execFileSync(
      trivy,
      [...base, ...offline, '--cache-dir', join(work, 'trivy-cache'), '--output', out, ...extra],
      { env: { ...process.env, TMPDIR: work }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
  let note: string | undefined;
  try {
    run([]);
  } catch (err) {
    // Trivy's jar analyzer will not start without its Java DB, which it cannot download here
    if (!String((err as { stderr?: Buffer }).stderr).includes('Java DB')) throw err;
    run(['--skip-files', '**/*.jar']);
    note =
      'Trivy read no jars: its Java analyzer needs the Java DB, which cannot be downloaded here';
  }
  const bom = JSON.parse(readFileSync(out, 'utf8')) as {
    components?: { purl?: string; components?: unknown[] }[];
  };
  const keys = new Set<string>();
  const walk = (list: { purl?: string; components?: unknown[] }[] | undefined) => {
    for (const c of list ?? []) {
      const k = c.purl ? key(c.purl) : undefined;
      if (k) keys.add(k);
      walk(c.components as { purl?: string }[] | undefined);
    }
  };
  walk(bom.components);
  return { keys, ...(note ? { note } : {}) };
}

export async function compareWithTrivy(
  trivy: string,
  layout: string,
  tags: readonly string[],
): Promise<Comparison[]> {
  const work = mkdtempSync(join(tmpdir(), 'regscan-vs-trivy-'));
  try {
    const out: Comparison[] = [];
    for (const tag of tags) {
      const [result] = await inventoryImage(`oci:${layout}:${tag}`);
      const ours = new Set(
        result!.inventory.packages.map((p) => key(p.purl)).filter((k): k is string => !!k),
      );
      const { keys: theirs, note } = trivyKeys(trivy, layout, tag, work);
      const counts: Record<string, [number, number]> = {};
      for (const [set, i] of [
        [ours, 0],
        [theirs, 1],
      ] as const) {
        for (const k of set) {
          const type = k.slice(0, k.indexOf('/'));
          counts[type] ??= [0, 0];
          counts[type][i]++;
        }
      }
      out.push({
        tag,
        counts,
        onlyRegscan: [...ours].filter((k) => !theirs.has(k)).sort(),
        onlyTrivy: [...theirs].filter((k) => !ours.has(k)).sort(),
        ...(note ? { note } : {}),
      });
    }
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function printComparison(results: readonly Comparison[]): void {
  for (const r of results) {
    const counts = Object.entries(r.counts)
      .sort()
      .map(([type, [a, b]]) => `${type} ${a}/${b}`)
      .join(', ');
    console.log(`\n${r.tag}: packages per type, regscan/trivy: ${counts}`);
    if (r.note) console.log(`  (${r.note})`);
    for (const k of r.onlyRegscan) console.log(`  only regscan: ${k}`);
    for (const k of r.onlyTrivy) console.log(`  only trivy:   ${k}`);
  }
}
