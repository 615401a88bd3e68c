import { FileWarnings, type Analyzer, type AnalyzerOutput, type LayerFile } from '../analyzer.js';
import type { AnalyzedPackage } from '../types.js';

/**
 * .NET dependencies: the `<app>.deps.json` the .NET SDK writes next to every built or published
 * application, and that the runtime reads to load it (dotnet/sdk
 * `documentation/specs/runtime-configuration-file.md`). The shared frameworks carry one too
 * (`usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.11/Microsoft.NETCore.App.deps.json`), where
 * the runtime pack is listed as an ordinary package.
 *
 * Every entry of `libraries` is keyed `Name/Version`:
 * - `type: "package"`: a NuGet package → reported, name and version from the key.
 * - `type: "runtimepack"`: the .NET runtime bundled into a self-contained app, keyed
 *   `runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.0` → reported under the NuGet id
 *   without the `runtimepack.` prefix (the id advisories for the runtime name), with
 *   `dotnet:library-type: runtimepack`.
 * - `type: "project"` (the app and its project references) and `reference` (plain assemblies):
 *   not NuGet packages, skipped.
 *
 * A package whose entry in the runtime target (`targets[runtimeTarget.name]`) has no `runtime`,
 * `native` or `runtimeTargets` assets, or is marked `compileOnly`, contributes no code the app
 * loads: the old `System.*` packages a .NET Standard graph pulls in, which the framework
 * supersedes, are the usual case, and a known source of false positives. They are still reported
 * (they are in the dependency graph), marked `dotnet:runtime-assets: none`. When the file names
 * no runtime target, or the target lacks the entry, nothing is marked. `serviceable`, `sha512` and
 * `path` are not kept.
 *
 * Bad JSON or an unexpected shape gives a warning and no packages. Keys come from the file and are
 * read as data (`Object.entries`, `Object.hasOwn`), so `__proto__` keys do no harm.
 */

const SUFFIX = '.deps.json';
const RUNTIMEPACK_PREFIX = 'runtimepack.';
const CODE_ASSETS = ['runtime', 'native', 'runtimeTargets'];

/** More warnings than this for one file are summarised in a last line. */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function own(obj: Record<string, Json>, key: string): Json | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** A value from the file for a warning: quoted, and cut short when long. */
function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

/** The runtime target's entries, when the file names one that exists. */
function runtimeTarget(doc: Record<string, Json>): Record<string, Json> | undefined {
  const rt = own(doc, 'runtimeTarget');
  const name = isObject(rt) ? own(rt, 'name') : undefined;
  const targets = own(doc, 'targets');
  if (typeof name !== 'string' || !isObject(targets)) return undefined;
  const target = own(targets, name);
  return isObject(target) ? target : undefined;
}

/** Whether a target entry gives the app code to load. */
function hasRuntimeAssets(entry: Record<string, Json>): boolean {
  if (own(entry, 'compileOnly') === true) return false;
  return CODE_ASSETS.some((k) => {
    const assets = own(entry, k);
    return isObject(assets) && Object.keys(assets).length > 0;
  });
}

export const dotnetAnalyzer: Analyzer = {
  id: 'dotnet',
  version: 1,
  wants(path) {
    const base = path.slice(path.lastIndexOf('/') + 1);
    return base.length > SUFFIX.length && base.endsWith(SUFFIX);
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
    const libraries = isObject(doc) ? own(doc, 'libraries') : undefined;
    if (!isObject(doc) || !isObject(libraries)) {
      warn('not a deps.json: no "libraries" object');
      return done([]);
    }
    const target = runtimeTarget(doc);

    const packages: AnalyzedPackage[] = [];
    for (const [key, library] of Object.entries(libraries)) {
      if (!isObject(library)) {
        warn(`library ${quote(key)} is not an object; skipped`);
        continue;
      }
      const type = own(library, 'type');
      if (typeof type !== 'string') {
        warn(`library ${quote(key)} has no type; skipped`);
        continue;
      }
      if (type !== 'package' && type !== 'runtimepack') continue; // project, reference, ...
      const slash = key.indexOf('/');
      let name = key.slice(0, slash).trim();
      const version = key.slice(slash + 1).trim();
      if (slash <= 0 || name === '' || version === '' || version.includes('/')) {
        warn(`library ${quote(key)} is not keyed "Name/Version"; skipped`);
        continue;
      }
      const properties: Record<string, string> = {};
      if (type === 'runtimepack') {
        properties['dotnet:library-type'] = 'runtimepack';
        if (name.startsWith(RUNTIMEPACK_PREFIX) && name.length > RUNTIMEPACK_PREFIX.length) {
          name = name.slice(RUNTIMEPACK_PREFIX.length);
        }
      }
      const entry = target ? own(target, key) : undefined;
      if (isObject(entry) && !hasRuntimeAssets(entry)) properties['dotnet:runtime-assets'] = 'none';
      const pkg: AnalyzedPackage = { type: 'nuget', name, version };
      if (Object.keys(properties).length > 0) pkg.properties = properties;
      packages.push(pkg);
    }
    return done(packages);
  },
};
