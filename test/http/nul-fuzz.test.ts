/**
 * A NUL character in any text a client sends is bad input (4xx), never a server error: PostgreSQL
 * text cannot hold one, so an unchecked NUL reaching a query fails there (500). Driven by the
 * OpenAPI document, so a route added later is covered too: for every operation, every string
 * field of its JSON body (with the body's other required fields filled in with plausible values)
 * and every string query parameter gets a value with a NUL, one at a time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/http/app.js';
import { BACKENDS } from '../support/postgres.js';
import { seedProject, seedRegistry, seedScan, seedUser, type SeededUser } from '../support/seed.js';
import { makeTestContext, type TestContext } from '../support/service-context.js';

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  minItems?: number;
  minimum?: number;
  default?: unknown;
}
interface Operation {
  parameters?: { in: string; name: string; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}
type Doc = { paths: Record<string, Record<string, Operation>> };

const NUL = 'a\u0000b';
const METHODS = ['post', 'put', 'patch', 'delete', 'get'];

/** The non-null alternative of a nullable schema, or the schema itself. */
function concrete(schema: Schema): Schema {
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) {
    return concrete(alternatives.find((s) => s.type !== 'null') ?? alternatives[0]!);
  }
  return schema;
}

function typeOf(schema: Schema): string | undefined {
  const s = concrete(schema);
  if (s.enum || s.const !== undefined) return 'enum';
  return Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
}

/** A value the schema accepts (not necessarily one the route accepts). */
function sample(schema: Schema): unknown {
  const s = concrete(schema);
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  switch (typeOf(s)) {
    case 'string':
      return 'x'.repeat(Math.max(s.minLength ?? 1, 1));
    case 'integer':
    case 'number':
      return Math.max(s.minimum ?? 1, 1);
    case 'boolean':
      return false;
    case 'array':
      return Array.from({ length: Math.max(s.minItems ?? 0, 1) }, () => sample(s.items ?? {}));
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const name of s.required ?? []) out[name] = sample(s.properties?.[name] ?? {});
      return out;
    }
    default:
      return 'x';
  }
}

/** Each string leaf of the schema, as a path of property names and array indexes. */
function stringLeaves(schema: Schema, at: (string | number)[] = []): (string | number)[][] {
  const s = concrete(schema);
  switch (typeOf(s)) {
    case 'string':
      return [at];
    case 'array':
      return stringLeaves(s.items ?? {}, [...at, 0]);
    case 'object':
      return Object.entries(s.properties ?? {}).flatMap(([name, p]) =>
        stringLeaves(p, [...at, name]),
      );
    default:
      return [];
  }
}

/** The body of `schema` (its required fields) with a NUL at `leaf` (and what leads to it). */
function bodyWithNul(schema: Schema, leaf: (string | number)[]): unknown {
  const body = sample(schema) as Record<string | number, unknown>;
  let node: Record<string | number, unknown> = body;
  let nodeSchema = concrete(schema);
  for (const [i, key] of leaf.entries()) {
    const childSchema = concrete(
      typeof key === 'number' ? (nodeSchema.items ?? {}) : (nodeSchema.properties?.[key] ?? {}),
    );
    if (i === leaf.length - 1) {
      node[key] = NUL;
    } else {
      if (node[key] === undefined || node[key] === null) node[key] = sample(childSchema);
      node = node[key] as Record<string | number, unknown>;
    }
    nodeSchema = childSchema;
  }
  return body;
}

describe.each(BACKENDS)('NUL characters in requests on %s', (dialect) => {
  let ctx: TestContext;
  let app: App;
  let admin: SeededUser;
  let doc: Doc;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    ctx = await makeTestContext(dialect);
    app = await buildApp(ctx);
    const db = ctx.database.db;
    admin = await seedUser(db, 'admin', { isAdmin: true });
    const project = await seedProject(db, 'group/app');
    const registry = await seedRegistry(db, 'own', { projectId: project.id });
    const scan = await seedScan(db, project.id);
    ids.id = project.id;
    ids.registry_id = registry.id;
    ids.user_id = admin.user.id;
    ids.sid = scan.id;
    doc = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<Doc>();
  });
  afterAll(async () => {
    await app?.close();
    await ctx?.close();
  });

  /** Every request to send: a method, a URL with the path's ids filled in, a body. */
  function requests(): { name: string; method: string; url: string; body?: unknown }[] {
    const out: { name: string; method: string; url: string; body?: unknown }[] = [];
    for (const [path, operations] of Object.entries(doc.paths)) {
      const url = path.replace(/\{(\w+)\}/g, (_, name: string) => String(ids[name] ?? 1));
      for (const method of METHODS) {
        const op = operations[method];
        if (!op) continue;
        const schema = op.requestBody?.content?.['application/json']?.schema;
        if (schema && typeOf(schema) === 'object') {
          for (const leaf of stringLeaves(schema)) {
            out.push({
              name: `${method.toUpperCase()} ${path} body ${leaf.join('.')}`,
              method,
              url,
              body: bodyWithNul(schema, leaf),
            });
          }
        }
        for (const parameter of op.parameters ?? []) {
          if (parameter.in !== 'query') continue;
          if (!['string', 'array'].includes(typeOf(parameter.schema ?? {}) ?? '')) continue;
          out.push({
            name: `${method.toUpperCase()} ${path} query ${parameter.name}`,
            method,
            url: `${url}?${parameter.name}=${encodeURIComponent(NUL)}`,
            ...(schema && typeOf(schema) === 'object' ? { body: sample(schema) } : {}),
          });
        }
      }
    }
    return out;
  }

  it('answers 4xx, never 5xx, to a NUL in any string field or query parameter', async () => {
    const all = requests();
    // the document drives it: the fields that once failed are among those sent
    const names = all.map((r) => r.name);
    for (const expected of [
      'POST /api/v1/projects/{id}/members body username',
      'POST /api/v1/registries body username',
      'POST /api/v1/registries body password',
      'PUT /api/v1/projects/{id}/registries/{registry_id} body url',
      'POST /api/v1/users body username',
      'POST /api/v1/user/personal_access_tokens body name',
    ]) {
      expect(names).toContain(expected);
    }
    const failures: string[] = [];
    for (const request of all) {
      const res = await app.inject({
        method: request.method.toUpperCase() as 'GET',
        url: request.url,
        headers: admin.headers,
        ...(request.body !== undefined ? { payload: request.body as Record<string, unknown> } : {}),
      });
      if (res.statusCode >= 500 || res.statusCode < 400) {
        failures.push(`${request.name}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
