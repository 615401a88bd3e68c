import cvssCalculator from 'ae-cvss-calculator';
import type { Advisory, OsvAffected, OsvSeverity } from '../advisories/osv.js';
import type { Cvss, SeverityLevel, SeveritySource } from './types.js';

/**
 * A finding's severity from an OSV advisory, in this order of precedence:
 *
 * 1. `distro` — for OS packages, the distribution's own rating of the issue for its package:
 *    Debian's urgency (`affected[].database_specific.urgency` as regscan's Debian converter writes
 *    it, or `ecosystem_specific.urgency` as OSV.dev's Debian records do; `unimportant` is
 *    negligible, `not yet assigned` and `end-of-life` are no rating), a severity label in the
 *    matched entry's `ecosystem_specific.severity` / `database_specific.severity`, Ubuntu's
 *    priority (a `severity[]` entry of type `Ubuntu`), and the Red Hat-family advisory's rating
 *    at the head of its summary (`Important: openssl security update`, as RHSA, ALSA and RLSA
 *    write it). The highest of these when several matched entries carry one.
 * 2. `cvss` — the highest of the CVSS vectors of the advisory and of the matched entries (level
 *    first, then score). Scores are base scores computed from the vector (for v4, CVSS-B: base
 *    metrics only), never a score the record states.
 * 3. `database` — the database's own label: `database_specific.severity` of the advisory (GHSA
 *    `CRITICAL`/`HIGH`/`MODERATE`/`LOW`, Bitnami `Critical`/`High`/`Medium`), and for language
 *    packages the matched entry's `ecosystem_specific.severity` / `database_specific.severity`.
 * 4. `none` — `unknown`.
 *
 * Levels from CVSS scores: v3.x and v4.0 per their specifications (0.0 none → negligible,
 * 0.1–3.9 low, 4.0–6.9 medium, 7.0–8.9 high, 9.0–10.0 critical); v2 per NVD (0.0–3.9 low,
 * 4.0–6.9 medium, 7.0–10.0 high).
 *
 * Vectors are untrusted: a vector is used only when it is well formed for its `type` (the OSV
 * schema's grammar: known metrics with known values, each at most once, every base metric
 * present); anything else is ignored, never an exception.
 */

export interface SeverityResult {
  level: SeverityLevel;
  source: SeveritySource;
  /** Every valid CVSS vector of the advisory and matched entries, deduplicated, in record order. */
  cvss: Cvss[];
}

export interface SeverityOptions {
  /** True for OS packages (deb, apk, rpm): the distro's own rating then takes precedence. */
  osPackage: boolean;
}

const RANK: Record<SeverityLevel, number> = {
  unknown: 0,
  negligible: 1,
  low: 2,
  medium: 3,
  high: 4,
  critical: 5,
};

/** The more severe of two levels. */
export function maxLevel(a: SeverityLevel, b: SeverityLevel): SeverityLevel {
  return RANK[b] > RANK[a] ? b : a;
}

/** Sort key: higher is more severe. */
export function severityRank(level: SeverityLevel): number {
  return RANK[level];
}

export function severityFor(
  advisory: Advisory,
  matched: readonly OsvAffected[],
  options: SeverityOptions,
): SeverityResult {
  const entries: OsvSeverity[] = [
    ...(advisory.severity ?? []),
    ...matched.flatMap((a) => a.severity ?? []),
  ];
  const cvss = uniqueCvss(entries);

  if (options.osPackage) {
    const distro = distroRating(advisory, matched, entries);
    if (distro !== 'unknown') return { level: distro, source: 'distro', cvss };
  }

  let best: Cvss | undefined;
  for (const c of cvss) {
    if (!best) best = c;
    else {
      const byLevel = RANK[cvssLevel(c)] - RANK[cvssLevel(best)];
      if (byLevel > 0 || (byLevel === 0 && c.score > best.score)) best = c;
    }
  }
  if (best) return { level: cvssLevel(best), source: 'cvss', cvss };

  let database = labelLevel(advisory.database_specific?.severity);
  if (!options.osPackage) {
    for (const a of matched) {
      database = maxLevel(database, labelLevel(a.ecosystem_specific?.severity));
      database = maxLevel(database, labelLevel(a.database_specific?.severity));
    }
  }
  if (database !== 'unknown') return { level: database, source: 'database', cvss };
  return { level: 'unknown', source: 'none', cvss };
}

function distroRating(
  advisory: Advisory,
  matched: readonly OsvAffected[],
  entries: readonly OsvSeverity[],
): SeverityLevel {
  let level: SeverityLevel = 'unknown';
  for (const a of matched) {
    level = maxLevel(level, debianUrgency(a.database_specific?.urgency));
    level = maxLevel(level, debianUrgency(a.ecosystem_specific?.urgency));
    level = maxLevel(level, labelLevel(a.ecosystem_specific?.severity));
    level = maxLevel(level, labelLevel(a.database_specific?.severity));
  }
  for (const e of entries) {
    if (e?.type === 'Ubuntu') level = maxLevel(level, ubuntuPriority(e.score));
  }
  if (level === 'unknown' && matched.some((a) => isRedHatFamily(a.package?.ecosystem))) {
    level = redHatRating(advisory.summary);
  }
  return level;
}

