import type { Advisory, AdvisoryIndex, OsvAffected } from '../advisories/osv.js';
import { OS_PACKAGE_TYPES, type Inventory, type Package } from '../inventory/types.js';
import { evaluate, type AffectMatch, type AffectResult } from './affects.js';
import { distroEcosystems, type DistroEcosystems } from './distro.js';
import { severityFor } from './severity.js';
import type { FixState, Finding, MatchExplanation } from './types.js';

/**
 * Inventory × advisories → findings. Pure: no I/O, the same inputs give the same findings in the
 * same order.
 *
 * OS packages are looked up in the ecosystems of the image's distribution (see distro.ts) by the
 * name advisories use for them, the source package, and reported under the installed (binary)
 * package:
 * - deb (Debian, Ubuntu): the `Source:` package and its version (a binNMU's `+bN` is not in it);
 * - apk: the origin, at the package's own version (subpackages share their origin's version);
 * - rpm: the source rpm's name, at the binary package's full `[epoch:]version-release` (the
 *   source rpm file name has no epoch; a source and its binaries share epoch, version, release).
 * The binary name is tried as well when it differs (some records key binaries). Per advisory, the
 * first (name, ecosystem tier) under which the advisory lists the package decides: a source entry
 * saying "fixed" is not overruled by a binary entry, nor a standard Ubuntu entry by a Pro one.
 * One finding per (package, advisory).
 *
 * Language packages map from their purl type to an OSV ecosystem (LANGUAGE_ECOSYSTEMS); their
 * package types do not exist in the inventory yet, so today every package is an OS package.
 *
 * Fix state: `fixed` when a matching range has a `fixed` event above the installed version (the
 * fixed versions are those); else the entry's `database_specific.fix_state` when it is
 * `not_fixed` or `wont_fix` (regscan's Debian converter writes them); else `not_fixed` when the
 * matching range is open-ended (only `introduced`, no `fixed`, `last_affected` or `limit`); else
 * `unknown` (a `last_affected` ceiling or a versions-list match says nothing about a fix).
 */

export interface MatchOptions {
  /**
   * The OSV ecosystems of the OS packages, instead of deriving them from `inventory.distro` (for
   * distributions regscan does not map, or to pin a release).
   */
  osEcosystems?: DistroEcosystems;
}

export interface MatchResult {
  findings: Finding[];
  warnings: string[];
}

/** purl type → OSV ecosystem, for language packages. Adding an ecosystem is one line here. */
export const LANGUAGE_ECOSYSTEMS: Readonly<Record<string, string>> = {
  npm: 'npm',
  pypi: 'PyPI',
  golang: 'Go',
  maven: 'Maven',
  gem: 'RubyGems',
  cargo: 'crates.io',
  nuget: 'NuGet',
  composer: 'Packagist',
};

/** A name and version to look a package up by. */
interface Candidate {
  name: string;
  version: string;
  viaSource: boolean;
}

export function matchInventory(
  inventory: Inventory,
  index: AdvisoryIndex,
  options: MatchOptions = {},
): MatchResult {
  const warnings = new Set<string>();
  const findings: Finding[] = [];
  const os = osEcosystems(inventory, options, warnings);

  for (const pkg of inventory.packages) {
    const isOs = OS_PACKAGE_TYPES.has(pkg.type);
    let tiers: string[][];
    if (isOs) {
      if (!os) continue;
      if (os.packageType !== pkg.type) {
        warnings.add(
          `${pkg.type} package ${JSON.stringify(pkg.name)}: the distribution's packages are ${os.packageType}; not matched`,
        );
        continue;
      }
      tiers = os.tiers;
    } else {
      // runtimes as generic components have no advisory ecosystem of their own
      if (pkg.type === 'generic') continue;
      const ecosystem = LANGUAGE_ECOSYSTEMS[pkg.type];
      if (!ecosystem) {
        warnings.add(`no advisory ecosystem for package type ${JSON.stringify(pkg.type)}`);
        continue;
      }
      tiers = [[ecosystem]];
    }
    findings.push(...matchPackage(pkg, isOs, tiers, index, warnings));
  }

  findings.sort(compareFindings);
  return { findings, warnings: [...warnings] };
}

function osEcosystems(
  inventory: Inventory,
  options: MatchOptions,
  warnings: Set<string>,
): DistroEcosystems | undefined {
  if (options.osEcosystems) return options.osEcosystems;
  const hasOsPackages = inventory.packages.some((p) => OS_PACKAGE_TYPES.has(p.type));
  if (!hasOsPackages) return undefined;
  if (!inventory.distro) {
    warnings.add('no distribution found (os-release): OS packages not matched');
    return undefined;
  }
  const mapping = distroEcosystems(inventory.distro);
  if (!mapping.supported) {
    warnings.add(`${mapping.reason}: OS packages not matched`);
    return undefined;
  }
  return { packageType: mapping.packageType, tiers: mapping.tiers };
}

