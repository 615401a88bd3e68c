/**
 * Validation of CycloneDX documents against the official CycloneDX 1.6 JSON schema (the copy in
 * test/fixtures/schemas/cyclonedx, see its SOURCE.md), with ajv.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import ajvFormats from 'ajv-formats';

// ajv-formats-draft2019 ships no type declarations: describe the parts we use.
const require = createRequire(import.meta.url);
const draft2019Formats = require('ajv-formats-draft2019/formats') as Record<
  'idn-email' | 'iri-reference',
  (value: string) => boolean
>;

const SCHEMA_DIR = fileURLToPath(new URL('../fixtures/schemas/cyclonedx/', import.meta.url));

function readSchema(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(SCHEMA_DIR + file, 'utf8')) as Record<string, unknown>;
}

/** RFC 8141 URN, e.g. a CycloneDX BOM-Link `urn:cdx:<serial>/<version>#<bom-ref>`. */
const URN = /^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[^\s<>"{}|\\^`]+$/i;

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (compiled) return compiled;
  const ajv = new Ajv({
    // Strict about the schema (unknown keywords or formats are errors, not silently ignored).
    // strictRequired is off because the CycloneDX schema lists, inside `oneOf` branches,
    // `required` properties that the parent schema defines; that is valid JSON Schema.
    strict: true,
    strictRequired: false,
    allErrors: true,
    // The BOM schema is draft-07 and refers to its sub-schemas by `$id`; they are resolved from
    // these local copies, never fetched.
    schemas: [readSchema('spdx.schema.json'), readSchema('jsf-0.82.schema.json')],
  });
  // `meta:enum` (descriptions of enum values) is an annotation of the CycloneDX schema: declare it
  // so that strict mode accepts it.
  ajv.addKeyword({ keyword: 'meta:enum', schemaType: 'object' });
  // date-time and uri from ajv-formats; idn-email and iri-reference are not draft-07 formats
  // ajv knows, so they come from ajv-formats-draft2019. Its iri-reference check rejects URNs
  // such as BOM-Links (uri-js parses them without a path), which the official test BOM
  // valid-saasbom-1.6.json uses; those are accepted explicitly.
  // ajv-formats is CommonJS: under NodeNext its default import is the module, hence `.default`.
  ajvFormats.default(ajv);
  ajv.addFormat('idn-email', draft2019Formats['idn-email']);
  ajv.addFormat('iri-reference', (value: string) => {
    return URN.test(value) || draft2019Formats['iri-reference'](value);
  });
  compiled = ajv.compile(readSchema('bom-1.6.schema.json'));
  return compiled;
}

function describe(error: ErrorObject): string {
  const where = error.instancePath === '' ? '/' : error.instancePath;
  return `${where} ${error.message ?? error.keyword} ${JSON.stringify(error.params)}`;
}

/** Errors of `doc` against the CycloneDX 1.6 JSON schema; empty when it is valid. */
export function validateCycloneDX16(doc: unknown): string[] {
  const validate = validator();
  return validate(doc) ? [] : (validate.errors ?? []).map(describe);
}
