/**
 * What every advisory source is: a named place (a directory, a zip, the OSV bucket, a native
 * distro feed) that, asked with what the store remembers of it, says whether it gives its whole
 * content or only changes, and then yields records one at a time.
 *
 * Sources validate (schema.ts) and fingerprint what they yield; the store decides what is new.
 */
import { createHash } from 'node:crypto';
import type { Advisory } from '../osv.js';
import { parseAdvisory } from '../schema.js';

/** Every kind of source, in one list (the CLI and the contract tests go through it). */
export const SOURCE_KINDS = [
  'osv-directory',
  'osv-zip',
  'osv-bucket',
  'debian-tracker',
  'alpine-secdb',
] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

export type SourceItem =
  /** A valid record. `fingerprint` changes whenever its content does. */
  | { type: 'advisory'; advisory: Advisory; fingerprint: string; origin: string }
  /**
   * A record that is not usable, with why. `id` when the record names one: the store then keeps
   * the version of it it already has instead of treating the record as gone.
   */
  | { type: 'invalid'; origin: string; id?: string; errors: string[] }
  /** Something worth telling that is not a bad record (a converter's note, a skipped entry). */
  | { type: 'warning'; origin: string; message: string };

/** What the store remembers of a source, handed to it when it is opened. */
export interface SourceState {
  /** When the last update of this source completed (ISO 8601), if ever. */
  lastSync?: string;
  /** The newest `modified` among the records this source gave (canonical form), if any. */
  lastModified?: string;
  /** The canonical `modified` of the version of `id` in the store, if it has the record. */
  storedModified(id: string): string | undefined;
}

export type ProgressUnit = 'records' | 'bytes';

export interface OpenOptions {
  /** Progress of reading: `done` of `total` (when known) in `unit`. Called often; keep it cheap. */
  onProgress?: (done: number, total: number | undefined, unit: ProgressUnit) => void;
  signal?: AbortSignal;
}

export interface SourcePlan {
  /**
   * `full`: the items are the source's whole content, so a record it gave before that is not
   * among them has been removed from it. `incremental`: only what changed.
   */
  mode: 'full' | 'incremental';
  /**
   * For an incremental plan, every id the source holds now, when it knows them (the OSV bucket's
   * `modified_id.csv` lists them all): a record it gave before that is not listed was removed.
   */
  listing?: ReadonlySet<string>;
  /** What is being read, for people: "all.zip", "modified_id.csv: 2 changed of 5210", ... */
  description: string;
  items: AsyncIterable<SourceItem>;
}

export interface AdvisorySource {
  readonly kind: SourceKind;
  /** Bumped when what a source yields for the same input changes. */
  readonly version: number;
  /** The source's stable key in the store: an absolute path or a URL. */
  readonly name: string;
  open(state: SourceState, options?: OpenOptions): Promise<SourcePlan>;
}

/** Identifies a record's content: equal for equal content, whatever file or zip it came from. */
export function fingerprint(advisory: Advisory): string {
  return createHash('sha256').update(JSON.stringify(advisory)).digest('base64url');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One OSV record's bytes or text (a file, a zip entry, an HTTP body) as a source item. */
export function itemFromJson(data: Uint8Array | string, origin: string): SourceItem {
  let value: unknown;
  try {
    value = JSON.parse(typeof data === 'string' ? data : utf8.decode(data));
  } catch (err) {
    const why = err instanceof TypeError ? 'not UTF-8' : `not JSON (${(err as Error).message})`;
    return { type: 'invalid', origin, errors: [why] };
  }
  return itemFromValue(value, origin);
}

/** A decoded JSON value (an OSV record, or a converter's output) as a source item. */
export function itemFromValue(value: unknown, origin: string): SourceItem {
  const { advisory, errors } = parseAdvisory(value);
  if (advisory) return { type: 'advisory', advisory, fingerprint: fingerprint(advisory), origin };
  const id =
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { id?: unknown }).id === 'string'
      ? (value as { id: string }).id
      : undefined;
  return id === undefined
    ? { type: 'invalid', origin, errors }
    : { type: 'invalid', origin, id, errors };
}

/**
 * Maps `items` through `fn` with at most `concurrency` calls in flight, yielding results in input
 * order. A rejection ends the iteration with that error once it reaches the front.
 */
export async function* mapConcurrent<T, R>(
  items: Iterable<T>,
  concurrency: number,
  fn: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const iterator = items[Symbol.iterator]();
  const inFlight: Promise<R>[] = [];
  const next = (): boolean => {
    const r = iterator.next();
    if (r.done) return false;
    const p = fn(r.value);
    p.catch(() => undefined); // surfaced when it reaches the front
    inFlight.push(p);
    return true;
  };
  while (inFlight.length < concurrency && next());
  while (inFlight.length > 0) {
    const result = await inFlight.shift()!;
    next();
    yield result;
  }
}
