import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dotnetAnalyzer } from '../../src/inventory/analyzers/dotnet.js';
import type { AnalyzedPackage } from '../../src/inventory/types.js';

const FILE = 'app/MyApp.deps.json';

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/dotnet/${name}`, import.meta.url));

async function analyze(text: string | Buffer | object, path = FILE) {
  const content = Buffer.isBuffer(text)
    ? text
    : Buffer.from(typeof text === 'string' ? text : JSON.stringify(text));
  return dotnetAnalyzer.analyze({ path, content }, new Map([[path, content]]));
}

const pkg = (name: string, version: string, extra: Partial<AnalyzedPackage> = {}) => ({
  type: 'nuget',
  name,
  version,
  ...extra,
});
const NO_RUNTIME = { properties: { 'dotnet:runtime-assets': 'none' } };

describe('dotnet analyzer', () => {
  it.each([
    ['app/MyApp.deps.json', true],
    ['MyApp.deps.json', true],
    ['usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.11/Microsoft.NETCore.App.deps.json', true],
    ['app/My.App.Web.deps.json', true],
    ['app/.deps.json', false],
    ['app/MyApp.runtimeconfig.json', false],
    ['app/MyApp.deps.json.bak', false],
    ['app/MyApp.deps', false],
    ['app/deps.json', false],
    ['app/MyApp.deps.json/x', false],
    ['app/obj/project.assets.json', false],
    ['', false],
  ])('wants(%s) = %s', (path, expected) => {
    expect(dotnetAnalyzer.wants(path)).toBe(expected);
  });

  it('reads the real .NET 6 fixture: its 12 packages, no projects', async () => {
    const out = await analyze(fixture('TestLibrary.deps.json'), 'app/TestLibrary.deps.json');
    expect(out.warnings).toEqual([]);
    expect(out.packages).toEqual([
      pkg('AWSSDK.Core', '3.7.10.6'),
      pkg('Microsoft.Extensions.DependencyInjection', '6.0.0'),
      pkg('Microsoft.Extensions.DependencyInjection.Abstractions', '6.0.0'),
      pkg('Microsoft.Extensions.Logging', '6.0.0'),
      pkg('Microsoft.Extensions.Logging.Abstractions', '6.0.0'),
      pkg('Microsoft.Extensions.Options', '6.0.0'),
      pkg('Microsoft.Extensions.Primitives', '6.0.0'),
      pkg('Newtonsoft.Json', '13.0.1'),
      pkg('Serilog', '2.10.0'),
      pkg('Serilog.Sinks.Console', '4.0.1'),
      // inbox in .NET 6: their target entries carry no assets
      pkg('System.Diagnostics.DiagnosticSource', '6.0.0', NO_RUNTIME),
      pkg('System.Runtime.CompilerServices.Unsafe', '6.0.0', NO_RUNTIME),
    ]);
  });

  const TARGET = '.NETCoreApp,Version=v8.0/linux-x64';
  const cases: [string, object | string, object[], string[]][] = [
    [
      'a self-contained app: the runtime pack under its NuGet id',
      {
        runtimeTarget: { name: TARGET },
        targets: {
          [TARGET]: {
            'MyApp/1.0.0': { runtime: { 'MyApp.dll': {} } },
            'runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.11': {
              runtime: { 'System.Private.CoreLib.dll': {} },
              native: { 'libcoreclr.so': {} },
            },
            'Serilog/3.1.1': { runtime: { 'lib/net7.0/Serilog.dll': {} } },
          },
        },
        libraries: {
          'MyApp/1.0.0': { type: 'project', serviceable: false, sha512: '' },
          'runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.11': { type: 'runtimepack' },
          'Serilog/3.1.1': { type: 'package', serviceable: true },
        },
      },
      [
        pkg('Microsoft.NETCore.App.Runtime.linux-x64', '8.0.11', {
          properties: { 'dotnet:library-type': 'runtimepack' },
        }),
        pkg('Serilog', '3.1.1'),
      ],
      [],
    ],
    [
      'compileOnly, native-only and runtimeTargets-only entries',
      {
        runtimeTarget: { name: TARGET },
        targets: {
          [TARGET]: {
            'A/1.0': { compileOnly: true, compile: { 'ref/A.dll': {} } },
            'B/1.0': { native: { 'runtimes/linux-x64/native/libb.so': {} } },
            'C/1.0': { runtimeTargets: { 'runtimes/unix/lib/C.dll': { rid: 'unix' } } },
            'D/1.0': { runtime: {} },
            'E/1.0': { resources: { 'de/E.resources.dll': { locale: 'de' } } },
          },
        },
        libraries: {
          'A/1.0': { type: 'package' },
          'B/1.0': { type: 'package' },
          'C/1.0': { type: 'package' },
          'D/1.0': { type: 'package' },
          'E/1.0': { type: 'package' },
          'F/1.0': { type: 'package' }, // not in the target: nothing known, nothing marked
          'G/1.0': { type: 'reference' },
        },
      },
      [
        pkg('A', '1.0', NO_RUNTIME),
        pkg('B', '1.0'),
        pkg('C', '1.0'),
        pkg('D', '1.0', NO_RUNTIME),
        pkg('E', '1.0', NO_RUNTIME),
        pkg('F', '1.0'),
      ],
      [],
    ],
    [
      'no runtime target: nothing is marked',
      { targets: { x: { 'A/1.0': {} } }, libraries: { 'A/1.0': { type: 'package' } } },
      [pkg('A', '1.0')],
      [],
    ],
    [
      'a runtime target that is not in targets',
      {
        runtimeTarget: { name: 'nope' },
        targets: { x: { 'A/1.0': {} } },
        libraries: { 'A/1.0': { type: 'package' } },
      },
      [pkg('A', '1.0')],
      [],
    ],
    [
      'prerelease and four-part versions are kept as written',
      {
        libraries: {
          'A/1.0.0-preview.7.23375.6': { type: 'package' },
          'B/4.3.0.1': { type: 'package' },
        },
      },
      [pkg('A', '1.0.0-preview.7.23375.6'), pkg('B', '4.3.0.1')],
      [],
    ],
    [
      'badly keyed or shaped libraries are skipped with a warning',
      {
        libraries: {
          NoVersion: { type: 'package' },
          '/1.0': { type: 'package' },
          'A/': { type: 'package' },
          'A/1.0/extra': { type: 'package' },
          'B/1.0': 'package',
          'C/1.0': null,
          'D/1.0': { type: 'package' },
          'E/1.0': {},
          'F/1.0': { type: 42 },
        },
      },
      [pkg('D', '1.0')],
      [
        `${FILE}: library "NoVersion" is not keyed "Name/Version"; skipped`,
        `${FILE}: library "/1.0" is not keyed "Name/Version"; skipped`,
        `${FILE}: library "A/" is not keyed "Name/Version"; skipped`,
        `${FILE}: library "A/1.0/extra" is not keyed "Name/Version"; skipped`,
        `${FILE}: library "B/1.0" is not an object; skipped`,
        `${FILE}: library "C/1.0" is not an object; skipped`,
        `${FILE}: library "E/1.0" has no type; skipped`,
        `${FILE}: library "F/1.0" has no type; skipped`,
      ],
    ],
    [
      '__proto__ keys are data',
      '{"__proto__":{"libraries":{"X/1":{"type":"package"}}},"runtimeTarget":{"name":"__proto__"},"targets":{"__proto__":{"__proto__/1.0":{}}},"libraries":{"__proto__/1.0":{"type":"package"},"toString/2.0":{"__proto__":{"type":"package"}},"hasOwnProperty/3.0":{"type":"package"}}}',
      [pkg('__proto__', '1.0', NO_RUNTIME), pkg('hasOwnProperty', '3.0')],
      [`${FILE}: library "toString/2.0" has no type; skipped`],
    ],
    ['empty libraries', { libraries: {} }, [], []],
    [
      'no libraries',
      { runtimeTarget: { name: TARGET }, targets: {} },
      [],
      [`${FILE}: not a deps.json: no "libraries" object`],
    ],
    [
      'libraries as an array',
      { libraries: [{ type: 'package' }] },
      [],
      [`${FILE}: not a deps.json: no "libraries" object`],
    ],
    ['a JSON array', '[]', [], [`${FILE}: not a deps.json: no "libraries" object`]],
    ['empty file', '', [], [`${FILE}: not valid JSON (Unexpected end of JSON input)`]],
    [
      'a byte order mark is allowed',
      '\ufeff{"libraries":{"A/1.0":{"type":"package"}}}',
      [pkg('A', '1.0')],
      [],
    ],
  ];
  it.each(cases)('%s', async (_name, doc, packages, warnings) => {
    const out = await analyze(doc);
    expect(out.packages).toEqual(packages);
    expect(out.warnings).toEqual(warnings);
  });

  it('warns, without throwing, on truncated JSON', async () => {
    const out = await analyze(fixture('TestLibrary.deps.json').subarray(0, 4000));
    expect(out.packages).toEqual([]);
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings?.[0]).toMatch(/^app\/MyApp\.deps\.json: not valid JSON \(/);
  });

  it('caps the warnings and cuts long keys short', async () => {
    const libraries = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [`${'x'.repeat(100)}${i}`, { type: 'package' }]),
    );
    const out = await analyze({ libraries });
    expect(out.packages).toEqual([]);
    expect(out.warnings).toHaveLength(21);
    expect(out.warnings?.[0]).toBe(
      `${FILE}: library "${'x'.repeat(80)}…" is not keyed "Name/Version"; skipped`,
    );
    expect(out.warnings?.at(-1)).toBe(`${FILE}: 30 more warnings not shown`);
  });
});
