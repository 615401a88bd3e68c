/**
 * Validation of OSV records where they enter regscan (files, zip entries, HTTP bodies, converted
 * native feeds). A record that passes is an `Advisory` (osv.ts stays the one model; the schema
 * below is checked against it at compile time). A record that fails is reported with its errors
 * and skipped by the caller; nothing here throws on bad input.
 *
 * What is rejected: whatever would make matching wrong or the record unidentifiable: a missing or
 * malformed id or timestamp, wrong JSON types in the modelled fields, a package without ecosystem
 * or name, an unknown range type, an event with other than exactly one of introduced / fixed /
 * last_affected / limit, a range without an `introduced` event, a GIT range without its repo.
 *
 * What is tolerated, because real records carry it and it only informs people: `null` for an
 * optional field (treated as absent), ecosystems, severity types and reference types this version
 * does not know, reference URLs that are not valid URIs, GIT events that are not full commit
 * hashes, and properties the schema version we know does not define (OSV adds fields in minor
 * versions; they are kept in the stored JSON).
 */
import Type, { type Static } from 'typebox';
import Compile from 'typebox/compile';
import type { Advisory } from './osv.js';
import { canonicalTimestamp, TIMESTAMP_RE } from './timestamp.js';

export { canonicalTimestamp } from './timestamp.js';

/** `<DB>-<ENTRYID>` ids, `x_` local ids; never a `/` or whitespace (ids become URL paths). */
export const ADVISORY_ID_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.:+-]*$';

const Text = Type.String();
const NonEmpty = Type.String({ minLength: 1 });
const Timestamp = Type.String({ pattern: TIMESTAMP_RE.source, maxLength: 64 });
const Strings = Type.Array(Type.String());
const Anything = Type.Record(Type.String(), Type.Unknown());

const Severity = Type.Object({ type: NonEmpty, score: Text });

const Event = Type.Union([
  Type.Object({ introduced: NonEmpty }, { additionalProperties: false }),
  Type.Object({ fixed: NonEmpty }, { additionalProperties: false }),
  Type.Object({ last_affected: NonEmpty }, { additionalProperties: false }),
  Type.Object({ limit: NonEmpty }, { additionalProperties: false }),
]);

const Range = Type.Object({
  type: Type.Enum(['ECOSYSTEM', 'SEMVER', 'GIT']),
  repo: Type.Optional(Text),
  events: Type.Array(Event, { minItems: 1 }),
  database_specific: Type.Optional(Anything),
});

const Package = Type.Object({
  ecosystem: NonEmpty,
  name: NonEmpty,
  purl: Type.Optional(Text),
});

const Affected = Type.Object({
  package: Type.Optional(Package),
  severity: Type.Optional(Type.Array(Severity)),
  ranges: Type.Optional(Type.Array(Range)),
  versions: Type.Optional(Strings),
  ecosystem_specific: Type.Optional(Anything),
  database_specific: Type.Optional(Anything),
});

const Credit = Type.Object({
  name: Text,
  contact: Type.Optional(Strings),
  type: Type.Optional(Text),
});

/** An OSV record as regscan accepts it (see the file comment for what is lenient and why). */
export const AdvisorySchema = Type.Object({
  schema_version: Type.Optional(Text),
  id: Type.String({ pattern: ADVISORY_ID_PATTERN, minLength: 1, maxLength: 255 }),
  modified: Timestamp,
  published: Type.Optional(Timestamp),
  withdrawn: Type.Optional(Timestamp),
  aliases: Type.Optional(Strings),
  related: Type.Optional(Strings),
  upstream: Type.Optional(Strings),
  summary: Type.Optional(Text),
  details: Type.Optional(Text),
  severity: Type.Optional(Type.Array(Severity)),
  affected: Type.Optional(Type.Array(Affected)),
  references: Type.Optional(Type.Array(Type.Object({ type: Text, url: Text }))),
  credits: Type.Optional(Type.Array(Credit)),
  database_specific: Type.Optional(Anything),
});

