import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Advisory } from '../../src/advisories/osv.js';
import {
  DEFAULT_MODIFIED,
  debianTrackerToOsv,
  isDebianVersion,
  summarize,
} from '../../src/advisories/debian-tracker.js';
import { validateOsv } from './native-osv-schema.js';

const FIXTURES = new URL('../fixtures/advisories/native/debian-tracker/', import.meta.url);

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8'));
}

/** The real excerpts (see the fixtures' SOURCE.md). */
const OSVDEV_MOCK = 'osvdev-debian_security_tracker_mock.json';
const VUNNEL = 'vunnel-debian.json';
const MODIFIED = '2025-07-31T10:00:00Z';

function byId(advisories: Advisory[], id: string): Advisory | undefined {
  return advisories.find((a) => a.id === id);
}

function expectSchemaValid(advisories: Advisory[]): void {
  for (const a of advisories) expect(validateOsv(a), a.id).toEqual([]);
}

describe('debianTrackerToOsv on real tracker excerpts', () => {
  it('converts the OSV.dev excerpt (apparmor, bookworm and trixie) to the records OSV.dev publishes', () => {
    const { advisories, warnings } = debianTrackerToOsv(fixture(OSVDEV_MOCK), {
      modified: MODIFIED,
    });
    expect(warnings).toEqual([]);
    // CVE-2014-1424 is `resolved` with fixed_version "0" in every release: never affected, so no
    // record (OSV.dev publishes it with no affected entry, which can match nothing).
    expect(advisories.map((a) => a.id)).toEqual(['DEBIAN-CVE-2016-1585', 'DEBIAN-CVE-2017-6507']);

    const description =
      'In all versions of AppArmor mount rules are accidentally widened when compiled.';
    // Open with no fix in buster, bullseye, bookworm (urgency unimportant); fixed in trixie, sid.
    const openUnimportant = (ecosystem: string, release: string) => ({
      package: { ecosystem, name: 'apparmor' },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
      ecosystem_specific: { urgency: 'unimportant' },
      database_specific: {
        release,
        status: 'open',
        fix_state: 'not_fixed',
        urgency: 'unimportant',
      },
    });
    const fixedUnimportant = (ecosystem: string, release: string) => ({
      package: { ecosystem, name: 'apparmor' },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.12-1' }] }],
      ecosystem_specific: { urgency: 'unimportant' },
      database_specific: {
        release,
        status: 'resolved',
        fix_state: 'fixed',
        urgency: 'unimportant',
      },
    });
    expect(byId(advisories, 'DEBIAN-CVE-2016-1585')).toStrictEqual({
      id: 'DEBIAN-CVE-2016-1585',
      modified: MODIFIED,
      aliases: ['CVE-2016-1585'],
      upstream: ['CVE-2016-1585'],
      summary: description,
      details: description,
      affected: [
        openUnimportant('Debian:10', 'buster'),
        openUnimportant('Debian:11', 'bullseye'),
        openUnimportant('Debian:12', 'bookworm'),
        fixedUnimportant('Debian:13', 'trixie'),
        fixedUnimportant('Debian:sid', 'sid'),
      ],
      references: [
        { type: 'ADVISORY', url: 'https://security-tracker.debian.org/tracker/CVE-2016-1585' },
        { type: 'REPORT', url: 'https://bugs.debian.org/929990' },
      ],
    });

    // Resolved with a fixed version in every release; urgency not yet assigned.
    const cve20176507 = byId(advisories, 'DEBIAN-CVE-2017-6507');
    expect(cve20176507?.affected?.map((a) => a.package?.ecosystem)).toEqual([
      'Debian:10',
      'Debian:11',
      'Debian:12',
      'Debian:13',
      'Debian:sid',
    ]);
    expect(cve20176507?.affected?.[2]).toStrictEqual({
      package: { ecosystem: 'Debian:12', name: 'apparmor' },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.11.0-3' }] }],
      ecosystem_specific: { urgency: 'not yet assigned' },
      database_specific: {
        release: 'bookworm',
        status: 'resolved',
        fix_state: 'fixed',
        urgency: 'not yet assigned',
      },
    });
    // A long description: summary is its start, cut at a word; details keep all of it.
    expect(cve20176507?.summary).toBe(
      'An issue was discovered in AppArmor before 2.12. Incorrect handling of unknown AppArmor profiles in AppArmor init…',
    );
    expect(cve20176507?.details).toMatch(/^An issue was discovered .* init script logic\.$/s);
    expect(cve20176507?.references).toEqual([
      { type: 'ADVISORY', url: 'https://security-tracker.debian.org/tracker/CVE-2017-6507' },
      { type: 'REPORT', url: 'https://bugs.debian.org/858768' },
    ]);
    expectSchemaValid(advisories);
  });

  it('converts the vunnel excerpt: end-of-life releases, urgency markers, several releases', () => {
    const { advisories, warnings } = debianTrackerToOsv(fixture(VUNNEL), { modified: MODIFIED });
    expect(warnings).toEqual([]);
    // CVE-2007-2383 (prototypejs) is fixed_version "0" everywhere: not affected, no record;
    // chromium-browser CVE-2022-0358 has `releases: []` (the tracker's empty map): no record.
    expect(advisories.map((a) => a.id)).toEqual([
      'DEBIAN-CVE-2008-7220',
      'DEBIAN-CVE-2013-1444',
      'DEBIAN-CVE-2005-3111',
      'DEBIAN-CVE-2022-0456',
      'DEBIAN-CVE-2025-53603',
    ]);
    expect(advisories.map((a) => a.affected?.length)).toEqual([4, 4, 4, 5, 4]);

    // chromium: buster and stretch are `open` with urgency `end-of-life` (no more security
    // support): affected in every version, and Debian's word that no fix will come.
    expect(byId(advisories, 'DEBIAN-CVE-2022-0456')).toStrictEqual({
      id: 'DEBIAN-CVE-2022-0456',
      modified: MODIFIED,
      aliases: ['CVE-2022-0456'],
      upstream: ['CVE-2022-0456'],
      affected: [
        {
          package: { ecosystem: 'Debian:9', name: 'chromium' },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
          ecosystem_specific: { urgency: 'end-of-life' },
          database_specific: {
            release: 'stretch',
            status: 'open',
            fix_state: 'wont_fix',
            urgency: 'end-of-life',
          },
        },
        {
          package: { ecosystem: 'Debian:10', name: 'chromium' },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
          ecosystem_specific: { urgency: 'end-of-life' },
          database_specific: {
            release: 'buster',
            status: 'open',
            fix_state: 'wont_fix',
            urgency: 'end-of-life',
          },
        },
        {
          package: { ecosystem: 'Debian:11', name: 'chromium' },
          ranges: [
            {
              type: 'ECOSYSTEM',
              events: [{ introduced: '0' }, { fixed: '98.0.4758.80-1~deb11u1' }],
            },
          ],
          ecosystem_specific: { urgency: 'not yet assigned' },
          database_specific: {
            release: 'bullseye',
            status: 'resolved',
            fix_state: 'fixed',
            urgency: 'not yet assigned',
          },
        },
        {
          package: { ecosystem: 'Debian:12', name: 'chromium' },
          ranges: [
            { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '98.0.4758.80-1' }] },
          ],
          ecosystem_specific: { urgency: 'not yet assigned' },
          database_specific: {
            release: 'bookworm',
            status: 'resolved',
            fix_state: 'fixed',
            urgency: 'not yet assigned',
          },
        },
        {
          package: { ecosystem: 'Debian:sid', name: 'chromium' },
          ranges: [
            { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '98.0.4758.80-1' }] },
          ],
          ecosystem_specific: { urgency: 'not yet assigned' },
          database_specific: {
            release: 'sid',
            status: 'resolved',
            fix_state: 'fixed',
            urgency: 'not yet assigned',
          },
        },
      ],
      references: [
        { type: 'ADVISORY', url: 'https://security-tracker.debian.org/tracker/CVE-2022-0456' },
      ],
    });

    // `high**`: the tracker's marker for an urgency not set by Debian itself; the rating is high.
    const cve20087220 = byId(advisories, 'DEBIAN-CVE-2008-7220');
    expect(cve20087220?.affected?.map((a) => a.database_specific?.urgency)).toEqual([
      'high',
      'high',
      'high',
      'high',
    ]);
    // Releases in number order whatever the feed's order (stretch, jessie, buster, sid).
    expect(cve20087220?.affected?.map((a) => a.package?.ecosystem)).toEqual([
      'Debian:8',
      'Debian:9',
      'Debian:10',
      'Debian:sid',
    ]);

    // sope: fixed by a DSA in bookworm and bullseye (+debNuM versions), in trixie and sid.
    const sope = byId(advisories, 'DEBIAN-CVE-2025-53603');
    expect(
      sope?.affected?.map((a) => [a.package?.ecosystem, a.ranges?.[0]?.events, a.package?.name]),
    ).toEqual([
      ['Debian:11', [{ introduced: '0' }, { fixed: '5.0.1-2+deb11u1' }], 'sope'],
      ['Debian:12', [{ introduced: '0' }, { fixed: '5.8.0-1+deb12u1' }], 'sope'],
      ['Debian:13', [{ introduced: '0' }, { fixed: '5.12.1-2' }], 'sope'],
      ['Debian:sid', [{ introduced: '0' }, { fixed: '5.12.1-2' }], 'sope'],
    ]);
    expect(sope?.references).toContainEqual({
      type: 'REPORT',
      url: 'https://bugs.debian.org/1108798',
    });
    expectSchemaValid(advisories);
  });

  it('counts over both excerpts', () => {
    const all = [OSVDEV_MOCK, VUNNEL].map((f) => debianTrackerToOsv(fixture(f)));
    expect(all.map((r) => r.advisories.length)).toEqual([2, 5]);
    const affected = all.map((r) =>
      r.advisories.reduce((n, a) => n + (a.affected?.length ?? 0), 0),
    );
    expect(affected).toEqual([10, 21]);
    for (const r of all) {
      expect(r.warnings).toEqual([]);
      for (const a of r.advisories) expect(a.modified).toBe(DEFAULT_MODIFIED);
      expectSchemaValid(r.advisories);
    }
  });
});

