/**
 * The Vulnerability Report: reading a project's vulnerabilities (filters, sorting, pages, counts
 * by severity), one vulnerability with its history, triage (state changes, one or in bulk, each
 * recorded in the history with who and when) and the rows of the CSV export.
 *
 * Filters (all optional, combined with AND):
 * - report type: `container_scanning_for_registry` or `container_scanning` (the report's two tabs);
 * - severities and states: any of the listed values;
 * - detected: `still` (the last scan of the image found it) or `no_longer`;
 * - has fix;
 * - image: `repository` or `repository:tag`;
 * - package: a name, case-insensitive; `name*` matches names starting with `name`;
 * - identifier: a CVE or advisory id (`CVE-2024-1234`, `GHSA-…`, `DSA-…`), case-insensitive,
 *   matched against the CVE and advisory id columns and every element of the identifiers list;
 *   `CVE-2024*` matches identifiers starting with `CVE-2024`.
 *
 * Counts by severity are taken over the filtered set *without* the severity filter, as GitLab's
 * severity counters do: selecting `high` still shows how many critical ones the other filters
 * leave, so the counters can be used to switch between severities.
 */
import { sql, type Expression, type ExpressionBuilder, type Kysely, type SqlBool } from 'kysely';
import type { SeverityLevel } from '../match/types.js';
import { SEVERITY_LEVELS } from '../report/common.js';
import {
  DISMISSAL_REASONS,
  VULNERABILITY_STATES,
  type DB,
  type DismissalReason,
  type Project,
  type ReportType,
  type Vulnerability,
  type VulnerabilityHistoryTable,
  type VulnerabilityState,
} from '../store/schema.js';
import type { Insertable } from 'kysely';
import type { ServiceContext } from './context.js';

export { SEVERITY_LEVELS };
export type { SeverityLevel };

export type SeverityCounts = Record<SeverityLevel, number>;

export type DetectedFilter = 'still' | 'no_longer';

export interface VulnerabilityFilter {
  reportType?: ReportType;
  severities?: readonly SeverityLevel[];
  states?: readonly VulnerabilityState[];
  detected?: DetectedFilter;
  hasFix?: boolean;
  /** `repository` or `repository:tag`. */
  image?: string;
  /** A package name, or a prefix followed by `*`. */
  package?: string;
  /** A CVE or advisory id, or a prefix followed by `*`. */
  identifier?: string;
}

export const VULNERABILITY_SORT_FIELDS = [
  'severity',
  'detected_at',
  'last_detected_at',
  'package',
  'identifier',
  'image',
  'state',
] as const;
export type VulnerabilitySortField = (typeof VULNERABILITY_SORT_FIELDS)[number];
export type SortOrder = 'asc' | 'desc';

export interface VulnerabilitySort {
  field: VulnerabilitySortField;
  /** Default: the field's natural order (most severe, newest first; names A→Z). */
  order?: SortOrder;
}

export const DEFAULT_SORT: VulnerabilitySort = { field: 'severity', order: 'desc' };

/** Longest comment accepted on a state change. */
export const MAX_COMMENT_LENGTH = 10_000;
/** Most ids one bulk change may name. */
export const MAX_BULK_IDS = 1000;

type VulnerabilityEb = ExpressionBuilder<DB, 'vulnerabilities'>;

/** `group/app:1.0` → repository and tag; a name without `:` after its last `/` is a repository. */
export function parseImage(image: string): { repository: string; tag?: string } {
  const colon = image.lastIndexOf(':');
  if (colon > image.lastIndexOf('/') && colon > 0) {
    return { repository: image.slice(0, colon), tag: image.slice(colon + 1) };
  }
  return { repository: image };
}

/** A LIKE pattern matching `text` literally (escape character `!`). */
function likeLiteral(text: string): string {
  return text.replace(/[!%_]/g, (c) => `!${c}`);
}

function like(value: Expression<unknown>, pattern: string): Expression<SqlBool> {
  return sql<SqlBool>`lower(${value}) like ${pattern.toLowerCase()} escape '!'`;
}

function equalsIgnoringCase(value: Expression<unknown>, text: string): Expression<SqlBool> {
  return sql<SqlBool>`lower(${value}) = ${text.toLowerCase()}`;
}

function prefixOf(text: string): string | undefined {
  return text.endsWith('*') ? text.slice(0, -1) : undefined;
}

