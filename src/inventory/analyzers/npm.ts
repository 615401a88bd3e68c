import { parseSyml } from '@yarnpkg/parsers';
import { YAMLError, parseAllDocuments } from 'yaml';
import type { Analyzer, AnalyzerOutput, LayerFile } from '../analyzer.js';
import type { AnalyzedPackage } from '../types.js';

/**
 * npm packages (purl type `npm`) from four kinds of files:
 *
 * - **Installed packages**: the `package.json` at the top of every package directory in a
 *   `node_modules` tree, at any depth (`node_modules/a/node_modules/b/package.json`), global
 *   modules (`usr/local/lib/node_modules/npm/...`) and virtual stores (pnpm's
 *   `node_modules/.pnpm/<entry>/node_modules/<name>/package.json`, bun's `.bun/` alike, yarn's
 *   pnpm linker's `node_modules/.store/<entry>/package/package.json`). Name and version come
 *   from the file, so an aliased install (`node_modules/old-lodash` holding `lodash`) is the real
 *   package. Property `npm:installed`.
 * - **npm lockfiles** (`package-lock.json`, `npm-shrinkwrap.json`; lockfileVersion 1, 2, 3):
 *   every dependency; `packages` (v2, v3) when present, else the nested `dependencies` (v1).
 * - **`yarn.lock`**, yarn 1 and berry (2+).
 * - **`pnpm-lock.yaml`**, lockfile formats 5.x (pnpm 7), 6.0 (pnpm 8) and 9.0 (pnpm 9, 10).
 *
 * Lockfiles are read where an application keeps them, never inside `node_modules`: npm 7+'s
 * hidden lockfile `node_modules/.package-lock.json` and pnpm's `node_modules/.pnpm/lock.yaml`
 * describe the very tree whose `package.json` files are read anyway, and can be stale.
 *
 * Not reported: the project itself (the root `""` entry of a package-lock, a `workspace:` of
 * yarn, pnpm's importers) and workspace members and other local directories (npm `link: true`
 * entries and keys outside `node_modules`, v1 `file:` versions, yarn `workspace:`, `link:`,
 * `portal:`, `file:` and `exec:` resolutions, pnpm `directory` resolutions): they are the
 * application's own code, not dependencies with advisories. Their dependencies are reported.
 *
 * Within one file a package (name@version) is reported once, however many copies the lockfile
 * records; flags are then merged as npm would prune: `npm:dev` when every copy is dev-only,
 * `npm:optional` when every copy is optional, `npm:devOptional` when every copy is dev or
 * optional but neither alone, `npm:peer` when every copy is there only as a peer.
 * Lockfiles that do not record such flags (yarn) give none; pnpm 9 records no `dev` flag, so it
 * is worked out from the importers' `devDependencies` through the snapshot graph.
 *
 * Robustness: every value read from a file is checked before use, own properties only (keys
 * like `__proto__` or `constructor` are data, never prototype lookups), parsers are run with
 * limits against resource exhaustion (YAML aliases), and the YAML composer without its
 * quadratic duplicate-key check.
 */

/** More warnings than this for one file are summarised in a last line. */
const MAX_WARNINGS = 20;

const NPM_LOCKFILES = new Set(['package-lock.json', 'npm-shrinkwrap.json']);
const YARN_LOCK = 'yarn.lock';
const PNPM_LOCK = 'pnpm-lock.yaml';
/** Virtual stores whose entries hold their own `node_modules`: pnpm's, bun's isolated installs'. */
const VIRTUAL_STORES = new Set(['.pnpm', '.bun']);
/** yarn berry's pnpm linker's store: `node_modules/.store/<entry>/package/`. */
const YARN_STORE = '.store';

type Kind = 'installed' | 'npm-lock' | 'yarn-lock' | 'pnpm-lock';

function kindOf(path: string): Kind | undefined {
  const slash = path.lastIndexOf('/');
  const base = path.slice(slash + 1);
  if (base === 'package.json') return isInstalledManifest(path) ? 'installed' : undefined;
  let kind: Kind;
  if (NPM_LOCKFILES.has(base)) kind = 'npm-lock';
  else if (base === YARN_LOCK) kind = 'yarn-lock';
  else if (base === PNPM_LOCK) kind = 'pnpm-lock';
  else return undefined;
  // a lockfile shipped inside an installed package describes that package's development
  return path === base || !`/${path.slice(0, slash)}/`.includes('/node_modules/')
    ? kind
    : undefined;
}

