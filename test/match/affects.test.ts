import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Advisory, OsvAffected, OsvEvent, OsvRange } from '../../src/advisories/osv.js';
import { affects, evaluate } from '../../src/match/affects.js';

const FIXTURES = new URL('../fixtures/advisories/match/', import.meta.url);

/** A real record (see the fixtures' SOURCE.md). */
function record(file: string): Advisory {
  return JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8')) as Advisory;
}

/** An advisory written for this test: one package, the given ranges and versions. */
function advisory(
  ecosystem: string,
  name: string,
  ranges: OsvRange[],
  extra: Partial<OsvAffected> = {},
  top: Partial<Advisory> = {},
): Advisory {
  return {
    id: 'TEST-0001',
    modified: '2024-01-01T00:00:00Z',
    affected: [{ package: { ecosystem, name }, ranges, ...extra }],
    ...top,
  };
}

const semver = (...events: OsvEvent[]): OsvRange => ({ type: 'SEMVER', events });
const eco = (...events: OsvEvent[]): OsvRange => ({ type: 'ECOSYSTEM', events });

type Case = [version: string, affected: boolean];

/** Runs `cases` against an advisory for (ecosystem, name). */
function table(name: string, adv: Advisory, ecosystem: string, pkg: string, cases: Case[]): void {
  describe(name, () => {
    it.each(cases)('%s → %s', (version, expected) => {
      const result = evaluate(adv, { ecosystem, name: pkg, version });
      expect(result.affected).toBe(expected);
      expect(affects(adv, { ecosystem, name: pkg, version })).toBe(expected);
      expect(result.warnings).toEqual([]);
    });
  });
}

describe('the OSV schema examples (schema.md, "Examples")', () => {
  table(
    'unfixed: every version is affected',
    advisory('npm', 'pkg', [semver({ introduced: '0' })]),
    'npm',
    'pkg',
    [
      ['0.0.0', true],
      ['0.0.1-alpha', true],
      ['1.0.0', true],
      ['99.99.99', true],
    ],
  );
  table(
    'fixed: everything before 1.0.2',
    advisory('npm', 'pkg', [semver({ introduced: '0' }, { fixed: '1.0.2' })]),
    'npm',
    'pkg',
    [
      ['0.0.0', true],
      ['1.0.1', true],
      ['1.0.2-rc.1', true],
      ['1.0.2', false],
      ['1.0.3', false],
    ],
  );
  table(
    'multiple ranges: [1.0.0, 1.0.2) and [3.0.0, 3.2.5)',
    advisory('npm', 'pkg', [
      semver(
        { introduced: '1.0.0' },
        { fixed: '1.0.2' },
        { introduced: '3.0.0' },
        { fixed: '3.2.5' },
      ),
    ]),
    'npm',
    'pkg',
    [
      ['0.9.9', false],
      ['1.0.0', true],
      ['1.0.1', true],
      ['1.0.2', false],
      ['2.5.0', false],
      ['3.0.0', true],
      ['3.2.4', true],
      ['3.2.5', false],
      ['4.0.0', false],
    ],
  );
  table(
    'last_affected 2.1.214: that version is affected, later ones are not',
    advisory('npm', 'pkg', [eco({ introduced: '0' }, { last_affected: '2.1.214' })]),
    'npm',
    'pkg',
    [
      ['2.1.213', true],
      ['2.1.214', true],
      ['2.1.215', false],
      ['3.0.0', false],
    ],
  );
  table(
    'fixed 2.1.214: that version is not affected',
    advisory('npm', 'pkg', [semver({ introduced: '0' }, { fixed: '2.1.214' })]),
    'npm',
    'pkg',
    [
      ['2.1.213', true],
      ['2.1.214', false],
    ],
  );
});

