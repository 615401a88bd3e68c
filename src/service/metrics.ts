/**
 * Prometheus metrics of one service process (prom-client), served at /metrics. Queue depth is read
 * from the database when scraped, so it is right whichever process enqueued.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JobQueue } from '../queue/types.js';

export class Metrics {
  readonly registry = new Registry();
  /** Registry events by outcome (queued, refused, ignored, rejected). */
  readonly events: Counter<'outcome'>;
  /** Scans by final status and trigger. */
  readonly scans: Counter<'status' | 'trigger'>;
  /** Seconds from a scan's start to its end. */
  readonly scanDuration: Histogram<'status'>;
  readonly queueDepth: Gauge<'status'>;

  constructor(queue?: JobQueue) {
    this.events = new Counter({
      name: 'regscan_registry_events_total',
      help: 'Registry events received, by outcome',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    this.scans = new Counter({
      name: 'regscan_scans_total',
      help: 'Scans finished, by status and trigger',
      labelNames: ['status', 'trigger'],
      registers: [this.registry],
    });
    this.scanDuration = new Histogram({
      name: 'regscan_scan_duration_seconds',
      help: 'Time a scan took from start to end',
      labelNames: ['status'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      registers: [this.registry],
    });
    this.queueDepth = new Gauge({
      name: 'regscan_queue_jobs',
      help: 'Jobs in the queue, by status',
      labelNames: ['status'],
      registers: [this.registry],
      collect: async () => {
        if (!queue) return;
        const depth = await queue.depth();
        for (const [status, n] of Object.entries(depth) as [string, number][]) {
          this.queueDepth.set({ status }, n);
        }
      },
    });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
