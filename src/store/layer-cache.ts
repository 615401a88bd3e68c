/**
 * The scanning core's per-layer cache (src/inventory/cache.ts) in the service's database: one row
 * per (layer blob digest, analyzer id@version) in `layer_cache`, shared by every project. Sharing
 * is safe because the indexer only stores results under a blob digest it has verified, so no
 * image can put results under a layer it does not really contain.
 *
 * A layer analysed by two scans at once is stored by whichever finishes first; the other insert is
 * ignored (both computed the same value from the same bytes).
 */
import type { Kysely } from 'kysely';
import type { LayerCache } from '../inventory/cache.js';
import type { DB } from './schema.js';

export class DatabaseLayerCache implements LayerCache {
  /** Lookups answered from the table, and values written: for logs and tests. */
  hits = 0;
  misses = 0;
  writes = 0;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(layerDigest: string, key: string): Promise<unknown> {
    const row = await this.db
      .selectFrom('layer_cache')
      .select('value')
      .where('layer_digest', '=', layerDigest)
      .where('key', '=', key)
      .executeTakeFirst();
    if (!row) {
      this.misses++;
      return undefined;
    }
    try {
      const value = JSON.parse(row.value) as unknown;
      this.hits++;
      return value;
    } catch {
      this.misses++;
      return undefined; // unreadable: recompute (and the insert of the new value is ignored)
    }
  }

  async set(layerDigest: string, key: string, value: unknown): Promise<void> {
    const json = JSON.stringify(value);
    if (json === undefined) return;
    await this.db
      .insertInto('layer_cache')
      .values({
        layer_digest: layerDigest,
        key,
        value: json,
        created_at: this.now().toISOString(),
      })
      .onConflict((oc) => oc.columns(['layer_digest', 'key']).doNothing())
      .execute();
    this.writes++;
  }
}
