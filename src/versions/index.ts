import { apkScheme } from './apk.js';
import { debScheme } from './deb.js';
import { goScheme } from './go.js';
import { mavenScheme } from './maven.js';
import { nugetScheme } from './nuget.js';
import { pep440Scheme } from './pep440.js';
import { rpmScheme } from './rpm.js';
import { rubygemsScheme } from './rubygems.js';
import { semverScheme } from './semver.js';
import type { VersionScheme } from './types.js';

export { InvalidVersionError, type VersionScheme } from './types.js';

/** Every version scheme, in one explicit list; the contract test runs over it. */
export const SCHEMES: readonly VersionScheme[] = [
  debScheme,
  apkScheme,
  rpmScheme,
  semverScheme,
  goScheme,
  pep440Scheme,
  mavenScheme,
  rubygemsScheme,
  nugetScheme,
];

/** OSV ecosystem (without its `:release` suffix) → version scheme. */
const BY_ECOSYSTEM: Record<string, VersionScheme> = {
  Debian: debScheme,
  Ubuntu: debScheme,
  Alpine: apkScheme,
  Wolfi: apkScheme,
  Chainguard: apkScheme,
  'Red Hat': rpmScheme,
  'Rocky Linux': rpmScheme,
  AlmaLinux: rpmScheme,
  'Amazon Linux': rpmScheme,
  'Oracle Linux': rpmScheme,
  openSUSE: rpmScheme,
  SUSE: rpmScheme,
  Mageia: rpmScheme,
  npm: semverScheme,
  'crates.io': semverScheme,
  Go: goScheme,
  PyPI: pep440Scheme,
  Maven: mavenScheme,
  RubyGems: rubygemsScheme,
  NuGet: nugetScheme,
};

/** The scheme of an OSV ecosystem name; a release suffix (`Debian:12`) is accepted. */
export function schemeFor(ecosystem: string): VersionScheme | undefined {
  const colon = ecosystem.indexOf(':');
  return BY_ECOSYSTEM[colon >= 0 ? ecosystem.slice(0, colon) : ecosystem];
}

/**
 * -1, 0 or 1 as `a` sorts before, equal to or after `b` in `ecosystem` (an OSV ecosystem name,
 * `Debian:12` accepted). Throws on an unknown ecosystem or an invalid version.
 */
export function compareVersions(ecosystem: string, a: string, b: string): -1 | 0 | 1 {
  const scheme = schemeFor(ecosystem);
  if (!scheme) throw new RangeError(`no version scheme for ecosystem "${ecosystem}"`);
  return scheme.compare(a, b);
}
