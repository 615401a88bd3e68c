import { FileWarnings, type Analyzer, type AnalyzerOutput, type LayerFile } from '../analyzer.js';
import type { AnalyzedPackage } from '../types.js';

/**
 * Ruby gems, from two kinds of file:
 *
 * - Installed gems' specifications, `<gem dir>/specifications/<name>-<version>[-<platform>].gemspec`
 *   (`usr/local/bundle`, `usr/lib/ruby/gems/3.1.0`, `var/lib/gems/3.1.0`, Debian's
 *   `usr/share/rubygems-integration/all`), and the default gems that ship with Ruby under
 *   `specifications/default/`. RubyGems writes these as Ruby source (`Gem::Specification#to_ruby`);
 *   they are read with regular expressions, never evaluated: `s.name = "rack".freeze`,
 *   `s.version = "2.2.8"`, `s.platform`, `s.licenses`/`s.license`, with the `# stub:` header line
 *   as a fallback for name and version.
 * - Bundler's `Gemfile.lock` (or `gems.locked`): the `specs:` of each `GEM` section, one gem per
 *   line at four spaces' indent, `    nokogiri (1.15.4-x86_64-linux)`, the platform after the
 *   first `-` as Bundler itself splits it. Gems from `GIT` and `PATH` sections are not rubygems.org
 *   releases and are left out. A lock file inside an installed gem's own directory
 *   (`gems/<name>-<version>/Gemfile.lock`) is its authors' development lock, not what the image
 *   runs, and is not asked for.
 */
const GEMSPEC = /(?:^|\/)specifications\/(?:default\/)?[^/]+\.gemspec$/;
const LOCKFILE = /(?:^|\/)(?:Gemfile\.lock|gems\.locked)$/;
/** A directory under a `gems/` directory: an installed gem's (or a bundler git checkout's) tree. */
const INSIDE_GEM = /(?:^|\/)gems\/[^/]+\//;

/** More warnings than this for one file are summarised in a last line. */

export const rubyAnalyzer: Analyzer = {
  id: 'ruby',
  version: 1,
  wants(path) {
    if (GEMSPEC.test(path)) return true;
    return LOCKFILE.test(path) && !INSIDE_GEM.test(path);
  },
  analyze(file: LayerFile): AnalyzerOutput {
    const text = file.content.toString('utf8');
    return LOCKFILE.test(file.path)
      ? parseLockfile(file.path, text)
      : parseGemspec(file.path, text);
  },
};

/**
 * One Ruby string literal at the start of `s` (after spaces): `"…"` and `'…'` with their escapes,
 * `%q{…}`/`%Q(…)`/`%{…}`/`%q<…>`/`%q[…]`/`%q|…|`, then an optional `.freeze`. Returns the value and
 * the rest of the text, or undefined when `s` does not start with a literal.
 */
export function readStringLiteral(s: string): { value: string; rest: string } | undefined {
  const t = s.trimStart();
  let value: string;
  let end: number;
  const quote = t[0];
  if (quote === '"' || quote === "'") {
    let out = '';
    let i = 1;
    for (; i < t.length && t[i] !== quote; i++) {
      const c = t[i]!;
      if (c !== '\\' || i + 1 >= t.length) {
        out += c;
        continue;
      }
      const n = t[++i]!;
      if (quote === "'") {
        out += n === "'" || n === '\\' ? n : `\\${n}`;
      } else if (n === 'u') {
        const m = /^u(?:\{([0-9a-fA-F ]+)\}|([0-9a-fA-F]{4}))/.exec(t.slice(i));
        if (!m) {
          out += 'u';
          continue;
        }
        const codes = (m[1] ?? m[2]!).trim().split(/\s+/);
        out += String.fromCodePoint(...codes.map((h) => parseInt(h, 16)));
        i += m[0].length - 1;
      } else {
        out += { n: '\n', t: '\t', r: '\r', s: ' ', '0': '\0', e: '\x1b' }[n] ?? n;
      }
    }
    if (i >= t.length) return undefined;
    value = out;
    end = i + 1;
  } else {
    const m = /^%[qQ]?([^\w\s])/.exec(t);
    if (!m) return undefined;
    const open = m[1]!;
    const close = { '{': '}', '(': ')', '<': '>', '[': ']' }[open] ?? open;
    const stop = t.indexOf(close, m[0].length);
    if (stop < 0) return undefined;
    value = t.slice(m[0].length, stop);
    end = stop + 1;
  }
  let rest = t.slice(end);
  if (rest.startsWith('.freeze')) rest = rest.slice('.freeze'.length);
  return { value, rest };
}

/** `["MIT".freeze, "Ruby".freeze]`, `%w[MIT Ruby]`, or one literal. */
function readStringList(s: string): string[] | undefined {
  const t = s.trim();
  const words = /^%[wW]([[({<])(.*?)[\])}>]/.exec(t);
  if (words) return words[2]!.split(/\s+/).filter((w) => w !== '');
  if (!t.startsWith('[')) {
    const one = readStringLiteral(t);
    return one ? [one.value] : undefined;
  }
  const values: string[] = [];
  let rest = t.slice(1);
  for (;;) {
    rest = rest.trimStart();
    if (rest.startsWith(']')) return values;
    if (rest.startsWith('nil')) rest = rest.slice(3);
    else {
      const lit = readStringLiteral(rest);
      if (!lit) return undefined;
      values.push(lit.value);
      rest = lit.rest;
    }
    rest = rest.trimStart();
    if (rest.startsWith(',')) rest = rest.slice(1);
    else if (!rest.startsWith(']')) return undefined;
  }
}