/** Debian's urgency: `unimportant`, `low`, `medium`, `high` (tracker `*` markers stripped). */
export function debianUrgency(value: unknown): SeverityLevel {
  if (typeof value !== 'string') return 'unknown';
  switch (value.trim().replace(/\*+$/, '').toLowerCase()) {
    case 'unimportant':
      return 'negligible';
    case 'low':
      return 'low';
    case 'medium':
      return 'medium';
    case 'high':
      return 'high';
    default:
      return 'unknown';
  }
}

/** Ubuntu's priority, as OSV's `Ubuntu` severity type writes it. */
export function ubuntuPriority(value: unknown): SeverityLevel {
  if (typeof value !== 'string') return 'unknown';
  const v = value.trim().toLowerCase();
  return v === 'negligible' || v === 'low' || v === 'medium' || v === 'high' || v === 'critical'
    ? v
    : 'unknown';
}

/** A database's severity word: GHSA, Bitnami, OSS-Fuzz, distro labels. Case-insensitive. */
export function labelLevel(value: unknown): SeverityLevel {
  if (typeof value !== 'string') return 'unknown';
  switch (value.trim().toLowerCase()) {
    case 'critical':
      return 'critical';
    case 'high':
    case 'important':
      return 'high';
    case 'moderate':
    case 'medium':
      return 'medium';
    case 'low':
      return 'low';
    case 'negligible':
    case 'unimportant':
      return 'negligible';
    default:
      return 'unknown';
  }
}

const RED_HAT_FAMILY = new Set(['Red Hat', 'AlmaLinux', 'Rocky Linux']);

function isRedHatFamily(ecosystem: string | undefined): boolean {
  if (!ecosystem) return false;
  const colon = ecosystem.indexOf(':');
  return RED_HAT_FAMILY.has(colon >= 0 ? ecosystem.slice(0, colon) : ecosystem);
}

/** `Moderate: avahi security update` → medium (Red Hat's Low/Moderate/Important/Critical). */
export function redHatRating(summary: unknown): SeverityLevel {
  if (typeof summary !== 'string') return 'unknown';
  const m = /^(Low|Moderate|Important|Critical):\s/.exec(summary);
  return m ? labelLevel(m[1]) : 'unknown';
}

/** The level of a CVSS base score. */
export function cvssLevel(cvss: Pick<Cvss, 'type' | 'score'>): SeverityLevel {
  const s = cvss.score;
  if (!Number.isFinite(s) || s < 0 || s > 10) return 'unknown';
  if (cvss.type === 'CVSS_V2') return s >= 7 ? 'high' : s >= 4 ? 'medium' : 'low';
  if (s >= 9) return 'critical';
  if (s >= 7) return 'high';
  if (s >= 4) return 'medium';
  if (s > 0) return 'low';
  return 'negligible';
}

