import { FileWarnings, type Analyzer, type AnalyzerOutput, type LayerFile } from '../analyzer.js';
import type { AnalyzedPackage } from '../types.js';

/**
 * Installed Python distributions, from their core metadata
 * (https://packaging.python.org/en/latest/specifications/core-metadata/):
 *
 * - `<name>-<version>.dist-info/METADATA` (wheels, pip, uv, Debian's own builds),
 * - `<name>.egg-info/PKG-INFO` (setuptools' directory form),
 * - `<name>.egg-info` as a file (distutils' single-file form: the file *is* the PKG-INFO),
 * - `<name>.egg/EGG-INFO/PKG-INFO` (an unzipped egg, as easy_install left them),
 *
 * anywhere below a `site-packages/` or `dist-packages/` directory, whatever its prefix
 * (`usr/lib/python3/dist-packages`, `usr/local/lib/python3.12/site-packages`, a virtualenv under
 * `opt/venv`, ...). Metadata found deeper than directly in that directory belongs to a copy
 * another package vendors (setuptools ships `setuptools/_vendor/packaging-24.2.dist-info`) or to a
 * package's test data; it is still reported (vendored code is installed code), with
 * `python:vendored-in` naming the directory it sits in, relative to site-packages.
 *
 * Names and versions are reported as the metadata writes them: PEP 503 normalisation is the purl
 * writer's job. The format is RFC 822 headers as Python's `email` parser reads them (what
 * `importlib.metadata` uses): `Field: value` lines, continuation lines starting with a space or a
 * tab, headers ending at the first empty line (the description body follows and is ignored).
 * Field names are case-insensitive; of a repeated field the first counts, as in `importlib`.
 *
 * Licences, first that applies: `License-Expression` (an SPDX expression, metadata 2.4), else
 * `License` when it is one line and not `UNKNOWN` (many packages put the whole licence text in it:
 * several lines are a text, not a name), else the leaves of `Classifier: License :: ...` lines
 * (`License :: OSI Approved :: MIT License` → `MIT License`).
 *
 * dpkg: Debian and Ubuntu install their `python3-*` packages in `usr/lib/python3/dist-packages`
 * (and Python 2 ones in `usr/lib/python2.X/dist-packages`), while pip on those systems writes to
 * `usr/local/lib/python3.X/dist-packages` and virtualenvs use `site-packages`. Packages under the
 * former are marked `python:installer: dpkg`, so that the matcher can prefer the distribution's
 * advisories (which know about backported fixes). This rule is by path only: the analyzer sees one
 * file at a time, so it cannot read the sibling `INSTALLER` file (pip writes `pip` there; Debian's
 * builds write none). A `pip install --prefix=/usr` or `--break-system-packages` into that
 * directory is therefore also marked dpkg.
 */

/** Paths where Debian and Ubuntu keep the Python packages dpkg installs. */
const DPKG_DIRS = /^usr\/lib\/python(?:3|2\.\d+)\/dist-packages\//;
const SITE_DIRS = new Set(['site-packages', 'dist-packages']);

/** More warnings than this for one file are summarised in a last line. */

interface MetadataLocation {
  /** Directories between site-packages and the metadata (`setuptools/_vendor`), or ''. */
  vendoredIn: string;
}

/** Where a path sits, when it is core metadata below a site-packages directory. */
function locate(path: string): MetadataLocation | undefined {
  const parts = path.split('/');
  // the innermost site-packages directory counts (a venv copied inside another one)
  let site = -1;
  for (let i = parts.length - 2; i >= 0; i--) {
    if (SITE_DIRS.has(parts[i]!)) {
      site = i;
      break;
    }
  }
  if (site < 0) return undefined;
  const rest = parts.slice(site + 1);
  const last = rest.at(-1)!;
  const parent = rest.at(-2);
  const named = (dir: string | undefined, suffix: string) =>
    dir !== undefined && dir.length > suffix.length && dir.endsWith(suffix);
  let depth: number; // how many trailing path parts are the metadata itself
  if (last === 'METADATA' && named(parent, '.dist-info')) depth = 2;
  else if (last === 'PKG-INFO' && named(parent, '.egg-info')) depth = 2;
  else if (last === 'PKG-INFO' && parent === 'EGG-INFO' && named(rest.at(-3), '.egg')) depth = 3;
  else if (named(last, '.egg-info')) depth = 1;
  else return undefined;
  return { vendoredIn: rest.slice(0, rest.length - depth).join('/') };
}

