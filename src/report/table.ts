/**
 * The human-readable report: per image a header, the findings in a box-drawn table grouped by
 * package (name, then installed version, beside that package's advisories), and a Trivy-like
 * summary line, `Total: 3 (CRITICAL: 1, HIGH: 0, …)`. At most 100 columns wide.
 *
 * Every string from an image or an advisory is untrusted: control characters (ANSI escapes,
 * carriage returns, bidi overrides) are removed before anything is measured or printed, so the
 * only escape sequences in the output are the colours this module adds when `color` is set.
 */
import type { Finding, SeverityLevel } from '../match/types.js';
import {
  cleanText,
  compareFindings,
  countBySeverity,
  displayId,
  findingTitle,
  fixLabel,
  imageLabel,
  SEVERITY_LEVELS,
} from './common.js';
import type { ScanReport } from './types.js';

export interface TableOptions {
  /** ANSI colours for severities. */
  color: boolean;
}

/** The widest the table gets, borders included. */
export const TABLE_WIDTH = 100;

const SGR: Record<SeverityLevel, string> = {
  critical: '\u001b[1;31m',
  high: '\u001b[31m',
  medium: '\u001b[33m',
  low: '\u001b[34m',
  negligible: '\u001b[90m',
  unknown: '\u001b[90m',
};
const RESET = '\u001b[0m';

/** Column caps: package, advisory, severity, fix; the title takes what is left. */
const CAPS = [24, 20, 10, 18] as const;
const MIN_TITLE = 12;
const HEADINGS = ['Package', 'Advisory', 'Severity', 'Fixed in', 'Title'] as const;

export function renderTable(reports: readonly ScanReport[], options: TableOptions): string {
  const blocks = reports.map((r) => renderImage(r, options));
  if (reports.length > 1) {
    const all = reports.flatMap((r) => r.findings);
    blocks.push(`${reports.length} images, ${summaryLine(all)}\n`);
  }
  return blocks.join('\n');
}

/** `Total: 3 (CRITICAL: 1, HIGH: 0, MEDIUM: 1, LOW: 1, NEGLIGIBLE: 0, UNKNOWN: 0)`. */
export function summaryLine(findings: readonly Finding[]): string {
  const counts = countBySeverity(findings);
  const parts = SEVERITY_LEVELS.map((l) => `${l.toUpperCase()}: ${counts[l]}`);
  return `Total: ${findings.length} (${parts.join(', ')})`;
}

function renderImage(report: ScanReport, options: TableOptions): string {
  const { image, inventory } = report.image;
  const lines: string[] = [];
  lines.push(safe(image.tag ? imageLabel(image) : image.name));
  const facts = [`digest ${shortDigest(image.manifestDigest)}`];
  facts.push(`platform ${safe(platform(image.platform))}`);
  const distro = inventory.distro;
  if (distro !== undefined) {
    const version = distro.versionId ? ` ${distro.versionId}` : '';
    const codename = distro.codename ? ` (${distro.codename})` : '';
    facts.push(`os ${safe(`${distro.id}${version}${codename}`)}`);
  } else {
    facts.push('os unknown');
  }
  const n = inventory.packages.length;
  facts.push(`${n} package${n === 1 ? '' : 's'}`);
  lines.push(`  ${facts.join(' · ')}`);
  lines.push(summaryLine(report.findings));
  if (report.findings.length === 0) {
    lines.push('No vulnerabilities found.');
  } else {
    lines.push(...table(report.findings, options));
  }
  return `${lines.join('\n')}\n`;
}

interface Row {
  cells: [string, string, string, string, string];
  severity?: SeverityLevel;
}

