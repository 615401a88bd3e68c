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
