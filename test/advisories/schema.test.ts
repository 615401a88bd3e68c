import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { canonicalTimestamp, parseAdvisory } from '../../src/advisories/schema.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/advisories/', import.meta.url));
const LINTER = join(FIXTURES, 'osv-linter-testdata');
/** The whole shared set (8,600 records) when this machine has it; the fixtures are a part of it. */
const SHARED = '/work/shared/data/advisories/osv';

const read = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));

const base = { id: 'x_TEST-1', modified: '2024-05-01T12:00:00Z' };
const withRange = (range: unknown) => ({
  ...base,
  affected: [{ package: { ecosystem: 'npm', name: 'left-pad' }, ranges: [range] }],
});

describe('parseAdvisory: the OSV linter test records', () => {
  const files = readdirJson(LINTER);

  it('has the records the SOURCE.md describes', () => {
    expect(files.map((f) => basename(f))).toContain('nointroduced-CVE-2023-41045.json');
    expect(files.length).toBe(12);
  });

  it.each(files.map((f) => [basename(f), f]))('%s', (name, file) => {
    const result = parseAdvisory(read(file));
    if (name.startsWith('nointroduced-')) {
      expect(result.advisory).toBeUndefined();
      expect(result.errors).toEqual([
        '/affected/0/ranges/0/events: a range needs at least one "introduced" event',
      ]);
    } else {
      // Valid ones, and the linter's non-schema checks (nondistinct: a commit both introduced
      // and fixed, as real RUSTSEC records do; nopackage: needs the registry) are accepted.
      expect(result.errors).toEqual([]);
      expect(result.advisory?.id).toBe((read(file) as { id: string }).id);
    }
  });
});

describe('parseAdvisory: real records', () => {
  it('accepts every fixture record', () => {
    const files = readdirJson(join(FIXTURES, 'osv'));
    expect(files.length).toBeGreaterThan(300);
    for (const file of files) expect([file, parseAdvisory(read(file)).errors]).toEqual([file, []]);
  });

  it.skipIf(!existsSync(SHARED))('accepts every record of the shared OSV set', () => {
    const files = readdirJson(SHARED).filter((f) => !basename(f).startsWith('_'));
    expect(files.length).toBeGreaterThan(8000);
    const rejected = files.filter((f) => parseAdvisory(read(f)).advisory === undefined);
    expect(rejected).toEqual([]);
  });

  it('returns a normalised copy and leaves its input alone', () => {
    const input = {
      ...base,
      aliases: null,
      affected: [{ package: { ecosystem: 'Alpine:v3.10', name: 'libexif' }, versions: null }],
    };
    const before = JSON.stringify(input);
    const { advisory, errors } = parseAdvisory(input);
    expect(errors).toEqual([]);
    expect(advisory).toEqual({
      ...base,
      affected: [{ package: { ecosystem: 'Alpine:v3.10', name: 'libexif' } }],
    });
    expect(JSON.stringify(input)).toBe(before);
  });

  it('tolerates what only informs people, and keeps fields it does not know', () => {
    const { advisory, errors } = parseAdvisory({
      ...base,
      modified: '2022-10-07 18:59:00+00:00',
      severity: [{ type: 'CVSS_V9', score: 'whatever' }],
      references: [{ type: 'NEWTYPE', url: 'not a url' }],
      affected: [
        {
          package: { ecosystem: 'Oracle Linux:ol8_baseos_latest', name: 'kernel' },
          ranges: [
            {
              type: 'GIT',
              repo: 'https://example.org/x',
              events: [{ introduced: '0' }, { fixed: 'abc.patch' }],
            },
          ],
        },
      ],
      x_future_field: { kept: true },
    });
    expect(errors).toEqual([]);
    expect(advisory).toMatchObject({ x_future_field: { kept: true } });
  });
});