/**
 * `<anything>/node_modules/<pkg>/package.json`, with any number of `/node_modules/<pkg>` before
 * the last, where `<pkg>` is `name` or `@scope/name`. Virtual stores may stand between a `node_modules` and the next: pnpm's and bun's
 * (`node_modules/.pnpm/<entry>/node_modules/<pkg>`, `.bun/...` alike), and yarn's pnpm linker's,
 * which ends there (`node_modules/.store/<entry>/package/package.json`). Anything else under
 * `node_modules` (`lib/package.json`, a package's own test fixtures with their own
 * `node_modules`) is not an installed package.
 */
function isInstalledManifest(path: string): boolean {
  const segs = path.split('/');
  let i = segs.indexOf('node_modules');
  if (i < 0) return false;
  const last = segs.length - 1; // `package.json`
  for (;;) {
    i++; // past a `node_modules`
    const seg = segs[i] ?? '';
    if (VIRTUAL_STORES.has(seg) && segs[i + 1] && segs[i + 2] === 'node_modules') {
      i += 2;
      continue;
    }
    if (seg === YARN_STORE && segs[i + 1] && segs[i + 2] === 'package') return i + 3 === last;
    if (seg.startsWith('@')) {
      if (!validName(`${seg}/${segs[i + 1] ?? ''}`)) return false;
      i += 2;
    } else {
      if (!validName(seg)) return false;
      i += 1;
    }
    if (i === last) return true;
    if (i > last || segs[i] !== 'node_modules') return false;
  }
}

/**
 * An npm package name: `name` or `@scope/name`, each part URL-safe as npm requires (legacy
 * upper-case names allowed), the name part not starting with `.` or `_`.
 */
function validName(name: string): boolean {
  if (name.length === 0 || name.length > 214) return false;
  let part = name;
  if (name.startsWith('@')) {
    const slash = name.indexOf('/');
    if (slash < 2) return false;
    const scope = name.slice(1, slash);
    if (encodeURIComponent(scope) !== scope) return false;
    part = name.slice(slash + 1);
  }
  return (
    part !== '' &&
    !part.startsWith('.') &&
    !part.startsWith('_') &&
    encodeURIComponent(part) === part
  );
}

