/** SBOM output: CycloneDX 1.6 JSON, SPDX 2.3 JSON, or regscan's own inventory JSON. */
import type { ImageInventory } from '../inventory/types.js';
import { toCycloneDXString, type CycloneDXOptions } from './cyclonedx.js';
import { toSPDX, type SPDXOptions } from './spdx.js';
import { sortKeys } from './stable-json.js';

export { toCycloneDX, toCycloneDXString } from './cyclonedx.js';
export type { CycloneDXDocument, CycloneDXOptions } from './cyclonedx.js';
export { toSPDX } from './spdx.js';
export type { SPDXDocument, SPDXOptions } from './spdx.js';

export type SbomFormat = 'cyclonedx' | 'spdx-json' | 'json';

export const SBOM_FORMATS: readonly SbomFormat[] = ['cyclonedx', 'spdx-json', 'json'];

export type SbomOptions = CycloneDXOptions & SPDXOptions;

/** The document in `format`, pretty-printed, ending with a newline. */
export function renderSbom(
  format: SbomFormat,
  images: readonly ImageInventory[],
  options: SbomOptions = {},
): string {
  switch (format) {
    case 'cyclonedx':
      return `${toCycloneDXString(images, options)}\n`;
    case 'spdx-json':
      return `${JSON.stringify(toSPDX(images, options), null, 2)}\n`;
    case 'json':
      return `${JSON.stringify(sortKeys(images), null, 2)}\n`;
    default:
      throw new RangeError(`unknown SBOM format: ${String(format)}`);
  }
}
