import semver from 'semver';
import { InvalidVersionError, sign, type VersionScheme } from './types.js';

/**
 * Semantic Versioning 2.0 (npm, crates.io), parsed and ordered by node-semver in its strict
 * (non-loose) mode: `MAJOR.MINOR.PATCH[-prerelease][+build]`, no leading zeros, numbers up to
 * 2^53 - 1, at most 256 characters. As node-semver's strict mode does, a leading `v` and
 * surrounding whitespace are accepted (`v1.2.3` = `1.2.3`); loose-only forms such as `=1.2.3`,
 * `v 1.2.3` or `1.2.3beta` are not. Build metadata does not take part in the order.
 */

function parseValid(version: string): semver.SemVer {
  const parsed = semver.parse(version);
  if (!parsed) throw new InvalidVersionError('semver', version);
  return parsed;
}

export const semverScheme: VersionScheme = {
  id: 'semver',
  isValid: (version) => semver.parse(version) !== null,
  compare: (a, b) => sign(semver.compare(parseValid(a), parseValid(b))),
};