// The schema and the model are the same shape, in both directions: neither can drift alone.
type SchemaAdvisory = Static<typeof AdvisorySchema>;
const _schemaToModel = (a: SchemaAdvisory): Advisory => a;
const _modelToSchema = (a: Advisory): SchemaAdvisory => a;

const validator = Compile(AdvisorySchema);

/** Most errors reported for one record; the rest are summarised. */
const MAX_ERRORS = 10;

export interface ParseResult {
  advisory?: Advisory;
  errors: string[];
}

/**
 * Checks one decoded JSON value. Returns the advisory (a normalised copy: `null` optional fields
 * dropped) when it is a usable OSV record, otherwise the reasons it is not. Never throws.
 */
export function parseAdvisory(value: unknown): ParseResult {
  if (!isPlainObject(value)) return { errors: ['/: a record must be a JSON object'] };
  const candidate = dropNulls(value);
  if (!validator.Check(candidate)) return { errors: schemaErrors(candidate) };
  const errors = semanticErrors(candidate);
  if (errors.length > 0) return { errors };
  return { advisory: candidate, errors: [] };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Top-level and per-package optional fields that real records set to `null` for "absent". */
function dropNulls(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) if (v !== null) out[k] = v;
  if (Array.isArray(out.affected)) {
    out.affected = out.affected.map((entry: unknown) => {
      if (!isPlainObject(entry)) return entry;
      const copy: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(entry)) if (v !== null) copy[k] = v;
      if (isPlainObject(copy.package) && copy.package.purl === null) {
        const { purl: _purl, ...pkg } = copy.package;
        copy.package = pkg;
      }
      return copy;
    });
  }
  return out;
}

/** Plain words for the checks whose schema message would quote a regular expression. */
const FIELD_MESSAGES: [RegExp, string][] = [
  [
    /^\/(modified|published|withdrawn)$/,
    'must be an RFC 3339 date-time such as 2024-05-01T12:00:00Z',
  ],
  [/^\/id$/, 'must be an id such as GHSA-xxxx-xxxx-xxxx (letters, digits and _ . : + - only)'],
];
const EVENT_PATH = /^(\/affected\/\d+\/ranges\/\d+\/events\/\d+)(\/|$)/;

function schemaErrors(candidate: unknown): string[] {
  const lines = new Set<string>();
  for (const e of validator.Errors(candidate)) {
    const path = e.instancePath || '/';
    // A union reports every branch it tried; one line saying what an event must be is clearer.
    const event = EVENT_PATH.exec(path);
    if (event) {
      lines.add(
        `${event[1]}: an event must have exactly one of introduced, fixed, last_affected, limit, a non-empty string`,
      );
      continue;
    }
    const plain =
      e.keyword === 'pattern' ? FIELD_MESSAGES.find(([re]) => re.test(path)) : undefined;
    lines.add(`${path}: ${plain ? plain[1] : e.message}`);
  }
  if (lines.size === 0) lines.add('/: does not match the OSV schema');
  return capped([...lines]);
}

function capped(lines: string[]): string[] {
  if (lines.length <= MAX_ERRORS) return lines;
  return [...lines.slice(0, MAX_ERRORS), `… and ${lines.length - MAX_ERRORS} more`];
}

function semanticErrors(a: Advisory): string[] {
  const errors: string[] = [];
  for (const field of ['modified', 'published', 'withdrawn'] as const) {
    const value = a[field];
    if (value !== undefined && canonicalTimestamp(value) === undefined) {
      errors.push(`/${field}: "${value}" is not a valid RFC 3339 date-time`);
    }
  }
  a.affected?.forEach((affected, i) => {
    affected.ranges?.forEach((range, j) => {
      const at = `/affected/${i}/ranges/${j}`;
      if (!range.events.some((e) => 'introduced' in e)) {
        errors.push(`${at}/events: a range needs at least one "introduced" event`);
      }
      if (range.type === 'GIT' && !range.repo) errors.push(`${at}: a GIT range needs its "repo"`);
    });
  });
  return capped(errors);
}
