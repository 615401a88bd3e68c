import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ANALYZERS } from '../../src/inventory/analyzers/index.js';

/** What every analyzer in the one explicit list must honour (see src/inventory/analyzer.ts). */
const PATHS = [
  'etc/os-release',
  'var/lib/dpkg/status',
  'lib/apk/db/installed',
  'var/lib/rpm/Packages',
  'usr/bin/bash',
  'app/node_modules/lodash/package.json',
  'app/package-lock.json',
  'usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO',
  'app/vendor/composer/installed.json',
  'app/MyApp.deps.json',
  'opt/app/lib/app.jar',
  'usr/local/bundle/specifications/rack-2.2.8.gemspec',
  'src/Cargo.lock',
  'usr/local/bin/app',
  '',
  'a/b/c/d/e/f/g',
];

/** Content-detected analyzers (executables) say what they want from a regular file's mode and size. */
const EXECUTABLE = { size: 1 << 20, mode: 0o755 };
const wanted = (a: (typeof ANALYZERS)[number], p: string) => a.wants(p) || a.wants(p, EXECUTABLE);

describe.each(ANALYZERS.map((a) => [a.id, a] as const))('analyzer %s', (_id, analyzer) => {
  it('has a stable id and a positive integer version', () => {
    expect(analyzer.id).toMatch(/^[a-z0-9][a-z0-9-]*$/);
    expect(Number.isInteger(analyzer.version) && analyzer.version > 0).toBe(true);
  });

  it('wants() is a total, deterministic predicate', () => {
    for (const p of PATHS) {
      for (const info of [undefined, EXECUTABLE]) {
        const first = analyzer.wants(p, info);
        expect(typeof first).toBe('boolean');
        expect(analyzer.wants(p, info)).toBe(first);
      }
    }
  });

  it('wants at least one path', () => {
    expect(PATHS.some((p) => wanted(analyzer, p))).toBe(true);
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['random bytes', randomBytes(4096)],
    ['text', Buffer.from('hello\nworld\n')],
  ])(
    'survives %s input with JSON-serialisable output, the same each time',
    async (_name, content) => {
      const path = PATHS.find((p) => wanted(analyzer, p))!;
      const run = async () => {
        try {
          return await analyzer.analyze({ path, content }, new Map([[path, content]]));
        } catch (err) {
          // throwing is allowed (it becomes a warning), but only with a real Error and message
          expect(err).toBeInstanceOf(Error);
          expect((err as Error).message).not.toBe('');
          return { thrown: (err as Error).message };
        }
      };
      const out = await run();
      expect(JSON.parse(JSON.stringify(out))).toEqual(out);
      expect(await run()).toEqual(out);
    },
  );
});

it('analyzer ids are unique', () => {
  const ids = ANALYZERS.map((a) => a.id);
  expect(new Set(ids).size).toBe(ids.length);
});
