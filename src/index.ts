/**
 * regscan's scanning core as a library: read any image, inventory its packages, write SBOMs.
 * No server, database or network beyond the registry it reads from.
 */
export {
  ImageError,
  type Descriptor,
  type ImageSource,
  type Platform,
  type RawManifest,
} from './image/types.js';
export {
  parseReference,
  formatReference,
  ReferenceError,
  type ImageReference,
} from './image/reference.js';
export { openSource } from './image/open.js';
export type { RegistryOptions } from './image/registry.js';
export {
  resolveImages,
  parsePlatform,
  formatPlatform,
  type PlatformChoice,
  type ResolvedImage,
} from './image/resolve.js';
export { DEFAULT_LIMITS, type LayerLimits } from './image/layer.js';
export type * from './inventory/types.js';
export type { Analyzer, AnalyzerOutput, LayerFile } from './inventory/analyzer.js';
export { ANALYZERS } from './inventory/analyzers/index.js';
export { indexImage, type IndexEvent, type IndexOptions } from './inventory/indexer.js';
export { inventoryImage, type InventoryOptions } from './inventory/inventory-image.js';
export { FileLayerCache, MemoryLayerCache, noCache, type LayerCache } from './inventory/cache.js';
export { mergeLayers } from './inventory/merge.js';
export { purlFor } from './inventory/purl.js';
export { renderSbom, toCycloneDX, toSPDX, SBOM_FORMATS, type SbomFormat } from './sbom/index.js';
export {
  compareVersions,
  schemeFor,
  SCHEMES,
  InvalidVersionError,
  type VersionScheme,
} from './versions/index.js';
export { type Advisory, type AdvisoryIndex, MemoryAdvisoryIndex } from './advisories/osv.js';
export { parseAdvisory } from './advisories/schema.js';
export { AdvisoryStore } from './advisories/store.js';
export { affects, evaluate, matchInventory, type MatchResult } from './match/index.js';
export type { Finding, FixState, SeverityLevel } from './match/types.js';
export { fromCycloneDX } from './sbom/read-cyclonedx.js';
export {
  renderReport,
  filterFindings,
  REPORT_FORMATS,
  type ReportFormat,
  type ScanReport,
} from './report/index.js';