function table(findings: readonly Finding[], options: TableOptions): string[] {
  const groups = groupByPackage([...findings].sort(compareFindings));
  const rowGroups: Row[][] = groups.map((group) => {
    const first = group[0] as Finding;
    // One line per finding, more when it has several fixed versions (one version a line).
    const rows: Row[] = group.flatMap((f) => {
      const fixes = f.fixedVersions.length > 1 ? f.fixedVersions.map(safe) : [safe(fixLabel(f))];
      return fixes.map((fix, i): Row => ({
        cells:
          i === 0
            ? ['', safe(displayId(f)), f.severity.toUpperCase(), fix, findingTitle(f) ?? '']
            : ['', '', '', fix, ''],
        severity: f.severity,
      }));
    });
    if (rows.length === 1) rows.push({ cells: ['', '', '', '', ''] });
    (rows[0] as Row).cells[0] = safe(first.package.name);
    (rows[1] as Row).cells[0] = safe(first.installedVersion);
    return rows;
  });

  const natural = [0, 1, 2, 3, 4].map((c) =>
    Math.max(
      width(HEADINGS[c] as string),
      ...rowGroups.flat().map((r) => width(r.cells[c] as string)),
    ),
  );
  const widths = CAPS.map((cap, c) => Math.min(cap, natural[c] as number));
  // Borders and padding: `│ ` before each column, ` ` after, and the closing `│`.
  const room = TABLE_WIDTH - (3 * HEADINGS.length + 1) - widths.reduce((a, b) => a + b, 0);
  widths.push(Math.max(MIN_TITLE, Math.min(natural[4] as number, room)));

  const rule = (l: string, m: string, r: string) =>
    `${l}${widths.map((w) => '─'.repeat(w + 2)).join(m)}${r}`;
  const line = (row: Row) => {
    const cells = row.cells.map((text, c) => {
      const padded = pad(fit(text, widths[c] as number), widths[c] as number);
      return c === 2 && options.color && row.severity !== undefined && text !== ''
        ? `${SGR[row.severity]}${padded}${RESET}`
        : padded;
    });
    return `│ ${cells.join(' │ ')} │`;
  };

  const out = [rule('┌', '┬', '┐')];
  out.push(line({ cells: [...HEADINGS] }));
  for (const rows of rowGroups) {
    out.push(rule('├', '┼', '┤'));
    for (const row of rows) out.push(line(row));
  }
  out.push(rule('└', '┴', '┘'));
  return out;
}

/** Consecutive findings of one package (findings sorted by package first). */
function groupByPackage(sorted: Finding[]): Finding[][] {
  const groups: Finding[][] = [];
  for (const f of sorted) {
    const last = groups[groups.length - 1];
    if (last !== undefined && samePackage((last[0] as Finding).package, f.package)) last.push(f);
    else groups.push([f]);
  }
  return groups;
}

function samePackage(a: Finding['package'], b: Finding['package']): boolean {
  return (
    a === b ||
    (a.name === b.name &&
      a.version === b.version &&
      a.path === b.path &&
      a.layer === b.layer &&
      a.type === b.type)
  );
}

function safe(text: string): string {
  return cleanText(text, { newlines: false });
}

function shortDigest(digest: string): string {
  const m = /^([a-z0-9]+):([0-9a-f]+)$/.exec(digest);
  return m ? `${m[1]}:${(m[2] as string).slice(0, 12)}` : safe(digest);
}

function platform(p: { os: string; architecture: string; variant?: string }): string {
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== '').join('/');
}

// ---------------------------------------------------------------------------------------------
// Terminal width of text: combining marks and format characters take no column, East Asian wide
// and full-width characters and most emoji take two.

const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]$/u;
const WIDE =
  /^[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]$/u;

function charWidth(ch: string): number {
  if (ZERO_WIDTH.test(ch)) return 0;
  return WIDE.test(ch) ? 2 : 1;
}

export function width(text: string): number {
  let w = 0;
  for (const ch of text) w += charWidth(ch);
  return w;
}

/** Text cut to at most `max` columns, `…` marking a cut. */
function fit(text: string, max: number): string {
  if (width(text) <= max) return text;
  let out = '';
  let w = 0;
  for (const ch of text) {
    const cw = charWidth(ch);
    if (w + cw > max - 1) break;
    out += ch;
    w += cw;
  }
  return `${out}…`;
}

function pad(text: string, to: number): string {
  return text + ' '.repeat(Math.max(0, to - width(text)));
}