describe('every event kind', () => {
  table(
    'introduced/fixed',
    advisory('npm', 'pkg', [eco({ introduced: '1.2.0' }, { fixed: '1.4.0' })]),
    'npm',
    'pkg',
    [
      ['1.1.9', false],
      ['1.2.0', true],
      ['1.3.99', true],
      ['1.4.0', false],
    ],
  );
  table(
    'introduced/last_affected',
    advisory('npm', 'pkg', [eco({ introduced: '1.2.0' }, { last_affected: '1.3.0' })]),
    'npm',
    'pkg',
    [
      ['1.1.0', false],
      ['1.2.0', true],
      ['1.3.0', true],
      ['1.3.1', false],
    ],
  );
  table(
    'limit: only versions below a limit are evaluated',
    advisory('npm', 'pkg', [eco({ introduced: '1.0.0' }, { limit: '2.0.0' })]),
    'npm',
    'pkg',
    [
      ['0.9.0', false],
      ['1.0.0', true],
      ['1.9.9', true],
      ['2.0.0', false],
      ['3.0.0', false],
    ],
  );
  table(
    'several limits: below any one of them is enough',
    advisory('npm', 'pkg', [eco({ introduced: '0' }, { limit: '1.0.0' }, { limit: '3.0.0' })]),
    'npm',
    'pkg',
    [
      ['0.5.0', true],
      ['2.0.0', true],
      ['3.0.0', false],
    ],
  );
  table(
    'limit "*" is infinity',
    advisory('npm', 'pkg', [eco({ introduced: '1.0.0' }, { limit: '*' })]),
    'npm',
    'pkg',
    [
      ['0.1.0', false],
      ['1.0.0', true],
      ['999.0.0', true],
    ],
  );
  table(
    'limit and fixed together',
    advisory('npm', 'pkg', [eco({ introduced: '0' }, { fixed: '1.5.0' }, { limit: '2.0.0' })]),
    'npm',
    'pkg',
    [
      ['1.4.0', true],
      ['1.6.0', false],
      ['2.1.0', false],
    ],
  );
  table(
    'multiple introduced/fixed pairs in one range',
    advisory('npm', 'pkg', [
      eco(
        { introduced: '0' },
        { fixed: '1.0.1' },
        { introduced: '2.0.0' },
        { fixed: '2.0.1' },
        { introduced: '3.0.0' },
      ),
    ]),
    'npm',
    'pkg',
    [
      ['1.0.0', true],
      ['1.0.1', false],
      ['2.0.0', true],
      ['2.0.1', false],
      ['2.9.9', false],
      ['3.0.0', true],
      ['9.0.0', true],
    ],
  );
  table(
    'several ranges: any one matching is enough',
    advisory('npm', 'pkg', [
      eco({ introduced: '1.0.0' }, { fixed: '1.1.0' }),
      eco({ introduced: '2.0.0' }, { fixed: '2.1.0' }),
    ]),
    'npm',
    'pkg',
    [
      ['1.0.5', true],
      ['1.5.0', false],
      ['2.0.5', true],
      ['2.1.0', false],
    ],
  );
  table(
    'unsorted events are sorted by version first',
    advisory('npm', 'pkg', [
      eco({ fixed: '3.2.5' }, { introduced: '1.0.0' }, { fixed: '1.0.2' }, { introduced: '3.0.0' }),
    ]),
    'npm',
    'pkg',
    [
      ['0.9.0', false],
      ['1.0.1', true],
      ['1.0.2', false],
      ['3.1.0', true],
      ['3.2.5', false],
    ],
  );
  table(
    'introduced "0" sorts first wherever it is written',
    advisory('npm', 'pkg', [eco({ fixed: '2.0.0' }, { introduced: '0' })]),
    'npm',
    'pkg',
    [
      ['0.0.0', true],
      ['1.9.9', true],
      ['2.0.0', false],
    ],
  );
  table(
    'introduced and fixed at the same version: an empty range',
    advisory('npm', 'pkg', [eco({ introduced: '1.0.0' }, { fixed: '1.0.0' })]),
    'npm',
    'pkg',
    [
      ['0.9.0', false],
      ['1.0.0', false],
      ['1.1.0', false],
    ],
  );
  table(
    'a range without introduced never matches (the pseudocode starts "not vulnerable")',
    advisory('npm', 'pkg', [eco({ fixed: '1.0.0' })]),
    'npm',
    'pkg',
    [
      ['0.5.0', false],
      ['1.5.0', false],
    ],
  );
});