/**
 * A tracker document written for these tests, in the real layout and with the real per-release
 * fields (status, repositories, urgency, fixed_version, nodsa, nodsa_reason), for the states the
 * real excerpts lack. The zlib entry restates the tracker's real bookworm entry for
 * CVE-2023-45853 (no-DSA, ignored: minizip is not built).
 */
const CONSTRUCTED = {
  zlib: {
    'CVE-2023-45853': {
      description:
        'MiniZip in zlib through 1.3 has an integer overflow and resultant heap-based buffer overflow in zipOpenNewFileInZip4_64 via a long filename, comment, or extra field.',
      scope: 'local',
      releases: {
        bookworm: {
          status: 'open',
          repositories: { bookworm: '1:1.2.13.dfsg-1' },
          urgency: 'not yet assigned',
          nodsa: 'contrib/minizip not built and src:zlib not producing binary packages',
          nodsa_reason: 'ignored',
        },
        trixie: {
          status: 'resolved',
          repositories: { trixie: '1:1.3.dfsg+really1.3.1-1' },
          fixed_version: '1:1.3.dfsg-3',
          urgency: 'not yet assigned',
        },
      },
    },
  },
  bash: {
    'CVE-2026-2000': {
      description: 'A minor issue.',
      releases: {
        bookworm: {
          status: 'open',
          repositories: { bookworm: '5.2.15-2' },
          urgency: 'low',
          nodsa: 'Minor issue',
          nodsa_reason: 'postponed',
        },
        bullseye: {
          status: 'open',
          repositories: { bullseye: '5.1-2' },
          urgency: 'low',
          nodsa: 'Minor issue',
          nodsa_reason: '',
        },
      },
    },
    'CVE-2026-2001': {
      releases: {
        trixie: { status: 'undetermined', repositories: {}, urgency: 'not yet assigned' },
      },
    },
    'TEMP-0000000-1A2B3C': {
      description: 'An issue without a CVE yet',
      releases: {
        sid: { status: 'open', repositories: { sid: '5.2.37-1' }, urgency: 'unimportant' },
      },
    },
  },
  // The same CVE under a second source package: one record, affected entries for both.
  'firefox-esr': {
    'CVE-2026-3000': {
      releases: {
        bookworm: { status: 'resolved', fixed_version: '128.1.0esr-1~deb12u1', urgency: 'high' },
      },
    },
  },
  thunderbird: {
    'CVE-2026-3000': {
      description: 'Shared by firefox-esr and thunderbird.',
      debianbug: 1100000,
      releases: {
        bookworm: { status: 'open', urgency: 'high' },
        experimental: { status: 'open', urgency: 'high' },
      },
    },
  },
};