describe('parseAdvisory: malformed records are reported, never thrown', () => {
  const cases: [string, unknown, string][] = [
    ['null', null, '/: a record must be a JSON object'],
    ['an array', [base], '/: a record must be a JSON object'],
    ['a string', 'GHSA-1', '/: a record must be a JSON object'],
    ['no id', { modified: base.modified }, '/: must have required properties id'],
    ['no modified', { id: base.id }, '/: must have required properties modified'],
    ['an id with a slash', { ...base, id: '../etc/passwd' }, '/id: must be an id such as'],
    ['an id with a space', { ...base, id: 'GHSA 1' }, '/id: must be an id such as'],
    ['an id that is a number', { ...base, id: 7 }, '/id: must be string'],
    [
      'a date without a zone',
      { ...base, modified: '2024-05-01T12:00:00' },
      '/modified: must be an RFC 3339',
    ],
    ['a date only', { ...base, published: '2024-05-01' }, '/published: must be an RFC 3339'],
    [
      'February 30th',
      { ...base, modified: '2024-02-30T00:00:00Z' },
      '/modified: "2024-02-30T00:00:00Z" is not a valid',
    ],
    [
      'hour 24',
      { ...base, withdrawn: '2024-02-01T24:00:00Z' },
      '/withdrawn: "2024-02-01T24:00:00Z" is not a valid',
    ],
    ['aliases as a string', { ...base, aliases: 'CVE-2024-1' }, '/aliases: must be array'],
    ['a number alias', { ...base, aliases: [1] }, '/aliases/0: must be string'],
    [
      'database_specific as an array',
      { ...base, database_specific: [] },
      '/database_specific: must be object',
    ],
    [
      'a package without a name',
      { ...base, affected: [{ package: { ecosystem: 'npm' } }] },
      '/affected/0/package: must have required properties name',
    ],
    [
      'an empty ecosystem',
      { ...base, affected: [{ package: { ecosystem: '', name: 'x' } }] },
      '/affected/0/package/ecosystem: must not have fewer than 1 characters',
    ],
    [
      'an unknown range type',
      withRange({ type: 'SEMVER2', events: [{ introduced: '0' }] }),
      '/affected/0/ranges/0/type: must be equal to one of the allowed values',
    ],
    [
      'an event with two keys',
      withRange({ type: 'SEMVER', events: [{ introduced: '0', fixed: '1.0.0' }] }),
      '/affected/0/ranges/0/events/0: an event must have exactly one of introduced, fixed, last_affected, limit',
    ],
    [
      'an event with an unknown key',
      withRange({ type: 'SEMVER', events: [{ introduced: '0' }, { fix: '1.0.0' }] }),
      '/affected/0/ranges/0/events/1: an event must have exactly one',
    ],
    [
      'an empty event',
      withRange({ type: 'SEMVER', events: [{ introduced: '0' }, {}] }),
      '/affected/0/ranges/0/events/1: an event must have exactly one',
    ],
    [
      'a numeric version',
      withRange({ type: 'ECOSYSTEM', events: [{ introduced: 0 }] }),
      '/affected/0/ranges/0/events/0: an event must have exactly one',
    ],
    [
      'an empty version',
      withRange({ type: 'ECOSYSTEM', events: [{ introduced: '' }] }),
      '/affected/0/ranges/0/events/0: an event must have exactly one',
    ],
    [
      'no events',
      withRange({ type: 'ECOSYSTEM', events: [] }),
      '/affected/0/ranges/0/events: must not have fewer than 1 items',
    ],
    [
      'no introduced event',
      withRange({ type: 'ECOSYSTEM', events: [{ fixed: '1.0' }] }),
      '/affected/0/ranges/0/events: a range needs at least one "introduced" event',
    ],
    [
      'a GIT range without repo',
      withRange({ type: 'GIT', events: [{ introduced: '0' }] }),
      '/affected/0/ranges/0: a GIT range needs its "repo"',
    ],
  ];

  it.each(cases)('%s', (_name, value, expected) => {
    const result = parseAdvisory(value);
    expect(result.advisory).toBeUndefined();
    expect(result.errors.join('\n')).toContain(expected);
  });

  it('caps the number of errors of one record', () => {
    const ranges = Array.from({ length: 40 }, () => ({
      type: 'SEMVER',
      events: [{ fixed: '1.0.0' }],
    }));
    const { errors } = parseAdvisory({ ...base, affected: [{ ranges }] });
    expect(errors.length).toBe(11);
    expect(errors.at(-1)).toBe('… and 30 more');
  });
});

describe('canonicalTimestamp', () => {
  it.each([
    ['2021-07-05T00:01:25.360500Z', '2021-07-05T00:01:25.360500000Z'],
    ['2021-07-05T00:01:25Z', '2021-07-05T00:01:25.000000000Z'],
    ['2022-10-07 18:59:00+00:00', '2022-10-07T18:59:00.000000000Z'],
    ['2022-10-07T20:59:00.5+02:00', '2022-10-07T18:59:00.500000000Z'],
    ['2022-10-07t18:59:00z', '2022-10-07T18:59:00.000000000Z'],
    ['2022-12-31T23:30:00-01:00', '2023-01-01T00:30:00.000000000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000000000Z'],
  ])('%s → %s', (input, expected) => {
    expect(canonicalTimestamp(input)).toBe(expected);
  });

  it.each([
    '2023-02-29T00:00:00Z',
    '2024-13-01T00:00:00Z',
    '2024-01-01T00:60:00Z',
    '2024-01-01',
    'yesterday',
    '2024-01-01T00:00:00+25:00',
  ])('rejects %s', (input) => expect(canonicalTimestamp(input)).toBeUndefined());

  it('sorts as the instants do', () => {
    const a = canonicalTimestamp('2024-01-01T00:00:00.9Z')!;
    const b = canonicalTimestamp('2024-01-01T00:00:00.10Z')!;
    expect(a > b).toBe(true);
  });
});

/** Every `*.json` under `dir`, sorted (synchronous: the tests want the list when collected). */
function readdirJson(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...readdirJson(path));
    else if (e.name.endsWith('.json')) out.push(path);
  }
  return out.sort();
}