// ---------------------------------------------------------------------------------------------
// Reading untrusted parsed data

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An own property only: never something inherited (`constructor`, a replaced prototype). */
function own(o: Obj, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

function ownString(o: Obj, key: string): string | undefined {
  const v = own(o, key);
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

function ownObj(o: Obj, key: string): Obj | undefined {
  const v = own(o, key);
  return isObj(v) ? v : undefined;
}

/** A parser's message on one line, short, without control characters. */
function brief(err: unknown): string {
  const msg = (err instanceof Error ? err.message : String(err))
    .replace(/\s+/g, ' ')
    .replace(/\p{Cc}/gu, '?')
    .trim();
  return msg.length > 200 ? `${msg.slice(0, 200)}…` : msg;
}

/** `name@range` → [name, range]; the `@` of a scope is not the separator. */
function splitAt(descriptor: string): [string, string] | undefined {
  const at = descriptor.indexOf('@', 1);
  if (at < 0) return undefined;
  return [descriptor.slice(0, at), descriptor.slice(at + 1)];
}

/** `license` (string, or the old `{ type }` object) or the old `licenses` array. */
function licensesOf(o: Obj): string[] | undefined {
  const one = (v: unknown): string | undefined => {
    if (typeof v === 'string') return v.trim() || undefined;
    if (isObj(v)) return ownString(v, 'type')?.trim();
    return undefined;
  };
  const license = one(own(o, 'license'));
  if (license !== undefined) return [license];
  const list = own(o, 'licenses');
  if (Array.isArray(list)) {
    const names = list.map(one).filter((s): s is string => s !== undefined);
    if (names.length > 0) return names;
  } else {
    const single = one(list); // `"licenses": "MIT"` or `{ type }` happens too
    if (single !== undefined) return [single];
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Collecting packages of one file

interface Flags {
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  peer?: boolean;
}

interface Entry {
  name: string;
  version: string;
  licenses?: string[];
  /** Every copy so far was dev-only / optional / dev-or-optional / peer. */
  dev: boolean;
  optional: boolean;
  devOrOptional: boolean;
  peer: boolean;
}

class Collector {
  readonly entries = new Map<string, Entry>();
  readonly warnings: string[] = [];
  private dropped = 0;

  constructor(readonly path: string) {}

  warn(message: string): void {
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push(`${this.path}: ${message}`);
    else this.dropped++;
  }

  add(name: string, version: string, flags: Flags = {}, licenses?: string[]): void {
    const dev = flags.dev === true;
    const optional = flags.optional === true;
    const devOrOptional = dev || optional || flags.devOptional === true;
    const peer = flags.peer === true;
    const key = `${name}@${version}`;
    const seen = this.entries.get(key);
    if (seen === undefined) {
      const entry: Entry = { name, version, dev, optional, devOrOptional, peer };
      if (licenses !== undefined) entry.licenses = licenses;
      this.entries.set(key, entry);
      return;
    }
    seen.dev &&= dev;
    seen.optional &&= optional;
    seen.devOrOptional &&= devOrOptional;
    seen.peer &&= peer;
    seen.licenses ??= licenses;
  }

  output(): AnalyzerOutput {
    const packages: AnalyzedPackage[] = [];
    for (const e of this.entries.values()) {
      const pkg: AnalyzedPackage = { type: 'npm', name: e.name, version: e.version };
      if (e.licenses !== undefined) pkg.licenses = e.licenses;
      const properties: Record<string, string> = {};
      if (e.dev) properties['npm:dev'] = 'true';
      if (e.optional) properties['npm:optional'] = 'true';
      if (e.devOrOptional && !e.dev && !e.optional) properties['npm:devOptional'] = 'true';
      if (e.peer) properties['npm:peer'] = 'true';
      if (Object.keys(properties).length > 0) pkg.properties = properties;
      packages.push(pkg);
    }
    const warnings = [...this.warnings];
    if (this.dropped > 0) warnings.push(`${this.path}: ${this.dropped} more warnings not shown`);
    return { packages, warnings };
  }
}

function parseJson(c: Collector, content: Buffer): unknown {
  let text = content.toString('utf8');
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    c.warn(`not valid JSON (${brief(err)}); skipped`);
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// node_modules/<name>/package.json

function analyzeInstalled(file: LayerFile): AnalyzerOutput {
  const c = new Collector(file.path);
  const json = parseJson(c, file.content);
  if (json === undefined) return c.output();
  if (!isObj(json)) {
    c.warn('package.json is not a JSON object; skipped');
    return c.output();
  }
  const name = ownString(json, 'name');
  const version = ownString(json, 'version');
  if (name === undefined || version === undefined) {
    c.warn(`package.json without ${name === undefined ? 'a name' : 'a version'}; skipped`);
  } else if (!validName(name)) {
    c.warn(`package.json names an invalid package ${JSON.stringify(name)}; skipped`);
  } else {
    const pkg: AnalyzedPackage = { type: 'npm', name, version };
    const licenses = licensesOf(json);
    if (licenses !== undefined) pkg.licenses = licenses;
    pkg.properties = { 'npm:installed': 'true' };
    return { packages: [pkg], warnings: c.warnings };
  }
  return c.output();
}

// ---------------------------------------------------------------------------------------------
// package-lock.json, npm-shrinkwrap.json

function analyzeNpmLock(file: LayerFile): AnalyzerOutput {
  const c = new Collector(file.path);
  const json = parseJson(c, file.content);
  if (json === undefined) return c.output();
  if (!isObj(json)) {
    c.warn('lockfile is not a JSON object; skipped');
    return c.output();
  }
  const packages = own(json, 'packages');
  const dependencies = own(json, 'dependencies');
  if (packages !== undefined) {
    // lockfileVersion 2 keeps v1's `dependencies` as well, for old npm: `packages` is the truth
    if (isObj(packages)) readPackages(c, packages);
    else c.warn('"packages" is not an object; skipped');
  } else if (dependencies !== undefined) {
    if (isObj(dependencies)) readDependencies(c, dependencies);
    else c.warn('"dependencies" is not an object; skipped');
  } else if (own(json, 'lockfileVersion') === undefined) {
    c.warn('no "lockfileVersion", "packages" or "dependencies": not an npm lockfile; skipped');
  }
  return c.output();
}

/** Flags as npm writes them on an entry (both lockfile formats). */
function flagsOf(entry: Obj): Flags {
  return {
    dev: own(entry, 'dev') === true,
    optional: own(entry, 'optional') === true,
    devOptional: own(entry, 'devOptional') === true,
    peer: own(entry, 'peer') === true,
  };
}

/** lockfileVersion 2 and 3: `packages`, keyed by install path. */
function readPackages(c: Collector, packages: Obj): void {
  for (const [key, entry] of Object.entries(packages)) {
    if (key === '') continue; // the project itself
    const segs = key.split('/');
    const nm = segs.lastIndexOf('node_modules');
    if (nm < 0) continue; // a workspace member or other local project: not a dependency
    const dirName = segs.slice(nm + 1).join('/');
    if (!isObj(entry)) {
      c.warn(`packages[${JSON.stringify(key)}] is not an object; skipped`);
      continue;
    }
    if (own(entry, 'link') === true) continue; // a symlink to a local directory
    // an alias (`"old": "npm:lodash@4"`) is installed under its alias and names the real package
    const name = ownString(entry, 'name') ?? dirName;
    if (!validName(name)) {
      c.warn(
        `packages[${JSON.stringify(key)}]: invalid package name ${JSON.stringify(name)}; skipped`,
      );
      continue;
    }
    const version = ownString(entry, 'version');
    if (version === undefined) {
      c.warn(`packages[${JSON.stringify(key)}]: no version; skipped`);
      continue;
    }
    c.add(name, version, flagsOf(entry), licensesOf(entry));
  }
}

/** lockfileVersion 1: `dependencies`, nested where npm nested the install. */
function readDependencies(c: Collector, top: Obj): void {
  // depth first in file order, without recursion (nesting depth is the file's to choose)
  const stack: [string, Obj][] = [['', top]];
  while (stack.length > 0) {
    const [parent, deps] = stack.pop()!;
    const children: [string, Obj][] = [];
    for (const [key, entry] of Object.entries(deps)) {
      const where = `${parent}dependencies[${JSON.stringify(key)}]`;
      if (!isObj(entry)) {
        c.warn(`${where} is not an object; skipped`);
        continue;
      }
      const nested = own(entry, 'dependencies');
      if (isObj(nested)) children.push([`${where}.`, nested]);
      const version = ownString(entry, 'version');
      if (version === undefined) {
        c.warn(`${where}: no version; skipped`);
        continue;
      }
      let name = key;
      let real = version;
      if (version.startsWith('npm:')) {
        // alias: `"old-lodash": { "version": "npm:lodash@4.17.10" }`
        const parts = splitAt(version.slice(4));
        if (parts === undefined) {
          c.warn(`${where}: unreadable alias version ${JSON.stringify(version)}; skipped`);
          continue;
        }
        [name, real] = parts;
      } else if (version.startsWith('file:') || version.startsWith('link:')) {
        continue; // a local directory (workspace member); its own dependencies are read
      }
      if (!validName(name)) {
        c.warn(`${where}: invalid package name ${JSON.stringify(name)}; skipped`);
        continue;
      }
      c.add(name, real, flagsOf(entry));
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
}

// ---------------------------------------------------------------------------------------------
// yarn.lock

/** Protocols of yarn berry resolutions that point at the project's own files. */
const YARN_LOCAL = ['workspace:', 'link:', 'portal:', 'file:', 'exec:'];
const YARN_V1_HEADER = '# yarn lockfile v1\n';

function analyzeYarnLock(file: LayerFile): AnalyzerOutput {
  const c = new Collector(file.path);
  const text = file.content.toString('utf8');
  // berry's lockfile is YAML and always starts with `__metadata`; yarn 1's is not YAML, and the
  // parser recognises it by its header comment, which is put in front in case it was lost
  const berry = /^__metadata:/m.test(text);
  let parsed: unknown;
  try {
    parsed = parseSyml(berry ? text : `${YARN_V1_HEADER}${text}`);
  } catch (err) {
    c.warn(`not a readable yarn.lock (${yarnError(err, berry ? 0 : 1)}); skipped`);
    return c.output();
  }
  if (!isObj(parsed)) {
    c.warn('yarn.lock is not a mapping; skipped');
    return c.output();
  }
  if (berry) readYarnBerry(c, parsed);
  else readYarnClassic(c, parsed);
  return c.output();
}

/**
 * A parse error of yarn's parsers with its line: the PEG parser's (yarn 1) has `location`, less
 * `headerLines` put in front; js-yaml's (berry) has `reason` and a 0-based `mark`.
 */
function yarnError(err: unknown, headerLines: number): string {
  if (!isObj(err)) return brief(err);
  const location = ownObj(err, 'location');
  const start = location && ownObj(location, 'start');
  const pegLine = start && own(start, 'line');
  if (typeof pegLine === 'number') return `${brief(err)} at line ${pegLine - headerLines}`;
  const reason = own(err, 'reason');
  const mark = ownObj(err, 'mark');
  const yamlLine = mark && own(mark, 'line');
  if (typeof reason === 'string' && typeof yamlLine === 'number') {
    return `${brief(reason)} at line ${yamlLine + 1}`;
  }
  return brief(err);
}

/**
 * yarn 1: one key per descriptor (`lodash@^4.17.15`; the parser splits `a@1, a@^1:` lines),
 * `version "4.17.21"` in the entry. The name is the descriptor's; an alias
 * (`old-lodash@npm:lodash@4.17.10`) names the real package after `npm:`.
 */
function readYarnClassic(c: Collector, lock: Obj): void {
  for (const [key, entry] of Object.entries(lock)) {
    const parts = splitAt(key);
    if (parts === undefined || !isObj(entry)) {
      c.warn(`entry ${JSON.stringify(key)} is not a "name@range" package entry; skipped`);
      continue;
    }
    let [name, range] = parts;
    if (range.startsWith('npm:') && range.includes('@', 5)) {
      const real = splitAt(range.slice(4));
      if (real !== undefined) [name, range] = real;
    }
    if (YARN_LOCAL.some((p) => range.startsWith(p))) continue;
    if (!validName(name)) {
      c.warn(`entry ${JSON.stringify(key)}: invalid package name; skipped`);
      continue;
    }
    const version = ownString(entry, 'version');
    if (version === undefined) {
      c.warn(`entry ${JSON.stringify(key)}: no version; skipped`);
      continue;
    }
    c.add(name, version);
  }
}

/**
 * yarn 2+: keys list descriptors (`"lodash@npm:^4.0.0, lodash@npm:^4.17.0"`); the entry's
 * `resolution` is the locator (`lodash@npm:4.17.21`) with the real name. `patch:` entries
 * repeat a package already resolved from `npm:` with yarn's compatibility patch applied.
 */
function readYarnBerry(c: Collector, lock: Obj): void {
  for (const [key, entry] of Object.entries(lock)) {
    if (key === '__metadata') continue;
    if (!isObj(entry)) {
      c.warn(`entry ${JSON.stringify(key)} is not a mapping; skipped`);
      continue;
    }
    const resolution = ownString(entry, 'resolution');
    const locator = resolution === undefined ? undefined : splitAt(resolution);
    if (locator === undefined) {
      c.warn(`entry ${JSON.stringify(key)}: no "name@reference" resolution; skipped`);
      continue;
    }
    const [name, reference] = locator;
    if (reference.startsWith('patch:') || YARN_LOCAL.some((p) => reference.startsWith(p))) {
      continue;
    }
    if (!validName(name)) {
      c.warn(`entry ${JSON.stringify(key)}: invalid package name ${JSON.stringify(name)}; skipped`);
      continue;
    }
    const version =
      ownString(entry, 'version') ??
      (reference.startsWith('npm:') && reference.length > 4 ? reference.slice(4) : undefined);
    if (version === undefined) {
      c.warn(`entry ${JSON.stringify(key)}: no version; skipped`);
      continue;
    }
    c.add(name, version);
  }
}

// ---------------------------------------------------------------------------------------------
// pnpm-lock.yaml

function analyzePnpmLock(file: LayerFile): AnalyzerOutput {
  const c = new Collector(file.path);
  const text = file.content.toString('utf8');
  const docs: unknown[] = [];
  try {
    // pnpm 9.7+ may put an "env" lockfile document before the main one: both are read.
    // uniqueKeys off: the duplicate-key check is quadratic in the size of a mapping.
    const parsed = parseAllDocuments(text, {
      uniqueKeys: false,
      prettyErrors: false,
    });
    for (const doc of parsed) {
      const error = doc.errors[0];
      if (error !== undefined) throw error;
      docs.push(doc.toJS({ maxAliasCount: 100 }));
    }
  } catch (err) {
    // the library's own line numbers (`prettyErrors`) cost a scan of the text per error
    const at = err instanceof YAMLError ? ` at line ${lineOf(text, err.pos[0])}` : '';
    c.warn(`not valid YAML (${brief(err)}${at}); skipped`);
    return c.output();
  }
  for (const doc of docs) {
    if (doc === null || doc === undefined) continue;
    if (!isObj(doc)) {
      c.warn('pnpm-lock.yaml is not a mapping; skipped');
      continue;
    }
    readPnpm(c, doc);
  }
  return c.output();
}

/** 1-based line of a character offset. */
function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** `5.4` → 5, `'6.0'` → 6, `'9.0'` → 9; undefined when absent or unreadable. */
function pnpmMajor(lock: Obj): number | undefined {
  const v = own(lock, 'lockfileVersion');
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number.parseFloat(v) : NaN;
  return Number.isFinite(n) ? Math.floor(n) : undefined;
}

/**
 * A `packages` / `snapshots` key → name and version, peer suffixes dropped:
 *   5.x  `/lodash/4.17.21`, `/@babel/core/7.0.0`, `/use-sync-external-store/1.2.0_react@18.3.1`
 *   6.0  `/lodash@4.17.21`, `/use-sync-external-store@1.2.0(react@18.3.1)`
 *   9.0  `lodash@4.17.21`,  `use-sync-external-store@1.2.0(react@18.3.1)`
 * Keys of packages not from a registry (`github.com/user/repo/<sha>`,
 * `foo@https://codeload.github.com/...`) give a name but no usable version: their entries carry
 * `name` and `version` fields.
 */
function parsePnpmKey(key: string, major: number | undefined): [string, string] | undefined {
  const k = key.startsWith('/') ? key.slice(1) : key;
  // without a lockfileVersion, the form shows: a name directly followed by `@`
  const slashForm = major !== undefined ? major < 6 : !NAME_AT.test(k);
  if (slashForm) {
    const segs = k.split('/');
    const scoped = segs[0]?.startsWith('@') === true;
    const name = scoped ? `${segs[0]}/${segs[1] ?? ''}` : (segs[0] ?? '');
    const rest = segs.slice(scoped ? 2 : 1);
    if (rest.length !== 1) return undefined;
    const version = rest[0]!.split('_')[0]!;
    return version === '' ? undefined : [name, version];
  }
  const paren = k.indexOf('(');
  const parts = splitAt(paren >= 0 ? k.slice(0, paren) : k);
  if (parts === undefined || parts[1] === '') return undefined;
  return parts;
}

/** `name@` or `@scope/name@` at the start: not a bare version (`1.2.0(react@18.3.1)`) or URL. */
const NAME_AT = /^(?:@[^/@:(]+\/)?[^/@:(]+@/;

function readPnpm(c: Collector, lock: Obj): void {
  const major = pnpmMajor(lock);
  const packages = own(lock, 'packages');
  if (packages === undefined) {
    // a project without dependencies has no `packages`, but it has a lockfileVersion
    if (own(lock, 'lockfileVersion') === undefined) {
      c.warn('no "lockfileVersion" or "packages": not a pnpm lockfile; skipped');
    }
    return;
  }
  if (!isObj(packages)) {
    c.warn('"packages" is not a mapping; skipped');
    return;
  }
  const snapshots = ownObj(lock, 'snapshots');
  // pnpm 9 moved dev/optional out of `packages`: dev from the importers, optional from snapshots
  const derived = snapshots !== undefined ? pnpmDerivedFlags(lock, snapshots, major) : undefined;

  for (const [key, entry] of Object.entries(packages)) {
    if (!isObj(entry)) {
      c.warn(`packages[${JSON.stringify(key)}] is not a mapping; skipped`);
      continue;
    }
    const resolution = ownObj(entry, 'resolution');
    if (resolution !== undefined && own(resolution, 'directory') !== undefined) continue; // local
    const fromKey = parsePnpmKey(key, major);
    const name = ownString(entry, 'name') ?? fromKey?.[0];
    const version = ownString(entry, 'version') ?? fromKey?.[1];
    if (name === undefined || version === undefined) {
      c.warn(`packages[${JSON.stringify(key)}]: no name and version; skipped`);
      continue;
    }
    if (!validName(name)) {
      c.warn(
        `packages[${JSON.stringify(key)}]: invalid package name ${JSON.stringify(name)}; skipped`,
      );
      continue;
    }
    let flags: Flags;
    if (derived !== undefined) {
      const id = fromKey === undefined ? key : `${fromKey[0]}@${fromKey[1]}`;
      flags = { dev: derived.dev.has(id), optional: derived.optional.has(id) };
    } else {
      // 5.x, 6.0: `dev: true` dev only, `dev: false` production only, absent both
      flags = { dev: own(entry, 'dev') === true, optional: own(entry, 'optional') === true };
    }
    c.add(name, version, flags);
  }
}

/** The dependency maps of an importer or snapshot that pnpm installs. */
const PROD_FIELDS = ['dependencies', 'optionalDependencies'];

/**
 * pnpm 9: which packages (`name@version`, no peer suffix) are dev-only — reached from some
 * importer's `devDependencies` and from no importer's `dependencies`/`optionalDependencies` —
 * and which are optional (every snapshot of it says `optional: true`). An importer's
 * dependency is `{ specifier, version }` where version is `1.2.0`, `1.2.0(react@18.3.1)`,
 * `lodash@4.17.10` (an alias) or `link:../x` (a workspace); a snapshot's dependencies map a
 * name to the same forms.
 */
function pnpmDerivedFlags(
  lock: Obj,
  snapshots: Obj,
  major: number | undefined,
): { dev: Set<string>; optional: Set<string> } {
  const snapshotKey = (name: string, ref: unknown): string | undefined => {
    const v = isObj(ref) ? own(ref, 'version') : ref;
    if (typeof v !== 'string' || v === '' || v.startsWith('link:')) return undefined;
    // an alias or a non-registry package is written as a whole `name@...` key
    return NAME_AT.test(v) ? v : `${name}@${v}`;
  };
  const walk = (roots: string[]): Set<string> => {
    const seen = new Set<string>();
    const queue = [...roots];
    while (queue.length > 0) {
      const key = queue.pop()!;
      if (seen.has(key)) continue;
      seen.add(key);
      const snap = own(snapshots, key);
      if (!isObj(snap)) continue;
      for (const field of PROD_FIELDS) {
        const deps = ownObj(snap, field);
        if (deps === undefined) continue;
        for (const [depName, ref] of Object.entries(deps)) {
          const next = snapshotKey(depName, ref);
          if (next !== undefined && !seen.has(next)) queue.push(next);
        }
      }
    }
    const ids = new Set<string>();
    for (const key of seen) {
      const parsed = parsePnpmKey(key, major);
      ids.add(parsed === undefined ? key : `${parsed[0]}@${parsed[1]}`);
    }
    return ids;
  };

  const prodRoots: string[] = [];
  const devRoots: string[] = [];
  const importers = ownObj(lock, 'importers');
  for (const importer of importers === undefined ? [] : Object.values(importers)) {
    if (!isObj(importer)) continue;
    for (const [field, roots] of [
      ['dependencies', prodRoots],
      ['optionalDependencies', prodRoots],
      ['devDependencies', devRoots],
    ] as const) {
      const deps = ownObj(importer, field);
      if (deps === undefined) continue;
      for (const [depName, ref] of Object.entries(deps)) {
        const key = snapshotKey(depName, ref);
        if (key !== undefined) roots.push(key);
      }
    }
  }
  const prod = walk(prodRoots);
  const dev = new Set([...walk(devRoots)].filter((id) => !prod.has(id)));

  const optionalSeen = new Map<string, boolean>();
  for (const [key, snap] of Object.entries(snapshots)) {
    const parsed = parsePnpmKey(key, major);
    const id = parsed === undefined ? key : `${parsed[0]}@${parsed[1]}`;
    const optional = isObj(snap) && own(snap, 'optional') === true;
    optionalSeen.set(id, (optionalSeen.get(id) ?? true) && optional);
  }
  const optional = new Set([...optionalSeen].filter(([, o]) => o).map(([id]) => id));
  return { dev, optional };
}

// ---------------------------------------------------------------------------------------------

export const npmAnalyzer: Analyzer = {
  id: 'npm',
  version: 1,
  wants(path) {
    return kindOf(path) !== undefined;
  },
  analyze(file: LayerFile): AnalyzerOutput {
    switch (kindOf(file.path)) {
      case 'installed':
        return analyzeInstalled(file);
      case 'npm-lock':
        return analyzeNpmLock(file);
      case 'yarn-lock':
        return analyzeYarnLock(file);
      case 'pnpm-lock':
        return analyzePnpmLock(file);
      default:
        throw new Error(`${file.path}: not an npm package.json or lockfile`);
    }
  },
};