describe('debianTrackerToOsv on the fix states the excerpts lack', () => {
  const { advisories, warnings } = debianTrackerToOsv(CONSTRUCTED, { modified: MODIFIED });

  it('marks a no-DSA `ignored` release wont_fix, keeping the note', () => {
    expect(byId(advisories, 'DEBIAN-CVE-2023-45853')?.affected).toStrictEqual([
      {
        package: { ecosystem: 'Debian:12', name: 'zlib' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
        ecosystem_specific: { urgency: 'not yet assigned' },
        database_specific: {
          release: 'bookworm',
          status: 'open',
          fix_state: 'wont_fix',
          urgency: 'not yet assigned',
          nodsa: 'contrib/minizip not built and src:zlib not producing binary packages',
          nodsa_reason: 'ignored',
        },
      },
      {
        package: { ecosystem: 'Debian:13', name: 'zlib' },
        // An epoch in the fixed version is kept as written.
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:1.3.dfsg-3' }] }],
        ecosystem_specific: { urgency: 'not yet assigned' },
        database_specific: {
          release: 'trixie',
          status: 'resolved',
          fix_state: 'fixed',
          urgency: 'not yet assigned',
        },
      },
    ]);
  });

  it('marks postponed and plain no-DSA releases not_fixed, and undetermined ones too', () => {
    const bash = byId(advisories, 'DEBIAN-CVE-2026-2000');
    expect(bash?.affected?.map((a) => [a.package?.ecosystem, a.database_specific])).toEqual([
      [
        'Debian:11',
        {
          release: 'bullseye',
          status: 'open',
          fix_state: 'not_fixed',
          urgency: 'low',
          nodsa: 'Minor issue',
        },
      ],
      [
        'Debian:12',
        {
          release: 'bookworm',
          status: 'open',
          fix_state: 'not_fixed',
          urgency: 'low',
          nodsa: 'Minor issue',
          nodsa_reason: 'postponed',
        },
      ],
    ]);
    expect(byId(advisories, 'DEBIAN-CVE-2026-2001')).toStrictEqual({
      id: 'DEBIAN-CVE-2026-2001',
      modified: MODIFIED,
      aliases: ['CVE-2026-2001'],
      upstream: ['CVE-2026-2001'],
      affected: [
        {
          package: { ecosystem: 'Debian:13', name: 'bash' },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
          ecosystem_specific: { urgency: 'not yet assigned' },
          database_specific: {
            release: 'trixie',
            status: 'undetermined',
            fix_state: 'not_fixed',
            urgency: 'not yet assigned',
          },
        },
      ],
      references: [
        { type: 'ADVISORY', url: 'https://security-tracker.debian.org/tracker/CVE-2026-2001' },
      ],
    });
  });

  it('keeps TEMP ids, without aliases', () => {
    expect(byId(advisories, 'DEBIAN-TEMP-0000000-1A2B3C')).toStrictEqual({
      id: 'DEBIAN-TEMP-0000000-1A2B3C',
      modified: MODIFIED,
      summary: 'An issue without a CVE yet',
      details: 'An issue without a CVE yet',
      affected: [
        {
          package: { ecosystem: 'Debian:sid', name: 'bash' },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
          ecosystem_specific: { urgency: 'unimportant' },
          database_specific: {
            release: 'sid',
            status: 'open',
            fix_state: 'not_fixed',
            urgency: 'unimportant',
          },
        },
      ],
      references: [
        {
          type: 'ADVISORY',
          url: 'https://security-tracker.debian.org/tracker/TEMP-0000000-1A2B3C',
        },
      ],
    });
  });

  it('merges a CVE found under several source packages into one record', () => {
    const record = byId(advisories, 'DEBIAN-CVE-2026-3000');
    expect(record?.affected?.map((a) => [a.package?.name, a.database_specific?.fix_state])).toEqual(
      [
        ['firefox-esr', 'fixed'],
        ['thunderbird', 'not_fixed'],
      ],
    );
    expect(record?.details).toBe('Shared by firefox-esr and thunderbird.');
    expect(record?.references).toContainEqual({
      type: 'REPORT',
      url: 'https://bugs.debian.org/1100000',
    });
  });

  it('reports an unknown release codename once, and accepts new ones through options', () => {
    expect(warnings).toEqual([
      '/thunderbird/CVE-2026-3000/releases/experimental: unknown Debian release "experimental"; skipped',
    ]);
    const again = debianTrackerToOsv(CONSTRUCTED, { releases: { experimental: 'experimental' } });
    expect(again.warnings).toEqual([]);
    expect(
      byId(again.advisories, 'DEBIAN-CVE-2026-3000')?.affected?.map((a) => a.package?.ecosystem),
    ).toEqual(['Debian:12', 'Debian:12', 'Debian:experimental']);
  });

  it('produces schema-valid records', () => {
    expect(advisories).toHaveLength(5);
    expectSchemaValid(advisories);
  });
});

describe('debianTrackerToOsv on malformed input', () => {
  it.each([
    ['null', null],
    ['an array', []],
    ['a string', 'not json'],
    ['a number', 42],
  ])('warns on a document that is %s', (what, doc) => {
    const result = debianTrackerToOsv(doc);
    expect(result.advisories).toEqual([]);
    expect(result.warnings).toEqual([`/: expected an object of source packages, got ${what}`]);
  });

  it('warns with the path of each bad part, and converts the good ones', () => {
    const doc = {
      good: {
        'CVE-2024-0001': {
          releases: {
            bookworm: { status: 'resolved', fixed_version: '1.0-1', urgency: 'low' },
            bullseye: { repositories: {}, urgency: 'low' }, // no status
            buster: { status: 'fixed', urgency: 'low' }, // unknown status
            trixie: { status: 'resolved', urgency: 'low' }, // resolved without a version
            forky: { status: 'resolved', fixed_version: 'latest', urgency: 'low' },
            sid: 'resolved',
          },
        },
        'CVE-2024-0002': 'open',
        'CVE-2024-0003': { releases: { bookworm: { status: 'open', urgency: 3 } } },
        'CVE-2024-0004': { releases: 'bookworm' },
        'CVE-2024-0005': {},
        'not an id': { releases: {} },
      },
      'Bad Name': { 'CVE-2024-0001': { releases: {} } },
      '../../etc': { 'CVE-2024-0001': { releases: {} } },
      list: [],
      'no\u0007control': 1,
    };
    const { advisories, warnings } = debianTrackerToOsv(doc);
    expect(warnings).toEqual([
      '/good/CVE-2024-0001/releases/bullseye/status: missing or not a string; skipped',
      '/good/CVE-2024-0001/releases/buster/status: unknown status "fixed"; skipped',
      '/good/CVE-2024-0001/releases/trixie/fixed_version: resolved without a fixed version; skipped',
      '/good/CVE-2024-0001/releases/forky/fixed_version: "latest" is not a Debian version; skipped',
      '/good/CVE-2024-0001/releases/sid: expected an object, got a string',
      '/good/CVE-2024-0002: expected an object, got a string',
      '/good/CVE-2024-0003/releases/bookworm/urgency: expected a string, got a number; ignored',
      '/good/CVE-2024-0004/releases: expected an object of releases, got a string',
      '/good/CVE-2024-0005/releases: expected an object of releases, got nothing',
      '/good/not an id: not a CVE or TEMP id; skipped',
      '/Bad Name: not a Debian source package name; skipped',
      '/..~1..~1etc: not a Debian source package name; skipped',
      '/list: expected an object of issues, got an array',
      '/no\\u0007control: not a Debian source package name; skipped',
    ]);
    expect(advisories.map((a) => [a.id, a.affected?.length])).toEqual([
      ['DEBIAN-CVE-2024-0001', 1],
      ['DEBIAN-CVE-2024-0003', 1],
    ]);
    // The bad urgency is left out; the entry stays.
    expect(byId(advisories, 'DEBIAN-CVE-2024-0003')?.affected?.[0]?.database_specific).toEqual({
      release: 'bookworm',
      status: 'open',
      fix_state: 'not_fixed',
    });
    expectSchemaValid(advisories);
  });

  it('never throws on any part of a real excerpt replaced by a wrong value', () => {
    const original = fixture(VUNNEL);
    const bad: unknown[] = [null, 0, 'x', [], {}, [{}], true];
    let runs = 0;
    const visit = (node: unknown, replace: (value: unknown) => void): void => {
      for (const value of bad) {
        replace(value);
        const result = debianTrackerToOsv(original);
        runs++;
        for (const a of result.advisories) expect(validateOsv(a), a.id).toEqual([]);
      }
      replace(node);
      if (typeof node === 'object' && node !== null) {
        const obj = node as Record<string, unknown>;
        for (const key of Object.keys(obj)) {
          visit(obj[key], (value) => {
            obj[key] = value;
          });
        }
      }
    };
    const root = original as Record<string, unknown>;
    for (const key of Object.keys(root)) {
      visit(root[key], (value) => {
        root[key] = value;
      });
    }
    expect(runs).toBeGreaterThan(1000);
  });

  it('rejects a modified that is not an RFC 3339 UTC timestamp, and bad release numbers', () => {
    expect(() => debianTrackerToOsv({}, { modified: 'yesterday' })).toThrow(TypeError);
    expect(() => debianTrackerToOsv({}, { modified: '2025-01-01T00:00:00+02:00' })).toThrow(
      TypeError,
    );
    expect(() => debianTrackerToOsv({}, { releases: { duke: '15 beta' } })).toThrow(TypeError);
  });
});

describe('helpers', () => {
  it('has a schema check that rejects a broken record', () => {
    expect(validateOsv({ id: 'DEBIAN-CVE-2024-1', modified: MODIFIED })).toEqual([]);
    expect(validateOsv({ id: 'NOPE-1', modified: MODIFIED })).not.toEqual([]);
    expect(validateOsv({ id: 'DEBIAN-CVE-2024-1', modified: 'now' })).not.toEqual([]);
    const noIntroduced = {
      id: 'DEBIAN-CVE-2024-1',
      modified: MODIFIED,
      affected: [
        {
          package: { ecosystem: 'Debian:12', name: 'x' },
          ranges: [{ type: 'ECOSYSTEM', events: [{ fixed: '1' }] }],
        },
      ],
    };
    expect(validateOsv(noIntroduced)).not.toEqual([]);
  });

  it('accepts Debian versions as dpkg does', () => {
    for (const v of [
      '0',
      '1.0',
      '1.0-1',
      '1:1.2.13.dfsg-1',
      '98.0.4758.80-1~deb11u1',
      '2:1.0~rc1',
    ]) {
      expect(isDebianVersion(v), v).toBe(true);
    }
    // The dpkg test suite's invalid versions (shared/data/vectors/dpkg-validity.jsonl).
    for (const v of [
      '',
      '-0',
      '0:-0',
      ':1.0',
      '1.0-',
      '10a:5.2',
      '5.2@3-2',
      'foo5.2',
      '0:foo5.2',
    ]) {
      expect(isDebianVersion(v), v).toBe(false);
    }
  });

  it('summarizes a description in one line of at most 120 characters', () => {
    expect(summarize('Short.')).toBe('Short.');
    expect(summarize('First line\nsecond line')).toBe('First line');
    const long = summarize('word '.repeat(60));
    expect(long.length).toBeLessThanOrEqual(120);
    expect(long.endsWith('word…')).toBe(true);
  });
});
