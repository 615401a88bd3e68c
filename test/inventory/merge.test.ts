import { describe, expect, it } from 'vitest';
import type { AnalyzerOutput } from '../../src/inventory/analyzer.js';
import { mergeLayers, resolveLinkTarget, type MergeLayer } from '../../src/inventory/merge.js';
import type { AnalyzedPackage } from '../../src/inventory/types.js';

const deb = (name: string, version = '1.0'): AnalyzedPackage => ({ type: 'deb', name, version });
const out = (...packages: AnalyzedPackage[]): AnalyzerOutput => ({ packages });

function layer(
  diffId: string,
  files: Record<string, AnalyzerOutput> = {},
  extra: { whiteouts?: string[]; opaqueDirs?: string[]; links?: Record<string, string> } = {},
): MergeLayer {
  return {
    diffId,
    changes: { whiteouts: extra.whiteouts ?? [], opaqueDirs: extra.opaqueDirs ?? [] },
    analyses: { a: { files, links: extra.links ?? {}, warnings: [] } },
  };
}

/** path → [package name@version, introducing layer] for compact expectations. */
function summary(layers: MergeLayer[]): Record<string, string[]> {
  const merged = mergeLayers(layers, ['a']);
  return Object.fromEntries(
    (merged.files.a ?? []).map((f) => [
      f.path,
      (f.output.packages ?? []).map((p, i) => `${p.name}@${p.version}:${f.packageLayers[i]}`),
    ]),
  );
}

const STATUS = 'var/lib/dpkg/status';

