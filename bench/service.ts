/**
 * The service's speed, through the real registry:
 *
 *   push → visible   for N pushes (each test image in turn, each to a new tag), the time from
 *                    skopeo's push returning to the image's vulnerabilities being readable in the
 *                    API; p50 and p95 (goal: p50 ≤ 2 s, p95 ≤ 5 s). Each image is cold the first
 *                    time (its layers unknown) and cached after.
 *   events/s         registry notifications the endpoint accepts per second, 16 at a time: queued
 *                    (a transaction with the project lock, the limit count, the dedupe check, the
 *                    scan and its job) and refused (unsupported tag), on a service without
 *                    workers so scans do not compete.
 */
import type { Advisory } from '../src/advisories/osv.js';
import { testImages, type ImageTag } from '../test/support/images.js';
import { eventually, REGISTRY_SECRET, startTestService } from '../test/support/service.js';

const PUSH_IMAGES: ImageTag[] = ['base', 'base-jq', 'distroless', 'node-app', 'python-app'];

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const advisory = (id: string, source: string): Advisory => ({
  schema_version: '1.6.0',
  id,
  modified: '2026-11-01T00:00:00Z',
  summary: `${source} benchmark advisory`,
  affected: [
    {
      package: { ecosystem: 'Debian:12', name: source },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
    },
  ],
});

export interface ServiceBench {
  pushes: number;
  p50: number;
  p95: number;
  max: number;
  coldP50: number;
  coldMax: number;
  queuedPerSecond: number;
  refusedPerSecond: number;
  events: number;
}

export async function benchService(
  pushes = Number(process.env.PUSHES ?? 20),
): Promise<ServiceBench> {
  const images = await testImages();
  const latencies: number[] = [];
  /** The first push of each image: its layers are not in the cache yet. */
  const cold: number[] = [];
  const t = await startTestService({
    dialect: 'sqlite',
    advisories: [advisory('BENCH-0001', 'glibc'), advisory('BENCH-0002', 'base-files')],
  });
  try {
    const created = await t.api.post('/api/v1/projects', {
      path: 'bench/app',
      scanning_enabled: true,
      supported_tags: ['*'],
      daily_limit: 10_000,
    });
    if (created.status !== 201) throw new Error(`project: ${JSON.stringify(created.body)}`);
    for (let i = 0; i < pushes; i++) {
      const image = PUSH_IMAGES[i % PUSH_IMAGES.length]!;
      const tag = `p${i}`;
      await t.registry.push(`oci:${images.ociLayout}:${image}`, `bench/app:${tag}`);
      const start = performance.now();
      await eventually(async () => {
        const r = await t.api.get<{ vulnerabilities: unknown[] }>(
          `/api/v1/projects/bench%2Fapp/vulnerabilities?image=${encodeURIComponent(`bench/app:${tag}`)}&per_page=1`,
        );
        return r.status === 200 && r.body.vulnerabilities.length > 0 ? true : undefined;
      }, `vulnerabilities of bench/app:${tag}`);
      latencies.push(performance.now() - start);
      if (i < PUSH_IMAGES.length) cold.push(performance.now() - start);
    }
  } finally {
    await t.stop();
  }

  // the endpoint alone: no workers
  const e = await startTestService({ dialect: 'sqlite', config: { workers: 0 } });
  const rates = { queued: 0, refused: 0 };
  const events = Number(process.env.EVENTS ?? 2000);
  try {
    const project = await e.api.post('/api/v1/projects', {
      path: 'bench/events',
      scanning_enabled: true,
      supported_tags: ['q*'],
      daily_limit: 10_000,
    });
    if (project.status !== 201) throw new Error(`project: ${JSON.stringify(project.body)}`);
    const envelope = (i: number, tag: string) =>
      JSON.stringify({
        events: [
          {
            id: `bench-${tag}-${i}`,
            timestamp: new Date().toISOString(),
            action: 'push',
            target: {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: `sha256:${i.toString(16).padStart(64, '0')}`,
              repository: 'bench/events',
              tag: `${tag}${i}`,
            },
          },
        ],
      });
    const rate = async (tag: string): Promise<number> => {
      let next = 0;
      const start = performance.now();
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < events) {
            const i = next++;
            const res = await fetch(`${e.service.url}/api/v1/registry/events`, {
              method: 'POST',
              headers: {
                authorization: `Bearer ${REGISTRY_SECRET}`,
                'content-type': 'application/vnd.docker.distribution.events.v1+json',
              },
              body: envelope(i, tag),
            });
            if (res.status !== 200) throw new Error(`event ${i}: ${res.status}`);
            await res.arrayBuffer();
          }
        }),
      );
      return events / ((performance.now() - start) / 1000);
    };
    rates.queued = await rate('q');
    rates.refused = await rate('r');
  } finally {
    await e.stop();
  }
  return {
    pushes,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    max: Math.max(...latencies),
    coldP50: percentile(cold, 50),
    coldMax: Math.max(...cold),
    queuedPerSecond: rates.queued,
    refusedPerSecond: rates.refused,
    events,
  };
}

export function printServiceBench(b: ServiceBench): void {
  console.log(
    `\nservice: push → vulnerabilities visible in the API, ${b.pushes} pushes through the real registry: ` +
      `p50 ${(b.p50 / 1000).toFixed(2)} s, p95 ${(b.p95 / 1000).toFixed(2)} s, max ${(b.max / 1000).toFixed(2)} s (goal p50 ≤ 2 s, p95 ≤ 5 s); ` +
      `first push of each image (its new layers read): p50 ${(b.coldP50 / 1000).toFixed(2)} s, max ${(b.coldMax / 1000).toFixed(2)} s`,
  );
  console.log(
    `service: registry events accepted, ${b.events} each, 16 at a time: ${b.queuedPerSecond.toFixed(0)}/s queued, ${b.refusedPerSecond.toFixed(0)}/s refused`,
  );
}
