import type { ImageConfig } from '../image/resolve.js';
import type { AnalyzedPackage } from './types.js';

/**
 * Language runtimes installed outside any package manager, as the official language images install
 * them (from upstream tarballs), known by the version variable their Dockerfile sets in the image
 * configuration. Go's is the module `stdlib`, which Go advisories name; the others are
 * `pkg:generic` components, listed in SBOMs for people and for matchers that know them.
 */
const RUNTIME_ENV: { variable: string; type: AnalyzedPackage['type']; name: string }[] = [
  { variable: 'NODE_VERSION', type: 'generic', name: 'node' },
  { variable: 'PYTHON_VERSION', type: 'generic', name: 'python' },
  { variable: 'GOLANG_VERSION', type: 'golang', name: 'stdlib' },
  { variable: 'JAVA_VERSION', type: 'generic', name: 'openjdk' },
  { variable: 'RUBY_VERSION', type: 'generic', name: 'ruby' },
  { variable: 'PHP_VERSION', type: 'generic', name: 'php' },
];

/** A version as such variables hold it: `22.11.0`, `3.12.7`, `jdk-21.0.5+11`, `1.23.4`. */
const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_~-]{0,63}$/;

export function runtimesFromConfig(config: ImageConfig): AnalyzedPackage[] {
  const env = new Map<string, string>();
  for (const line of config.config?.Env ?? []) {
    if (typeof line !== 'string') continue;
    const eq = line.indexOf('=');
    if (eq > 0) env.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const out: AnalyzedPackage[] = [];
  for (const { variable, type, name } of RUNTIME_ENV) {
    const raw = env.get(variable)?.trim();
    if (!raw) continue;
    const version = variable === 'JAVA_VERSION' ? raw.replace(/^jdk-?/, '') : raw.replace(/^v/, '');
    if (!VERSION.test(version)) continue;
    out.push({ type, name, version, properties: { 'runtime:env': variable } });
  }
  return out;
}