describe('mergeLayers', () => {
  const cases: [string, MergeLayer[], Record<string, string[]>][] = [
    [
      'one layer',
      [layer('L1', { [STATUS]: out(deb('a'), deb('b')) })],
      { [STATUS]: ['a@1.0:L1', 'b@1.0:L1'] },
    ],
    [
      'a rewritten database keeps the layer that introduced each package',
      [
        layer('L1', { [STATUS]: out(deb('a'), deb('b')) }),
        layer('L2', { [STATUS]: out(deb('a'), deb('b'), deb('c')) }),
      ],
      { [STATUS]: ['a@1.0:L1', 'b@1.0:L1', 'c@1.0:L2'] },
    ],
    [
      'an upgraded package belongs to the layer that upgraded it',
      [
        layer('L1', { [STATUS]: out(deb('a'), deb('b')) }),
        layer('L2', { [STATUS]: out(deb('a', '2.0'), deb('b')) }),
      ],
      { [STATUS]: ['a@2.0:L2', 'b@1.0:L1'] },
    ],
    [
      'a removed package is gone',
      [
        layer('L1', { [STATUS]: out(deb('a'), deb('less')) }),
        layer('L2', { [STATUS]: out(deb('a')) }),
      ],
      { [STATUS]: ['a@1.0:L1'] },
    ],
    [
      'a whiteout deletes the file',
      [layer('L1', { [STATUS]: out(deb('a')) }), layer('L2', {}, { whiteouts: [STATUS] })],
      {},
    ],
    [
      'a whiteout of a parent directory deletes what is under it',
      [
        layer('L1', { [STATUS]: out(deb('a')), 'etc/os-release': out() }),
        layer('L2', {}, { whiteouts: ['var/lib'] }),
      ],
      { 'etc/os-release': [] },
    ],
    [
      'a whiteout does not touch siblings sharing a name prefix',
      [
        layer('L1', {
          'var/lib/dpkg/status.d/foo': out(deb('foo')),
          'var/lib/dpkg/status.d/foobar': out(deb('foobar')),
        }),
        layer('L2', {}, { whiteouts: ['var/lib/dpkg/status.d/foo'] }),
      ],
      { 'var/lib/dpkg/status.d/foobar': ['foobar@1.0:L1'] },
    ],
    [
      'an opaque directory hides lower content but keeps its own layer files',
      [
        layer('L1', {
          'var/lib/dpkg/status.d/a': out(deb('a')),
          'var/lib/dpkg/status.d/b': out(deb('b')),
        }),
        layer(
          'L2',
          { 'var/lib/dpkg/status.d/c': out(deb('c')) },
          { opaqueDirs: ['var/lib/dpkg/status.d'] },
        ),
      ],
      { 'var/lib/dpkg/status.d/c': ['c@1.0:L2'] },
    ],
    [
      'deleted then added again: introduced by the re-adding layer',
      [
        layer('L1', { [STATUS]: out(deb('a')) }),
        layer('L2', {}, { whiteouts: [STATUS] }),
        layer('L3', { [STATUS]: out(deb('a')) }),
      ],
      { [STATUS]: ['a@1.0:L3'] },
    ],
    [
      'a link is not counted as a file of its own',
      [
        layer(
          'L1',
          { 'usr/lib/os-release': out() },
          { links: { 'etc/os-release': '../usr/lib/os-release' } },
        ),
      ],
      { 'usr/lib/os-release': [] },
    ],
    [
      'a file replaces a lower link at the same path',
      [
        layer('L1', {}, { links: { 'etc/os-release': '/usr/lib/os-release' } }),
        layer('L2', { 'etc/os-release': out() }),
      ],
      { 'etc/os-release': [] },
    ],
  ];
  it.each(cases)('%s', (_name, layers, expected) => {
    expect(summary(layers)).toEqual(expected);
  });

  it('reports links whose target was not read', () => {
    const merged = mergeLayers(
      [layer('L1', {}, { links: { 'etc/os-release': '/nowhere/os-release' } })],
      ['a'],
    );
    expect(merged.unresolved).toEqual([
      { analyzer: 'a', path: 'etc/os-release', target: '/nowhere/os-release' },
    ]);
  });

  it('refuses a symlink loop', () => {
    const layers = [
      layer(
        'L1',
        {},
        {
          links: {
            'etc/os-release': '../usr/lib/os-release',
            'usr/lib/os-release': '/etc/os-release',
          },
        },
      ),
    ];
    expect(() => mergeLayers(layers, ['a'])).toThrow(/symlink loop/);
  });

  it('refuses a symlink that climbs out of the image root', () => {
    const layers = [layer('L1', {}, { links: { 'etc/os-release': '../../../../etc/os-release' } })];
    expect(() => mergeLayers(layers, ['a'])).toThrow(/outside the image root/);
  });

  it('keeps analyzers apart', () => {
    const l: MergeLayer = {
      diffId: 'L1',
      changes: { whiteouts: [], opaqueDirs: [] },
      analyses: {
        a: { files: { x: out(deb('x')) }, links: {}, warnings: [] },
        b: { files: { y: out(deb('y')) }, links: {}, warnings: [] },
      },
    };
    const merged = mergeLayers([l], ['a', 'b']);
    expect(merged.files.a?.map((f) => f.path)).toEqual(['x']);
    expect(merged.files.b?.map((f) => f.path)).toEqual(['y']);
  });
});

describe('resolveLinkTarget', () => {
  const cases: [string, string, string][] = [
    ['etc/os-release', '../usr/lib/os-release', 'usr/lib/os-release'],
    ['etc/os-release', '/usr/lib/os-release', 'usr/lib/os-release'],
    ['a/b/c', 'd', 'a/b/d'],
    ['a/b/c', './d/../e', 'a/b/e'],
    ['a', '/', ''],
  ];
  it.each(cases)('%s -> %s', (path, target, expected) => {
    expect(resolveLinkTarget(path, target)).toBe(expected);
  });
  it.each([
    ['etc/x', '../../y'],
    ['x', '/../etc/passwd'],
  ])('%s -> %s escapes', (path, target) => {
    expect(() => resolveLinkTarget(path, target)).toThrow(/outside the image root/);
  });
});