/** An attribute assignment line of a specification: `  s.version = …`. */
const ASSIGNMENT = /^\s*[a-z_]\w*\.(name|version|platform|licenses?)\s*=(?!=)(.*)$/;

function parseGemspec(path: string, text: string): AnalyzerOutput {
  const found = new Map<string, string>();
  let licenses: string[] | undefined;
  const warnings: string[] = [];
  let stub: string[] | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    // `# stub: <name> <version> <platform> <require paths>`; a second stub line lists extensions
    const stubLine = /^# stub: (\S+) (\S+) (\S+)/.exec(line);
    if (stubLine && stub === undefined) stub = stubLine.slice(1);
    const m = ASSIGNMENT.exec(line);
    if (!m) continue;
    const attribute = m[1]!;
    let rhs = m[2]!.trim();
    if (attribute === 'licenses' || attribute === 'license') {
      if (licenses !== undefined) continue;
      licenses = readStringList(rhs);
      if (!licenses) warnings.push(`${path}:${i + 1}: unreadable ${attribute}; ignored`);
      continue;
    }
    if (found.has(attribute)) continue;
    if (attribute === 'version') {
      const wrapped = /^Gem::Version\.new\((.*)\)\s*$/.exec(rhs);
      if (wrapped) rhs = wrapped[1]!;
    }
    // `s.platform = Gem::Platform::RUBY` and other expressions are not literals: ignored
    const lit = readStringLiteral(rhs);
    if (lit) found.set(attribute, lit.value.trim());
    else if (attribute !== 'platform')
      warnings.push(`${path}:${i + 1}: ${attribute} is not a string literal; ignored`);
  }

  const name = found.get('name') || stub?.[0];
  const version = found.get('version') || stub?.[1];
  if (!name || !version) {
    warnings.push(`${path}: no gem name and version (s.name, s.version or a "# stub:" line)`);
    return { packages: [], warnings };
  }
  if (/\s/.test(name) || /\s/.test(version)) {
    warnings.push(`${path}: "${name}" "${version}" is not a gem name and version`);
    return { packages: [], warnings };
  }
  const pkg: AnalyzedPackage = { type: 'gem', name, version };
  const named = licenses?.filter((l) => l.trim() !== '');
  if (named && named.length > 0) pkg.licenses = named;
  const properties: Record<string, string> = {};
  const platform = found.get('platform') ?? stub?.[2];
  if (platform && platform !== 'ruby') properties['gem:platform'] = platform;
  if (/(?:^|\/)specifications\/default\//.test(path)) properties['gem:default'] = 'true';
  if (Object.keys(properties).length > 0) pkg.properties = properties;
  return { packages: [pkg], warnings };
}

/** Top-level section names Bundler writes. */
const SECTIONS = new Set([
  'GEM',
  'GIT',
  'PATH',
  'PLUGIN SOURCE',
  'PLATFORMS',
  'DEPENDENCIES',
  'RUBY VERSION',
  'BUNDLED WITH',
  'CHECKSUMS',
]);

function parseLockfile(path: string, text: string): AnalyzerOutput {
  const packages: AnalyzedPackage[] = [];
  const limited = new FileWarnings(path);
  const warnings = limited.list;
  const warn = (line: number, message: string) => limited.add(`${path}:${line}: ${message}`);
  const seen = new Set<string>();
  let section: string | undefined;
  let inSpecs = false;
  let known = 0;

  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.endsWith('\r') ? lines[i]!.slice(0, -1) : lines[i]!;
    if (line.trim() === '') continue;
    if (/^(?:<{7}|={7}|>{7})/.test(line)) {
      // both sides of a conflict are read: the image may run either
      warn(i + 1, 'merge conflict marker');
      continue;
    }
    if (!line.startsWith(' ')) {
      section = line.trim();
      inSpecs = false;
      if (SECTIONS.has(section)) known++;
      continue;
    }
    if (section !== 'GEM') continue;
    const indent = line.length - line.trimStart().length;
    if (indent === 2) {
      inSpecs = line === '  specs:';
      continue;
    }
    if (!inSpecs || indent !== 4) continue; // 6 spaces: a gem's own dependencies
    const m = /^ {4}([^\s()]+) \(([^()\s]+)\)$/.exec(line);
    if (!m) {
      warn(i + 1, `not a "name (version)" gem line: ${JSON.stringify(line.trim())}; skipped`);
      continue;
    }
    const name = m[1]!;
    const dash = m[2]!.indexOf('-');
    const version = dash < 0 ? m[2]! : m[2]!.slice(0, dash);
    const platform = dash < 0 ? undefined : m[2]!.slice(dash + 1);
    if (version === '' || platform === '') {
      warn(i + 1, `unreadable version ${JSON.stringify(m[2])} of ${name}; skipped`);
      continue;
    }
    const key = `${name}\u0000${version}\u0000${platform ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const pkg: AnalyzedPackage = { type: 'gem', name, version };
    if (platform !== undefined) pkg.properties = { 'gem:platform': platform };
    packages.push(pkg);
  }
  if (known === 0 && lines.some((l) => l.trim() !== ''))
    throw new Error(
      'not a Gemfile.lock: none of the sections Bundler writes (GEM, DEPENDENCIES, ...)',
    );
  limited.done();
  return { packages, warnings };
}