function filterCondition(
  eb: VulnerabilityEb,
  projectId: number,
  filter: VulnerabilityFilter,
  options: { withSeverity: boolean },
): Expression<SqlBool> {
  const and: Expression<SqlBool>[] = [eb('project_id', '=', projectId)];
  if (filter.reportType) and.push(eb('report_type', '=', filter.reportType));
  if (options.withSeverity && filter.severities && filter.severities.length > 0) {
    and.push(eb('severity', 'in', [...filter.severities]));
  }
  if (filter.states && filter.states.length > 0) and.push(eb('state', 'in', [...filter.states]));
  if (filter.detected) {
    and.push(eb('no_longer_detected', '=', filter.detected === 'no_longer' ? 1 : 0));
  }
  if (filter.hasFix !== undefined) and.push(eb('has_fix', '=', filter.hasFix ? 1 : 0));
  if (filter.image) {
    const { repository, tag } = parseImage(filter.image);
    and.push(eb('repository', '=', repository));
    if (tag !== undefined) and.push(eb('tag', '=', tag));
  }
  if (filter.package) {
    const prefix = prefixOf(filter.package);
    and.push(
      prefix !== undefined
        ? like(eb.ref('package_name'), `${likeLiteral(prefix)}%`)
        : equalsIgnoringCase(eb.ref('package_name'), filter.package),
    );
  }
  if (filter.identifier) {
    const prefix = prefixOf(filter.identifier);
    if (prefix !== undefined) {
      // an element of the JSON array starts with `"<prefix>` (JSON-encoded as ingestion wrote it)
      const element = JSON.stringify(prefix).slice(0, -1);
      and.push(
        eb.or([
          like(eb.ref('cve'), `${likeLiteral(prefix)}%`),
          like(eb.ref('advisory_id'), `${likeLiteral(prefix)}%`),
          like(eb.ref('identifiers'), `%${likeLiteral(element)}%`),
        ]),
      );
    } else {
      const element = JSON.stringify(filter.identifier);
      and.push(
        eb.or([
          equalsIgnoringCase(eb.ref('cve'), filter.identifier),
          equalsIgnoringCase(eb.ref('advisory_id'), filter.identifier),
          like(eb.ref('identifiers'), `%${likeLiteral(element)}%`),
        ]),
      );
    }
  }
  return eb.and(and);
}

/** critical 5 … unknown 0 (and anything unexpected ranks with unknown). */
const severityRank = sql<number>`case severity when 'critical' then 5 when 'high' then 4 when 'medium' then 3 when 'low' then 2 when 'negligible' then 1 else 0 end`;
const stateRank = sql<number>`case state when 'detected' then 0 when 'confirmed' then 1 when 'dismissed' then 2 when 'resolved' then 3 else 4 end`;

interface SortKey {
  expressions: Expression<unknown>[];
  natural: SortOrder;
}

const SORT_KEYS: Record<VulnerabilitySortField, SortKey> = {
  severity: { expressions: [severityRank], natural: 'desc' },
  detected_at: { expressions: [sql.ref('first_detected_at')], natural: 'desc' },
  last_detected_at: { expressions: [sql.ref('last_detected_at')], natural: 'desc' },
  package: { expressions: [sql.ref('package_name')], natural: 'asc' },
  identifier: { expressions: [sql`coalesce(cve, advisory_id)`], natural: 'asc' },
  image: { expressions: [sql.ref('repository'), sql.ref('tag')], natural: 'asc' },
  state: { expressions: [stateRank], natural: 'asc' },
};

/** After the requested field, ties are broken in this order, each in its natural order, then id. */
const TIE_BREAKERS: readonly VulnerabilitySortField[] = [
  'severity',
  'detected_at',
  'package',
  'identifier',
];

function orderTerms(
  sort: VulnerabilitySort,
): { expression: Expression<unknown>; order: SortOrder }[] {
  const primary = SORT_KEYS[sort.field];
  const terms = primary.expressions.map((expression) => ({
    expression,
    order: sort.order ?? primary.natural,
  }));
  for (const field of TIE_BREAKERS) {
    if (field === sort.field) continue;
    const key = SORT_KEYS[field];
    for (const expression of key.expressions) terms.push({ expression, order: key.natural });
  }
  terms.push({ expression: sql.ref('id'), order: 'asc' });
  return terms;
}

function sortedQuery(
  db: Kysely<DB>,
  projectId: number,
  filter: VulnerabilityFilter,
  sort: VulnerabilitySort,
) {
  let query = db
    .selectFrom('vulnerabilities')
    .where((eb) => filterCondition(eb, projectId, filter, { withSeverity: true }));
  for (const term of orderTerms(sort)) query = query.orderBy(term.expression, term.order);
  return query;
}