describe('versions lists', () => {
  table(
    'versions only: exact string equality',
    advisory('npm', 'pkg', [], { versions: ['1.0.0', '1.0.1'] }),
    'npm',
    'pkg',
    [
      ['1.0.0', true],
      ['1.0.1', true],
      ['1.0.2', false],
      ['v1.0.0', false], // the same semver version, not the same string
      ['1.0.0+build', false],
    ],
  );
  table(
    'versions list or ranges: either one',
    advisory('npm', 'pkg', [eco({ introduced: '2.0.0' }, { fixed: '2.1.0' })], {
      versions: ['1.0.0'],
    }),
    'npm',
    'pkg',
    [
      ['1.0.0', true],
      ['2.0.5', true],
      ['1.5.0', false],
    ],
  );
  table(
    'a versions list works for an ecosystem with no version scheme',
    advisory('Hex', 'plug', [], { versions: ['1.3.2'] }),
    'Hex',
    'plug',
    [
      ['1.3.2', true],
      ['1.3.3', false],
    ],
  );
});

describe('range types', () => {
  // In Debian's order `1.0.0-alpha` is upstream 1.0.0 with revision "alpha", above `1.0.0`; in
  // SemVer it is a prerelease, below it. A SEMVER range uses SemVer whatever the ecosystem.
  table(
    'SEMVER range in a non-semver ecosystem uses SemVer order',
    advisory('Debian:12', 'pkg', [semver({ introduced: '0' }, { fixed: '1.0.0' })]),
    'Debian:12',
    'pkg',
    [
      ['1.0.0-alpha', true],
      ['1.0.0', false],
    ],
  );
  table(
    'the same range as ECOSYSTEM uses the ecosystem order',
    advisory('Debian:12', 'pkg', [eco({ introduced: '0' }, { fixed: '1.0.0' })]),
    'Debian:12',
    'pkg',
    [
      ['1.0.0-alpha', false],
      ['1.0.0~rc1-1', true],
      ['0.9-1', true],
    ],
  );
  table(
    'GIT ranges take no part in package matching',
    advisory('PyPI', 'pkg', [
      {
        type: 'GIT',
        repo: 'https://example.com/repo',
        events: [{ introduced: '0' }, { fixed: 'f72a18dda8e9bf2aedb46168761668464a4be988' }],
      },
    ]),
    'PyPI',
    'pkg',
    [
      ['1.0', false],
      ['f72a18dda8e9bf2aedb46168761668464a4be988', false],
    ],
  );
});

describe('which package', () => {
  const lodash = advisory('npm', 'lodash', [eco({ introduced: '0' }, { fixed: '4.17.12' })]);
  it.each([
    ['npm', 'lodash', true],
    ['PyPI', 'lodash', false],
    ['npm', 'Lodash', false], // npm names are case-sensitive
    ['npm', 'lodash-es', false],
  ])('%s %s → %s', (ecosystem, name, expected) => {
    expect(affects(lodash, { ecosystem, name, version: '4.17.11' })).toBe(expected);
  });

  it('compares the ecosystem with its release exactly', () => {
    const adv = advisory('Debian:12', 'openssl', [eco({ introduced: '0' })]);
    expect(affects(adv, { ecosystem: 'Debian:12', name: 'openssl', version: '3.0.11-1' })).toBe(
      true,
    );
    expect(affects(adv, { ecosystem: 'Debian:11', name: 'openssl', version: '3.0.11-1' })).toBe(
      false,
    );
    expect(affects(adv, { ecosystem: 'Debian', name: 'openssl', version: '3.0.11-1' })).toBe(false);
  });

  it('normalises PyPI names (PEP 503) on both sides', () => {
    const adv = advisory('PyPI', 'Zope.Interface', [eco({ introduced: '0' })]);
    expect(affects(adv, { ecosystem: 'PyPI', name: 'zope_interface', version: '5.0' })).toBe(true);
    expect(affects(adv, { ecosystem: 'PyPI', name: 'zope-interfaces', version: '5.0' })).toBe(
      false,
    );
  });

  it('says whether the advisory lists the package at all', () => {
    const adv = advisory('npm', 'pkg', [eco({ introduced: '0' }, { fixed: '1.0.0' })]);
    expect(evaluate(adv, { ecosystem: 'npm', name: 'pkg', version: '2.0.0' })).toMatchObject({
      affected: false,
      listed: true,
    });
    expect(evaluate(adv, { ecosystem: 'npm', name: 'other', version: '0.1.0' })).toMatchObject({
      affected: false,
      listed: false,
    });
  });

  it('ignores entries without a package', () => {
    const adv: Advisory = {
      id: 'TEST-0002',
      modified: '2024-01-01T00:00:00Z',
      affected: [{ ranges: [eco({ introduced: '0' })] }],
    };
    expect(affects(adv, { ecosystem: 'npm', name: 'pkg', version: '1.0.0' })).toBe(false);
  });
});

