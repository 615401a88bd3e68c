import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dpkgAnalyzer } from '../../src/inventory/analyzers/dpkg.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/pkgdb/dpkg-distroless/${name}`, import.meta.url));

async function analyze(path: string, text: string | Buffer) {
  const content = Buffer.isBuffer(text) ? text : Buffer.from(text);
  return dpkgAnalyzer.analyze({ path, content }, new Map([[path, content]]));
}

const STATUS = 'var/lib/dpkg/status';

describe('dpkg analyzer', () => {
  it.each([
    ['var/lib/dpkg/status', true],
    ['var/lib/dpkg/status.d/libssl3', true],
    ['var/lib/dpkg/status.d/libssl3.md5sums', false],
    ['var/lib/dpkg/status.d/', false],
    ['var/lib/dpkg/status.d/sub/x', false],
    ['var/lib/dpkg/status-old', false],
    ['var/lib/dpkg/available', false],
    ['usr/var/lib/dpkg/status', false],
  ])('wants(%s) = %s', (path, expected) => {
    expect(dpkgAnalyzer.wants(path)).toBe(expected);
  });

  const cases: [string, string, string, object[]][] = [
    [
      'installed packages only',
      STATUS,
      `Package: a\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\n\nPackage: b\nStatus: deinstall ok config-files\nVersion: 2.0\n\nPackage: c\nStatus: install ok half-installed\nVersion: 3\n`,
      [
        {
          type: 'deb',
          name: 'a',
          version: '1.0-1',
          arch: 'amd64',
          source: { name: 'a', version: '1.0-1' },
        },
      ],
    ],
    [
      'source with its own version',
      STATUS,
      `Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl (3.0.15-1~deb12u1+b1)\nVersion: 3.0.15-1~deb12u1\n`,
      [
        {
          type: 'deb',
          name: 'libssl3',
          version: '3.0.15-1~deb12u1',
          arch: 'amd64',
          source: { name: 'openssl', version: '3.0.15-1~deb12u1+b1' },
        },
      ],
    ],
    [
      'source without version takes the binary version, epochs kept',
      STATUS,
      `Package: zlib1g\nStatus: install ok installed\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\nArchitecture: amd64\nDescription: compression\n multi-line\n .\n continued\n`,
      [
        {
          type: 'deb',
          name: 'zlib1g',
          version: '1:1.2.13.dfsg-1',
          arch: 'amd64',
          source: { name: 'zlib', version: '1:1.2.13.dfsg-1' },
        },
      ],
    ],
    [
      'CRLF, case-insensitive field names, no trailing newline',
      STATUS,
      `package: a\r\nstatus: install ok installed\r\nversion: 1\r\n\r\n\r\nPackage: b\r\nStatus: install ok installed\r\nVersion: 2`,
      [
        { type: 'deb', name: 'a', version: '1', source: { name: 'a', version: '1' } },
        { type: 'deb', name: 'b', version: '2', source: { name: 'b', version: '2' } },
      ],
    ],
    [
      'status.d entries have no Status and are installed',
      'var/lib/dpkg/status.d/libsqlite3-0',
      fixture('libsqlite3-0').toString(),
      [
        {
          type: 'deb',
          name: 'libsqlite3-0',
          version: '3.34.1-3',
          arch: 'arm64',
          source: { name: 'sqlite3', version: '3.34.1-3' },
        },
      ],
    ],
    [
      'real distroless entry without Source',
      'var/lib/dpkg/status.d/dash',
      fixture('dash').toString(),
      [
        {
          type: 'deb',
          name: 'dash',
          version: '0.5.8-2.4',
          arch: 'amd64',
          source: { name: 'dash', version: '0.5.8-2.4' },
        },
      ],
    ],
    ['empty file', STATUS, '', []],
    [
      'a status paragraph without Status in the main database is not installed',
      STATUS,
      'Package: x\nVersion: 1\n',
      [],
    ],
  ];
  it.each(cases)('%s', async (_name, path, text, expected) => {
    const out = await analyze(path, text);
    expect(out.packages).toEqual(expected);
  });

  it('skips a paragraph without a version, with a warning naming its line', async () => {
    const out = await analyze(
      STATUS,
      'Package: ok\nStatus: install ok installed\nVersion: 1\n\nPackage: broken\nStatus: install ok installed\n',
    );
    expect(out.packages?.map((p) => p.name)).toEqual(['ok']);
    expect(out.warnings).toEqual([`${STATUS}:5: paragraph without Package or Version; skipped`]);
  });

  it('survives binary garbage', async () => {
    const out = await analyze(STATUS, Buffer.from([0xff, 0x00, 0x3a, 0x0a, 0x0a, 0x80, 0x81]));
    expect(out.packages).toEqual([]);
  });
});