/** The names and versions an OS or language package is looked up by, the decisive one first. */
function candidatesFor(pkg: Package, isOs: boolean): Candidate[] {
  const binary: Candidate = { name: pkg.name, version: pkg.version, viaSource: false };
  if (!isOs || !pkg.source) return [binary];
  const sourceVersion = pkg.type === 'deb' ? (pkg.source.version ?? pkg.version) : pkg.version;
  if (pkg.source.name === pkg.name && sourceVersion === pkg.version) return [binary];
  const source: Candidate = { name: pkg.source.name, version: sourceVersion, viaSource: true };
  return pkg.source.name === pkg.name ? [source] : [source, binary];
}

function matchPackage(
  pkg: Package,
  isOs: boolean,
  tiers: string[][],
  index: AdvisoryIndex,
  warnings: Set<string>,
): Finding[] {
  /** Advisories already decided for this package: listed under an earlier name or tier. */
  const decided = new Set<string>();
  const found: Finding[] = [];

  for (const candidate of candidatesFor(pkg, isOs)) {
    for (const tier of tiers) {
      const listedHere = new Set<string>();
      for (const ecosystem of tier) {
        for (const advisory of index.forPackage(ecosystem, candidate.name)) {
          if (decided.has(advisory.id)) continue;
          const query = { ecosystem, name: candidate.name, version: candidate.version };
          const result = evaluate(advisory, query);
          for (const w of result.warnings) warnings.add(w);
          if (result.listed) listedHere.add(advisory.id);
          if (!result.affected || found.some((f) => f.advisoryId === advisory.id)) continue;
          found.push(toFinding(pkg, isOs, advisory, ecosystem, candidate, result));
        }
      }
      for (const id of listedHere) decided.add(id);
    }
  }
  return found;
}

function toFinding(
  pkg: Package,
  isOs: boolean,
  advisory: Advisory,
  ecosystem: string,
  candidate: Candidate,
  result: AffectResult,
): Finding {
  const { matches, fixedVersions } = result;
  const entries = unique(matches.map((m) => m.affected));
  const severity = severityFor(advisory, entries, { osPackage: isOs });
  const first = matches.find((m) => m.range) ?? matches[0];
  const explanation: MatchExplanation = {
    advisoryId: advisory.id,
    ecosystem,
    searchedName: candidate.name,
    viaSource: candidate.viaSource,
    searchedVersion: candidate.version,
  };
  if (first?.range) explanation.range = first.range;
  if (matches.some((m) => m.versionsListed)) explanation.versionsListed = true;

  const finding: Finding = {
    package: pkg,
    advisoryId: advisory.id,
    identifiers: identifiersOf(advisory),
    severity: severity.level,
    severitySource: severity.source,
    cvss: severity.cvss,
    installedVersion: pkg.version,
    fixedVersions,
    fixState: fixStateOf(fixedVersions, matches, entries),
    references: unique((advisory.references ?? []).map((r) => r?.url).filter(isString)),
    modified: advisory.modified,
    explanation,
  };
  if (advisory.summary !== undefined) finding.summary = advisory.summary;
  if (advisory.details !== undefined) finding.details = advisory.details;
  const raw = [...(advisory.severity ?? []), ...entries.flatMap((a) => a.severity ?? [])];
  if (raw.length > 0) finding.rawSeverity = raw;
  if (advisory.published !== undefined) finding.published = advisory.published;
  return finding;
}

function fixStateOf(
  fixedVersions: string[],
  matches: AffectMatch[],
  entries: OsvAffected[],
): FixState {
  if (fixedVersions.length > 0) return 'fixed';
  for (const a of entries) {
    const state = a.database_specific?.fix_state;
    if (state === 'wont_fix' || state === 'not_fixed') return state;
  }
  const open = matches.some((m) => m.range && !m.hasFixedEvent && !m.hasUpperBound);
  return open ? 'not_fixed' : 'unknown';
}

/**
 * The advisory id with its aliases and upstream ids (Ubuntu and Chainguard records name the CVE
 * there rather than in `aliases`): CVE ids first, then the advisory id, then the others, each once.
 */
export function identifiersOf(advisory: Advisory): string[] {
  const all = unique(
    [advisory.id, ...(advisory.aliases ?? []), ...(advisory.upstream ?? [])].filter(isString),
  );
  const isCve = (id: string): boolean => /^CVE-\d{4}-\d+$/.test(id);
  return [...all.filter(isCve), ...all.filter((id) => !isCve(id))];
}

function compareFindings(a: Finding, b: Finding): number {
  return (
    compareText(a.package.name, b.package.name) ||
    compareText(a.package.version, b.package.version) ||
    compareText(a.package.arch ?? '', b.package.arch ?? '') ||
    compareText(a.package.path, b.package.path) ||
    compareText(a.package.layer, b.package.layer) ||
    compareText(a.advisoryId, b.advisoryId)
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

function isString(x: unknown): x is string {
  return typeof x === 'string';
}
