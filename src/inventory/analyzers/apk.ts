import { FileWarnings, type Analyzer, type AnalyzerOutput, type LayerFile } from '../analyzer.js';
import type { AnalyzedPackage } from '../types.js';

/**
 * Alpine and Wolfi packages: apk-tools' installed database
 * (https://wiki.alpinelinux.org/wiki/Apk_spec, "Installed Database"). Records are separated by
 * blank lines; every line is `K:value` with a one-letter key. Alpine keeps it at
 * `lib/apk/db/installed`; usr-merged systems (Wolfi since 2025, and apk-tools 3 when `/lib` is a
 * symlink) keep it at `usr/lib/apk/db/installed`, with `lib` a symlink to `usr/lib`.
 *
 * Advisories for Alpine (secdb, OSV) are keyed by the *origin* (source) package, so `o:` is kept.
 */
export const APK_DATABASES = ['lib/apk/db/installed', 'usr/lib/apk/db/installed'];

/** More warnings than this for one file are summarised in a last line. */

interface ApkRecord {
  /** 1-based line where the record starts. */
  line: number;
  /** `K:value` lines seen, so a run of garbage lines is not mistaken for a record. */
  fields: number;
  name?: string;
  version?: string;
  arch?: string;
  origin?: string;
  license?: string;
  commit?: string;
  buildTime?: string;
}

export const apkAnalyzer: Analyzer = {
  id: 'apk',
  version: 1,
  wants(path) {
    return APK_DATABASES.includes(path);
  },
  analyze(file: LayerFile): AnalyzerOutput {
    const packages: AnalyzedPackage[] = [];
    const limited = new FileWarnings(file.path);
    const warnings = limited.list;
    const warn = (line: number, message: string) => limited.add(`${file.path}:${line}: ${message}`);

    let fieldLines = 0;
    let badLines = 0;
    let record: ApkRecord | undefined;
    const flush = () => {
      if (record === undefined || record.fields === 0) return;
      const r = record;
      record = undefined;
      if (!r.name) return warn(r.line, 'record without a package name (P:); skipped');
      if (!r.version) return warn(r.line, `package ${r.name} has no version (V:); skipped`);
      const pkg: AnalyzedPackage = { type: 'apk', name: r.name, version: r.version };
      if (r.arch) pkg.arch = r.arch;
      // Without `o:` the package is its own origin: the matcher falls back to the binary name.
      if (r.origin) pkg.source = { name: r.origin };
      // apk records an SPDX-like expression (`MIT AND BSD-2-Clause`, older `GPL2`): kept whole.
      if (r.license) pkg.licenses = [r.license];
      const properties: Record<string, string> = {};
      if (r.commit) properties['apk:commit'] = r.commit;
      if (r.buildTime) properties['apk:buildtime'] = r.buildTime;
      if (Object.keys(properties).length > 0) pkg.properties = properties;
      packages.push(pkg);
    };

    const lines = file.content.toString('utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.endsWith('\r') ? lines[i]!.slice(0, -1) : lines[i]!;
      if (line.trim() === '') {
        flush();
        continue;
      }
      record ??= { line: i + 1, fields: 0 };
      if (line.length < 2 || line[1] !== ':') {
        badLines++;
        warn(i + 1, 'not a "K:value" line; ignored');
        continue;
      }
      fieldLines++;
      const value = line.slice(2);
      switch (line[0]) {
        case 'P':
          if (record.name !== undefined) {
            // apk itself would refuse this; a lost blank line is the likely cause, so the second
            // P: starts the next record rather than overwriting the first package.
            warn(i + 1, `second P: in one record (missing blank line?); starting a new record`);
            flush();
            record = { line: i + 1, fields: 0 };
          }
          record.name = value;
          break;
        case 'V':
          record.version = value;
          break;
        case 'A':
          record.arch = value;
          break;
        case 'o':
          record.origin = value;
          break;
        case 'L':
          record.license = value;
          break;
        case 'c':
          record.commit = value;
          break;
        case 't':
          record.buildTime = value;
          break;
        default:
          break; // files (F/R/Z/a/M), dependencies (D/p/r/i), sizes, checksums: not needed here
      }
      record.fields++;
    }
    flush();

    if (fieldLines === 0 && badLines > 0)
      throw new Error('not an apk installed database: no "K:value" lines');
    limited.done();
    return { packages, warnings };
  },
};
