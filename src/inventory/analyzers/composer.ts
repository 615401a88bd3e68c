import { FileWarnings, type Analyzer, type AnalyzerOutput, type LayerFile } from '../analyzer.js';
import type { AnalyzedPackage } from '../types.js';

/**
 * PHP packages Composer installed: `vendor/composer/installed.json`, which Composer rewrites on
 * every install (https://getcomposer.org/doc/07-runtime.md#installed-versions). Two formats:
 * Composer 1 writes a JSON array of package objects; Composer 2 an object
 * `{ "packages": [...], "dev": true, "dev-package-names": [...] }`. Any directory named
 * `composer` holding an `installed.json` is read, since a project may rename its vendor directory
 * (`config.vendor-dir`).
 *
 * - `name` is Composer's `vendor/package`, kept as written (Composer writes it in lower case).
 * - `version` is Composer's "pretty" version as written, leading `v` included (`v1.8.1`,
 *   `1.3.0`, `dev-main`): that is the tag Packagist lists, and what OSV's Packagist records
 *   enumerate in `versions` (`v3.10.0`), whereas their range events are written without the `v`
 *   (`fixed: 3.15.0`). Whoever compares versions must therefore read them as Composer does (its
 *   VersionParser drops a leading `v`); `composer:version-normalized` keeps Composer's own
 *   normalised form (`1.8.1.0`, `9999999-dev` for a default branch) for that purpose.
 * - `license` (an array of SPDX identifiers or expressions; a single string in old files) →
 *   `licenses`.
 * - Packages listed in Composer 2's `dev-package-names` (installed as require-dev of the root
 *   project) are kept, being installed, and marked `composer:dev: true`. Composer 1 does not say.
 *
 * Bad JSON or an unexpected shape gives a warning and no packages; a bad entry gives a warning and
 * is skipped. Objects are read through own properties only, so `__proto__` or `constructor` keys
 * in the file are data, never behaviour.
 */

const INSTALLED = 'composer/installed.json';

/** More warnings than this for one file are summarised in a last line. */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An own property's value; never one inherited from Object.prototype. */
function own(obj: Record<string, Json>, key: string): Json | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** A value from the file for a warning: quoted, and cut short when long. */
function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

export const composerAnalyzer: Analyzer = {
  id: 'composer',
  version: 1,
  wants(path) {
    return path === INSTALLED || path.endsWith(`/${INSTALLED}`);
  },
  analyze(file: LayerFile): AnalyzerOutput {
    const limited = new FileWarnings(file.path);
    const warnings = limited.list;
    const warn = (message: string) => limited.add(`${file.path}: ${message}`);
    const done = (packages: AnalyzedPackage[]): AnalyzerOutput => {
      limited.done();
      return { packages, warnings };
    };

    let doc: unknown;
    try {
      doc = JSON.parse(file.content.toString('utf8').replace(/^\ufeff/, ''));
    } catch (err) {
      warn(`not valid JSON (${(err as Error).message})`);
      return done([]);
    }

    let entries: Json[];
    const dev = new Set<string>();
    if (Array.isArray(doc)) {
      entries = doc as Json[]; // Composer 1
    } else if (isObject(doc) && Array.isArray(own(doc, 'packages'))) {
      entries = own(doc, 'packages') as Json[]; // Composer 2
      const devNames = own(doc, 'dev-package-names');
      if (Array.isArray(devNames)) {
        for (const n of devNames) if (typeof n === 'string') dev.add(n);
      } else if (devNames !== undefined) {
        warn('"dev-package-names" is not an array; no package is marked dev');
      }
    } else {
      warn('neither a Composer 1 array nor a Composer 2 object with a "packages" array');
      return done([]);
    }

    const packages: AnalyzedPackage[] = [];
    for (const [i, entry] of entries.entries()) {
      if (!isObject(entry)) {
        warn(`packages[${i}] is not an object; skipped`);
        continue;
      }
      const name = own(entry, 'name');
      const version = own(entry, 'version');
      if (typeof name !== 'string' || name.trim() === '') {
        warn(`packages[${i}] has no name; skipped`);
        continue;
      }
      if (!/^[^/\s]+\/[^/\s]+$/.test(name)) {
        warn(`packages[${i}]: ${quote(name)} is not a vendor/package name; skipped`);
        continue;
      }
      if (typeof version !== 'string' || version.trim() === '') {
        warn(`package ${name} has no version; skipped`);
        continue;
      }
      const pkg: AnalyzedPackage = { type: 'composer', name, version: version.trim() };

      const license = own(entry, 'license');
      const licenses = (Array.isArray(license) ? license : [license]).filter(
        (l): l is string => typeof l === 'string' && l.trim() !== '',
      );
      if (licenses.length > 0) pkg.licenses = licenses.map((l) => l.trim());
      else if (license !== undefined && !(Array.isArray(license) && license.length === 0)) {
        warn(`package ${name}: unreadable "license"; ignored`);
      }

      const properties: Record<string, string> = {};
      const normalized = own(entry, 'version_normalized');
      if (typeof normalized === 'string' && normalized !== '') {
        properties['composer:version-normalized'] = normalized;
      }
      if (dev.has(name)) properties['composer:dev'] = 'true';
      if (Object.keys(properties).length > 0) pkg.properties = properties;
      packages.push(pkg);
    }
    return done(packages);
  },
};
