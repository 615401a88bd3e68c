/**
 * The local advisory database of the CLI: an SQLite file (default
 * `$XDG_CACHE_HOME/regscan/advisories.db`) holding OSV records, indexed by affected package for
 * the matcher, by alias, and by the sources that gave them.
 *
 * Updating from a source compares each record's fingerprint with the stored one: added, changed,
 * withdrawn (now carries `withdrawn`), unchanged; a full read (a directory, a zip, a bucket's
 * all.zip) or a complete listing (the bucket's modified_id.csv) also tells which records the source
 * no longer has: they are removed from it, and from the store once no source has them. When two
 * versions of one id meet (two sources, or one source giving an id twice), the later `modified`
 * wins, as OSV says; a tie with other content goes to the newer read. Each batch of records is
 * written in one transaction.
 *
 * The schema is migrated with `PRAGMA user_version`. The service will have its own database; this
 * file is the CLI's cache and can always be rebuilt from the sources.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { defaultCacheDir } from '../inventory/cache.js';
import { normalizePackageName, type Advisory, type AdvisoryIndex } from './osv.js';
import { canonicalTimestamp } from './timestamp.js';
import type {
  AdvisorySource,
  ProgressUnit,
  SourceItem,
  SourceKind,
  SourceState,
} from './sources/source.js';

export function defaultAdvisoryDbPath(): string {
  return join(defaultCacheDir(), 'advisories.db');
}

/** The schema, one entry per version: MIGRATIONS[n] takes a database from version n to n + 1. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE advisories (
    rowid       INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    source      TEXT NOT NULL,           -- name of the source that wrote this version
    modified    TEXT NOT NULL,           -- canonical UTC, sorts as text (schema.ts)
    withdrawn   TEXT,
    fingerprint TEXT NOT NULL,
    json        TEXT NOT NULL
  );
  CREATE TABLE affected (
    ecosystem TEXT NOT NULL,             -- as OSV writes it: Debian:12, npm, ...
    name      TEXT NOT NULL,             -- normalizePackageName(ecosystem, name)
    advisory  INTEGER NOT NULL REFERENCES advisories(rowid) ON DELETE CASCADE,
    PRIMARY KEY (ecosystem, name, advisory)
  ) WITHOUT ROWID;
  CREATE INDEX affected_advisory ON affected(advisory);
  CREATE TABLE aliases (
    alias    TEXT NOT NULL,
    advisory INTEGER NOT NULL REFERENCES advisories(rowid) ON DELETE CASCADE,
    PRIMARY KEY (alias, advisory)
  ) WITHOUT ROWID;
  CREATE INDEX aliases_advisory ON aliases(advisory);
  CREATE TABLE sources (
    rowid          INTEGER PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE, -- absolute path or URL
    kind           TEXT NOT NULL,
    last_sync      TEXT,                 -- ISO 8601, end of the last completed update
    last_full_sync TEXT,
    last_modified  TEXT,                 -- newest canonical modified this source gave
    last_result    TEXT                  -- JSON UpdateCounts of the last update
  );
  CREATE TABLE source_records (
    source   INTEGER NOT NULL REFERENCES sources(rowid) ON DELETE CASCADE,
    advisory INTEGER NOT NULL REFERENCES advisories(rowid) ON DELETE CASCADE,
    PRIMARY KEY (source, advisory)
  ) WITHOUT ROWID;
  CREATE INDEX source_records_advisory ON source_records(advisory);
  `,
];
export const STORE_SCHEMA_VERSION = MIGRATIONS.length;

export interface UpdateCounts {
  added: number;
  changed: number;
  /** Records that now carry `withdrawn` and did not before. */
  withdrawn: number;
  unchanged: number;
  /** Records already stored in a later version (from another source; kept as they are). */
  older: number;
  /** Records whose id the source gave more than once (the later `modified` is kept). */
  duplicates: number;
  /** Records the source no longer has. */
  removed: number;
  invalid: number;
  warnings: number;
}

export interface UpdateResult extends UpdateCounts {
  source: string;
  kind: SourceKind;
  mode: 'full' | 'incremental';
  description: string;
  ms: number;
  /** The first invalid records, with why (all are counted in `invalid`). */
  invalidRecords: { origin: string; id?: string; errors: string[] }[];
  /** The first warnings (all are counted in `warnings`). */
  warningMessages: string[];
}