describe('withdrawn advisories never match', () => {
  it('a written withdrawn advisory', () => {
    const adv = advisory(
      'npm',
      'pkg',
      [eco({ introduced: '0' })],
      { versions: ['1.0.0'] },
      {
        withdrawn: '2024-02-01T00:00:00Z',
      },
    );
    const result = evaluate(adv, { ecosystem: 'npm', name: 'pkg', version: '1.0.0' });
    expect(result).toMatchObject({ affected: false, listed: true, matches: [] });
  });

  it('RUSTSEC-2020-0053 (dirs, withdrawn), real', () => {
    const adv = record('RUSTSEC-2020-0053.json');
    expect(adv.withdrawn).toBeDefined();
    for (const version of ['0.0.1', '1.0.0', '3.0.1']) {
      expect(affects(adv, { ecosystem: 'crates.io', name: 'dirs', version })).toBe(false);
    }
  });
});

describe('nothing is guessed: a range that cannot be evaluated is skipped with a warning', () => {
  it('an event version the scheme rejects', () => {
    const adv = advisory('npm', 'pkg', [eco({ introduced: '0' }, { fixed: 'not a version' })]);
    const result = evaluate(adv, { ecosystem: 'npm', name: 'pkg', version: '1.0.0' });
    expect(result.affected).toBe(false);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toContain('TEST-0001: affected[0].ranges[0]');
    expect(result.warnings[0]).toContain('"not a version" is not a valid semver version');
  });

  it('other ranges and the versions list still count', () => {
    const adv = advisory(
      'npm',
      'pkg',
      [
        eco({ introduced: '0' }, { fixed: '1..2' }),
        eco({ introduced: '1.0.0' }, { fixed: '2.0.0' }),
      ],
      { versions: ['0.5.0'] },
    );
    const at = (version: string) => evaluate(adv, { ecosystem: 'npm', name: 'pkg', version });
    expect(at('1.5.0')).toMatchObject({ affected: true, fixedVersions: ['2.0.0'] });
    expect(at('1.5.0').warnings).toHaveLength(1);
    expect(at('0.5.0').affected).toBe(true); // listed
    expect(at('0.6.0').affected).toBe(false); // only the skipped range would have said so
  });

  it('an installed version the scheme rejects', () => {
    const adv = advisory('npm', 'pkg', [eco({ introduced: '0' })]);
    const result = evaluate(adv, { ecosystem: 'npm', name: 'pkg', version: 'latest' });
    expect(result.affected).toBe(false);
    expect(result.warnings[0]).toContain('installed version "latest"');
  });

  it('an ecosystem without a version scheme', () => {
    const adv = advisory('Hex', 'plug', [eco({ introduced: '0' }, { fixed: '1.3.3' })]);
    const result = evaluate(adv, { ecosystem: 'Hex', name: 'plug', version: '1.3.2' });
    expect(result.affected).toBe(false);
    expect(result.warnings[0]).toContain('no version scheme for ecosystem "Hex"');
  });

  it('an event with two kinds at once', () => {
    const adv = advisory('npm', 'pkg', [eco({ introduced: '0', fixed: '1.0.0' })]);
    const result = evaluate(adv, { ecosystem: 'npm', name: 'pkg', version: '0.5.0' });
    expect(result.affected).toBe(false);
    expect(result.warnings[0]).toContain('not exactly one of');
  });

  it('quotes untrusted text in warnings', () => {
    const adv = advisory('npm', 'pkg', [eco({ introduced: '0' }, { fixed: '<b>"x"\n' })]);
    const [warning] = evaluate(adv, { ecosystem: 'npm', name: 'pkg', version: '1.0.0' }).warnings;
    expect(warning).toContain(String.raw`"<b>\"x\"\n"`);
  });
});

