/**
 * Licence strings as package databases record them, sorted into what SBOM formats accept:
 * SPDX licence ids, SPDX licence expressions, and everything else (free-form names such as
 * Debian's `GPL-2+` or rpm's `GPLv2+ and BSD`).
 *
 * The SPDX licence and exception id list is the one @cyclonedx/cyclonedx-library ships (the
 * CycloneDX `spdx.schema.json` enumeration); ids are matched without regard to case and written
 * in their canonical case.
 */
import * as SPDX from '@cyclonedx/cyclonedx-library/SPDX';
import parseSpdx from 'spdx-expression-parse';

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

const REF = /^(DocumentRef-[A-Za-z0-9.-]+:)?(LicenseRef|AdditionRef)-[A-Za-z0-9.-]+$/;

/** Write a parsed expression back, with parentheses wherever the operator changes. */
function render(node: parseSpdx.Info, parent?: 'and' | 'or'): string {
  if ('conjunction' in node) {
    const text = `${render(node.left, node.conjunction)} ${node.conjunction.toUpperCase()} ${render(node.right, node.conjunction)}`;
    return parent && parent !== node.conjunction ? `(${text})` : text;
  }
  return `${node.license}${node.plus ? '+' : ''}${node.exception ? ` WITH ${node.exception}` : ''}`;
}

function usesRef(node: parseSpdx.Info): boolean {
  return 'conjunction' in node ? usesRef(node.left) || usesRef(node.right) : REF.test(node.license);
}

/**
 * Parses an SPDX licence expression (SPDX 2.3, annex D) with spdx-expression-parse, after putting
 * licence ids in their canonical case (`mit` → `MIT`, as CycloneDX's id list has them). Returns the
 * expression in canonical form, or undefined when it is not one. Lower-case `and`/`or` (rpm's habit)
 * is not SPDX.
 */
export function parseSpdxExpression(text: string): Parsed | undefined {
  const canonical = text
    .trim()
    .split(/(\s+|\(|\))/)
    .map((token) =>
      /^[A-Za-z0-9.-]+\+?$/.test(token) && !['AND', 'OR', 'WITH'].includes(token)
        ? canonicalId(token)
        : token,
    )
    .join('');
  let tree: parseSpdx.Info;
  try {
    tree = parseSpdx(canonical);
  } catch {
    return undefined;
  }
  const expression = render(tree);
  // `GPL-2.0+` is an expression and also (deprecated) an id of the list: ids are written as ids
  const simpleId =
    'conjunction' in tree || tree.exception || REF.test(tree.license)
      ? undefined
      : SPDX.fixupSpdxId(expression);
  return {
    expression,
    ...(simpleId !== undefined ? { simpleId } : {}),
    usesRefs: usesRef(tree),
  };
}

function canonicalId(token: string): string {
  const plus = token.endsWith('+');
  const base = plus ? token.slice(0, -1) : token;
  return `${SPDX.fixupSpdxId(base) ?? base}${plus ? '+' : ''}`;
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
