import { openSource } from '../image/open.js';
import type { RegistryOptions } from '../image/registry.js';
import { resolveImages, type PlatformChoice } from '../image/resolve.js';
import { indexImage, type IndexOptions } from './indexer.js';
import type { ImageInventory } from './types.js';

export interface InventoryOptions extends IndexOptions {
  /** Default linux/amd64 for an index; `all` takes every platform. */
  platform?: PlatformChoice;
  registry?: RegistryOptions;
  /**
   * Stops the work: the source is closed (connections and files), so reads under way end at once
   * and the call rejects with the signal's reason.
   */
  signal?: AbortSignal;
}

/** The whole scanning-core path for one reference: open, resolve platforms, index each. */
export async function inventoryImage(
  reference: string,
  options: InventoryOptions = {},
): Promise<ImageInventory[]> {
  const { signal } = options;
  signal?.throwIfAborted();
  const source = await openSource(reference, options.registry);
  const onAbort = () => void source.close().catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    const images = await resolveImages(source, options.platform);
    const out: ImageInventory[] = [];
    for (const image of images) out.push(await indexImage(source, image, options));
    return out;
  } catch (e) {
    signal?.throwIfAborted(); // the reason, not whatever closing the source broke
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await source.close();
  }
}
