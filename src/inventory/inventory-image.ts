import { openSource } from '../image/open.js';
import type { RegistryOptions } from '../image/registry.js';
import { resolveImages, type PlatformChoice } from '../image/resolve.js';
import { indexImage, type IndexOptions } from './indexer.js';
import type { ImageInventory } from './types.js';

export interface InventoryOptions extends IndexOptions {
  /** Default linux/amd64 for an index; `all` takes every platform. */
  platform?: PlatformChoice;
  registry?: RegistryOptions;
}

/** The whole scanning-core path for one reference: open, resolve platforms, index each. */
export async function inventoryImage(
  reference: string,
  options: InventoryOptions = {},
): Promise<ImageInventory[]> {
  const source = await openSource(reference, options.registry);
  try {
    const images = await resolveImages(source, options.platform);
    const out: ImageInventory[] = [];
    for (const image of images) out.push(await indexImage(source, image, options));
    return out;
  } finally {
    await source.close();
  }
}
