/**
 * The advisory store's speed on the whole shared data set: an import of every OSV record and every
 * native feed there is a converter for, into a fresh SQLite file, then the matcher's look-ups for
 * 500 packages. Run alone: `tsx bench/advisories.ts [DATA_DIR]`; `npm run bench` calls
 * benchAdvisories().
 *
 * What of DATA_DIR/advisories is read: `osv/` (every folder, one directory source), and as native
 * feeds `native/alpine-secdb-json/` and `native/fixture-samples/debian-tracker-json/`. The YAML
 * secdb, the DSA/DLA lists, nodejs-security-wg and rubysec have no converter yet.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OsvDirectorySource, sourcesFor, type AdvisorySource } from '../src/advisories/sources.js';
import { AdvisoryStore } from '../src/advisories/store.js';
import type { Inventory } from '../src/inventory/types.js';
import { matchInventory } from '../src/match/match.js';

export interface AdvisoryBench {
  /** Valid records read (duplicates within a source included). */
  records: number;
  /** Advisories in the store afterwards. */
  advisories: number;
  invalid: number;
  /** Import time, all sources, including reading, validating and converting. */
  ms: number;
  recordsPerSecond: number;
  /** Size of the database file afterwards. */
  dbBytes: number;
  /** A second import of the same sources (everything unchanged). */
  reimportMs: number;
  /** `forPackage` for 500 (ecosystem, name) pairs, cold (fresh store object) and warm. */
  lookups: { names: number; coldMs: number; warmMs: number; found: number };
  /** matchInventory on 500 packages: first run on a fresh store object, then the median of 5 more. */
  match: { packages: number; findings: number; coldMs: number; warmMs: number };
}

export const SHARED_DATA = '/work/shared/data';

export async function benchAdvisories(dataDir = SHARED_DATA): Promise<AdvisoryBench> {
  const root = join(dataDir, 'advisories');
  const feeds = [
    join(root, 'native/alpine-secdb-json'),
    join(root, 'native/fixture-samples/debian-tracker-json'),
  ].filter((p) => existsSync(p));
  const makeSources = async (): Promise<AdvisorySource[]> => [
    new OsvDirectorySource(join(root, 'osv')),
    ...(await sourcesFor(feeds)),
  ];

  const dir = mkdtempSync(join(tmpdir(), 'regscan-bench-advisories-'));
  const file = join(dir, 'advisories.db');
  try {
    let store = new AdvisoryStore(file);
    let records = 0;
    let invalid = 0;
    const started = performance.now();
    for (const source of await makeSources()) {
      const r = await store.update(source);
      records += r.added + r.changed + r.withdrawn + r.unchanged + r.older + r.duplicates;
      invalid += r.invalid;
    }
    const ms = performance.now() - started;

    const reimportStarted = performance.now();
    for (const source of await makeSources()) await store.update(source);
    const reimportMs = performance.now() - reimportStarted;
    const advisories = store.status().advisories;
    store.close();

    // The look-ups the matcher makes for an image of 500 packages: names that have advisories,
    // spread over the ecosystems, and a few that have none.
    store = new AdvisoryStore(file, { readonly: true });
    const names = lookupNames(store, 500);
    let found = 0;
    const coldStarted = performance.now();
    for (const [ecosystem, name] of names) found += store.forPackage(ecosystem, name).length;
    const coldMs = performance.now() - coldStarted;
    const warmStarted = performance.now();
    for (const [ecosystem, name] of names) store.forPackage(ecosystem, name);
    const warmMs = performance.now() - warmStarted;
    store.close();

    // The whole matcher on an inventory of 500 Alpine 3.11 packages, each at a version older than
    // every fix (the most work: every advisory of a package is evaluated and matches).
    store = new AdvisoryStore(file, { readonly: true });
    // v3.11 has advisories for 259 packages: the rest of the 500 are names other releases know,
    // looked up under v3.11 too, as the many packages of an image without advisories are
    const releases = ['v3.11', 'v3.10', 'v3.9', 'v3.8', 'v3.7', 'v3.6', 'v3.5', 'v3.4', 'v3.3'];
    const known = [...new Set(releases.flatMap((r) => store.packageNames(`Alpine:${r}`)))];
    // and, past those, names no advisory mentions
    const apkNames = [...known, ...Array.from({ length: 500 }, (_, i) => `no-advisory-${i}`)].slice(
      0,
      500,
    );
    const inventory: Inventory = {
      distro: { id: 'alpine', versionId: '3.11.13', path: 'etc/os-release' },
      packages: apkNames.map((name) => ({
        type: 'apk',
        name,
        version: '0.0.1-r0',
        source: { name },
        layer: 'sha256:0',
        path: 'lib/apk/db/installed',
        purl: `pkg:apk/alpine/${name}@0.0.1-r0`,
      })),
      warnings: [],
    };
    const matchCold = performance.now();
    const { findings } = matchInventory(inventory, store);
    const matchColdMs = performance.now() - matchCold;
    // then the median of five more runs: parsed advisories cached, code warmed up
    const warmRuns: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      matchInventory(inventory, store);
      warmRuns.push(performance.now() - started);
    }
    const matchWarmMs = warmRuns.sort((a, b) => a - b)[2]!;
    store.close();

    return {
      records,
      advisories,
      invalid,
      ms: Math.round(ms),
      recordsPerSecond: Math.round(records / (ms / 1000)),
      dbBytes: statSync(file).size,
      reimportMs: Math.round(reimportMs),
      lookups: {
        names: names.length,
        coldMs: round(coldMs),
        warmMs: round(warmMs),
        found,
      },
      match: {
        packages: inventory.packages.length,
        findings: findings.length,
        coldMs: round(matchColdMs),
        warmMs: round(matchWarmMs),
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

/**
 * `count` (ecosystem, name) pairs, as an inventory of that many packages would ask: names that have
 * advisories, taken round-robin over the ecosystems, and 20 that have none.
 */
function lookupNames(store: AdvisoryStore, count: number): [string, string][] {
  const lists = store
    .status()
    .ecosystems.map(({ ecosystem }) => ({ ecosystem, names: store.packageNames(ecosystem) }));
  const out: [string, string][] = [];
  const wanted = count - 20;
  for (let i = 0; out.length < wanted && lists.some((l) => l.names.length > i); i++) {
    for (const { ecosystem, names } of lists) {
      const name = names[i];
      if (name !== undefined && out.length < wanted) out.push([ecosystem, name]);
    }
  }
  for (let i = 0; out.length < count; i++) out.push(['npm', `no-advisory-package-${i}`]);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await benchAdvisories(process.argv[2]), null, 2));
}