describe('details of a match', () => {
  it('names the entry and range, with the fixed versions above the installed one', () => {
    const adv = advisory('npm', 'pkg', [
      eco({ introduced: '0' }, { fixed: '1.0.1' }, { introduced: '2.0.0' }, { fixed: '2.0.1' }),
    ]);
    const result = evaluate(adv, { ecosystem: 'npm', name: 'pkg', version: '1.0.0' });
    expect(result.matches).toHaveLength(1);
    expect(result.matches[0]).toMatchObject({
      affectedIndex: 0,
      rangeIndex: 0,
      fixed: ['1.0.1', '2.0.1'],
      hasFixedEvent: true,
      hasUpperBound: false,
    });
    expect(result.matches[0]!.range).toBe(adv.affected![0]!.ranges![0]);
    expect(result.fixedVersions).toEqual(['1.0.1', '2.0.1']);
    // in the second interval only the later fix is still ahead
    expect(
      evaluate(adv, { ecosystem: 'npm', name: 'pkg', version: '2.0.0' }).fixedVersions,
    ).toEqual(['2.0.1']);
  });

  it('reports a versions-list match', () => {
    const adv = advisory('npm', 'pkg', [], { versions: ['1.0.0'] });
    const result = evaluate(adv, { ecosystem: 'npm', name: 'pkg', version: '1.0.0' });
    expect(result.matches).toEqual([
      expect.objectContaining({ affectedIndex: 0, versionsListed: true, fixed: [] }),
    ]);
  });

  it('an open range has no fix and no upper bound', () => {
    const adv = advisory('npm', 'pkg', [eco({ introduced: '0' })]);
    expect(
      evaluate(adv, { ecosystem: 'npm', name: 'pkg', version: '1.0.0' }).matches[0],
    ).toMatchObject({ fixed: [], hasFixedEvent: false, hasUpperBound: false });
  });
});