export function emptyCounts(): SeverityCounts {
  return Object.fromEntries(SEVERITY_LEVELS.map((l) => [l, 0])) as SeverityCounts;
}

function asSeverity(value: string): SeverityLevel {
  return (SEVERITY_LEVELS as readonly string[]).includes(value)
    ? (value as SeverityLevel)
    : 'unknown';
}

export interface VulnerabilityPage {
  vulnerabilities: Vulnerability[];
  /** Rows matching the filter (all pages). */
  total: number;
  /** By severity, over the filtered set without its severity filter. */
  counts: SeverityCounts;
}

export async function listVulnerabilities(
  db: Kysely<DB>,
  projectId: number,
  filter: VulnerabilityFilter,
  sort: VulnerabilitySort,
  page: { page: number; perPage: number },
): Promise<VulnerabilityPage> {
  const vulnerabilities = await sortedQuery(db, projectId, filter, sort)
    .selectAll()
    .limit(page.perPage)
    .offset((page.page - 1) * page.perPage)
    .execute();
  const totalRow = await db
    .selectFrom('vulnerabilities')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where((eb) => filterCondition(eb, projectId, filter, { withSeverity: true }))
    .executeTakeFirstOrThrow();
  const countRows = await db
    .selectFrom('vulnerabilities')
    .select(['severity', (eb) => eb.fn.countAll<number>().as('n')])
    .where((eb) => filterCondition(eb, projectId, filter, { withSeverity: false }))
    .groupBy('severity')
    .execute();
  const counts = emptyCounts();
  for (const row of countRows) counts[asSeverity(row.severity)] += Number(row.n);
  return { vulnerabilities, total: Number(totalRow.n), counts };
}

/**
 * Every matching vulnerability in order, read in chunks (for the CSV export). The ids are taken
 * first in one query, so the export is one consistent ordering even when rows change meanwhile.
 */
export async function* allVulnerabilities(
  db: Kysely<DB>,
  projectId: number,
  filter: VulnerabilityFilter,
  sort: VulnerabilitySort,
  chunkSize = 500,
): AsyncGenerator<Vulnerability> {
  const ids = (await sortedQuery(db, projectId, filter, sort).select('id').execute()).map(
    (r) => r.id,
  );
  for (let i = 0; i < ids.length; i += chunkSize) {
    const chunk = ids.slice(i, i + chunkSize);
    const rows = await db
      .selectFrom('vulnerabilities')
      .selectAll()
      .where('id', 'in', chunk)
      .where('project_id', '=', projectId)
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of chunk) {
      const row = byId.get(id);
      if (row) yield row;
    }
  }
}

export function findVulnerability(db: Kysely<DB>, id: number): Promise<Vulnerability | undefined> {
  return db.selectFrom('vulnerabilities').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface HistoryEntry {
  id: number;
  at: string;
  /** Username; null when the system did it (a scan). */
  user: string | null;
  action: string;
  from_state: VulnerabilityState | null;
  to_state: VulnerabilityState | null;
  dismissal_reason: DismissalReason | null;
  comment: string | null;
  scan_id: number | null;
}

/** The vulnerability's history, oldest first. */
export async function vulnerabilityHistory(
  db: Kysely<DB>,
  vulnerabilityId: number,
): Promise<HistoryEntry[]> {
  const rows = await db
    .selectFrom('vulnerability_history as h')
    .leftJoin('users as u', 'u.id', 'h.user_id')
    .select([
      'h.id',
      'h.at',
      'u.username',
      'h.action',
      'h.from_state',
      'h.to_state',
      'h.dismissal_reason',
      'h.comment',
      'h.scan_id',
    ])
    .where('h.vulnerability_id', '=', vulnerabilityId)
    .orderBy('h.id', 'asc')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    at: r.at,
    user: r.username ?? null,
    action: r.action,
    from_state: r.from_state,
    to_state: r.to_state,
    dismissal_reason: r.dismissal_reason,
    comment: r.comment,
    scan_id: r.scan_id,
  }));
}

export interface StateChange {
  state: VulnerabilityState;
  /** Required for `dismissed`; not allowed for other states (which clear the stored reason). */
  dismissalReason?: DismissalReason | null;
  /** undefined keeps the stored comment; null or empty clears it. */
  comment?: string | null;
}

