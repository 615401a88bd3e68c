import type { Analyzer, AnalyzerOutput, LayerFile } from '../analyzer.js';
import type { AnalyzedPackage } from '../types.js';
import { parseControlParagraphs } from '../control-file.js';

/**
 * Debian and Ubuntu packages: the dpkg status database, and distroless images' one-file-per-package
 * `status.d/` directory. Advisories for these distros are keyed by *source* package, so the
 * `Source:` field (which may carry its own version in parentheses) is kept.
 */
const STATUS = 'var/lib/dpkg/status';
const STATUS_D = 'var/lib/dpkg/status.d/';

export const dpkgAnalyzer: Analyzer = {
  id: 'dpkg',
  version: 1,
  wants(path) {
    if (path === STATUS) return true;
    if (!path.startsWith(STATUS_D)) return false;
    const name = path.slice(STATUS_D.length);
    // distroless writes `<pkg>` and `<pkg>.md5sums`: only the former is a status paragraph
    return name !== '' && !name.includes('/') && !name.endsWith('.md5sums');
  },
  analyze(file: LayerFile): AnalyzerOutput {
    const distroless = file.path.startsWith(STATUS_D);
    const packages: AnalyzedPackage[] = [];
    const warnings: string[] = [];
    for (const { fields, line } of parseControlParagraphs(file.content.toString('utf8'))) {
      const name = fields.get('package');
      const version = fields.get('version');
      if (!name || !version) {
        warnings.push(`${file.path}:${line}: paragraph without Package or Version; skipped`);
        continue;
      }
      // Only installed packages count; distroless entries have no Status field and are installed.
      const status = fields.get('status');
      if (status !== undefined ? status.split(/\s+/)[2] !== 'installed' : !distroless) continue;
      const pkg: AnalyzedPackage = { type: 'deb', name, version };
      const arch = fields.get('architecture');
      if (arch) pkg.arch = arch;
      const source = fields.get('source');
      if (source) {
        const m = /^(\S+)(?:\s+\((\S+)\))?$/.exec(source);
        if (m) pkg.source = { name: m[1]!, version: m[2] ?? version };
        else warnings.push(`${file.path}:${line}: unreadable Source "${source}" of ${name}`);
      } else {
        pkg.source = { name, version };
      }
      packages.push(pkg);
    }
    return { packages, warnings };
  },
};
