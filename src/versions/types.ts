/**
 * A version scheme: how one ecosystem writes and orders versions. One module per scheme in this
 * folder, registered in the one explicit list of index.ts; a contract test runs over all of them.
 */
export interface VersionScheme {
  /** Stable identifier: `deb`, `apk`, `rpm`, `semver`, `go`, `pep440`, `maven`, `rubygems`, `nuget`. */
  readonly id: string;
  /** Whether `version` is a valid version of this scheme. Never throws. */
  isValid(version: string): boolean;
  /**
   * -1, 0 or 1 as `a` sorts before, equal to or after `b`. Throws InvalidVersionError when
   * either is not a valid version: an invalid version is never silently ordered.
   */
  compare(a: string, b: string): -1 | 0 | 1;
}

export class InvalidVersionError extends Error {
  override readonly name = 'InvalidVersionError';
  constructor(
    readonly scheme: string,
    readonly version: string,
    reason?: string,
  ) {
    super(`invalid ${scheme} version "${version}"${reason ? `: ${reason}` : ''}`);
  }
}

export function sign(n: number): -1 | 0 | 1 {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/**
 * Remembers the last few thousand results of a pure parse function. Matching compares the same
 * versions (installed ones, advisories' events) over and over; parsing dominated its time. Only
 * results are kept (a throw is not), and the cache is emptied when full rather than aged.
 */
export function memoize<T>(parse: (version: string) => T, limit = 8192): (version: string) => T {
  const cache = new Map<string, T>();
  return (version) => {
    let value = cache.get(version);
    if (value === undefined) {
      value = parse(version);
      if (cache.size >= limit) cache.clear();
      cache.set(version, value);
    }
    return value;
  };
}
