/**
 * TypeBox schemas that more than one route module uses: ids, request text, the project `:id`
 * parameter, error bodies, severity counts, scan statuses and triggers, and multi-valued query
 * parameters with the function that reads them. Each resource's own schemas stay in its route
 * module.
 */
import { Type, type TSchema } from 'typebox';
import { SEVERITY_LEVELS, type SeverityLevel } from '../service/vulnerabilities.js';
import type { ScanStatus, ScanTrigger } from '../store/schema.js';
import { badRequest } from './errors.js';

/** Ids are 32-bit integers on PostgreSQL: a larger one is a 400, never a database error. */
export const MAX_ID = 2_147_483_647;

export const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/**
 * Text from a request that is compared with or stored in the database: PostgreSQL text cannot hold
 * NUL, so a NUL is refused here (400) rather than by the database (an error).
 */
export const Text = (options: { minLength?: number; maxLength: number; description?: string }) =>
  Type.String({ pattern: '^[^\\u0000]*$', ...options });

export const RecordId = Type.Integer({ minimum: 1, maximum: MAX_ID });

/** `:id` of the project routes: a project id or URL-encoded path. */
export const ProjectParams = Type.Object({
  id: Text({
    minLength: 1,
    maxLength: 500,
    description: 'Project id or URL-encoded path (`42` or `group%2Fapp`)',
  }),
});

export const ErrorSchema = Type.Object({
  error: Type.String(),
  details: Type.Optional(Type.Unknown()),
});

/** The error body for each of these statuses, for a route's `response`. */
export function errorResponses<S extends number>(...statuses: S[]): Record<S, typeof ErrorSchema> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorSchema])) as Record<
    S,
    typeof ErrorSchema
  >;
}

export const SeverityCountsSchema = Type.Object(
  Object.fromEntries(SEVERITY_LEVELS.map((level) => [level, Type.Integer()])) as Record<
    SeverityLevel,
    ReturnType<typeof Type.Integer>
  >,
);

export const SCAN_STATUSES: readonly ScanStatus[] = [
  'created',
  'pending',
  'running',
  'success',
  'failed',
  'skipped',
];

export const SCAN_TRIGGERS: readonly ScanTrigger[] = [
  'registry_push',
  'manual',
  'advisory_update',
  'ci_upload',
];

/**
 * A multi-valued query parameter: repeated (`?severity=high&severity=low`) or comma-separated
 * (`?severity=high,low`); listParameter reads and checks its values.
 */
export const MultiValue = (options: { maxLength: number; maxItems: number; description: string }) =>
  Type.Optional(
    Type.Array(Text({ maxLength: options.maxLength }), {
      maxItems: options.maxItems,
      description: options.description,
    }),
  );

/** Values of a multi-valued query parameter: repeated, comma-separated, or both. */
export function listParameter<T extends string>(
  name: string,
  values: readonly string[] | undefined,
  allowed: readonly T[],
): T[] | undefined {
  if (values === undefined) return undefined;
  const out: T[] = [];
  for (const value of values.flatMap((v) => v.split(','))) {
    const v = value.trim();
    if (v === '') continue;
    if (!(allowed as readonly string[]).includes(v)) {
      throw badRequest(`${name} must be among ${allowed.join(', ')}; got "${v.slice(0, 50)}"`);
    }
    if (!out.includes(v as T)) out.push(v as T);
  }
  return out.length > 0 ? out : undefined;
}
