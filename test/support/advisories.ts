/**
 * Advisories written for the test images, so that a scan of a real image finds something known.
 *
 * They are not taken from a real feed (see test/e2e/scan.test.ts for why): a real advisory's
 * fixed version moves with the feed, while these are made from the image's own ground truth and
 * stay true for as long as the image does.
 */
import { readFile } from 'node:fs/promises';
import type { Advisory } from '../../src/advisories/osv.js';
import { parseDpkgTruth, type TestImages } from './images.js';

/**
 * DEBIAN-TEST-ZLIB (alias CVE-2099-9001): zlib as installed in the base image, keyed by source
 * package under `Debian:12`, fixed in `<installed>+1`, so the installed zlib1g is affected.
 */
export async function zlibAdvisoryFor(images: TestImages): Promise<Advisory> {
  const zlib = parseDpkgTruth(await readFile(images.truthPath('base'), 'utf8')).find(
    (p) => p.source.name === 'zlib',
  );
  if (!zlib) throw new Error('the base test image has no zlib');
  return {
    schema_version: '1.6.0',
    id: 'DEBIAN-TEST-ZLIB',
    modified: '2026-11-01T00:00:00Z',
    summary: 'zlib test advisory',
    aliases: ['CVE-2099-9001'],
    affected: [
      {
        package: { ecosystem: 'Debian:12', name: 'zlib' },
        ranges: [
          {
            type: 'ECOSYSTEM',
            events: [{ introduced: '0' }, { fixed: `${zlib.source.version}+1` }],
          },
        ],
      },
    ],
  };
}