/** Why a state change is not acceptable, or undefined when it is. */
export function stateChangeProblem(change: StateChange): string | undefined {
  if (!VULNERABILITY_STATES.includes(change.state)) {
    return `state must be one of ${VULNERABILITY_STATES.join(', ')}`;
  }
  const reason = change.dismissalReason ?? null;
  if (change.state === 'dismissed') {
    if (reason === null) {
      return `dismissing needs a dismissal_reason: one of ${DISMISSAL_REASONS.join(', ')}`;
    }
    if (!DISMISSAL_REASONS.includes(reason)) {
      return `dismissal_reason must be one of ${DISMISSAL_REASONS.join(', ')}`;
    }
  } else if (reason !== null) {
    return `dismissal_reason applies only to the dismissed state, not to ${change.state}`;
  }
  if (typeof change.comment === 'string' && change.comment.length > MAX_COMMENT_LENGTH) {
    return `comment is longer than ${MAX_COMMENT_LENGTH} characters`;
  }
  return undefined;
}

export interface StateChangeResult {
  /** Ids that are not vulnerabilities of the project; when any, nothing was changed. */
  missing: number[];
  /** Ids whose state, reason or comment changed (each got a history row). */
  changed: number[];
  /** Ids already as asked (no history row). */
  unchanged: number[];
}

/**
 * Applies one state change to vulnerabilities of a project, all or nothing, in one transaction:
 * when an id is not a vulnerability of the project, nothing changes and it is reported missing.
 * Every vulnerability that changes gets a history row with the user and the time. Call
 * stateChangeProblem first.
 */
export async function changeVulnerabilityStates(
  ctx: ServiceContext,
  projectId: number,
  ids: readonly number[],
  change: StateChange,
  userId: number | null,
): Promise<StateChangeResult> {
  const problem = stateChangeProblem(change);
  if (problem) throw new Error(problem);
  const wanted = [...new Set(ids)];
  if (wanted.length === 0) return { missing: [], changed: [], unchanged: [] };
  const reason = change.state === 'dismissed' ? (change.dismissalReason ?? null) : null;
  const newComment =
    change.comment === undefined
      ? undefined
      : change.comment === null || change.comment.trim() === ''
        ? null
        : change.comment;

  return ctx.database.db.transaction().execute(async (trx) => {
    const rows: Pick<Vulnerability, 'id' | 'state' | 'dismissal_reason' | 'comment'>[] = [];
    for (let i = 0; i < wanted.length; i += MAX_BULK_IDS) {
      const chunk = wanted.slice(i, i + MAX_BULK_IDS);
      rows.push(
        ...(await trx
          .selectFrom('vulnerabilities')
          .select(['id', 'state', 'dismissal_reason', 'comment'])
          .where('project_id', '=', projectId)
          .where('id', 'in', chunk)
          // PostgreSQL: concurrent changes of the same rows queue up, so from_state is exact
          .$if(ctx.database.dialect === 'postgres', (q) => q.forUpdate())
          .execute()),
      );
    }
    const found = new Set(rows.map((r) => r.id));
    const missing = wanted.filter((id) => !found.has(id));
    if (missing.length > 0) return { missing, changed: [], unchanged: [] };

    const now = ctx.now().toISOString();
    const history: Insertable<VulnerabilityHistoryTable>[] = [];
    const changed: number[] = [];
    const unchanged: number[] = [];
    for (const row of rows) {
      const stateChanged = row.state !== change.state || row.dismissal_reason !== reason;
      const commentChanged = newComment !== undefined && newComment !== row.comment;
      if (!stateChanged && !commentChanged) {
        unchanged.push(row.id);
        continue;
      }
      changed.push(row.id);
      history.push({
        vulnerability_id: row.id,
        at: now,
        user_id: userId,
        action: stateChanged ? 'state_change' : 'comment',
        from_state: row.state,
        to_state: change.state,
        dismissal_reason: reason,
        comment: newComment ?? null,
        scan_id: null,
      });
    }
    for (let i = 0; i < changed.length; i += MAX_BULK_IDS) {
      await trx
        .updateTable('vulnerabilities')
        .set({
          state: change.state,
          dismissal_reason: reason,
          ...(newComment !== undefined ? { comment: newComment } : {}),
          updated_at: now,
        })
        .where('project_id', '=', projectId)
        .where('id', 'in', changed.slice(i, i + MAX_BULK_IDS))
        .execute();
    }
    for (let i = 0; i < history.length; i += 500) {
      await trx
        .insertInto('vulnerability_history')
        .values(history.slice(i, i + 500))
        .execute();
    }
    return { missing: [], changed, unchanged };
  });
}

