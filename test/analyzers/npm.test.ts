import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { npmAnalyzer } from '../../src/inventory/analyzers/npm.js';
import type { AnalyzerOutput } from '../../src/inventory/analyzer.js';
import type { AnalyzedPackage } from '../../src/inventory/types.js';

/**
 * Fixtures are real installs (see test/fixtures/npm/SOURCE.md). Installed trees are stored with
 * `node_modules` renamed `_node_modules` (the repository ignores `node_modules/`); `imageTree`
 * puts the name back.
 */
const FIXTURES = new URL('../fixtures/npm/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES));
const fixtureJson = <T>(name: string) => JSON.parse(fixture(name).toString()) as T;

function analyze(path: string, text: string | Buffer): AnalyzerOutput {
  const content = Buffer.isBuffer(text) ? text : Buffer.from(text);
  expect(npmAnalyzer.wants(path)).toBe(true);
  return npmAnalyzer.analyze({ path, content }, new Map([[path, content]])) as AnalyzerOutput;
}

/** Every package.json of a fixture's installed tree, as `<root>/node_modules/...` image paths. */
function imageTree(dir: string, root: string): { path: string; content: Buffer }[] {
  return readdirSync(new URL(dir, FIXTURES), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('package.json') && f.includes('_node_modules'))
    .sort()
    .map((f) => ({
      path: `${root}/${f.replaceAll('_node_modules', 'node_modules')}`,
      content: fixture(`${dir}${f}`),
    }));
}

const ids = (pkgs: readonly AnalyzedPackage[] | undefined) =>
  (pkgs ?? []).map((p) => `${p.name}@${p.version}`).sort();
const sorted = (s: Iterable<string>) => [...s].sort();
const withProperty = (pkgs: readonly AnalyzedPackage[] | undefined, key: string) =>
  ids(pkgs?.filter((p) => p.properties?.[key] === 'true'));

// --- ground truths, read from the tools' own listings -------------------------------------------

interface NpmLsNode {
  name?: string;
  version?: string;
  resolved?: string;
  dev?: boolean;
  optional?: boolean;
  peer?: boolean;
  dependencies?: Record<string, NpmLsNode>;
}

/** `npm ls --all --json [--long]`: every installed node; the real name where `--long` gives it. */
function npmLs(name: string): Map<string, NpmLsNode> {
  const out = new Map<string, NpmLsNode>();
  const walk = (deps: Record<string, NpmLsNode> | undefined) => {
    for (const [key, node] of Object.entries(deps ?? {})) {
      // `file:` = a workspace member (the project's own code); no version = not installed
      if (node.version !== undefined && !node.resolved?.startsWith('file:')) {
        out.set(`${node.name ?? key}@${node.version}`, node);
      }
      walk(node.dependencies);
    }
  };
  walk(fixtureJson<NpmLsNode>(name).dependencies);
  return out;
}

/** `yarn list --json` (yarn 1): the non-shadow tree nodes, `name@version`. */
function yarnList(name: string): Set<string> {
  interface Node {
    name: string;
    shadow?: boolean;
    children?: Node[];
  }
  const out = new Set<string>();
  const walk = (nodes: Node[] | undefined) => {
    for (const n of nodes ?? []) {
      if (n.shadow !== true) out.add(n.name);
      walk(n.children);
    }
  };
  walk(fixtureJson<{ data: { trees: Node[] } }>(name).data.trees);
  return out;
}

interface PnpmListNode {
  from: string;
  version: string;
  dependencies?: Record<string, PnpmListNode>;
  devDependencies?: Record<string, PnpmListNode>;
  optionalDependencies?: Record<string, PnpmListNode>;
}
const PNPM_SECTIONS = ['dependencies', 'devDependencies', 'optionalDependencies'] as const;

/** `pnpm list -r --depth Infinity --json`: `from@version` → the importer sections it is under. */
function pnpmList(name: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const walk = (deps: Record<string, PnpmListNode> | undefined, section: string) => {
    for (const node of Object.values(deps ?? {})) {
      const id = `${node.from}@${node.version}`;
      out.set(id, (out.get(id) ?? new Set()).add(section));
      for (const s of PNPM_SECTIONS) walk(node[s], section);
    }
  };
  for (const importer of fixtureJson<PnpmListNode[]>(name)) {
    for (const s of PNPM_SECTIONS) walk(importer[s], s);
  }
  return out;
}

// ------------------------------------------------------------------------------------------------

describe('npm analyzer', () => {
  it.each([
    // installed packages
    ['app/node_modules/lodash/package.json', true],
    ['node_modules/lodash/package.json', true],
    ['app/node_modules/@babel/core/package.json', true],
    ['app/node_modules/send/node_modules/ms/package.json', true],
    ['app/node_modules/@a/b/node_modules/@c/d/node_modules/e/package.json', true],
    ['usr/lib/node_modules/npm/package.json', true],
    ['usr/local/lib/node_modules/npm/node_modules/@npmcli/arborist/package.json', true],
    ['app/node_modules/JSONStream/package.json', true],
    ['app/node_modules/.pnpm/lodash@4.17.21/node_modules/lodash/package.json', true],
    ['app/node_modules/.pnpm/@babel+core@7.0.0/node_modules/@babel/core/package.json', true],
    ['app/node_modules/.pnpm/a@1.0.0_b@2.0.0/node_modules/a/package.json', true],
    ['app/node_modules/.bun/lodash@4.17.21/node_modules/lodash/package.json', true],
    ['app/node_modules/.store/lodash-npm-4.17.21-6382451519/package/package.json', true],
    // lockfiles at application roots
    ['package-lock.json', true],
    ['app/package-lock.json', true],
    ['app/npm-shrinkwrap.json', true],
    ['usr/src/app/yarn.lock', true],
    ['app/pnpm-lock.yaml', true],
    ['app/packages/util/package-lock.json', true],
    // the project's own manifest, and package.json files that are not a package's top
    ['app/package.json', false],
    ['package.json', false],
    ['node_modules/package.json', false],
    ['app/node_modules/lodash/lib/package.json', false],
    ['app/node_modules/x/dist/esm/package.json', false],
    ['app/node_modules/x/test/fixtures/node_modules/y/package.json', false],
    ['app/node_modules/x/node_modules/y/test/package.json', false],
    ['app/node_modules/@scope/package.json', false],
    ['app/node_modules/@/x/package.json', false],
    ['app/node_modules/.bin/package.json', false],
    ['app/node_modules/.cache/x/package.json', false],
    ['app/node_modules/_x/package.json', false],
    ['app/node_modules/.pnpm/node_modules/lodash/package.json', false],
    ['app/node_modules/.pnpm/lodash@4.17.21/package.json', false],
    ['app/node_modules/.store/lodash-npm-4.17.21-6382451519/package/lib/package.json', false],
    ['app/my_node_modules/lodash/package.json', false],
    ['app/node_modules/lodash/package.json.bak', false],
    ['app/node_modules/lodash/package.json/x', false],
    // lockfiles inside node_modules: hidden lockfiles, and packages' own development lockfiles
    ['app/node_modules/.package-lock.json', false],
    ['app/node_modules/.pnpm/lock.yaml', false],
    ['app/node_modules/.yarn-state.yml', false],
    ['app/node_modules/x/package-lock.json', false],
    ['app/node_modules/x/yarn.lock', false],
    ['app/node_modules/x/node_modules/y/pnpm-lock.yaml', false],
    ['node_modules/package-lock.json', false],
    ['app/package-lock.json.orig', false],
    ['app/yarn.lock.bak', false],
    ['app/bun.lockb', false],
    ['', false],
  ])('wants(%s) = %s', (path, expected) => {
    expect(npmAnalyzer.wants(path)).toBe(expected);
  });

  describe('express app (npm install lodash@4.17.15 minimist@1.2.0 express@4.17.1)', () => {
    const truth = sorted(npmLs('app/npm-ls.json').keys());

    it('npm ls lists 52 packages', () => {
      expect(truth).toHaveLength(52);
    });

    it.each([['app/package-lock.json'], ['app-v1/package-lock.json']])(
      '%s gives exactly the packages npm ls lists',
      (name) => {
        const out = analyze('srv/app/package-lock.json', fixture(name));
        expect(out.warnings).toEqual([]);
        expect(ids(out.packages)).toEqual(truth);
        // a production install: no flags
        expect(out.packages?.filter((p) => p.properties !== undefined)).toEqual([]);
      },
    );

    it('the installed tree gives exactly the packages npm ls lists, nested copies included', () => {
      const files = imageTree('app/', 'srv/app');
      expect(files).toHaveLength(52);
      const packages: AnalyzedPackage[] = [];
      for (const f of files) {
        const out = analyze(f.path, f.content);
        expect(out.warnings).toEqual([]);
        expect(out.packages).toHaveLength(1);
        packages.push(...(out.packages ?? []));
      }
      expect(ids(packages)).toEqual(truth);
      expect(packages.every((p) => p.properties?.['npm:installed'] === 'true')).toBe(true);
      expect(
        analyze(
          'srv/app/node_modules/send/node_modules/ms/package.json',
          fixture('app/_node_modules/send/_node_modules/ms/package.json'),
        ).packages,
      ).toEqual([
        {
          type: 'npm',
          name: 'ms',
          version: '2.1.1',
          licenses: ['MIT'],
          properties: { 'npm:installed': 'true' },
        },
      ]);
    });

    it('the lockfile and the installed package.json files agree on licences', () => {
      const lock = analyze('srv/app/package-lock.json', fixture('app/package-lock.json'));
      const installed = new Map(
        imageTree('app/', 'srv/app')
          .flatMap((f) => analyze(f.path, f.content).packages ?? [])
          .map((p) => [`${p.name}@${p.version}`, p.licenses]),
      );
      for (const p of lock.packages ?? []) {
        expect(p.licenses, `${p.name}@${p.version}`).toEqual(
          installed.get(`${p.name}@${p.version}`),
        );
      }
      expect(lock.packages?.find((p) => p.name === 'express')?.licenses).toEqual(['MIT']);
    });

    it('yarn 1 lockfile gives exactly the packages yarn list shows', () => {
      const out = analyze('srv/app/yarn.lock', fixture('app-yarn1/yarn.lock'));
      expect(out.warnings).toEqual([]);
      expect(ids(out.packages)).toEqual(sorted(yarnList('app-yarn1/yarn-list.json')));
      expect(out.packages).toHaveLength(54); // yarn keeps two more copies than npm
    });
  });

  describe('workspace app with an alias, a scoped, dev, optional and peer packages', () => {
    const ls = npmLs('rich/npm-ls.json');
    // What the lockfile has and npm ls cannot show: fsevents is optional and darwin-only, so
    // locked but not installed on Linux (npm ls prints `"fsevents": {}`).
    const locked = sorted([...ls.keys(), 'fsevents@2.3.3']);
    const flagged = (flag: 'dev' | 'optional' | 'peer') =>
      sorted([...ls].filter(([, n]) => n[flag] === true).map(([id]) => id));

    it('npm ls shows the real name of the alias, the workspace member is excluded', () => {
      expect(ls.has('lodash@4.17.10')).toBe(true);
      expect(ls.has('util-ws@1.0.0')).toBe(false);
      expect(ls.has('ansi-regex@5.0.1')).toBe(true); // the workspace member's own dependency
      expect(ls.size).toBe(15);
    });

    it.each([
      ['rich/package-lock.json'],
      ['rich-v2/package-lock.json'],
      ['rich-v1/package-lock.json'],
    ])(
      '%s gives the packages npm ls lists, plus the uninstalled optional one, with its flags',
      (name) => {
        const out = analyze('app/package-lock.json', fixture(name));
        expect(out.warnings).toEqual([]);
        expect(ids(out.packages)).toEqual(locked);
        expect(withProperty(out.packages, 'npm:dev')).toEqual(flagged('dev'));
        expect(withProperty(out.packages, 'npm:optional')).toEqual(
          sorted([...flagged('optional'), 'fsevents@2.3.3']),
        );
        expect(withProperty(out.packages, 'npm:peer')).toEqual(flagged('peer'));
        expect(withProperty(out.packages, 'npm:installed')).toEqual([]);
      },
    );

    it('reads the v3 entries field by field', () => {
      const out = analyze('app/package-lock.json', fixture('rich/package-lock.json'));
      const find = (name: string) => out.packages?.filter((p) => p.name === name);
      expect(find('lodash')).toEqual([
        { type: 'npm', name: 'lodash', version: '4.17.10', licenses: ['MIT'] },
      ]);
      expect(find('@sindresorhus/is')).toEqual([
        { type: 'npm', name: '@sindresorhus/is', version: '0.14.0', licenses: ['MIT'] },
      ]);
      expect(find('ms')).toEqual([
        {
          type: 'npm',
          name: 'ms',
          version: '2.1.2',
          licenses: ['MIT'],
          properties: { 'npm:dev': 'true' },
        },
        {
          type: 'npm',
          name: 'ms',
          version: '2.1.3',
          licenses: ['MIT'],
          properties: { 'npm:dev': 'true' },
        },
      ]);
      expect(find('old-lodash')).toEqual([]);
      expect(find('util-ws')).toEqual([]);
      expect(find('rich-app')).toEqual([]);
    });

    it('the installed tree (workspace member’s node_modules too) gives what npm ls lists', () => {
      const files = imageTree('rich/', 'app');
      const packages = files.flatMap((f) => {
        const out = analyze(f.path, f.content);
        expect(out.warnings).toEqual([]);
        return out.packages ?? [];
      });
      expect(ids(packages)).toEqual(sorted(ls.keys()));
      expect(files.map((f) => f.path)).toContain(
        'app/packages/util/node_modules/ansi-regex/package.json',
      );
      // the alias directory holds the real package
      expect(
        analyze(
          'app/node_modules/old-lodash/package.json',
          fixture('rich/_node_modules/old-lodash/package.json'),
        ).packages?.map((p) => p.name),
      ).toEqual(['lodash']);
    });

    it('yarn 1: what yarn list shows, the alias under its real name, no workspace', () => {
      const manifest = fixtureJson<{ dependencies: Record<string, string> }>('rich/package.json');
      const workspace = fixtureJson<{ name: string; version: string }>(
        'rich/packages/util/package.json',
      );
      const aliases = new Map(
        Object.entries(manifest.dependencies)
          .filter(([, spec]) => spec.startsWith('npm:'))
          .map(([alias, spec]) => [alias, spec.slice(4).split('@')[0]!]),
      );
      const expected = [...yarnList('rich-yarn1/yarn-list.json')]
        .filter((id) => id !== `${workspace.name}@${workspace.version}`)
        .map((id) => {
          const [name, version] = id.split(/(?<=.)@/) as [string, string];
          return `${aliases.get(name) ?? name}@${version}`;
        });
      expect(aliases).toEqual(new Map([['old-lodash', 'lodash']]));
      const out = analyze('app/yarn.lock', fixture('rich-yarn1/yarn.lock'));
      expect(out.warnings).toEqual([]);
      expect(ids(out.packages)).toEqual(sorted(expected));
      expect(out.packages?.every((p) => p.properties === undefined)).toBe(true);
    });

    it('yarn berry: the npm: packages yarn info lists (no workspaces, no patch: copies)', () => {
      const locators = fixture('rich-berry/yarn-info.txt')
        .toString()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as string);
      const expected = locators
        .filter((l) => /^.[^@]*@npm:/.test(l))
        .map((l) => l.replace('@npm:', '@'));
      expect(locators).toHaveLength(36);
      expect(expected).toHaveLength(33);
      const out = analyze('app/yarn.lock', fixture('rich-berry/yarn.lock'));
      expect(out.warnings).toEqual([]);
      expect(ids(out.packages)).toEqual(sorted(expected));
    });

    it.each([
      ['rich-pnpm7', '5.4'],
      ['rich-pnpm8', '6.0'],
      ['rich-pnpm9', '9.0'],
    ])(
      'pnpm (%s, lockfile %s): what pnpm list shows, dev and optional as it groups them',
      (dir, format) => {
        const text = fixture(`${dir}/pnpm-lock.yaml`);
        expect(text.toString()).toMatch(new RegExp(`^lockfileVersion: '?${format}'?\\n`));
        const list = pnpmList(`${dir}/pnpm-list.json`);
        const only = (section: string) =>
          sorted([...list].filter(([, s]) => s.size === 1 && s.has(section)).map(([id]) => id));
        const out = analyze('app/pnpm-lock.yaml', text);
        expect(out.warnings).toEqual([]);
        expect(ids(out.packages)).toEqual(sorted(list.keys()));
        expect(withProperty(out.packages, 'npm:dev')).toEqual(only('devDependencies'));
        expect(withProperty(out.packages, 'npm:optional')).toEqual(only('optionalDependencies'));
        expect(list.size).toBe(16);
      },
    );

    it('pnpm store: installed packages under node_modules/.pnpm are what pnpm list shows, less the skipped optional', () => {
      const packages = imageTree('rich-pnpm9/', 'app').flatMap((f) => {
        const out = analyze(f.path, f.content);
        expect(out.warnings).toEqual([]);
        return out.packages ?? [];
      });
      expect(ids(packages)).toEqual(
        sorted(pnpmList('rich-pnpm9/pnpm-list.json').keys()).filter(
          (id) => id !== 'fsevents@2.3.3',
        ),
      );
    });
  });

  describe('installed package.json', () => {
    const PATH = 'app/node_modules/@scope/pkg/package.json';
    const pkg = (licenses?: string[]) => [
      {
        type: 'npm',
        name: '@scope/pkg',
        version: '1.0.0',
        ...(licenses ? { licenses } : {}),
        properties: { 'npm:installed': 'true' },
      },
    ];
    const cases: [string, string, object[], string[]][] = [
      [
        'scoped, licence string',
        '{"name":"@scope/pkg","version":"1.0.0","license":"MIT"}',
        pkg(['MIT']),
        [],
      ],
      ['no licence', '{"name":"@scope/pkg","version":"1.0.0"}', pkg(), []],
      [
        'old licence object',
        '{"name":"@scope/pkg","version":"1.0.0","license":{"type":"ISC","url":"https://x"}}',
        pkg(['ISC']),
        [],
      ],
      [
        'old licenses array of objects',
        '{"name":"@scope/pkg","version":"1.0.0","licenses":[{"type":"MIT"},{"type":"Apache-2.0"}]}',
        pkg(['MIT', 'Apache-2.0']),
        [],
      ],
      [
        'licenses array of strings, and an unusable license field',
        '{"name":"@scope/pkg","version":"1.0.0","license":42,"licenses":["BSD-3-Clause"]}',
        pkg(['BSD-3-Clause']),
        [],
      ],
      ['byte order mark', '\uFEFF{"name":"@scope/pkg","version":"1.0.0"}', pkg(), []],
      [
        'no version',
        '{"name":"@scope/pkg","private":true}',
        [],
        [`${PATH}: package.json without a version; skipped`],
      ],
      ['no name', '{"version":"1.0.0"}', [], [`${PATH}: package.json without a name; skipped`]],
      [
        'empty and non-string fields count as missing',
        '{"name":"@scope/pkg","version":""}',
        [],
        [`${PATH}: package.json without a version; skipped`],
      ],
      [
        'version inherited through __proto__ is not a version',
        '{"name":"@scope/pkg","__proto__":{"version":"6.6.6"}}',
        [],
        [`${PATH}: package.json without a version; skipped`],
      ],
      [
        'invalid name',
        '{"name":"__proto__","version":"1.0.0"}',
        [],
        [`${PATH}: package.json names an invalid package "__proto__"; skipped`],
      ],
      ['an array', '[1,2]', [], [`${PATH}: package.json is not a JSON object; skipped`]],
      ['null', 'null', [], [`${PATH}: package.json is not a JSON object; skipped`]],
    ];
    it.each(cases)('%s', (_name, text, packages, warnings) => {
      const out = analyze(PATH, text);
      expect(out.packages).toEqual(packages);
      expect(out.warnings).toEqual(warnings);
    });

    it('bad JSON is a warning', () => {
      const out = analyze(PATH, '{"name": "x", "version": ');
      expect(out.packages).toEqual([]);
      expect(out.warnings).toHaveLength(1);
      expect(out.warnings?.[0]).toMatch(
        /^app\/node_modules\/@scope\/pkg\/package\.json: not valid JSON \(.+\); skipped$/,
      );
    });
  });

  describe('package-lock.json edge cases', () => {
    const PATH = 'app/package-lock.json';
    const lock = (packages: object) => JSON.stringify({ lockfileVersion: 3, packages });
    const v1 = (dependencies: object) => JSON.stringify({ lockfileVersion: 1, dependencies });
    const npm = (name: string, version: string, properties?: Record<string, string>) => ({
      type: 'npm',
      name,
      version,
      ...(properties ? { properties } : {}),
    });
    const cases: [string, string, object[], string[]][] = [
      [
        'root, workspace members and links are not dependencies; nested ones are',
        lock({
          '': { name: 'root', version: '1.0.0' },
          'node_modules/ws': { resolved: 'packages/ws', link: true },
          'packages/ws': { name: 'ws', version: '0.0.1' },
          'packages/ws/node_modules/@s/x': { version: '2.0.0' },
          'node_modules/a/node_modules/@s/x': { version: '3.0.0' },
        }),
        [npm('@s/x', '2.0.0'), npm('@s/x', '3.0.0')],
        [],
      ],
      [
        'alias: the real name from the entry',
        lock({ 'node_modules/old': { name: '@real/pkg', version: '1.0.0' } }),
        [npm('@real/pkg', '1.0.0')],
        [],
      ],
      [
        'one package per name@version; flags only when every copy has them',
        lock({
          'node_modules/a': { version: '1.0.0', dev: true },
          'node_modules/b/node_modules/a': { version: '1.0.0' },
          'node_modules/c': { version: '1.0.0', dev: true, optional: true },
          'node_modules/d': { version: '1.0.0', devOptional: true },
          'node_modules/e/node_modules/d': { version: '1.0.0', dev: true },
          'node_modules/f': { version: '1.0.0', optional: true, peer: true },
          'node_modules/g/node_modules/f': { version: '1.0.0', optional: true },
        }),
        [
          npm('a', '1.0.0'),
          npm('c', '1.0.0', { 'npm:dev': 'true', 'npm:optional': 'true' }),
          npm('d', '1.0.0', { 'npm:devOptional': 'true' }),
          npm('f', '1.0.0', { 'npm:optional': 'true' }),
        ],
        [],
      ],
      [
        'bad entries are warnings, good ones are kept',
        lock({
          'node_modules/__proto__': { version: '1.0.0' },
          'node_modules/constructor': { version: '1.0.0' },
          'node_modules/no-version': { resolved: 'https://x' },
          'node_modules/proto-version': { ['__proto__']: { version: '6.6.6' } },
          'node_modules/a/b': { version: '1.0.0' },
          'node_modules/not-object': 'x',
          'node_modules/ok': { version: '1.0.0' },
        }),
        [npm('constructor', '1.0.0'), npm('ok', '1.0.0')],
        [
          `${PATH}: packages["node_modules/__proto__"]: invalid package name "__proto__"; skipped`,
          `${PATH}: packages["node_modules/no-version"]: no version; skipped`,
          `${PATH}: packages["node_modules/proto-version"]: no version; skipped`,
          `${PATH}: packages["node_modules/a/b"]: invalid package name "a/b"; skipped`,
          `${PATH}: packages["node_modules/not-object"] is not an object; skipped`,
        ],
      ],
      [
        'v1: aliases, scoped aliases, a file: link whose own dependencies are read',
        v1({
          old: { version: 'npm:lodash@4.17.10' },
          sc: { version: 'npm:@s/real@2.0.0', dev: true },
          ws: { version: 'file:packages/ws', dependencies: { x: { version: '1.0.0' } } },
          '@s/y': { version: '3.0.0', optional: true },
        }),
        [
          npm('lodash', '4.17.10'),
          npm('@s/real', '2.0.0', { 'npm:dev': 'true' }),
          npm('@s/y', '3.0.0', { 'npm:optional': 'true' }),
          npm('x', '1.0.0'),
        ],
        [],
      ],
      [
        'v1: bad entries',
        v1({ a: {}, b: 'x', c: { version: 'npm:nope' }, ['__proto__']: { version: '1.0.0' } }),
        [],
        [
          `${PATH}: dependencies["a"]: no version; skipped`,
          `${PATH}: dependencies["b"] is not an object; skipped`,
          `${PATH}: dependencies["c"]: unreadable alias version "npm:nope"; skipped`,
          `${PATH}: dependencies["__proto__"]: invalid package name "__proto__"; skipped`,
        ],
      ],
      ['only the root', lock({ '': { name: 'x', version: '1.0.0' } }), [], []],
      ['v1 without dependencies', '{"name":"x","lockfileVersion":1,"requires":true}', [], []],
      [
        'packages of the wrong shape',
        '{"lockfileVersion":3,"packages":[1]}',
        [],
        [`${PATH}: "packages" is not an object; skipped`],
      ],
      [
        'dependencies of the wrong shape',
        '{"lockfileVersion":1,"dependencies":"x"}',
        [],
        [`${PATH}: "dependencies" is not an object; skipped`],
      ],
      [
        'some other JSON object',
        '{"hello":"world"}',
        [],
        [
          `${PATH}: no "lockfileVersion", "packages" or "dependencies": not an npm lockfile; skipped`,
        ],
      ],
      ['a JSON string', '"x"', [], [`${PATH}: lockfile is not a JSON object; skipped`]],
    ];
    it.each(cases)('%s', (_name, text, packages, warnings) => {
      const out = analyze(PATH, text);
      expect(out.packages).toEqual(packages);
      expect(out.warnings).toEqual(warnings);
      expect(({} as Record<string, unknown>).version).toBeUndefined();
    });

    it('a deeply nested v1 lockfile does not overflow the stack', () => {
      const depth = 20_000;
      const text = `{"lockfileVersion":1,"dependencies":${'{"a":{"version":"1.0.0","dependencies":'.repeat(depth)}{}${'}}'.repeat(depth)}}`;
      const out = analyze(PATH, text);
      expect(out.warnings).toEqual([]);
      expect(out.packages).toEqual([npm('a', '1.0.0')]);
    });

    it('a truncated lockfile is a warning', () => {
      const text = fixture('app/package-lock.json').subarray(0, 5000);
      const out = analyze(PATH, text);
      expect(out.packages).toEqual([]);
      expect(out.warnings?.[0]).toMatch(
        /^app\/package-lock\.json: not valid JSON \(.*\); skipped$/,
      );
    });

    it('caps the warnings', () => {
      const packages = Object.fromEntries(
        Array.from({ length: 50 }, (_, i) => [`node_modules/p${i}`, {}]),
      );
      const out = analyze(PATH, lock(packages));
      expect(out.warnings).toHaveLength(21);
      expect(out.warnings?.at(-1)).toBe(`${PATH}: 30 more warnings not shown`);
    });
  });

  describe('yarn.lock edge cases', () => {
    const PATH = 'app/yarn.lock';
    const npm = (name: string, version: string) => ({ type: 'npm', name, version });
    const V1 = '# yarn lockfile v1\n\n';
    const cases: [string, string, object[], string[]][] = [
      [
        'v1: several descriptors, scoped, alias, local and git packages',
        `${V1}"@s/a@^1.0.0", "@s/a@^1.1.0":\n  version "1.2.0"\n  resolved "https://r/a.tgz"\n\n` +
          `b@^2, b@~2.1:\n  version "2.1.3"\n\n"c-old@npm:@s/c@3.0.0":\n  version "3.0.0"\n\n` +
          `"d@file:./local/d":\n  version "0.0.1"\n\n"e@github:x/e#abc":\n  version "1.0.0"\n  resolved "https://codeload.github.com/x/e/tar.gz/abc"\n`,
        [npm('@s/a', '1.2.0'), npm('b', '2.1.3'), npm('@s/c', '3.0.0'), npm('e', '1.0.0')],
        [],
      ],
      [
        'v1: __proto__ keys neither pollute nor lend a version',
        `${V1}__proto__:\n  version "6.6.6"\n\na@^1:\n  __proto__:\n    version "6.6.6"\n\nb@^1:\n  version "1.0.0"\n`,
        [npm('b', '1.0.0')],
        [`${PATH}: entry "a@^1": no version; skipped`],
      ],
      ['v1 without its header comment', 'a@^1:\n  version "1.0.0"\n', [npm('a', '1.0.0')], []],
      [
        'berry: workspaces, patches and local packages are not reported; aliases and git ones are',
        '__metadata:\n  version: 8\n  cacheKey: 10c0\n\n' +
          '"app@workspace:.":\n  version: 0.0.0-use.local\n  resolution: "app@workspace:."\n  languageName: unknown\n  linkType: soft\n\n' +
          '"old@npm:lodash@4.17.10":\n  version: 4.17.10\n  resolution: "lodash@npm:4.17.10"\n\n' +
          '"@s/a@npm:^1.0.0, @s/a@npm:^1.1.0":\n  version: 1.2.0\n  resolution: "@s/a@npm:1.2.0"\n\n' +
          '"resolve@patch:resolve@npm%3A^1.1.7#~builtin<compat/resolve>":\n  version: 1.22.1\n  resolution: "resolve@patch:resolve@npm%3A1.22.1#~builtin<compat/resolve>::version=1.22.1&hash=c3c19d"\n\n' +
          '"resolve@npm:^1.1.7":\n  version: 1.22.1\n  resolution: "resolve@npm:1.22.1"\n\n' +
          '"e@https://github.com/x/e.git#commit=abc":\n  version: 1.0.0\n  resolution: "e@https://github.com/x/e.git#commit=abc"\n\n' +
          '"l@link:./l":\n  version: 0.0.0-use.local\n  resolution: "l@link:./l::locator=app%40workspace%3A."\n\n' +
          '"p@portal:./p":\n  version: 0.0.0-use.local\n  resolution: "p@portal:./p::locator=app%40workspace%3A."\n\n' +
          '"n@npm:1.0.0":\n  resolution: "n@npm:1.0.0"\n',
        [
          npm('lodash', '4.17.10'),
          npm('@s/a', '1.2.0'),
          npm('resolve', '1.22.1'),
          npm('e', '1.0.0'),
          npm('n', '1.0.0'),
        ],
        [],
      ],
      [
        'berry: bad entries',
        '__metadata:\n  version: 8\n\n"a@npm:1":\n  version: 1.0.0\n\n"b@npm:1": x\n\n"__proto__@npm:1":\n  resolution: "__proto__@npm:1.0.0"\n',
        [],
        [
          `${PATH}: entry "a@npm:1": no "name@reference" resolution; skipped`,
          `${PATH}: entry "b@npm:1" is not a mapping; skipped`,
          `${PATH}: entry "__proto__@npm:1": invalid package name "__proto__"; skipped`,
        ],
      ],
      ['empty', '', [], []],
      ['only the header', V1, [], []],
    ];
    it.each(cases)('%s', (_name, text, packages, warnings) => {
      const out = analyze(PATH, text);
      expect(out.packages).toEqual(packages);
      expect(out.warnings).toEqual(warnings);
      expect(({} as Record<string, unknown>).version).toBeUndefined();
    });

    it('a yarn 1 lockfile cut in the middle of a string is a warning', () => {
      const text = fixture('app-yarn1/yarn.lock').toString();
      const out = analyze(PATH, text.slice(0, text.indexOf('version "', 2000) + 11));
      expect(out.packages).toEqual([]);
      expect(out.warnings?.[0]).toMatch(
        /^app\/yarn\.lock: not a readable yarn\.lock \(.+ at line \d+\); skipped$/,
      );
    });
  });

  describe('pnpm-lock.yaml edge cases', () => {
    const PATH = 'app/pnpm-lock.yaml';
    const npm = (name: string, version: string, properties?: Record<string, string>) => ({
      type: 'npm',
      name,
      version,
      ...(properties ? { properties } : {}),
    });
    const cases: [string, string, object[], string[]][] = [
      [
        '5.x keys with peer suffixes; git and local packages',
        'lockfileVersion: 5.4\n\npackages:\n\n' +
          '  /@s/a/1.0.0_react@18.3.1:\n    resolution: {integrity: sha512-x}\n    dev: false\n\n' +
          '  /@s/a/1.0.0_react@17.0.2:\n    resolution: {integrity: sha512-x}\n    dev: false\n\n' +
          '  github.com/x/e/abc123:\n    resolution: {tarball: https://codeload.github.com/x/e/tar.gz/abc123}\n    name: e\n    version: 1.0.0\n    dev: true\n\n' +
          '  file:packages/local:\n    resolution: {directory: packages/local, type: directory}\n    name: local\n    version: 0.0.0\n',
        [npm('@s/a', '1.0.0'), npm('e', '1.0.0', { 'npm:dev': 'true' })],
        [],
      ],
      [
        '6.0 keys with peer suffixes',
        "lockfileVersion: '6.0'\n\npackages:\n\n" +
          '  /@s/a@1.0.0(react@18.3.1)(b@2.0.0):\n    resolution: {integrity: sha512-x}\n    dev: true\n    optional: true\n',
        [npm('@s/a', '1.0.0', { 'npm:dev': 'true', 'npm:optional': 'true' })],
        [],
      ],
      [
        '9.0: dev-only through the snapshot graph, aliases, links, git packages',
        "lockfileVersion: '9.0'\n\nimporters:\n\n  .:\n    dependencies:\n" +
          '      old:\n        specifier: npm:lodash@4.17.10\n        version: lodash@4.17.10\n' +
          '      ws:\n        specifier: workspace:*\n        version: link:packages/ws\n' +
          '      shared:\n        specifier: ^1.0.0\n        version: 1.0.0\n' +
          '    devDependencies:\n      t:\n        specifier: ^2.0.0\n        version: 2.0.0(shared@1.0.0)\n' +
          '      e:\n        specifier: github:x/e\n        version: https://codeload.github.com/x/e/tar.gz/abc\n\n' +
          'packages:\n\n  lodash@4.17.10:\n    resolution: {integrity: sha512-x}\n\n' +
          '  shared@1.0.0:\n    resolution: {integrity: sha512-x}\n\n' +
          '  t@2.0.0:\n    resolution: {integrity: sha512-x}\n\n' +
          '  t-dep@3.0.0:\n    resolution: {integrity: sha512-x}\n\n' +
          '  e@https://codeload.github.com/x/e/tar.gz/abc:\n    resolution: {tarball: https://codeload.github.com/x/e/tar.gz/abc}\n    version: 1.0.0\n\n' +
          'snapshots:\n\n  lodash@4.17.10: {}\n\n  shared@1.0.0: {}\n\n' +
          '  t@2.0.0(shared@1.0.0):\n    dependencies:\n      shared: 1.0.0\n      t-dep: 3.0.0\n\n' +
          '  t-dep@3.0.0: {}\n\n  e@https://codeload.github.com/x/e/tar.gz/abc: {}\n',
        [
          npm('lodash', '4.17.10'),
          npm('shared', '1.0.0'),
          npm('t', '2.0.0', { 'npm:dev': 'true' }),
          npm('t-dep', '3.0.0', { 'npm:dev': 'true' }),
          npm('e', '1.0.0', { 'npm:dev': 'true' }),
        ],
        [],
      ],
      [
        'an env document before the main one',
        "---\nlockfileVersion: '9.0'\n\nimporters:\n  .:\n    configDependencies: {}\n\npackages:\n  '@pnpm/exe@10.0.0':\n    resolution: {integrity: sha512-x}\n\nsnapshots:\n  '@pnpm/exe@10.0.0': {}\n\n---\nlockfileVersion: '9.0'\n\npackages:\n  a@1.0.0:\n    resolution: {integrity: sha512-x}\n",
        [npm('@pnpm/exe', '10.0.0'), npm('a', '1.0.0')],
        [],
      ],
      [
        'no lockfileVersion: the key form shows the format',
        'packages:\n  /a/1.0.0:\n    dev: false\n  /b@2.0.0(c@1.0.0):\n    dev: false\n',
        [npm('a', '1.0.0'), npm('b', '2.0.0')],
        [],
      ],
      ['no dependencies', "lockfileVersion: '9.0'\n\nimporters:\n  .: {}\n", [], []],
      [
        'bad entries',
        "lockfileVersion: '9.0'\npackages:\n  __proto__@1.0.0:\n    resolution: {integrity: x}\n  nope: {}\n  x@1.0.0: 3\n",
        [],
        [
          `${PATH}: packages["__proto__@1.0.0"]: invalid package name "__proto__"; skipped`,
          `${PATH}: packages["nope"]: no name and version; skipped`,
          `${PATH}: packages["x@1.0.0"] is not a mapping; skipped`,
        ],
      ],
      [
        'packages of the wrong shape',
        "lockfileVersion: '9.0'\npackages: [1]\n",
        [],
        [`${PATH}: "packages" is not a mapping; skipped`],
      ],
      ['a YAML list', '- a\n- b\n', [], [`${PATH}: pnpm-lock.yaml is not a mapping; skipped`]],
      [
        'some other YAML mapping',
        'hello: world\n',
        [],
        [`${PATH}: no "lockfileVersion" or "packages": not a pnpm lockfile; skipped`],
      ],
      ['empty', '', [], []],
    ];
    it.each(cases)('%s', (_name, text, packages, warnings) => {
      const out = analyze(PATH, text);
      expect(out.packages).toEqual(packages);
      expect(out.warnings).toEqual(warnings);
      expect(({} as Record<string, unknown>).version).toBeUndefined();
    });

    it.each([
      ['bad YAML', "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: {\n", / at line 4\)/],
      [
        'a truncated lockfile',
        fixture('rich-pnpm9/pnpm-lock.yaml').toString().slice(0, 1500) + "\n  '",
        /^app\/pnpm-lock\.yaml: not valid YAML \(Missing closing 'quote at line \d+\)/,
      ],
      [
        'an alias bomb',
        'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n',
        /Excessive alias count/,
      ],
    ])('%s is a warning', (_name, text, detail) => {
      const out = analyze(PATH, text);
      expect(out.packages).toEqual([]);
      expect(out.warnings).toHaveLength(1);
      expect(out.warnings?.[0]).toMatch(/^app\/pnpm-lock\.yaml: not valid YAML \(.+\); skipped$/);
      expect(out.warnings?.[0]).toMatch(detail);
    });
  });

  describe('large and hostile input', () => {
    const garbage = randomBytes(10 * 1024 * 1024);
    it.each([
      ['app/package-lock.json'],
      ['app/yarn.lock'],
      ['app/pnpm-lock.yaml'],
      ['app/node_modules/x/package.json'],
    ])('10 MB of random bytes as %s: one warning, quickly', (path) => {
      const started = Date.now();
      const out = analyze(path, garbage);
      expect(out.packages).toEqual([]);
      expect(out.warnings).toHaveLength(1);
      expect(out.warnings?.[0]?.length).toBeLessThan(400);
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('a 300 000-key YAML mapping is read in linear time', () => {
      // the YAML library's duplicate-key check is quadratic: this took half an hour with it on
      const text = Array.from({ length: 300_000 }, (_, i) => `line ${i} foo: bar "baz`).join('\n');
      const started = Date.now();
      const out = analyze('app/pnpm-lock.yaml', text);
      expect(out.packages).toEqual([]);
      expect(out.warnings).toEqual([
        'app/pnpm-lock.yaml: no "lockfileVersion" or "packages": not a pnpm lockfile; skipped',
      ]);
      expect(Date.now() - started).toBeLessThan(20_000);
    });

    it('a large valid lockfile', () => {
      const packages: Record<string, object> = { '': { name: 'x' } };
      for (let i = 0; i < 50_000; i++) packages[`node_modules/p${i}`] = { version: `1.0.${i}` };
      const out = analyze(
        'app/package-lock.json',
        JSON.stringify({ lockfileVersion: 3, packages }),
      );
      expect(out.warnings).toEqual([]);
      expect(out.packages).toHaveLength(50_000);
    });
  });

  it('output is JSON-serialisable and stable', () => {
    for (const [path, name] of [
      ['a/package-lock.json', 'rich/package-lock.json'],
      ['a/yarn.lock', 'rich-berry/yarn.lock'],
      ['a/pnpm-lock.yaml', 'rich-pnpm9/pnpm-lock.yaml'],
    ] as const) {
      const out = analyze(path, fixture(name));
      expect(JSON.parse(JSON.stringify(out))).toEqual(out);
      expect(analyze(path, fixture(name))).toEqual(out);
    }
  });
});