/** A header field name as Python's `email` parser accepts one: printable ASCII but `:`. */
const HEADER = /^([\x21-\x39\x3b-\x7e]+):(.*)$/;

interface Headers {
  /** Lower-case field name → values in file order; continuation lines joined with `\n`. */
  fields: Map<string, string[]>;
  warnings: string[];
}

/** Read the header block of a core metadata file (see the module comment). */
function parseHeaders(text: string, path: string): Headers {
  const fields = new Map<string, string[]>();
  const limited = new FileWarnings(path);
  const warnings = limited.list;
  const warn = (message: string) => limited.add(`${path}: ${message}`);
  const lines = text.split(/\r\n|\r|\n/);
  // a trailing newline leaves one empty string after the split: it is not a blank line
  const ended = lines.length > 1 && lines.at(-1) === '';
  if (ended) lines.pop();
  let last: string[] | undefined;
  let closed = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') {
      closed = true;
      break;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (last === undefined) warn(`line ${i + 1}: continuation line before any field; ignored`);
      else last[last.length - 1] += `\n${line}`;
      continue;
    }
    if (i === 0 && line.startsWith('From ')) continue; // an mbox "From " line, as email allows
    const m = HEADER.exec(line);
    if (!m) {
      // Python's parser ends the headers here and reads the rest as the description
      warn(`line ${i + 1}: not a "Field: value" line; the rest of the file is not read`);
      closed = true;
      break;
    }
    const name = m[1]!.toLowerCase();
    let values = fields.get(name);
    if (values === undefined) fields.set(name, (values = []));
    values.push(m[2]!.replace(/^[ \t]+/, ''));
    last = values;
  }
  if (!closed && !ended && text !== '') {
    warn('the header block ends without a newline; the file may be truncated');
  }
  limited.done();
  return { fields, warnings };
}

function first(fields: Map<string, string[]>, name: string): string | undefined {
  const value = fields.get(name)?.[0]?.trim();
  return value === '' ? undefined : value;
}

function licensesOf(fields: Map<string, string[]>): string[] | undefined {
  const expression = first(fields, 'license-expression');
  if (expression !== undefined) return [expression];
  const license = first(fields, 'license');
  if (license !== undefined && !license.includes('\n') && license.toUpperCase() !== 'UNKNOWN') {
    return [license];
  }
  const names: string[] = [];
  for (const classifier of fields.get('classifier') ?? []) {
    const parts = classifier.split('::').map((p) => p.trim());
    if (parts[0] !== 'License' || parts.length < 2) continue;
    const leaf = parts.at(-1)!;
    // `License :: OSI Approved` alone says nothing about which licence
    if (leaf === '' || (parts.length === 2 && leaf === 'OSI Approved')) continue;
    if (!names.includes(leaf)) names.push(leaf);
  }
  return names.length > 0 ? names : undefined;
}

function decode(content: Buffer, path: string, warnings: string[]): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(content);
  } catch {
    warnings.push(`${path}: not valid UTF-8; undecodable bytes replaced`);
    text = content.toString('utf8');
  }
  return text.startsWith('\ufeff') ? text.slice(1) : text;
}

export const pythonAnalyzer: Analyzer = {
  id: 'python',
  version: 1,
  wants(path) {
    return locate(path) !== undefined;
  },
  analyze(file: LayerFile): AnalyzerOutput {
    const warnings: string[] = [];
    const text = decode(file.content, file.path, warnings);
    const headers = parseHeaders(text, file.path);
    warnings.push(...headers.warnings);
    const { fields } = headers;

    const name = first(fields, 'name');
    const version = first(fields, 'version');
    if (name === undefined || version === undefined) {
      const missing = [name === undefined && 'Name', version === undefined && 'Version'];
      warnings.push(
        `${file.path}: metadata without ${missing.filter(Boolean).join(' or ')}; no package read`,
      );
      return { packages: [], warnings };
    }
    if (first(fields, 'metadata-version') === undefined) {
      warnings.push(`${file.path}: no Metadata-Version field; damaged or not core metadata?`);
    }

    const pkg: AnalyzedPackage = { type: 'pypi', name, version };
    const licenses = licensesOf(fields);
    if (licenses) pkg.licenses = licenses;
    const properties: Record<string, string> = {};
    if (DPKG_DIRS.test(file.path)) properties['python:installer'] = 'dpkg';
    const vendoredIn = locate(file.path)?.vendoredIn;
    if (vendoredIn) properties['python:vendored-in'] = vendoredIn;
    if (Object.keys(properties).length > 0) pkg.properties = properties;
    return { packages: [pkg], warnings };
  },
};