/** A vulnerability as the API shows it. */
export interface ApiVulnerability {
  id: number;
  project_id: number;
  report_type: ReportType;
  state: VulnerabilityState;
  severity: SeverityLevel;
  title: string | null;
  description: string | null;
  identifiers: string[];
  cve: string | null;
  advisory_id: string;
  package: { name: string; version: string; type: string; purl: string };
  fixed_version: string | null;
  fix_state: string;
  has_fix: boolean;
  image: { repository: string; tag: string; digest: string | null };
  location: { layer: string | null; path: string | null };
  os: string | null;
  cvss: { vector: string | null; score: number | null };
  links: string[];
  dismissal_reason: DismissalReason | null;
  comment: string | null;
  no_longer_detected: boolean;
  first_detected_at: string;
  last_detected_at: string;
  last_scan_id: number | null;
  updated_at: string;
  /** Why it matched (the stored MatchExplanation), or null. */
  explanation: unknown;
}

function jsonValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function stringList(text: string): string[] {
  const value = jsonValue(text);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export function toApiVulnerability(row: Vulnerability): ApiVulnerability {
  const explanation = jsonValue(row.explanation);
  return {
    id: row.id,
    project_id: row.project_id,
    report_type: row.report_type,
    state: row.state,
    severity: asSeverity(row.severity),
    title: row.title,
    description: row.description,
    identifiers: stringList(row.identifiers),
    cve: row.cve,
    advisory_id: row.advisory_id,
    package: {
      name: row.package_name,
      version: row.package_version,
      type: row.package_type,
      purl: row.purl,
    },
    fixed_version: row.fixed_version,
    fix_state: row.fix_state,
    has_fix: row.has_fix === 1,
    image: { repository: row.repository, tag: row.tag, digest: row.digest },
    location: { layer: row.layer, path: row.path },
    os: row.os,
    cvss: {
      vector: row.cvss_vector,
      score: row.cvss_score === null ? null : Number(row.cvss_score),
    },
    links: stringList(row.links),
    dismissal_reason: row.dismissal_reason,
    comment: row.comment,
    no_longer_detected: row.no_longer_detected === 1,
    first_detected_at: row.first_detected_at,
    last_detected_at: row.last_detected_at,
    last_scan_id: row.last_scan_id,
    updated_at: row.updated_at,
    explanation: typeof explanation === 'object' ? explanation : null,
  };
}

/** The CSV export's columns, after GitLab's vulnerability export. */
export const CSV_COLUMNS = [
  'Status',
  'Group Name',
  'Project Name',
  'Project Path',
  'Tool',
  'Scanner Name',
  'Vulnerability',
  'Details',
  'Severity',
  'CVE',
  'CWE',
  'Other Identifiers',
  'Detected At',
  'Last Detected At',
  'Still Detected',
  'Location',
  'Image',
  'Package',
  'Installed Version',
  'Fixed Version',
  'CVSS Vectors',
  'Dismissal Reason',
  'Comments',
] as const;

const CWE_ID = /^CWE-\d+$/i;

/**
 * One row of the CSV export, in CSV_COLUMNS order. Values are plain text; the writer must
 * neutralise spreadsheet formulas (advisory texts and package names are untrusted).
 */
export function csvRecord(project: Project, row: Vulnerability): string[] {
  const slash = project.path.lastIndexOf('/');
  const identifiers = stringList(row.identifiers);
  const cwes = identifiers.filter((id) => CWE_ID.test(id));
  const others = identifiers.filter((id) => id !== row.cve && !CWE_ID.test(id));
  const image = `${row.repository}:${row.tag}${row.digest ? `@${row.digest}` : ''}`;
  const location = [
    image,
    `${row.package_name} ${row.package_version}`,
    row.path ? `in ${row.path}` : '',
  ]
    .filter((s) => s !== '')
    .join(' ');
  return [
    row.state,
    slash >= 0 ? project.path.slice(0, slash) : '',
    project.name,
    project.path,
    row.report_type,
    'regscan',
    row.title ?? row.cve ?? row.advisory_id,
    row.description ?? '',
    asSeverity(row.severity),
    row.cve ?? '',
    cwes.join(', '),
    others.join(', '),
    row.first_detected_at,
    row.last_detected_at,
    row.no_longer_detected === 1 ? 'false' : 'true',
    location,
    image,
    row.package_name,
    row.package_version,
    row.fixed_version ?? '',
    row.cvss_vector ?? '',
    row.dismissal_reason ?? '',
    row.comment ?? '',
  ];
}
