/**
 * Licence strings as package databases record them, sorted into what SBOM formats accept:
 * SPDX licence ids, SPDX licence expressions, and everything else (free-form names such as
 * Debian's `GPL-2+` or rpm's `GPLv2+ and BSD`).
 *
 * The SPDX licence and exception id list is the one @cyclonedx/cyclonedx-library ships (the
 * CycloneDX `spdx.schema.json` enumeration); ids are matched without regard to case and written
 * in their canonical case.
 */
import { SPDX } from '@cyclonedx/cyclonedx-library';

/** One licence entry, classified. */
export type LicenseChoice =
  | { kind: 'id'; id: string }
  | { kind: 'expression'; expression: string; usesRefs: boolean }
  | { kind: 'name'; name: string };

interface Parsed {
  expression: string;
  /** A single SPDX licence id, without `+` or `WITH`. */
  simpleId?: string;
  usesRefs: boolean;
}

const TOKEN = /\s*(\(|\)|[A-Za-z0-9.+:-]+)/y;
const REF = /^(DocumentRef-[A-Za-z0-9.-]+:)?(LicenseRef|AdditionRef)-[A-Za-z0-9.-]+$/;

/**
 * Parses an SPDX licence expression (SPDX 2.3, annex D): ids, `id+`, `LicenseRef-…`,
 * `DocumentRef-…:LicenseRef-…`, `WITH` exceptions, `AND`, `OR` and parentheses. Returns it
 * with canonical id case, or undefined when it is not one. Operators must be upper case, as
 * the specification says; lower-case `and`/`or` (rpm's habit) is not SPDX.
 */
export function parseSpdxExpression(text: string): Parsed | undefined {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  const input = text.trim();
  while (TOKEN.lastIndex < input.length) {
    const m = TOKEN.exec(input);
    if (m === null) return undefined;
    tokens.push(m[1] as string);
  }
  if (tokens.length === 0) return undefined;

  let pos = 0;
  let usesRefs = false;
  const peek = (): string | undefined => tokens[pos];

  const licenseRef = (token: string | undefined, exception: boolean): string | undefined => {
    if (token === undefined) return undefined;
    if (REF.test(token)) {
      usesRefs = true;
      return token;
    }
    const exact = SPDX.fixupSpdxId(token);
    if (exact !== undefined) return exact;
    if (!exception && token.endsWith('+')) {
      const base = SPDX.fixupSpdxId(token.slice(0, -1));
      if (base !== undefined) return `${base}+`;
    }
    return undefined;
  };

  // Grammar, lowest precedence first: or := and ("OR" and)*; and := with ("AND" with)*;
  // with := atom ("WITH" exception)?; atom := licence | "(" or ")".
  const parseAtom = (): string | undefined => {
    const token = peek();
    if (token === '(') {
      pos++;
      const inner = parseOr();
      if (inner === undefined || peek() !== ')') return undefined;
      pos++;
      return `(${inner})`;
    }
    if (token === ')' || token === 'AND' || token === 'OR' || token === 'WITH') return undefined;
    pos++;
    return licenseRef(token, false);
  };
  const parseWith = (): string | undefined => {
    const atom = parseAtom();
    if (atom === undefined) return undefined;
    if (peek() !== 'WITH') return atom;
    pos++;
    const exception = licenseRef(tokens[pos++], true);
    return exception === undefined ? undefined : `${atom} WITH ${exception}`;
  };
  const parseBinary = (operator: 'AND' | 'OR', operand: () => string | undefined) => {
    return (): string | undefined => {
      const parts = [operand()];
      while (peek() === operator) {
        pos++;
        parts.push(operand());
      }
      return parts.every((p) => p !== undefined) ? parts.join(` ${operator} `) : undefined;
    };
  };
  const parseAnd = parseBinary('AND', parseWith);
  const parseOr: () => string | undefined = parseBinary('OR', parseAnd);

  const expression = parseOr();
  if (expression === undefined || pos !== tokens.length) return undefined;
  const only = tokens.length === 1 ? tokens[0] : undefined;
  const simpleId = only !== undefined && !REF.test(only) ? SPDX.fixupSpdxId(only) : undefined;
  return {
    expression,
    ...(simpleId !== undefined ? { simpleId } : {}),
    usesRefs,
  };
}

function distinct(licenses: readonly string[] | undefined): string[] {
  const seen = new Set<string>();
  for (const l of licenses ?? []) {
    const t = l.trim();
    if (t !== '') seen.add(t);
  }
  return [...seen];
}

/**
 * Classifies a package's licence strings. Several entries mean that the package holds material
 * under each of them (a Debian copyright file lists one licence per group of files), so when
 * every entry is SPDX and one of them is compound they are joined with AND into one expression
 * (CycloneDX forbids mixing an expression with other licence entries). Otherwise each entry
 * stands alone: an SPDX id, an expression (a lone entry), or a name.
 */
export function classifyLicenses(licenses: readonly string[] | undefined): LicenseChoice[] {
  const entries = distinct(licenses);
  const parsed = entries.map((e) => parseSpdxExpression(e));
  const needsExpression = parsed.some((p) => p !== undefined && p.simpleId === undefined);

  if (needsExpression && entries.length > 1 && parsed.every((p) => p !== undefined)) {
    const joined = joinWithAnd(parsed);
    return [{ kind: 'expression', expression: joined.expression, usesRefs: joined.usesRefs }];
  }
  return entries.map((entry, i): LicenseChoice => {
    const p = parsed[i];
    if (p?.simpleId !== undefined) return { kind: 'id', id: p.simpleId };
    if (p !== undefined && entries.length === 1) {
      return { kind: 'expression', expression: p.expression, usesRefs: p.usesRefs };
    }
    return { kind: 'name', name: entry };
  });
}

function joinWithAnd(parts: Parsed[]): { expression: string; usesRefs: boolean } {
  const expression =
    parts.length === 1
      ? (parts[0] as Parsed).expression
      : // AND binds tighter than OR, WITH tighter than both: only parts with OR need parentheses.
        parts
          .map((p) => (p.expression.includes(' OR ') ? `(${p.expression})` : p.expression))
          .join(' AND ');
  return { expression, usesRefs: parts.some((p) => p.usesRefs) };
}

/**
 * The licence a package declares, as one SPDX expression for SPDX documents; undefined (write
 * NOASSERTION) when any entry is not SPDX or refers to a LicenseRef this document would have
 * to define.
 */
export function declaredSpdxExpression(
  licenses: readonly string[] | undefined,
): string | undefined {
  const entries = distinct(licenses);
  if (entries.length === 0) return undefined;
  const parsed = entries.map((e) => parseSpdxExpression(e));
  if (!parsed.every((p): p is Parsed => p !== undefined && !p.usesRefs)) return undefined;
  return joinWithAnd(parsed).expression;
}