export type UpdateEvent =
  | { type: 'open'; source: string }
  | { type: 'plan'; source: string; mode: 'full' | 'incremental'; description: string }
  | {
      type: 'progress';
      source: string;
      done: number;
      total: number | undefined;
      unit: ProgressUnit;
      records: number;
    }
  | { type: 'done'; result: UpdateResult };

export interface UpdateOptions {
  /** Records per transaction. */
  batchSize?: number;
  onEvent?: (event: UpdateEvent) => void;
  signal?: AbortSignal;
  /** The clock, for the sync times (tests). */
  now?: () => Date;
}

export interface SourceStatus {
  name: string;
  kind: string;
  lastSync?: string;
  lastFullSync?: string;
  lastModified?: string;
  records: number;
  lastResult?: UpdateCounts;
}

export interface StoreStatus {
  file: string;
  schemaVersion: number;
  advisories: number;
  withdrawn: number;
  ecosystems: { ecosystem: string; advisories: number; packages: number }[];
  sources: SourceStatus[];
}

/** How many invalid records and warnings an update result lists (all are counted). */
const LISTED = 50;
/** Parsed advisories kept between look-ups (the same advisories come up for many packages). */
const CACHE_LIMIT = 50_000;

interface StoredRow {
  rowid: number;
  source: string;
  modified: string;
  withdrawn: string | null;
  fingerprint: string;
}

export class AdvisoryStore implements AdvisoryIndex {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly parsed = new Map<number, Advisory>();
  private readonly stmt: ReturnType<AdvisoryStore['prepare']>;