function uniqueCvss(entries: readonly OsvSeverity[]): Cvss[] {
  const out: Cvss[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    if (typeof e !== 'object' || e === null) continue;
    const parsed = parseCvss(e.type, e.score);
    if (!parsed) continue;
    const key = `${parsed.type}\0${parsed.vector}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(parsed);
  }
  return out;
}

// Metric grammars of the OSV schema's CVSS patterns (from the CVSS specifications): metric →
// allowed values, and which metrics make up the base group.
type Grammar = { metrics: Record<string, readonly string[]>; base: readonly string[] };

const X = 'X';
const V2: Grammar = {
  metrics: {
    AV: ['L', 'A', 'N'],
    AC: ['H', 'M', 'L'],
    Au: ['M', 'S', 'N'],
    C: ['N', 'P', 'C'],
    I: ['N', 'P', 'C'],
    A: ['N', 'P', 'C'],
    E: ['U', 'POC', 'F', 'H', 'ND'],
    RL: ['OF', 'TF', 'W', 'U', 'ND'],
    RC: ['UC', 'UR', 'C', 'ND'],
    CDP: ['N', 'L', 'LM', 'MH', 'H', 'ND'],
    TD: ['N', 'L', 'M', 'H', 'ND'],
    CR: ['L', 'M', 'H', 'ND'],
    IR: ['L', 'M', 'H', 'ND'],
    AR: ['L', 'M', 'H', 'ND'],
  },
  base: ['AV', 'AC', 'Au', 'C', 'I', 'A'],
};
const V3: Grammar = {
  metrics: {
    AV: ['N', 'A', 'L', 'P'],
    AC: ['L', 'H'],
    PR: ['N', 'L', 'H'],
    UI: ['N', 'R'],
    S: ['U', 'C'],
    C: ['H', 'L', 'N'],
    I: ['H', 'L', 'N'],
    A: ['H', 'L', 'N'],
    E: [X, 'U', 'P', 'F', 'H'],
    RL: [X, 'O', 'T', 'W', 'U'],
    RC: [X, 'U', 'R', 'C'],
    CR: [X, 'L', 'M', 'H'],
    IR: [X, 'L', 'M', 'H'],
    AR: [X, 'L', 'M', 'H'],
    MAV: [X, 'N', 'A', 'L', 'P'],
    MAC: [X, 'L', 'H'],
    MPR: [X, 'N', 'L', 'H'],
    MUI: [X, 'N', 'R'],
    MS: [X, 'U', 'C'],
    MC: [X, 'N', 'L', 'H'],
    MI: [X, 'N', 'L', 'H'],
    MA: [X, 'N', 'L', 'H'],
  },
  base: ['AV', 'AC', 'PR', 'UI', 'S', 'C', 'I', 'A'],
};
const V4: Grammar = {
  metrics: {
    AV: ['N', 'A', 'L', 'P'],
    AC: ['L', 'H'],
    AT: ['N', 'P'],
    PR: ['N', 'L', 'H'],
    UI: ['N', 'P', 'A'],
    VC: ['H', 'L', 'N'],
    VI: ['H', 'L', 'N'],
    VA: ['H', 'L', 'N'],
    SC: ['H', 'L', 'N'],
    SI: ['H', 'L', 'N'],
    SA: ['H', 'L', 'N'],
    E: [X, 'A', 'P', 'U'],
    CR: [X, 'H', 'M', 'L'],
    IR: [X, 'H', 'M', 'L'],
    AR: [X, 'H', 'M', 'L'],
    MAV: [X, 'N', 'A', 'L', 'P'],
    MAC: [X, 'L', 'H'],
    MAT: [X, 'N', 'P'],
    MPR: [X, 'N', 'L', 'H'],
    MUI: [X, 'N', 'P', 'A'],
    MVC: [X, 'N', 'L', 'H'],
    MVI: [X, 'N', 'L', 'H'],
    MVA: [X, 'N', 'L', 'H'],
    MSC: [X, 'N', 'L', 'H'],
    MSI: [X, 'N', 'L', 'H', 'S'],
    MSA: [X, 'N', 'L', 'H', 'S'],
    S: [X, 'N', 'P'],
    AU: [X, 'N', 'Y'],
    R: [X, 'A', 'U', 'I'],
    V: [X, 'D', 'C'],
    RE: [X, 'L', 'M', 'H'],
    U: [X, 'Clear', 'Green', 'Amber', 'Red'],
  },
  base: ['AV', 'AC', 'AT', 'PR', 'UI', 'VC', 'VI', 'VA', 'SC', 'SI', 'SA'],
};

/** Whether `body` (the vector without its `CVSS:x.y/` prefix) is well formed per `grammar`. */
function wellFormed(body: string, grammar: Grammar): boolean {
  if (body.length > 512) return false;
  const seen = new Set<string>();
  for (const part of body.split('/')) {
    const colon = part.indexOf(':');
    if (colon <= 0) return false;
    const metric = part.slice(0, colon);
    const value = part.slice(colon + 1);
    const allowed = Object.hasOwn(grammar.metrics, metric) ? grammar.metrics[metric] : undefined;
    if (!allowed?.includes(value) || seen.has(metric)) return false;
    seen.add(metric);
  }
  return grammar.base.every((m) => seen.has(m));
}

/**
 * A CVSS entry of an OSV record (`type` `CVSS_V2`/`CVSS_V3`/`CVSS_V4`, `score` the vector) with its
 * base score, or undefined when the type is not CVSS or the vector is not well formed for it.
 */
export function parseCvss(type: unknown, vector: unknown): Cvss | undefined {
  if (typeof type !== 'string' || typeof vector !== 'string') return undefined;
  try {
    switch (type) {
      case 'CVSS_V2':
        if (!wellFormed(vector, V2)) return undefined;
        return scored(type, vector, new cvssCalculator.Cvss2(vector).calculateScores().base);
      case 'CVSS_V3': {
        const m = /^CVSS:3\.([01])\/(.*)$/s.exec(vector);
        if (!m || !wellFormed(m[2]!, V3)) return undefined;
        const calculator =
          m[1] === '0' ? new cvssCalculator.Cvss3P0(vector) : new cvssCalculator.Cvss3P1(vector);
        return scored(type, vector, calculator.calculateScores().base);
      }
      case 'CVSS_V4': {
        const m = /^CVSS:4\.0\/(.*)$/s.exec(vector);
        if (!m || !wellFormed(m[1]!, V4)) return undefined;
        const scores = new cvssCalculator.Cvss4P0(vector).calculateScores();
        return scored(type, vector, scores.baseMetricsOnly);
      }
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

function scored(type: string, vector: string, score: number | undefined): Cvss | undefined {
  if (score === undefined || !Number.isFinite(score) || score < 0 || score > 10) return undefined;
  return { type, vector, score };
}