describe('real records', () => {
  const lodash = record('GHSA-jf85-cpcp-j695.json'); // CVE-2019-10744, fixed in 4.17.12
  table('GHSA-jf85-cpcp-j695: lodash prototype pollution', lodash, 'npm', 'lodash', [
    ['4.17.4', true],
    ['4.17.11', true],
    ['4.17.12', false],
    ['4.17.15', false],
    ['4.17.21', false],
  ]);
  table('GHSA-jf85-cpcp-j695: lodash-es, its own fix', lodash, 'npm', 'lodash-es', [
    ['4.17.13', true],
    ['4.17.14', false],
  ]);
  it('GHSA-jf85-cpcp-j695: the fixed version', () => {
    expect(
      evaluate(lodash, { ecosystem: 'npm', name: 'lodash', version: '4.17.11' }).fixedVersions,
    ).toEqual(['4.17.12']);
  });

  const minimist = record('GHSA-xvch-5gv4-984h.json'); // two entries: [1.0.0, 1.2.6), [0, 0.2.4)
  table('GHSA-xvch-5gv4-984h: minimist, two affected entries', minimist, 'npm', 'minimist', [
    ['0.0.8', true],
    ['0.2.3', true],
    ['0.2.4', false],
    ['1.0.0', true],
    ['1.2.5', true],
    ['1.2.6', false],
    ['1.2.8', false],
  ]);
  it('GHSA-xvch-5gv4-984h: names the entry that matched', () => {
    const old = evaluate(minimist, { ecosystem: 'npm', name: 'minimist', version: '0.2.1' });
    expect(old.matches.map((m) => m.affectedIndex)).toEqual([1]);
    expect(old.fixedVersions).toEqual(['0.2.4']);
  });

  table('GHSA-c2qf-rxjj-qqgw: semver ReDoS', record('GHSA-c2qf-rxjj-qqgw.json'), 'npm', 'semver', [
    ['5.7.1', true],
    ['5.7.2', false],
    ['6.0.0', true],
    ['6.3.0', true],
    ['6.3.1', false],
    ['7.5.1', true],
    ['7.5.2', false],
  ]);

  table('GHSA-3h5v-q93c-6h6q: ws DoS', record('GHSA-3h5v-q93c-6h6q.json'), 'npm', 'ws', [
    ['2.0.0', false],
    ['5.2.3', true],
    ['5.2.4', false],
    ['8.17.0', true],
    ['8.17.1', false],
  ]);

  const wasmtime = record('RUSTSEC-2023-0090.json'); // SEMVER: 0.0.0-0..4.0.1, 5.0.0..5.0.1, 6.0.0..6.0.1
  table(
    'RUSTSEC-2023-0090: wasmtime, one SEMVER range of three pairs',
    wasmtime,
    'crates.io',
    'wasmtime',
    [
      ['0.40.0', true],
      ['4.0.0', true],
      ['4.0.1', false],
      ['5.0.0', true],
      ['5.0.1', false],
      ['6.0.0', true],
      ['6.0.1', false],
      ['7.0.0', false],
    ],
  );

  const zope = record('PYSEC-2021-368.json'); // GIT and ECOSYSTEM ranges and a versions list
  table(
    'PYSEC-2021-368: zope, GIT range ignored, ECOSYSTEM range in PEP 440 order',
    zope,
    'PyPI',
    'zope',
    [
      ['3.9', false],
      ['4.0', true],
      ['4.6.2', true],
      ['4.6.3', false],
      ['5.0', true],
      ['5.2.1', true],
      ['5.3', false],
    ],
  );

  const grpc = record('OSV-128.json'); // ECOSYSTEM range with a limit; a versions list
  table('OSV-128: limit events', grpc, 'PyPI', 'grpcio', [
    ['1.12.0', false],
    ['1.13.0', true],
    ['1.14.1', true],
    ['1.14.2', false],
  ]);
  it('OSV-128: a listed version that is not a PEP 440 version matches by string', () => {
    const result = evaluate(grpc, { ecosystem: 'PyPI', name: 'grpcio', version: 'branch-v0.1.1' });
    expect(result.affected).toBe(true);
    expect(result.matches[0]?.versionsListed).toBe(true);
    expect(result.warnings).toHaveLength(1); // the ECOSYSTEM range could not be evaluated
  });

  const text = record('GHSA-599f-7c49-w659.json'); // Maven, fixed and last_affected entries
  table(
    'GHSA-599f-7c49-w659: commons-text, fixed',
    text,
    'Maven',
    'org.apache.commons:commons-text',
    [
      ['1.4', false],
      ['1.5', true],
      ['1.9', true],
      ['1.10.0', false],
    ],
  );
  table(
    'GHSA-599f-7c49-w659: a last_affected entry',
    text,
    'Maven',
    'com.guicedee.services:commons-text',
    [
      ['0.70.0.1', true],
      ['1.2.2.1-jre17', true],
      ['1.2.2.2', false],
    ],
  );

  table('DSA-3029-1: nginx in Debian 7', record('DSA-3029-1.json'), 'Debian:7', 'nginx', [
    ['1.2.1-2.2+wheezy2', true],
    ['1.2.1-2.2+wheezy3', false],
    ['1.2.1-2.2+wheezy4', false],
  ]);
});
