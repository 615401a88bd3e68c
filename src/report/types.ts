import type { ImageInventory } from '../inventory/types.js';
import type { Finding } from '../match/types.js';

/** What one scan of one image (one platform) produced: its inventory and the matcher's findings. */
export interface ScanReport {
  image: ImageInventory;
  findings: Finding[];
}

export type ReportFormat = 'table' | 'json' | 'cyclonedx' | 'spdx-json' | 'sarif' | 'gitlab';

export const REPORT_FORMATS: readonly ReportFormat[] = [
  'table',
  'json',
  'cyclonedx',
  'spdx-json',
  'sarif',
  'gitlab',
];
