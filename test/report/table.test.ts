import { describe, expect, it } from 'vitest';
import { renderTable, summaryLine, width } from '../../src/report/table.js';
import type { ScanReport } from '../../src/report/types.js';
import {
  ALL_REPORTS,
  alpineReport,
  debianReport,
  emptyReport,
  finding,
  libssl3,
} from './scan-reports.js';

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('renderTable', () => {
  it('shows the image header, the summary counts and the findings grouped by package', () => {
    const out = renderTable([debianReport], { color: false });
    const lines = out.split('\n');
    expect(lines[0]).toBe('127.0.0.1:5000/group/app:1.0');
    expect(lines[1]).toContain('digest sha256:aaaaaaaaaaaa ');
    expect(lines[1]).toContain('os debian 12 (bookworm)');
    expect(lines[1]).toContain('4 packages');
    expect(out).toContain(
      'Total: 4 (CRITICAL: 2, HIGH: 1, MEDIUM: 0, LOW: 1, NEGLIGIBLE: 0, UNKNOWN: 0)',
    );
    // libssl3's two advisories share one package cell: name, then the installed version.
    const libssl = lines.findIndex((l) => l.startsWith('│ libssl3 '));
    expect(lines[libssl]).toMatch(/│ CVE-2024-0001 +│ CRITICAL +│ 3\.0\.15-1~deb12u1 +│/);
    expect(lines[libssl + 1]).toMatch(
      /^│ 3\.0\.11-1~deb12u2 +│ CVE-2024-0002 +│ HIGH +│ not fixed/,
    );
    expect(lines.filter((l) => l.includes('libssl3'))).toHaveLength(1);
    expect(out).toMatch(/│ tar +│ CVE-2005-2541 +│ LOW +│ won't fix/);
  });

  it('has no ANSI escapes without color, and coloured severities with it', () => {
    const plain = renderTable(ALL_REPORTS, { color: false });
    expect(plain).not.toContain('\u001b');
    const colored = renderTable(ALL_REPORTS, { color: true });
    expect(colored).toContain('\u001b[1;31mCRITICAL'); // bold red
    expect(colored).toContain('\u001b[31mHIGH'); // red
    expect(colored).toContain('\u001b[33mMEDIUM'); // yellow
    expect(colored).toContain('\u001b[34mLOW'); // blue
    expect(colored).toContain('\u001b[90mUNKNOWN'); // grey
    expect(colored.replace(ANSI, '')).toBe(plain);
  });

  it('strips control characters from untrusted text, with or without color', () => {
    for (const color of [false, true]) {
      const out = renderTable([debianReport], { color }).replace(ANSI, '');
      expect(out).not.toMatch(CONTROL);
      expect(out).not.toContain('\r');
      // The words survive; the escape and carriage return do not.
      expect(out).toContain('tar: [31mred');
    }
    const hostile: ScanReport = {
      image: {
        ...debianReport.image,
        image: { ...debianReport.image.image, name: 'evil\u001b]0;title\u0007name', tag: 'x\ry' },
      },
      findings: [
        finding({
          package: { ...libssl3, name: 'lib\u001b[2Jssl' },
          advisoryId: 'CVE-2024-\u009b31m1',
          summary: '\u001b[1;31mpwned\r\n',
          fixedVersions: ['1.0\u0008\u0008'],
        }),
      ],
    };
    const out = renderTable([hostile], { color: true }).replace(ANSI, '');
    expect(out).not.toMatch(CONTROL);
    expect(out).toContain('evil]0;titlename:x y'); // a line break becomes a space
    expect(out).toContain('lib[2Jssl');
  });

  it('keeps every line within 100 columns, truncating long titles', () => {
    const long: ScanReport = {
      image: debianReport.image,
      findings: [
        finding({
          package: libssl3,
          advisoryId: 'CVE-2024-9999',
          summary: 'A very long title '.repeat(20),
          fixedVersions: ['3.0.15-1~deb12u1'],
          fixState: 'fixed',
        }),
        finding({
          package: libssl3,
          advisoryId: 'CVE-2024-9998',
          summary: '漢字のタイトル'.repeat(10),
        }),
      ],
    };
    for (const r of [...ALL_REPORTS, long]) {
      for (const line of renderTable([r], { color: false }).split('\n')) {
        if (line.startsWith('│') || line.startsWith('├') || line.startsWith('┌')) {
          expect(width(line)).toBeLessThanOrEqual(100);
        }
      }
    }
    const out = renderTable([long], { color: false });
    expect(out).toContain('A very long title A very');
    expect(out).toContain('…');
    // Rows of one table are all equally wide, wide characters included.
    const widths = new Set(
      out
        .split('\n')
        .filter((l) => /^[│├┌└]/.test(l))
        .map(width),
    );
    expect(widths.size).toBe(1);
  });

  it('puts several fixed versions on lines of their own', () => {
    const out = renderTable([alpineReport], { color: false });
    expect(out).toMatch(/│ busybox +│ CVE-2023-4242 +│ MEDIUM +│ 1\.36\.1-r30 +│/);
    expect(out).toMatch(/│ 1\.36\.1-r29 +│ +│ +│ 1\.37\.0-r0 +│/);
    expect(out).toContain('platform linux/arm64/v8');
  });

  it('reports an image without findings', () => {
    const out = renderTable([emptyReport], { color: true });
    expect(out).toBe(
      [
        'scratch',
        '  digest sha256:eeeeeeeeeeee · platform linux/amd64 · os unknown · 0 packages',
        'Total: 0 (CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, NEGLIGIBLE: 0, UNKNOWN: 0)',
        'No vulnerabilities found.',
        '',
      ].join('\n'),
    );
  });

  it('adds a grand total for several images', () => {
    const out = renderTable(ALL_REPORTS, { color: false });
    expect(out.trimEnd().split('\n').at(-1)).toBe(
      '3 images, Total: 6 (CRITICAL: 2, HIGH: 1, MEDIUM: 1, LOW: 1, NEGLIGIBLE: 0, UNKNOWN: 1)',
    );
    expect(summaryLine([])).toBe(
      'Total: 0 (CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, NEGLIGIBLE: 0, UNKNOWN: 0)',
    );
  });
});
