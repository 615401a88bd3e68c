/**
 * One scan in a fresh process, for the benchmark: prints its time and the process's peak RSS as
 * JSON. Usage: scan-once.ts REFERENCE [CACHE_DIR]
 */
import { FileLayerCache, inventoryImage, noCache, renderSbom } from '../src/index.js';

const [reference, cacheDir] = process.argv.slice(2);
const start = performance.now();
const images = await inventoryImage(reference!, {
  cache: cacheDir ? new FileLayerCache(cacheDir) : noCache,
});
renderSbom('cyclonedx', images);
const ms = performance.now() - start;
console.log(
  JSON.stringify({
    ms,
    maxRssKiB: process.resourceUsage().maxRSS,
    packages: images[0]?.inventory.packages.length,
  }),
);
