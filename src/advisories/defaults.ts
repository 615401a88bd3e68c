/**
 * Defaults of the advisory sources, apart from the sources themselves so that the CLI can show
 * them in its help without loading the HTTP client and the schema validator.
 */

/** Where osv.dev exports its database (`gs://osv-vulnerabilities` over HTTPS). */
export const OSV_BUCKET_URL = 'https://osv-vulnerabilities.storage.googleapis.com';

/**
 * The OSV bucket ecosystems updated when none are named: the distributions and language
 * ecosystems whose packages regscan finds in images.
 */
export const DEFAULT_ECOSYSTEMS: readonly string[] = [
  'Debian',
  'Ubuntu',
  'Alpine',
  'Wolfi',
  'Chainguard',
  'Red Hat',
  'AlmaLinux',
  'Rocky Linux',
  'SUSE',
  'openSUSE',
  'npm',
  'PyPI',
  'Go',
  'Maven',
  'RubyGems',
  'crates.io',
  'NuGet',
  'Packagist',
];
