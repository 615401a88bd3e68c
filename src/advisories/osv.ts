/**
 * The OSV schema (https://ossf.github.io/osv-schema/) as TypeScript types: the advisory model of
 * regscan. Every source (OSV JSON, native distro feeds) is converted to it on import, and records
 * are validated at that boundary (see schema.ts); inside regscan an `Advisory` is trusted to have
 * this shape. Its text (summary, details) stays untrusted: never rendered as HTML unescaped.
 */
export type OsvEventKind = 'introduced' | 'fixed' | 'last_affected' | 'limit';
export type OsvEvent =
  { introduced: string } | { fixed: string } | { last_affected: string } | { limit: string };

export interface OsvRange {
  type: 'ECOSYSTEM' | 'SEMVER' | 'GIT';
  repo?: string;
  events: OsvEvent[];
  database_specific?: Record<string, unknown>;
}

export interface OsvSeverity {
  /** `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`. */
  type: string;
  score: string;
}

export interface OsvPackage {
  /** `Debian:12`, `Alpine:v3.20`, `npm`, `PyPI`, ... (see schemas/osv/ecosystems.json). */
  ecosystem: string;
  name: string;
  purl?: string;
}

export interface OsvAffected {
  package?: OsvPackage;
  severity?: OsvSeverity[];
  ranges?: OsvRange[];
  versions?: string[];
  ecosystem_specific?: Record<string, unknown>;
  database_specific?: Record<string, unknown>;
}

export interface OsvReference {
  type: string;
  url: string;
}

export interface Advisory {
  schema_version?: string;
  id: string;
  modified: string;
  published?: string;
  withdrawn?: string;
  aliases?: string[];
  related?: string[];
  upstream?: string[];
  summary?: string;
  details?: string;
  severity?: OsvSeverity[];
  affected?: OsvAffected[];
  references?: OsvReference[];
  credits?: { name: string; contact?: string[]; type?: string }[];
  database_specific?: Record<string, unknown>;
}

/**
 * The look-up the matcher needs. The persistent advisory store implements it; MemoryAdvisoryIndex
 * is the simple in-memory one.
 */
export interface AdvisoryIndex {
  /**
   * Every advisory with an `affected` entry for (ecosystem, name), withdrawn ones included (the
   * matcher skips them). `ecosystem` as OSV writes it, release included (`Debian:12`, `npm`);
   * names compare as the ecosystem normalises them (see packageKey).
   */
  forPackage(ecosystem: string, name: string): Advisory[];
}

/** The form of a package name advisories are looked up by: PyPI names per PEP 503. */
export function normalizePackageName(ecosystem: string, name: string): string {
  if (ecosystem === 'PyPI') return name.toLowerCase().replace(/[-_.]+/g, '-');
  return name;
}

export class MemoryAdvisoryIndex implements AdvisoryIndex {
  private readonly byKey = new Map<string, Advisory[]>();

  constructor(advisories: Iterable<Advisory> = []) {
    for (const a of advisories) this.add(a);
  }

  add(advisory: Advisory): void {
    const keys = new Set<string>();
    for (const affected of advisory.affected ?? []) {
      if (affected.package) keys.add(key(affected.package.ecosystem, affected.package.name));
    }
    for (const k of keys) {
      const list = this.byKey.get(k) ?? [];
      list.push(advisory);
      this.byKey.set(k, list);
    }
  }

  forPackage(ecosystem: string, name: string): Advisory[] {
    return this.byKey.get(key(ecosystem, name)) ?? [];
  }
}

function key(ecosystem: string, name: string): string {
  return `${ecosystem}\0${normalizePackageName(ecosystem, name)}`;
}
