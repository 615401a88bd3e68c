import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pythonAnalyzer } from '../../src/inventory/analyzers/python.js';
import type { AnalyzedPackage } from '../../src/inventory/types.js';

const fixture = (path: string) =>
  readFileSync(new URL(`../fixtures/python/${path}`, import.meta.url));

const SITE = 'usr/local/lib/python3.12/site-packages';
const META = `${SITE}/a-1.0.dist-info/METADATA`;

async function analyze(text: string | Buffer, path = META) {
  const content = Buffer.isBuffer(text) ? text : Buffer.from(text);
  return pythonAnalyzer.analyze({ path, content }, new Map([[path, content]]));
}

/** A row of test/fixtures/python/expected.json, as importlib.metadata read it (see SOURCE.md). */
interface ExpectedRow {
  path: string;
  name: string;
  version: string;
  license: string | null;
  licenseExpression: string | null;
  licenseClassifiers: string[];
}

/** The licence rule of python.ts, restated over what importlib read. */
function expectedLicenses(r: ExpectedRow): string[] | undefined {
  if (r.licenseExpression) return [r.licenseExpression.trim()];
  const license = r.license?.trim();
  if (license && !license.includes('\n') && license !== 'UNKNOWN') return [license];
  const leaves = r.licenseClassifiers.map((c) => c.split('::').at(-1)!.trim());
  return leaves.length > 0 ? [...new Set(leaves)] : undefined;
}

