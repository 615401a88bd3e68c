import { describe, expect, it } from 'vitest';
import { onePerPurl } from '../../src/inventory/indexer.js';
import type { Package } from '../../src/inventory/types.js';

const pkg = (path: string, layer: string, extra: Partial<Package> = {}): Package => ({
  type: 'npm',
  name: 'lodash',
  version: '4.17.15',
  purl: 'pkg:npm/lodash@4.17.15',
  path,
  layer,
  ...extra,
});

describe('onePerPurl', () => {
  it('keeps a package found once as it is', () => {
    const p = pkg('app/node_modules/lodash/package.json', 'L1');
    expect(onePerPurl([p])).toEqual([p]);
  });

  it('joins the same purl found in several files into one package with every location', () => {
    const merged = onePerPurl([
      pkg('app/node_modules/lodash/package.json', 'L2', {
        properties: { 'npm:installed': 'true' },
        licenses: ['MIT'],
      }),
      pkg('app/package-lock.json', 'L2', { properties: { 'npm:dev': 'true' } }),
      pkg('other/package-lock.json', 'L3', { licenses: ['MIT', 'CC0-1.0'] }),
    ]);
    expect(merged).toHaveLength(1);
    expect(merged[0]).toMatchObject({
      path: 'app/node_modules/lodash/package.json',
      layer: 'L2',
      locations: [
        { path: 'app/node_modules/lodash/package.json', layer: 'L2' },
        { path: 'app/package-lock.json', layer: 'L2' },
        { path: 'other/package-lock.json', layer: 'L3' },
      ],
      properties: { 'npm:installed': 'true', 'npm:dev': 'true' },
      licenses: ['MIT', 'CC0-1.0'],
    });
  });

  it('keeps different versions apart', () => {
    const other = pkg('app/node_modules/x/node_modules/lodash/package.json', 'L1', {
      version: '3.10.1',
      purl: 'pkg:npm/lodash@3.10.1',
    });
    expect(onePerPurl([pkg('a', 'L1'), other])).toHaveLength(2);
  });
});
