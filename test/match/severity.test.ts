import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Advisory, OsvAffected, OsvSeverity } from '../../src/advisories/osv.js';
import {
  cvssLevel,
  debianUrgency,
  labelLevel,
  parseCvss,
  redHatRating,
  severityFor,
  ubuntuPriority,
} from '../../src/match/severity.js';
import type { SeverityLevel } from '../../src/match/types.js';

const FIXTURES = new URL('../fixtures/advisories/match/', import.meta.url);
function record(file: string): Advisory {
  return JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8')) as Advisory;
}

const CRITICAL_31 = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';

describe('parseCvss: real vectors', () => {
  it.each<[string, string, number, SeverityLevel]>([
    ['CVSS_V3', CRITICAL_31, 9.8, 'critical'],
    ['CVSS_V3', 'CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8, 'critical'],
    ['CVSS_V3', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:H', 9.1, 'critical'], // lodash
    ['CVSS_V3', 'CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H', 9.9, 'critical'], // wasmtime
    ['CVSS_V3', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', 7.5, 'high'], // ws
    ['CVSS_V3', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L', 5.3, 'medium'], // semver
    ['CVSS_V3', 'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N', 5.5, 'medium'], // netty
    ['CVSS_V3', 'CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N', 3.1, 'low'],
    ['CVSS_V3', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N', 0, 'negligible'],
    ['CVSS_V3', `${CRITICAL_31}/E:U/RL:O/RC:C`, 9.8, 'critical'], // base score, not temporal
    ['CVSS_V2', 'AV:N/AC:L/Au:N/C:P/I:P/A:P', 7.5, 'high'],
    ['CVSS_V2', 'AV:N/AC:L/Au:N/C:C/I:C/A:C', 10, 'high'],
    ['CVSS_V2', 'AV:N/AC:M/Au:N/C:N/I:P/A:N', 4.3, 'medium'],
    ['CVSS_V2', 'AV:L/AC:L/Au:N/C:P/I:N/A:N', 2.1, 'low'],
    ['CVSS_V4', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 9.3, 'critical'],
    ['CVSS_V4', 'CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 7.7, 'high'],
    // CVSS-B: the threat metric E:U does not lower the base score
    [
      'CVSS_V4',
      'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U',
      9.3,
      'critical',
    ],
  ])('%s %s → %s %s', (type, vector, score, level) => {
    const cvss = parseCvss(type, vector);
    expect(cvss).toEqual({ type, vector, score });
    expect(cvssLevel(cvss!)).toBe(level);
  });
});

describe('parseCvss: what is not a well-formed vector is ignored, never thrown', () => {
  it.each<[string, unknown, unknown]>([
    ['garbage', 'CVSS_V3', 'garbage'],
    ['empty', 'CVSS_V3', ''],
    ['prefix only', 'CVSS_V3', 'CVSS:3.1/'],
    ['missing base metrics', 'CVSS_V3', 'CVSS:3.1/AV:N/AC:L'],
    ['a metric twice', 'CVSS_V3', `${CRITICAL_31}/AV:L`],
    ['an unknown metric', 'CVSS_V3', `${CRITICAL_31}/FOO:X`],
    ['an unknown value', 'CVSS_V3', 'CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'],
    ['an empty part', 'CVSS_V3', 'CVSS:3.1/AV:N//AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'],
    ['a trailing slash', 'CVSS_V3', `${CRITICAL_31}/`],
    ['lower-case prefix', 'CVSS_V3', CRITICAL_31.toLowerCase()],
    ['unknown version', 'CVSS_V3', CRITICAL_31.replace('3.1', '3.2')],
    [
      'v4 vector typed CVSS_V3',
      'CVSS_V3',
      'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N',
    ],
    ['v3 vector typed CVSS_V4', 'CVSS_V4', CRITICAL_31],
    ['v3 vector typed CVSS_V2', 'CVSS_V2', CRITICAL_31],
    ['v2 vector typed CVSS_V3', 'CVSS_V3', 'AV:N/AC:L/Au:N/C:P/I:P/A:P'],
    ['v2 in parentheses', 'CVSS_V2', '(AV:N/AC:L/Au:N/C:P/I:P/A:P)'],
    ['v4 missing SA', 'CVSS_V4', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N'],
    ['Ubuntu type', 'Ubuntu', 'high'],
    ['unknown type', 'CVSS_V5', CRITICAL_31],
    ['score not a string', 'CVSS_V3', 9.8],
    ['type not a string', null, CRITICAL_31],
    ['huge', 'CVSS_V3', `${CRITICAL_31}${'/E:X'.repeat(1000)}`],
    ['prototype key', 'CVSS_V3', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/constructor:X'],
  ])('%s', (_name, type, vector) => {
    expect(parseCvss(type, vector)).toBeUndefined();
  });
});

describe('cvssLevel bands', () => {
  it.each<[string, number, SeverityLevel]>([
    ['CVSS_V3', 0, 'negligible'],
    ['CVSS_V3', 0.1, 'low'],
    ['CVSS_V3', 3.9, 'low'],
    ['CVSS_V3', 4.0, 'medium'],
    ['CVSS_V3', 6.9, 'medium'],
    ['CVSS_V3', 7.0, 'high'],
    ['CVSS_V3', 8.9, 'high'],
    ['CVSS_V3', 9.0, 'critical'],
    ['CVSS_V3', 10, 'critical'],
    ['CVSS_V4', 9.0, 'critical'],
    ['CVSS_V4', 0, 'negligible'],
    ['CVSS_V2', 0, 'low'],
    ['CVSS_V2', 3.9, 'low'],
    ['CVSS_V2', 4.0, 'medium'],
    ['CVSS_V2', 6.9, 'medium'],
    ['CVSS_V2', 7.0, 'high'],
    ['CVSS_V2', 10, 'high'],
    ['CVSS_V3', 11, 'unknown'],
    ['CVSS_V3', Number.NaN, 'unknown'],
  ])('%s %s → %s', (type, score, level) => {
    expect(cvssLevel({ type, score })).toBe(level);
  });
});

describe('labels', () => {
  it.each<[unknown, SeverityLevel]>([
    ['unimportant', 'negligible'],
    ['low', 'low'],
    ['medium', 'medium'],
    ['high', 'high'],
    ['high**', 'high'],
    ['not yet assigned', 'unknown'],
    ['end-of-life', 'unknown'],
    [undefined, 'unknown'],
    [3, 'unknown'],
  ])('Debian urgency %j → %s', (value, level) => {
    expect(debianUrgency(value)).toBe(level);
  });

  it.each<[unknown, SeverityLevel]>([
    ['negligible', 'negligible'],
    ['low', 'low'],
    ['medium', 'medium'],
    ['high', 'high'],
    ['critical', 'critical'],
    ['untriaged', 'unknown'],
  ])('Ubuntu priority %j → %s', (value, level) => {
    expect(ubuntuPriority(value)).toBe(level);
  });

  it.each<[unknown, SeverityLevel]>([
    ['CRITICAL', 'critical'],
    ['HIGH', 'high'],
    ['MODERATE', 'medium'],
    ['Medium', 'medium'],
    ['LOW', 'low'],
    ['Important', 'high'],
    ['catastrophic', 'unknown'],
    [{ level: 'HIGH' }, 'unknown'],
  ])('database label %j → %s', (value, level) => {
    expect(labelLevel(value)).toBe(level);
  });

  it.each<[string, SeverityLevel]>([
    ['Moderate: avahi security update', 'medium'],
    ['Important: kernel security update', 'high'],
    ['Critical: firefox security update', 'critical'],
    ['Low: curl security update', 'low'],
    ['avahi security update', 'unknown'],
    ['Moderately: x', 'unknown'],
  ])('Red Hat summary %j → %s', (summary, level) => {
    expect(redHatRating(summary)).toBe(level);
  });
});

/** An advisory written for this test. */
function advisory(
  severity: OsvSeverity[] | undefined,
  affected: Partial<OsvAffected> = {},
  top: Partial<Advisory> = {},
): { advisory: Advisory; entry: OsvAffected } {
  const entry: OsvAffected = { package: { ecosystem: 'Debian:12', name: 'openssl' }, ...affected };
  const adv: Advisory = {
    id: 'TEST-SEV',
    modified: '2024-01-01T00:00:00Z',
    affected: [entry],
    ...(severity ? { severity } : {}),
    ...top,
  };
  return { advisory: adv, entry };
}

const V3 = (score: string): OsvSeverity => ({ type: 'CVSS_V3', score });

describe('severityFor: precedence', () => {
  it('the distro rating beats CVSS for OS packages (Debian urgency, regscan converter)', () => {
    const { advisory: a, entry } = advisory([V3(CRITICAL_31)], {
      database_specific: { urgency: 'low', fix_state: 'fixed' },
    });
    expect(severityFor(a, [entry], { osPackage: true })).toMatchObject({
      level: 'low',
      source: 'distro',
      cvss: [{ type: 'CVSS_V3', vector: CRITICAL_31, score: 9.8 }],
    });
  });

  it('for language packages, CVSS comes first', () => {
    const { advisory: a, entry } = advisory([V3(CRITICAL_31)], {
      database_specific: { urgency: 'low' },
    });
    expect(severityFor(a, [entry], { osPackage: false })).toMatchObject({
      level: 'critical',
      source: 'cvss',
    });
  });

  it('unimportant is negligible', () => {
    const { advisory: a, entry } = advisory([V3(CRITICAL_31)], {
      ecosystem_specific: { urgency: 'unimportant' },
    });
    expect(severityFor(a, [entry], { osPackage: true })).toMatchObject({
      level: 'negligible',
      source: 'distro',
    });
  });

  it('an urgency that is no rating falls through to CVSS', () => {
    const { advisory: a, entry } = advisory([V3('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H')], {
      database_specific: { urgency: 'not yet assigned' },
    });
    expect(severityFor(a, [entry], { osPackage: true })).toMatchObject({
      level: 'high',
      source: 'cvss',
    });
  });

  it('the highest CVSS wins, whatever its version', () => {
    const { advisory: a, entry } = advisory(
      [
        V3('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L'), // 5.3 medium
        { type: 'CVSS_V2', score: 'AV:N/AC:L/Au:N/C:P/I:P/A:P' }, // 7.5 high
      ],
      { severity: [V3('CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N')] }, // 5.5, entry-level
    );
    const result = severityFor(a, [entry], { osPackage: false });
    expect(result).toMatchObject({ level: 'high', source: 'cvss' });
    expect(result.cvss.map((c) => c.score)).toEqual([5.3, 7.5, 5.5]);
  });

  it('at the same level the higher score wins, and duplicates are kept once', () => {
    const { advisory: a, entry } = advisory([
      V3('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:H'),
      V3(CRITICAL_31),
      V3(CRITICAL_31),
    ]);
    const result = severityFor(a, [entry], { osPackage: false });
    expect(result.level).toBe('critical');
    expect(result.cvss).toHaveLength(2);
  });

  it("the database's label when there is no valid CVSS", () => {
    const { advisory: a, entry } = advisory(
      [V3('garbage')],
      {},
      {
        database_specific: { severity: 'MODERATE' },
      },
    );
    expect(severityFor(a, [entry], { osPackage: false })).toEqual({
      level: 'medium',
      source: 'database',
      cvss: [],
    });
  });

  it('a language entry label (OSS-Fuzz ecosystem_specific.severity) is a database label', () => {
    const { advisory: a, entry } = advisory(undefined, {
      ecosystem_specific: { severity: 'HIGH' },
    });
    expect(severityFor(a, [entry], { osPackage: false })).toMatchObject({
      level: 'high',
      source: 'database',
    });
  });

  it('nothing usable: unknown', () => {
    const { advisory: a, entry } = advisory(
      [V3('garbage'), { type: 'CVSS_V2', score: '' }, null as unknown as OsvSeverity],
      {},
      { database_specific: { severity: 'SEVERE' } },
    );
    expect(severityFor(a, [entry], { osPackage: true })).toEqual({
      level: 'unknown',
      source: 'none',
      cvss: [],
    });
  });

  it('several matched entries: the highest distro rating', () => {
    const { advisory: a, entry } = advisory(undefined, { database_specific: { urgency: 'low' } });
    const other: OsvAffected = { ...entry, database_specific: { urgency: 'high' } };
    expect(severityFor(a, [entry, other], { osPackage: true }).level).toBe('high');
  });
});

describe('severityFor: real records', () => {
  it('GHSA-jf85-cpcp-j695 (lodash): CVSS 9.1 before the label CRITICAL', () => {
    const a = record('GHSA-jf85-cpcp-j695.json');
    expect(severityFor(a, [a.affected![0]!], { osPackage: false })).toMatchObject({
      level: 'critical',
      source: 'cvss',
      cvss: [{ score: 9.1 }],
    });
  });

  it('GHSA-crjg-w57m-rqqf (dnsjava): v4 7.7 high over v3 6.5 and the label MODERATE', () => {
    const a = record('GHSA-crjg-w57m-rqqf.json');
    const result = severityFor(a, [a.affected![0]!], { osPackage: false });
    expect(result).toMatchObject({ level: 'high', source: 'cvss' });
    expect(result.cvss.map((c) => [c.type, c.score])).toEqual([
      ['CVSS_V3', 6.5],
      ['CVSS_V4', 7.7],
    ]);
  });

  it('CVE-2024-3847 (Debian, urgency in ecosystem_specific): low from the distro', () => {
    const a = record('CVE-2024-3847.json');
    expect(severityFor(a, [a.affected![0]!], { osPackage: true })).toEqual({
      level: 'low',
      source: 'distro',
      cvss: [],
    });
  });

  it('UBUNTU-CVE-2016-20013: Ubuntu priority negligible over CVSS 7.5', () => {
    const a = record('UBUNTU-CVE-2016-20013.json');
    const result = severityFor(a, [a.affected![0]!], { osPackage: true });
    expect(result).toMatchObject({ level: 'negligible', source: 'distro', cvss: [{ score: 7.5 }] });
  });

  it('UBUNTU-CVE-2022-24823: Ubuntu priority low, the CVSS vector listed once', () => {
    const a = record('UBUNTU-CVE-2022-24823.json');
    const result = severityFor(a, [a.affected![0]!], { osPackage: true });
    expect(result).toMatchObject({ level: 'low', source: 'distro' });
    expect(result.cvss).toHaveLength(1);
  });

  it('ALSA-2024:2433 (AlmaLinux): "Moderate:" in the summary', () => {
    const a = record('ALSA-2024_2433.json');
    expect(severityFor(a, [a.affected![0]!], { osPackage: true })).toEqual({
      level: 'medium',
      source: 'distro',
      cvss: [],
    });
  });

  it('a Red Hat-style summary on a non-Red Hat record is no rating', () => {
    const { advisory: a, entry } = advisory(undefined, {}, { summary: 'Important: something' });
    expect(severityFor(a, [entry], { osPackage: true }).level).toBe('unknown');
  });
});