  /** Opens (creating or migrating) the store at `file`; `:memory:` works for tests. */
  constructor(file: string = defaultAdvisoryDbPath(), options: { readonly?: boolean } = {}) {
    this.file = file;
    if (file !== ':memory:' && !options.readonly) mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: false });
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
    }
    this.db.pragma('foreign_keys = ON');
    this.migrate(options.readonly ?? false);
    this.stmt = this.prepare();
  }

  private migrate(readonly: boolean): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new Error(
        `${this.file}: advisory database schema ${version} is newer than this regscan knows (${MIGRATIONS.length}); update regscan or remove the file`,
      );
    }
    if (version === MIGRATIONS.length) return;
    if (readonly) throw new Error(`${this.file}: advisory database needs an update first`);
    this.db.transaction(() => {
      for (let v = version; v < MIGRATIONS.length; v++) {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      }
    })();
  }

  private prepare() {
    const db = this.db;
    return {
      // Covered by the primary key of `affected`: the JSON is only read for advisories not
      // already parsed.
      forPackage: db
        .prepare<[string, string], number>(
          'SELECT advisory FROM affected WHERE ecosystem = ? AND name = ?',
        )
        .pluck(),
      json: db.prepare<[number], string>('SELECT json FROM advisories WHERE rowid = ?').pluck(),
      byId: db.prepare<[string], { rowid: number; json: string }>(
        'SELECT rowid, json FROM advisories WHERE id = ?',
      ),
      byAlias: db.prepare<[string, string], { rowid: number; json: string }>(
        `SELECT a.rowid AS rowid, a.json AS json FROM advisories a WHERE a.id = ?
         UNION SELECT a.rowid, a.json FROM aliases s JOIN advisories a ON a.rowid = s.advisory
         WHERE s.alias = ? ORDER BY 1`,
      ),
      packageNames: db.prepare<[string], { name: string }>(
        'SELECT DISTINCT name FROM affected WHERE ecosystem = ? ORDER BY name',
      ),
      stored: db.prepare<[string], StoredRow>(
        'SELECT rowid, source, modified, withdrawn, fingerprint FROM advisories WHERE id = ?',
      ),
      storedFor: db.prepare<[string, number], { modified: string }>(
        `SELECT a.modified AS modified FROM advisories a
         JOIN source_records s ON s.advisory = a.rowid WHERE a.id = ? AND s.source = ?`,
      ),
      insert: db.prepare<[string, string, string, string | null, string, string]>(
        `INSERT INTO advisories (id, source, modified, withdrawn, fingerprint, json)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      update: db.prepare<[string, string, string | null, string, string, number]>(
        `UPDATE advisories SET source = ?, modified = ?, withdrawn = ?, fingerprint = ?, json = ?
         WHERE rowid = ?`,
      ),
      clearAffected: db.prepare<[number]>('DELETE FROM affected WHERE advisory = ?'),
      addAffected: db.prepare<[string, string, number]>(
        'INSERT OR IGNORE INTO affected (ecosystem, name, advisory) VALUES (?, ?, ?)',
      ),
      clearAliases: db.prepare<[number]>('DELETE FROM aliases WHERE advisory = ?'),
      addAlias: db.prepare<[string, number]>(
        'INSERT OR IGNORE INTO aliases (alias, advisory) VALUES (?, ?)',
      ),
      link: db.prepare<[number, number]>(
        'INSERT OR IGNORE INTO source_records (source, advisory) VALUES (?, ?)',
      ),
      linked: db.prepare<[number], { rowid: number; id: string }>(
        `SELECT a.rowid AS rowid, a.id AS id FROM source_records s
         JOIN advisories a ON a.rowid = s.advisory WHERE s.source = ?`,
      ),
      unlink: db.prepare<[number, number]>(
        'DELETE FROM source_records WHERE source = ? AND advisory = ?',
      ),
      deleteOrphan: db.prepare<[number, number]>(
        `DELETE FROM advisories WHERE rowid = ?
         AND NOT EXISTS (SELECT 1 FROM source_records WHERE advisory = ?)`,
      ),
      source: db.prepare<
        [string],
        {
          rowid: number;
          kind: string;
          last_sync: string | null;
          last_modified: string | null;
        }
      >('SELECT rowid, kind, last_sync, last_modified FROM sources WHERE name = ?'),
      addSource: db.prepare<[string, string]>('INSERT INTO sources (name, kind) VALUES (?, ?)'),
      finishSource: db.prepare<[string, string | null, string | null, string, string, number]>(
        `UPDATE sources SET kind = ?, last_full_sync = coalesce(?, last_full_sync),
         last_modified = ?, last_sync = ?, last_result = ? WHERE rowid = ?`,
      ),
    };
  }

  /**
   * Every advisory with an affected entry for (ecosystem, name); see AdvisoryIndex. Parsed
   * advisories are kept (up to a limit) and shared between calls until the next update: callers
   * must not change them.
   */
  forPackage(ecosystem: string, name: string): Advisory[] {
    const rowids = this.stmt.forPackage.all(ecosystem, normalizePackageName(ecosystem, name));
    const out: Advisory[] = [];
    for (const rowid of rowids) {
      const cached = this.parsed.get(rowid);
      if (cached) out.push(cached);
      else {
        const json = this.stmt.json.get(rowid);
        if (json !== undefined) out.push(this.advisory({ rowid, json }));
      }
    }
    return out;
  }

  /** The advisory with this id, if stored. */
  get(id: string): Advisory | undefined {
    const row = this.stmt.byId.get(id);
    return row ? this.advisory(row) : undefined;
  }

  /** Advisories whose id or one of whose aliases is `id` (a CVE gives its GHSA, DEBIAN-, ...). */
  byAlias(id: string): Advisory[] {
    return this.stmt.byAlias.all(id, id).map((r) => this.advisory(r));
  }

  /** The package names (normalised) that have advisories in `ecosystem`, sorted. */
  packageNames(ecosystem: string): string[] {
    return this.stmt.packageNames.all(ecosystem).map((r) => r.name);
  }

  private advisory(row: { rowid: number; json: string }): Advisory {
    let a = this.parsed.get(row.rowid);
    if (a === undefined) {
      if (this.parsed.size >= CACHE_LIMIT) this.parsed.clear();
      a = JSON.parse(row.json) as Advisory;
      this.parsed.set(row.rowid, a);
    }
    return a;
  }

  /** Reads `source` and brings the store up to date with it. */
  async update(source: AdvisorySource, options: UpdateOptions = {}): Promise<UpdateResult> {
    const started = performance.now();
    const now = options.now ?? (() => new Date());
    const emit = options.onEvent ?? (() => {});
    const batchSize = options.batchSize ?? 1000;
    emit({ type: 'open', source: source.name });

    let row = this.stmt.source.get(source.name);
    if (!row) {
      this.stmt.addSource.run(source.name, source.kind);
      row = this.stmt.source.get(source.name)!;
    }
    const sourceId = row.rowid;
    const state: SourceState = {
      ...(row.last_sync ? { lastSync: row.last_sync } : {}),
      ...(row.last_modified ? { lastModified: row.last_modified } : {}),
      storedModified: (id) => this.stmt.storedFor.get(id, sourceId)?.modified,
    };

    const counts: UpdateCounts = {
      added: 0,
      changed: 0,
      withdrawn: 0,
      unchanged: 0,
      older: 0,
      duplicates: 0,
      removed: 0,
      invalid: 0,
      warnings: 0,
    };
    const invalidRecords: UpdateResult['invalidRecords'] = [];
    const warningMessages: string[] = [];
    const seen = new Set<number>();
    /** Per id given in this update: the stored version before it, the one now, whether it is
     * a version this source gave. Counted once per id when the update ends. */
    const outcomes = new Map<
      string,
      {
        before: { fingerprint: string; withdrawn: string | null } | null;
        fingerprint: string;
        withdrawn: string | null;
        ours: boolean;
      }
    >();
    let newest = row.last_modified ?? '';
    let progress: { done: number; total: number | undefined; unit: ProgressUnit } | undefined;
    let records = 0;

    const plan = await source.open(state, {
      onProgress: (done, total, unit) => (progress = { done, total, unit }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    emit({ type: 'plan', source: source.name, mode: plan.mode, description: plan.description });

    const write = this.db.transaction((batch: SourceItem[]) => {
      for (const item of batch) {
        if (item.type === 'warning') {
          counts.warnings++;
          if (warningMessages.length < LISTED) {
            warningMessages.push(`${item.origin}: ${item.message}`);
          }
          continue;
        }
        if (item.type === 'invalid') {
          counts.invalid++;
          if (invalidRecords.length < LISTED) {
            const { origin, id, errors } = item;
            invalidRecords.push(id === undefined ? { origin, errors } : { origin, id, errors });
          }
          // Keep the version we have of a record that went bad: it is not gone from the source.
          const kept = item.id === undefined ? undefined : this.stmt.stored.get(item.id);
          if (kept) seen.add(kept.rowid);
          continue;
        }
        records++;
        const { advisory, fingerprint } = item;
        const modified = canonicalTimestamp(advisory.modified)!;
        if (modified > newest) newest = modified;
        const stored = this.stmt.stored.get(advisory.id);
        let entry = outcomes.get(advisory.id);
        if (entry) counts.duplicates++;
        else {
          entry = {
            before: stored
              ? { fingerprint: stored.fingerprint, withdrawn: stored.withdrawn }
              : null,
            fingerprint: stored?.fingerprint ?? '',
            withdrawn: stored?.withdrawn ?? null,
            ours: false,
          };
          outcomes.set(advisory.id, entry);
        }
        let rowid: number;
        if (!stored) {
          const r = this.stmt.insert.run(
            advisory.id,
            source.name,
            modified,
            advisory.withdrawn ?? null,
            fingerprint,
            JSON.stringify(advisory),
          );
          rowid = Number(r.lastInsertRowid);
          this.index(rowid, advisory);
        } else {
          rowid = stored.rowid;
          if (stored.fingerprint !== fingerprint && modified >= stored.modified) {
            this.stmt.update.run(
              source.name,
              modified,
              advisory.withdrawn ?? null,
              fingerprint,
              JSON.stringify(advisory),
              rowid,
            );
            this.stmt.clearAffected.run(rowid);
            this.stmt.clearAliases.run(rowid);
            this.index(rowid, advisory);
          } else if (stored.fingerprint !== fingerprint) {
            // A later version is stored: the OSV rule keeps it. Linked all the same, since the
            // source does have the record.
            this.stmt.link.run(sourceId, rowid);
            seen.add(rowid);
            continue;
          }
        }
        entry.fingerprint = fingerprint;
        entry.withdrawn = advisory.withdrawn ?? null;
        entry.ours = true;
        this.stmt.link.run(sourceId, rowid);
        seen.add(rowid);
      }
    });

    let batch: SourceItem[] = [];
    const flush = () => {
      if (batch.length === 0) return;
      write(batch);
      batch = [];
      this.parsed.clear();
      if (progress) emit({ type: 'progress', source: source.name, ...progress, records });
    };
    for await (const item of plan.items) {
      batch.push(item);
      if (batch.length >= batchSize) flush();
    }
    flush();
    options.signal?.throwIfAborted();

    // What the source no longer has.
    let gone: number[] = [];
    if (plan.mode === 'full') {
      if (records === 0 && counts.invalid === 0) {
        // A full read with nothing in it is far likelier a wrong path or a broken download than a
        // source that deleted everything: keep what we have, and say so.
        const had = this.stmt.linked.all(sourceId).length;
        if (had > 0) {
          counts.warnings++;
          warningMessages.push(`${source.name}: read no records; kept the ${had} it gave before`);
        }
      } else {
        gone = this.stmt.linked
          .all(sourceId)
          .filter((r) => !seen.has(r.rowid))
          .map((r) => r.rowid);
      }
    } else if (plan.listing) {
      const listing = plan.listing;
      gone = this.stmt.linked
        .all(sourceId)
        .filter((r) => !listing.has(r.id) && !seen.has(r.rowid))
        .map((r) => r.rowid);
    }
    for (const { before, fingerprint, withdrawn, ours } of outcomes.values()) {
      if (before === null) counts.added++;
      else if (!ours) counts.older++;
      else if (before.fingerprint === fingerprint) counts.unchanged++;
      else if (withdrawn !== null && before.withdrawn === null) counts.withdrawn++;
      else counts.changed++;
    }
    const finishedAt = now().toISOString();
    this.db.transaction(() => {
      for (const rowid of gone) {
        this.stmt.unlink.run(sourceId, rowid);
        this.stmt.deleteOrphan.run(rowid, rowid);
      }
      counts.removed = gone.length;
      this.stmt.finishSource.run(
        source.kind,
        plan.mode === 'full' ? finishedAt : null,
        newest || null,
        finishedAt,
        JSON.stringify(counts),
        sourceId,
      );
    })();
    this.parsed.clear();

    const result: UpdateResult = {
      source: source.name,
      kind: source.kind,
      mode: plan.mode,
      description: plan.description,
      ...counts,
      ms: Math.round(performance.now() - started),
      invalidRecords,
      warningMessages,
    };
    emit({ type: 'done', result });
    return result;
  }

  private index(rowid: number, advisory: Advisory): void {
    for (const affected of advisory.affected ?? []) {
      const pkg = affected.package;
      if (!pkg) continue;
      this.stmt.addAffected.run(
        pkg.ecosystem,
        normalizePackageName(pkg.ecosystem, pkg.name),
        rowid,
      );
    }
    for (const alias of new Set(advisory.aliases ?? [])) this.stmt.addAlias.run(alias, rowid);
  }

  status(): StoreStatus {
    const one = <T>(sql: string) => this.db.prepare<[], T>(sql).get()!;
    const ecosystems = this.db
      .prepare<[], { ecosystem: string; advisories: number; packages: number }>(
        `SELECT ecosystem, count(DISTINCT advisory) AS advisories, count(DISTINCT name) AS packages
         FROM affected GROUP BY ecosystem ORDER BY ecosystem`,
      )
      .all();
    const sources = this.db
      .prepare<
        [],
        {
          name: string;
          kind: string;
          last_sync: string | null;
          last_full_sync: string | null;
          last_modified: string | null;
          last_result: string | null;
          records: number;
        }
      >(
        `SELECT s.name, s.kind, s.last_sync, s.last_full_sync, s.last_modified, s.last_result,
         (SELECT count(*) FROM source_records r WHERE r.source = s.rowid) AS records
         FROM sources s ORDER BY s.name`,
      )
      .all()
      .map((s): SourceStatus => ({
        name: s.name,
        kind: s.kind,
        ...(s.last_sync ? { lastSync: s.last_sync } : {}),
        ...(s.last_full_sync ? { lastFullSync: s.last_full_sync } : {}),
        ...(s.last_modified ? { lastModified: s.last_modified } : {}),
        records: s.records,
        ...(s.last_result ? { lastResult: JSON.parse(s.last_result) as UpdateCounts } : {}),
      }));
    return {
      file: this.file,
      schemaVersion: this.db.pragma('user_version', { simple: true }) as number,
      advisories: one<{ n: number }>('SELECT count(*) AS n FROM advisories').n,
      withdrawn: one<{ n: number }>(
        'SELECT count(*) AS n FROM advisories WHERE withdrawn IS NOT NULL',
      ).n,
      ecosystems,
      sources,
    };
  }

  close(): void {
    this.db.close();
  }
}
