import { describe, expect, it } from 'vitest';
import type { Finding, SeverityLevel } from '../../src/match/types.js';
import {
  filterFindings,
  REPORT_FORMATS,
  renderReport,
  type FindingFilter,
} from '../../src/report/index.js';
import { ALL_REPORTS, debianReport, finding, libssl3, SERIAL, TIMESTAMP } from './scan-reports.js';

const f = (advisoryId: string, severity: SeverityLevel, fix: Partial<Finding>): Finding =>
  finding({ package: libssl3, advisoryId, severity, ...fix });

const FINDINGS: Finding[] = [
  f('A', 'critical', { fixState: 'fixed', fixedVersions: ['2'] }),
  f('B', 'high', { fixState: 'not_fixed' }),
  f('C', 'medium', { fixState: 'unknown', fixedVersions: ['3'] }),
  f('D', 'low', { fixState: 'wont_fix' }),
  f('E', 'negligible', { fixState: 'fixed', fixedVersions: ['4'] }),
  f('F', 'unknown', { fixState: 'unknown' }),
];

describe('filterFindings', () => {
  it.each<[string, FindingFilter, string[]]>([
    ['no filter', {}, ['A', 'B', 'C', 'D', 'E', 'F']],
    ['empty severities = all', { severities: [] }, ['A', 'B', 'C', 'D', 'E', 'F']],
    ['critical,high', { severities: ['critical', 'high'] }, ['A', 'B']],
    ['unknown', { severities: ['unknown'] }, ['F']],
    ['ignore unfixed', { ignoreUnfixed: true }, ['A', 'C', 'E']],
    ['ignoreUnfixed false', { ignoreUnfixed: false }, ['A', 'B', 'C', 'D', 'E', 'F']],
    [
      'high+low, ignore unfixed',
      { severities: ['high', 'low', 'critical'], ignoreUnfixed: true },
      ['A'],
    ],
    ['nothing matches', { severities: ['medium'], ignoreUnfixed: true }, ['C']],
  ])('%s', (_name, filter, expected) => {
    expect(filterFindings(FINDINGS, filter).map((x) => x.advisoryId)).toEqual(expected);
  });

  it('does not change its input', () => {
    const copy = [...FINDINGS];
    filterFindings(FINDINGS, { severities: ['low'], ignoreUnfixed: true });
    expect(FINDINGS).toEqual(copy);
  });
});

describe('renderReport', () => {
  const options = { timestamp: TIMESTAMP, serialNumber: SERIAL, toolVersion: '0.1.0' };

  it('renders every format, each ending with a newline', () => {
    for (const format of REPORT_FORMATS) {
      const out = renderReport(format, ALL_REPORTS, options);
      expect(out.endsWith('\n')).toBe(true);
      if (format !== 'table') expect(() => JSON.parse(out) as unknown).not.toThrow();
    }
  });

  it('writes SPDX as the SBOM only', () => {
    const doc = JSON.parse(renderReport('spdx-json', [debianReport], options)) as Record<
      string,
      unknown
    >;
    expect(doc.spdxVersion).toBe('SPDX-2.3');
    expect(JSON.stringify(doc)).not.toContain('CVE-2024-0001');
  });

  it('colours the table only when asked', () => {
    expect(renderReport('table', ALL_REPORTS)).not.toContain('\u001b');
    expect(renderReport('table', ALL_REPORTS, { color: true })).toContain('\u001b[');
  });

  it('refuses an unknown format', () => {
    expect(() => renderReport('html' as never, ALL_REPORTS)).toThrow(/unknown report format/);
  });
});
