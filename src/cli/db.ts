/**
 * `regscan db`: the local advisory database. `db update` reads advisory sources (the OSV bucket by
 * default, directories, zips, native distro feeds) into it; `db status` says what it holds.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { DEFAULT_ECOSYSTEMS, OSV_BUCKET_URL } from '../advisories/defaults.js';
import type { FeedFormat } from '../advisories/sources.js';
import {
  AdvisoryStore,
  defaultAdvisoryDbPath,
  type StoreStatus,
  type UpdateEvent,
  type UpdateResult,
} from '../advisories/store.js';

interface UpdateOptions {
  source: string[];
  ecosystem: string[];
  format?: FeedFormat;
  db: string;
  full?: boolean;
  insecure?: boolean;
  json?: boolean;
  quiet?: boolean;
}

interface StatusOptions {
  db: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];
const collectList = (value: string, previous: string[]): string[] => [
  ...previous,
  ...value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== ''),
];

/**
 * The advisory database `db update` and `db status` use without --db. On a machine running the
 * service it is the service's store, so that `regscan db update` feeds the service: precedence
 * --db > REGSCAN_ADVISORY_DB > REGSCAN_DATA_DIR/advisories.db > the user's cache (the same
 * variables, with the same meaning, as `regscan serve` reads).
 */
export function defaultDbFile(env: Record<string, string | undefined> = process.env): string {
  if (env.REGSCAN_ADVISORY_DB) return env.REGSCAN_ADVISORY_DB;
  if (env.REGSCAN_DATA_DIR) return join(env.REGSCAN_DATA_DIR, 'advisories.db');
  return defaultAdvisoryDbPath();
}

export function dbCommand(): Command {
  const db = new Command('db').description('the local advisory database');
  const dbOption = () =>
    new Option(
      '--db <file>',
      "advisory database file (default: $REGSCAN_ADVISORY_DB, else $REGSCAN_DATA_DIR/advisories.db — the service's store —, else the user cache)",
    ).default(
      defaultDbFile(),
      process.env.REGSCAN_ADVISORY_DB || process.env.REGSCAN_DATA_DIR
        ? defaultDbFile()
        : '$XDG_CACHE_HOME/regscan/advisories.db',
    );

  db.command('update')
    .description(
      'read advisories into the database: the OSV bucket (incremental after the first time), OSV directories and zips, the Debian security tracker JSON, Alpine secdb',
    )
    .option(
      '--source <url|dir|file>',
      `where to read from, repeatable (default the OSV bucket ${OSV_BUCKET_URL})`,
      collect,
      [],
    )
    .option(
      '--ecosystem <name>',
      `bucket ecosystem, repeatable or comma-separated (default ${DEFAULT_ECOSYSTEMS.join(', ')})`,
      collectList,
      [],
    )
    .addOption(
      new Option('--format <format>', 'what a file or directory holds (default: sniffed)').choices([
        'osv',
        'debian-tracker',
        'alpine-secdb',
      ]),
    )
    .addOption(dbOption())
    .option('--full', 'load the whole of every bucket ecosystem (all.zip), not only changes')
    .option('--insecure', 'allow plain http to hosts other than loopback')
    .option('--json', 'print the results as JSON')
    .option('-q, --quiet', 'no progress output')
    .action(async (opts: UpdateOptions) => {
      const failed = await update(opts);
      if (failed) process.exitCode = 1;
    });

  db.command('status')
    .description(
      'what the advisory database holds: advisories per ecosystem, sources and when they were updated',
    )
    .addOption(dbOption())
    .option('--json', 'print the status as JSON')
    .action((opts: StatusOptions) => {
      if (!existsSync(opts.db)) {
        throw new Error(`no advisory database at ${opts.db}; run "regscan db update" first`);
      }
      const store = new AdvisoryStore(opts.db, { readonly: true });
      try {
        const status = store.status();
        process.stdout.write(
          opts.json ? `${JSON.stringify(status, null, 2)}\n` : statusText(status),
        );
      } finally {
        store.close();
      }
    });

  return db;
}

