import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { composerAnalyzer } from '../../src/inventory/analyzers/composer.js';
import type { AnalyzedPackage } from '../../src/inventory/types.js';

const FILE = 'app/vendor/composer/installed.json';

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/php/${name}/vendor/composer/installed.json`, import.meta.url));

async function analyze(text: string | Buffer, path = FILE) {
  const content = Buffer.isBuffer(text) ? text : Buffer.from(text);
  return composerAnalyzer.analyze({ path, content }, new Map([[path, content]]));
}

const pkg = (name: string, version: string, extra: Partial<AnalyzedPackage> = {}) => ({
  type: 'composer',
  name,
  version,
  ...extra,
});

describe('composer analyzer', () => {
  it.each([
    ['vendor/composer/installed.json', true],
    ['app/vendor/composer/installed.json', true],
    ['var/www/html/vendor/composer/installed.json', true],
    ['root/.composer/vendor/composer/installed.json', true],
    ['srv/app/lib/composer/installed.json', true], // a renamed vendor-dir
    ['vendor/composer/installed.php', false],
    ['vendor/composer/autoload_classmap.php', false],
    ['app/composer.lock', false],
    ['app/composer.json', false],
    ['vendor/composer/installed.json.bak', false],
    ['vendor/mycomposer/installed.json', false],
    ['installed.json', false],
    ['', false],
  ])('wants(%s) = %s', (path, expected) => {
    expect(composerAnalyzer.wants(path)).toBe(expected);
  });

  const stackCors = pkg('asm89/stack-cors', '1.3.0', {
    licenses: ['MIT'],
    properties: { 'composer:version-normalized': '1.3.0.0' },
  });

  it('reads the Composer 1 fixture (a JSON array)', async () => {
    const out = await analyze(fixture('composer-v1'));
    expect(out.warnings).toEqual([]);
    expect(out.packages).toEqual([
      stackCors,
      pkg('behat/mink', 'v1.8.1', {
        licenses: ['MIT'],
        properties: { 'composer:version-normalized': '1.8.1.0' },
      }),
    ]);
  });

  it('reads the Composer 2 fixture, marking its dev package', async () => {
    const out = await analyze(fixture('composer-v2'));
    expect(out.warnings).toEqual([]);
    expect(out.packages).toEqual([
      stackCors,
      pkg('behat/mink', 'v1.8.1', {
        licenses: ['MIT'],
        properties: { 'composer:version-normalized': '1.8.1.0', 'composer:dev': 'true' },
      }),
    ]);
  });

  const cases: [string, string, object[], string[]][] = [
    ['empty Composer 2 file', '{"packages":[],"dev":true,"dev-package-names":[]}', [], []],
    ['empty Composer 1 file', '[]', [], []],
    [
      'dev branch versions and no licence',
      '[{"name":"a/b","version":"dev-main","version_normalized":"dev-main"},{"name":"c/d","version":"1.x-dev"}]',
      [
        pkg('a/b', 'dev-main', { properties: { 'composer:version-normalized': 'dev-main' } }),
        pkg('c/d', '1.x-dev'),
      ],
      [],
    ],
    [
      'a licence written as one string, and a multi-licence array',
      '[{"name":"a/b","version":"1.0","license":"MIT"},{"name":"c/d","version":"2","license":["GPL-2.0-only","LGPL-2.1-or-later"]}]',
      [
        pkg('a/b', '1.0', { licenses: ['MIT'] }),
        pkg('c/d', '2', { licenses: ['GPL-2.0-only', 'LGPL-2.1-or-later'] }),
      ],
      [],
    ],
    [
      'an empty licence array says nothing',
      '[{"name":"a/b","version":"1.0","license":[]}]',
      [pkg('a/b', '1.0')],
      [],
    ],
    [
      'an unreadable licence is ignored with a warning',
      '[{"name":"a/b","version":"1.0","license":{"x":1}}]',
      [pkg('a/b', '1.0')],
      [`${FILE}: package a/b: unreadable "license"; ignored`],
    ],
    [
      'bad entries are skipped, good ones kept',
      '{"packages":[1,null,{"version":"1"},{"name":"nonamespace","version":"1"},{"name":"a/b"},{"name":"c/d","version":" "},{"name":"e/f","version":"3.0"}]}',
      [pkg('e/f', '3.0')],
      [
        `${FILE}: packages[0] is not an object; skipped`,
        `${FILE}: packages[1] is not an object; skipped`,
        `${FILE}: packages[2] has no name; skipped`,
        `${FILE}: packages[3]: "nonamespace" is not a vendor/package name; skipped`,
        `${FILE}: package a/b has no version; skipped`,
        `${FILE}: package c/d has no version; skipped`,
      ],
    ],
    [
      'dev-package-names of the wrong shape',
      '{"packages":[{"name":"a/b","version":"1"}],"dev-package-names":"a/b"}',
      [pkg('a/b', '1')],
      [`${FILE}: "dev-package-names" is not an array; no package is marked dev`],
    ],
    [
      '__proto__ and inherited keys are data',
      '{"__proto__":{"packages":[{"name":"x/y","version":"9"}]},"packages":[{"__proto__":{"name":"p/q","version":"1"},"name":"a/b","version":"1","constructor":"c"}],"dev-package-names":["constructor","__proto__"]}',
      [pkg('a/b', '1')],
      [],
    ],
    [
      'inherited properties are not read from an entry',
      '{"packages":[{"__proto__":{"name":"p/q","version":"1"}}]}',
      [],
      [`${FILE}: packages[0] has no name; skipped`],
    ],
    [
      'a Composer 2 object without packages',
      '{"__proto__":[],"dev":true}',
      [],
      [`${FILE}: neither a Composer 1 array nor a Composer 2 object with a "packages" array`],
    ],
    [
      'a JSON scalar',
      '"installed"',
      [],
      [`${FILE}: neither a Composer 1 array nor a Composer 2 object with a "packages" array`],
    ],
    ['empty file', '', [], [`${FILE}: not valid JSON (Unexpected end of JSON input)`]],
    ['a byte order mark is allowed', '\ufeff[{"name":"a/b","version":"1"}]', [pkg('a/b', '1')], []],
  ];
  it.each(cases)('%s', async (_name, text, packages, warnings) => {
    const out = await analyze(text);
    expect(out.packages).toEqual(packages);
    expect(out.warnings).toEqual(warnings);
  });

  it('warns, without throwing, on truncated JSON', async () => {
    const text = fixture('composer-v2').subarray(0, 1000);
    const out = await analyze(text);
    expect(out.packages).toEqual([]);
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings?.[0]).toMatch(/^app\/vendor\/composer\/installed\.json: not valid JSON \(/);
  });

  it('caps the warnings', async () => {
    const out = await analyze(JSON.stringify(Array.from({ length: 50 }, () => 0)));
    expect(out.warnings).toHaveLength(21);
    expect(out.warnings?.at(-1)).toBe(`${FILE}: 30 more warnings not shown`);
  });
});
