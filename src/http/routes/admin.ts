/**
 * Instance administration of the advisory store (admin only):
 *
 * - `POST /api/v1/admin/advisories/sync` `{ sources: [...], ecosystems?, format?, full? }` reads
 *   advisory sources into the service's store, exactly as `regscan db update --source …` does
 *   (the same source syntax: the OSV bucket URL, OSV directories, zips, Debian tracker JSON,
 *   Alpine secdb; an empty list means the OSV bucket), and answers with one result per source
 *   and the sources that failed. One sync runs at a time (409 otherwise). Locations are read by
 *   the server: a directory is one on the server's disk, and plain http is allowed to loopback
 *   addresses only (as for the CLI without --insecure).
 * - `GET /api/v1/admin/advisories` says what the store holds (advisories per ecosystem, sources,
 *   last syncs), as `regscan db status` does.
 *
 * Both need the service's AdvisoryStore file; a context with another advisory index (tests' in
 * memory one) answers 409. Re-matching stored images after a sync is not done here (yet).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { AdvisoryStore, type UpdateResult } from '../../advisories/store.js';
import type { ServiceContext } from '../../service/context.js';
import { requireAdmin } from '../auth.js';
import { badRequest, conflict } from '../errors.js';
import { Text } from '../schemas.js';

const FEED_FORMATS = ['osv', 'debian-tracker', 'alpine-secdb'] as const;

const SyncBody = Type.Object(
  {
    sources: Type.Array(Text({ minLength: 1, maxLength: 4096 }), {
      maxItems: 100,
      description:
        'Where to read from, as `regscan db update --source`: the OSV bucket URL, OSV directories or zips, native feeds (server paths or URLs). Empty: the OSV bucket.',
    }),
    ecosystems: Type.Optional(
      Type.Array(Text({ minLength: 1, maxLength: 200 }), {
        maxItems: 200,
        description: 'Bucket ecosystems (default: the ones the CLI updates)',
      }),
    ),
    format: Type.Optional(Type.Enum([...FEED_FORMATS])),
    full: Type.Optional(
      Type.Boolean({ description: 'Load the whole of every bucket ecosystem (all.zip)' }),
    ),
  },
  { additionalProperties: false },
);

/** Stores with a sync running now. */
const syncing = new WeakSet<AdvisoryStore>();

function storeOf(ctx: ServiceContext): AdvisoryStore {
  if (ctx.advisories instanceof AdvisoryStore) return ctx.advisories;
  throw conflict('no advisory store configured');
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** `lastSync` → `last_sync`, recursively through objects and arrays (the API's key style). */
export function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
      snakeKeys(v),
    ]),
  );
}

export default function routes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/api/v1/admin/advisories',
    {
      schema: {
        tags: ['admin'],
        summary: 'What the advisory store holds: advisories per ecosystem, sources, last syncs',
      },
    },
    (request) => {
      requireAdmin(request);
      const store = storeOf(ctx);
      return { ...(snakeKeys(store.status()) as object), syncing: syncing.has(store) };
    },
  );

  api.post(
    '/api/v1/admin/advisories/sync',
    {
      schema: {
        tags: ['admin'],
        summary: 'Read advisory sources into the store (as `regscan db update`)',
        body: SyncBody,
      },
    },
    async (request) => {
      const user = requireAdmin(request);
      const store = storeOf(ctx);
      const { sources: locations, ecosystems, format, full } = request.body;
      // the sources (HTTP client, zip reader, schema validator) load only when a sync runs
      const { AdvisoryHttp, sourcesFor } = await import('../../advisories/sources.js');
      if (syncing.has(store)) throw conflict('an advisory sync is already running');
      syncing.add(store);
      const http = new AdvisoryHttp({
        insecure: false,
        onRetry: (url, attempt, reason) =>
          ctx.log.warn('advisory sync: retrying', { url, attempt, reason }),
      });
      const results: UpdateResult[] = [];
      const failures: { source: string; error: string }[] = [];
      try {
        let sources;
        try {
          sources = await sourcesFor(locations, {
            ...(ecosystems && ecosystems.length > 0 ? { ecosystems } : {}),
            ...(format ? { format } : {}),
            ...(full ? { full: true } : {}),
            http,
          });
        } catch (e) {
          throw badRequest(`cannot use the sources: ${messageOf(e)}`);
        }
        ctx.log.info('advisory sync started', {
          by: user.username,
          sources: sources.map((s) => s.name),
        });
        for (const source of sources) {
          try {
            results.push(await store.update(source, { now: () => ctx.now() }));
          } catch (e) {
            // one unreachable ecosystem or broken file does not stop the others
            failures.push({ source: source.name, error: messageOf(e) });
            ctx.log.warn('advisory sync: a source failed', {
              source: source.name,
              error: messageOf(e),
            });
          }
        }
      } finally {
        syncing.delete(store);
        await http.close();
      }
      const status = store.status();
      ctx.log.info('advisory sync finished', {
        sources: results.length,
        failed: failures.length,
        advisories: status.advisories,
      });
      return {
        ok: failures.length === 0,
        file: store.file,
        advisories: status.advisories,
        results: snakeKeys(results),
        failures,
      };
    },
  );
}