/** Updates from every source; returns whether any source failed. */
async function update(opts: UpdateOptions): Promise<boolean> {
  // the sources (HTTP client, zip reader, schema validator) load only when an update runs
  const { AdvisoryHttp, sourcesFor } = await import('../advisories/sources.js');
  const http = new AdvisoryHttp({
    insecure: opts.insecure ?? false,
    onRetry: (url, attempt, reason) => {
      if (!opts.quiet) process.stderr.write(`retry ${attempt} of ${url}: ${reason}\n`);
    },
  });
  const store = new AdvisoryStore(opts.db);
  const results: UpdateResult[] = [];
  const failures: { source: string; error: string }[] = [];
  try {
    const sources = await sourcesFor(opts.source, {
      ...(opts.ecosystem.length > 0 ? { ecosystems: opts.ecosystem } : {}),
      ...(opts.format ? { format: opts.format } : {}),
      ...(opts.full ? { full: true } : {}),
      http,
    });
    for (const source of sources) {
      const progress = opts.quiet ? undefined : progressFor(process.stderr);
      try {
        const result = await store.update(source, {
          ...(progress ? { onEvent: (e: UpdateEvent) => progress.onEvent(e) } : {}),
        });
        results.push(result);
      } catch (err) {
        // One unreachable ecosystem or broken file does not stop the others.
        const error = err instanceof Error ? err.message : String(err);
        failures.push({ source: source.name, error });
        progress?.fail(source.name, error);
      } finally {
        progress?.stop();
      }
    }
  } finally {
    store.close();
    await http.close();
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ db: opts.db, results, failures }, null, 2)}\n`);
  } else {
    process.stdout.write(updateText(results, failures));
  }
  return failures.length > 0;
}

interface UpdateProgress {
  onEvent(event: UpdateEvent): void;
  fail(source: string, error: string): void;
  stop(): void;
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** A bar per source on a terminal; otherwise a line now and then (CI logs). Both on stderr. */
function progressFor(stream: NodeJS.WriteStream): UpdateProgress {
  const finished = (e: Extract<UpdateEvent, { type: 'done' }>) => {
    const r = e.result;
    stream.write(`${r.source}: ${countsText(r)} (${(r.ms / 1000).toFixed(1)} s)\n`);
    const shown = r.invalidRecords.slice(0, 5);
    for (const bad of shown) stream.write(`  invalid ${bad.origin}: ${bad.errors.join('; ')}\n`);
    if (r.invalid > shown.length) stream.write(`  … ${r.invalid - shown.length} more invalid\n`);
  };
  const fail = (source: string, error: string) => stream.write(`${source}: failed: ${error}\n`);

  if (!stream.isTTY) {
    let last = 0;
    return {
      onEvent(e) {
        if (e.type === 'plan') stream.write(`${e.source}: reading ${e.description}\n`);
        else if (e.type === 'progress' && Date.now() - last > 2000) {
          last = Date.now();
          const of = e.total ? ` of ${e.unit === 'bytes' ? mib(e.total) : e.total}` : '';
          const done = e.unit === 'bytes' ? mib(e.done) : String(e.done);
          stream.write(`${e.source}: ${done}${of} ${e.unit === 'bytes' ? '' : 'records '}read\n`);
        } else if (e.type === 'done') finished(e);
      },
      fail,
      stop() {},
    };
  }
  let bar: SingleBar | undefined;
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    onEvent(e) {
      if (e.type === 'plan') {
        stream.write(`${e.source}: reading ${e.description}\n`);
      } else if (e.type === 'progress') {
        if (!bar) {
          bar = new SingleBar(
            {
              format:
                e.unit === 'bytes'
                  ? '[{bar}] {percentage}% {doneMiB}/{totalMiB} MiB, {records} records'
                  : '[{bar}] {percentage}% {value}/{total} records',
              stream,
              clearOnComplete: true,
              hideCursor: true,
            },
            Presets.shades_classic,
          );
          bar.start(e.total ?? 0, 0, { doneMiB: '0.0', totalMiB: '?', records: 0 });
        }
        if (e.total !== undefined) bar.setTotal(e.total);
        bar.update(e.done, {
          doneMiB: (e.done / 1024 / 1024).toFixed(1),
          totalMiB: e.total ? (e.total / 1024 / 1024).toFixed(1) : '?',
          records: e.records,
        });
      } else if (e.type === 'done') {
        stop();
        finished(e);
      }
    },
    fail(source, error) {
      stop();
      fail(source, error);
    },
    stop,
  };
}

function countsText(r: UpdateResult): string {
  const parts = [
    `${r.added} added`,
    `${r.changed} changed`,
    `${r.withdrawn} withdrawn`,
    `${r.unchanged} unchanged`,
    `${r.removed} removed`,
    `${r.invalid} invalid`,
  ];
  if (r.older) parts.push(`${r.older} older than stored`);
  if (r.duplicates) parts.push(`${r.duplicates} duplicate ids`);
  if (r.warnings) parts.push(`${r.warnings} warnings`);
  return parts.join(', ');
}

function updateText(
  results: UpdateResult[],
  failures: { source: string; error: string }[],
): string {
  const rows = results.map((r) => [
    r.source,
    r.mode,
    String(r.added),
    String(r.changed),
    String(r.withdrawn),
    String(r.unchanged),
    String(r.removed),
    String(r.invalid),
  ]);
  let out = table(
    ['SOURCE', 'READ', 'ADDED', 'CHANGED', 'WITHDRAWN', 'UNCHANGED', 'REMOVED', 'INVALID'],
    rows,
  );
  for (const f of failures) out += `failed: ${f.source}: ${f.error}\n`;
  return out;
}

function statusText(s: StoreStatus): string {
  let out = `${s.file} (schema ${s.schemaVersion})\n`;
  out += `${s.advisories} advisories, ${s.withdrawn} withdrawn\n\n`;
  out += table(
    ['ECOSYSTEM', 'ADVISORIES', 'PACKAGES'],
    s.ecosystems.map((e) => [e.ecosystem, String(e.advisories), String(e.packages)]),
  );
  out += '\n';
  out += table(
    ['SOURCE', 'KIND', 'RECORDS', 'LAST UPDATE', 'LAST FULL LOAD'],
    s.sources.map((src) => [
      src.name,
      src.kind,
      String(src.records),
      src.lastSync ?? 'never',
      src.lastFullSync ?? 'never',
    ]),
  );
  return out;
}

/** Columns padded to their widest cell; numbers right-aligned. */
function table(head: string[], rows: string[][]): string {
  if (rows.length === 0) return `${head.join('  ')}\n(none)\n`;
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = head.map((_, i) => rows.every((r) => /^\d+$/.test(r[i] ?? '')));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}