describe('python analyzer', () => {
  it.each([
    ['usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA', true],
    ['usr/local/lib/python3.12/site-packages/requests-2.32.3.dist-info/METADATA', true],
    ['usr/local/lib/python3.11/dist-packages/requests-2.32.3.dist-info/METADATA', true],
    ['opt/venv/lib/python3.11/site-packages/foo-1.0.dist-info/METADATA', true],
    ['site-packages/a-1.dist-info/METADATA', true],
    ['usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO', true],
    ['usr/lib/python3/dist-packages/cryptography.egg-info/PKG-INFO', true],
    ['usr/lib/python3/dist-packages/foo-1.0.egg-info', true],
    ['usr/lib/python3.9/site-packages/foo-1.0-py3.9.egg/EGG-INFO/PKG-INFO', true],
    [`${SITE}/setuptools/_vendor/packaging-24.2.dist-info/METADATA`, true],
    ['usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/RECORD', false],
    ['usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/INSTALLER', false],
    ['usr/lib/python3/dist-packages/six-1.16.0.egg-info/requires.txt', false],
    ['usr/lib/python3/dist-packages/foo-1.0.dist-info/METADATA.bak', false],
    ['usr/lib/python3/dist-packages/foo-1.0.dist-info/PKG-INFO', false],
    ['usr/lib/python3/dist-packages/foo-1.0.egg-info/METADATA', false],
    ['usr/lib/python3/dist-packages/foo/EGG-INFO/PKG-INFO', false],
    ['usr/lib/python3/dist-packages/.dist-info/METADATA', false],
    ['usr/lib/python3/dist-packages/.egg-info', false],
    ['usr/lib/python3/dist-packages/METADATA', false],
    ['usr/lib/python3/dist-packages', false],
    ['usr/lib/python3.11/foo-1.0.dist-info/METADATA', false],
    ['usr/lib/python3/site-packages-old/foo-1.0.dist-info/METADATA', false],
    ['root/.pyenv/versions/2.7.18/lib/python2.7/wsgiref.egg-info', false],
    ['app/src/foo.egg-info/PKG-INFO', false],
    ['app/dist/foo-1.0.dist-info/METADATA', false],
    ['', false],
  ])('wants(%s) = %s', (path, expected) => {
    expect(pythonAnalyzer.wants(path)).toBe(expected);
  });

  const rows = JSON.parse(fixture('expected.json').toString()) as ExpectedRow[];

  it('has the 12 distributions importlib.metadata found', () => {
    expect(rows).toHaveLength(12);
    // the only file not below site-packages is CPython 2.7's own wsgiref.egg-info
    expect(rows.filter((r) => !pythonAnalyzer.wants(r.path)).map((r) => r.path)).toEqual([
      'root/.pyenv/versions/2.7.18/lib/python2.7/wsgiref.egg-info',
    ]);
  });

  // Each real metadata file → the Name and Version importlib.metadata reports, exactly.
  it.each(rows.map((r) => [r.path, r] as const))('%s', async (path, row) => {
    // the single-file egg-info form is read at a site-packages path (see SOURCE.md)
    const at = pythonAnalyzer.wants(path)
      ? path
      : `usr/local/lib/python2.7/site-packages/${path.slice(path.lastIndexOf('/') + 1)}`;
    const out = await analyze(fixture(path), at);
    expect(out.warnings).toEqual([]);
    const expected: AnalyzedPackage = { type: 'pypi', name: row.name, version: row.version };
    const licenses = expectedLicenses(row);
    if (licenses) expected.licenses = licenses;
    const properties: Record<string, string> = {};
    if (at.startsWith('usr/lib/python3/dist-packages/')) properties['python:installer'] = 'dpkg';
    if (at.includes('/_vendor/')) properties['python:vendored-in'] = 'setuptools/_vendor';
    if (Object.keys(properties).length > 0) expected.properties = properties;
    expect(out.packages).toEqual([expected]);
  });

  it.each([
    ['usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA', ['MIT']],
    [
      'usr/lib/python3/dist-packages/cryptography.egg-info/PKG-INFO',
      ['BSD-3-Clause OR Apache-2.0'],
    ],
    ['usr/lib/python3/dist-packages/python_apt-2.6.0.egg-info/PKG-INFO', ['GNU GPL']],
    [
      'root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/urllib3-2.7.0.dist-info/METADATA',
      ['MIT'],
    ],
    // the whole BSD licence text is in License: the classifier names it instead
    [
      'root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/traitlets-5.15.0.dist-info/METADATA',
      ['BSD License'],
    ],
    [
      'usr/lib/google-cloud-sdk/platform/bundledpythonunix/lib/python3.12/site-packages/setuptools/_vendor/packaging-24.2.dist-info/METADATA',
      ['Apache Software License', 'BSD License'],
    ],
  ])('licences of %s', async (path, licenses) => {
    const out = await analyze(fixture(path), path);
    expect(out.packages?.[0]?.licenses).toEqual(licenses);
  });

  it('reports the package Debian ships as both dist-info and egg-info twice, once per file', async () => {
    const dist = 'usr/lib/python3/dist-packages/cryptography-38.0.4.dist-info/METADATA';
    const egg = 'usr/lib/python3/dist-packages/cryptography.egg-info/PKG-INFO';
    const a = await analyze(fixture(dist), dist);
    const b = await analyze(fixture(egg), egg);
    expect(a.packages).toEqual(b.packages);
    expect(a.packages?.[0]?.properties).toEqual({ 'python:installer': 'dpkg' });
  });

  it.each([
    ['usr/lib/python3/dist-packages/a-1.0.dist-info/METADATA', { 'python:installer': 'dpkg' }],
    ['usr/lib/python2.7/dist-packages/a-1.0.egg-info', { 'python:installer': 'dpkg' }],
    [
      'usr/lib/python3/dist-packages/pip/_vendor/a-1.0.dist-info/METADATA',
      { 'python:installer': 'dpkg', 'python:vendored-in': 'pip/_vendor' },
    ],
    ['usr/local/lib/python3.11/dist-packages/a-1.0.dist-info/METADATA', undefined],
    ['usr/lib/python3.11/site-packages/a-1.0.dist-info/METADATA', undefined],
    ['opt/app/usr/lib/python3/dist-packages/a-1.0.dist-info/METADATA', undefined],
    ['usr/lib/python3/site-packages/a-1.0.dist-info/METADATA', undefined],
    [
      `${SITE}/pkg_resources/tests/data/x/my_test_package-1.0-py3.7.egg/EGG-INFO/PKG-INFO`,
      { 'python:vendored-in': 'pkg_resources/tests/data/x' },
    ],
    ['opt/venv/lib/python3.11/site-packages/x/site-packages/a-1.0.dist-info/METADATA', undefined],
  ])('properties at %s', async (path, properties) => {
    const out = await analyze('Metadata-Version: 2.1\nName: a\nVersion: 1.0\n', path);
    expect(out.warnings).toEqual([]);
    expect(out.packages?.[0]?.properties).toEqual(properties);
  });

  const pkg = (name: string, version: string, extra: Partial<AnalyzedPackage> = {}) => ({
    type: 'pypi',
    name,
    version,
    ...extra,
  });
  const MV = 'Metadata-Version: 2.1\n';

  const cases: [string, string | Buffer, object[], string[]][] = [
    ['minimal', `${MV}Name: a\nVersion: 1.0\n`, [pkg('a', '1.0')], []],
    [
      'the description body is not read, whatever it holds',
      `${MV}Name: a\nVersion: 1.0\n\nName: evil\nVersion: 666\nLicense: no\n`,
      [pkg('a', '1.0')],
      [],
    ],
    [
      'field names are case-insensitive; values are trimmed',
      `${MV}name:   a  \nVERSION:\t2.0 \n`,
      [pkg('a', '2.0')],
      [],
    ],
    [
      'of repeated fields the first counts',
      `${MV}Name: a\nName: b\nVersion: 1\nVersion: 2\n`,
      [pkg('a', '1')],
      [],
    ],
    ['CRLF and CR line ends', `${MV}Name: a\r\nVersion: 1\r\n\r\nbody`, [pkg('a', '1')], []],
    ['old Mac line ends', 'Metadata-Version: 1.0\rName: a\rVersion: 1\r', [pkg('a', '1')], []],
    ['a byte order mark', `\ufeff${MV}Name: a\nVersion: 1\n`, [pkg('a', '1')], []],
    [
      'an mbox "From " first line is skipped',
      `From nobody\n${MV}Name: a\nVersion: 1\n`,
      [pkg('a', '1')],
      [],
    ],
    [
      'License-Expression wins over License and classifiers',
      `${MV}Name: a\nVersion: 1\nLicense: MIT License\nLicense-Expression: MIT OR Apache-2.0\nClassifier: License :: OSI Approved :: MIT License\n`,
      [pkg('a', '1', { licenses: ['MIT OR Apache-2.0'] })],
      [],
    ],
    [
      'a multi-line License is licence text: classifiers name the licence',
      `${MV}Name: a\nVersion: 1\nLicense: Copyright (c) 2020 Someone\n        \n        Permission is hereby granted\nClassifier: License :: OSI Approved :: MIT License\nClassifier: License :: OSI Approved\n`,
      [pkg('a', '1', { licenses: ['MIT License'] })],
      [],
    ],
    [
      'License UNKNOWN and a bare "OSI Approved" classifier give no licence',
      `${MV}Name: a\nVersion: 1\nLicense: UNKNOWN\nClassifier: License :: OSI Approved\nClassifier: Topic :: License :: X\n`,
      [pkg('a', '1')],
      [],
    ],
    [
      'classifier leaves are kept once each',
      `${MV}Name: a\nVersion: 1\nClassifier: License :: OSI Approved :: BSD License\nClassifier: License :: Public Domain\nClassifier: License :: OSI Approved :: BSD License\n`,
      [pkg('a', '1', { licenses: ['BSD License', 'Public Domain'] })],
      [],
    ],
    [
      '__proto__ and constructor fields are only fields',
      `${MV}__proto__: x\nconstructor: y\nName: a\nVersion: 1\n`,
      [pkg('a', '1')],
      [],
    ],
    ['empty file', '', [], [`${META}: metadata without Name or Version; no package read`]],
    ['no Version', `${MV}Name: a\n`, [], [`${META}: metadata without Version; no package read`]],
    [
      'an empty Name counts as missing',
      `${MV}Name:\nVersion: 1\n`,
      [],
      [`${META}: metadata without Name; no package read`],
    ],
    [
      'truncated inside the headers: package kept, with a warning',
      `${MV}Name: a\nVersion: 1.0\nSummary: cut sho`,
      [pkg('a', '1.0')],
      [`${META}: the header block ends without a newline; the file may be truncated`],
    ],
    [
      'a non-header line ends the headers, as in Python',
      `${MV}Name: a\nthis is not a header\nVersion: 1\n`,
      [],
      [
        `${META}: line 3: not a "Field: value" line; the rest of the file is not read`,
        `${META}: metadata without Version; no package read`,
      ],
    ],
    [
      'a continuation line before any field is ignored',
      ` stray\n${MV}Name: a\nVersion: 1\n`,
      [pkg('a', '1')],
      [`${META}: line 1: continuation line before any field; ignored`],
    ],
    [
      'no Metadata-Version: package kept, with a warning',
      'Name: a\nVersion: 1\n',
      [pkg('a', '1')],
      [`${META}: no Metadata-Version field; damaged or not core metadata?`],
    ],
    [
      'invalid UTF-8 is replaced, with a warning',
      Buffer.concat([
        Buffer.from(`${MV}Name: a\nVersion: 1\nAuthor: `),
        Buffer.from([0xff, 0xfe, 0x0a]),
      ]),
      [pkg('a', '1')],
      [`${META}: not valid UTF-8; undecodable bytes replaced`],
    ],
    [
      'binary garbage',
      Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x0a, 0xff, 0xfe]),
      [],
      [
        `${META}: not valid UTF-8; undecodable bytes replaced`,
        `${META}: line 1: not a "Field: value" line; the rest of the file is not read`,
        `${META}: metadata without Name or Version; no package read`,
      ],
    ],
  ];
  it.each(cases)('%s', async (_name, text, packages, warnings) => {
    const out = await analyze(text);
    expect(out.packages).toEqual(packages);
    expect(out.warnings).toEqual(warnings);
  });

  it('caps the warnings for a badly broken file', async () => {
    const out = await analyze(' x\n'.repeat(50));
    expect(out.warnings).toHaveLength(22);
    expect(out.warnings?.[20]).toBe(`${META}: 30 more warnings not shown`);
    expect(out.warnings?.[21]).toBe(`${META}: metadata without Name or Version; no package read`);
  });
});
