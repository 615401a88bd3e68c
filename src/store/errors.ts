/**
 * Database errors that callers answer in their own terms, recognised the same way on both
 * dialects (better-sqlite3's `SQLITE_CONSTRAINT_*` codes, PostgreSQL's SQLSTATE codes).
 */

/**
 * A unique constraint (or primary key) refused the row: PostgreSQL 23505 (unique_violation),
 * SQLite SQLITE_CONSTRAINT_UNIQUE or SQLITE_CONSTRAINT_PRIMARYKEY. Callers that check first and
 * insert after use it for the row another request inserted in between.
 */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}
