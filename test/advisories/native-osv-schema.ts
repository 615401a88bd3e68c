/**
 * Validation of OSV records against the official OSV JSON schema (the copy in
 * test/fixtures/schemas/osv, see its SOURCE.md), with ajv, for the native feed converters' tests.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';

const SCHEMA = fileURLToPath(new URL('../fixtures/schemas/osv/schema.json', import.meta.url));

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (compiled) return compiled;
  // The schema is draft 2020-12; its `date-time` and `uri` formats come from ajv-formats.
  // Strict about the schema, except two things the OSV schema does that are valid JSON Schema:
  // `required` inside `oneOf`/`contains` branches without their properties (strictRequired), and
  // `items` under `allOf`/`then` without repeating `type: array` (strictTypes).
  const ajv = new Ajv2020({
    strict: true,
    strictRequired: false,
    strictTypes: false,
    allErrors: true,
  });
  // ajv-formats is CommonJS: under NodeNext its default import is the module, hence `.default`.
  ajvFormats.default(ajv);
  compiled = ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')) as Record<string, unknown>);
  return compiled;
}

function describe(error: ErrorObject): string {
  const where = error.instancePath === '' ? '/' : error.instancePath;
  return `${where} ${error.message ?? error.keyword} ${JSON.stringify(error.params)}`;
}

/** Errors of `record` against the OSV JSON schema; empty when it is valid. */
export function validateOsv(record: unknown): string[] {
  const validate = validator();
  return validate(record) ? [] : (validate.errors ?? []).map(describe);
}
