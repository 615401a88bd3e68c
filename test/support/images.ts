import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import {
  access,
  mkdir,
  open,
  readdir,
  readFile,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The real test images (built by test/images/build.sh from real Debian packages) and their ground
 * truth. The build output lives in a machine-wide cache keyed by the content of build.sh, so clean
 * clones and CI runs on the same machine reuse it; the first build takes a few minutes.
 */

export const BUILD_SCRIPT = fileURLToPath(new URL('../images/build.sh', import.meta.url));

/** Tags of single-platform images in the OCI layout. */
export type ImageTag = 'base' | 'base-jq' | 'base-zstd' | 'distroless' | 'base-arm64' | AppImageTag;
/**
 * Images with application packages (all amd64, on top of `base`):
 * - `node-app`: + Debian nodejs + `/app` (package.json, package-lock.json v3, node_modules) from a
 *   real `npm install lodash@4.17.15 minimist@1.2.0 express@4.17.1`; truth `npm`
 * - `python-app`: + Debian python3, python3-venv, python3-requests, python3-yaml + `/opt/venv`
 *   (`--system-site-packages`, pip-installed wheel); truth `pypi`
 * - `go-java-app`: + `/usr/local/bin/umoci` (Debian's, a Go binary built without modules: `path`
 *   but no `mod`/`dep`), `/usr/local/bin/esbuild` (npm's, with module info) and two jars in
 *   `/opt/app/lib/`; truths `gomod` and `maven`
 */
export type AppImageTag = 'node-app' | 'python-app' | 'go-java-app';
export const IMAGE_TAGS: readonly ImageTag[] = [
  'base',
  'base-jq',
  'base-zstd',
  'distroless',
  'base-arm64',
  'node-app',
  'python-app',
  'go-java-app',
];
/** Kinds of application ground truth (see `TestImage.truth`). */
export type AppTruthKind = 'npm' | 'pypi' | 'gomod' | 'maven';
/** Tags of image indexes in the OCI layout. */
export type IndexTag = 'multi';

export interface ImagePlatform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface TestLayer {
  digest: string;
  diffId: string;
  size: number;
  mediaType: string;
  /** Paths of the `.wh.` entries in the layer tar, as written there (no leading `/`). */
  whiteouts: string[];
}

export interface TestImage {
  tag: ImageTag;
  mediaType: string;
  manifest: string;
  manifestSize: number;
  config: string;
  platform: ImagePlatform;
  layers: TestLayer[];
  /** Number of dpkg packages in the ground truth. */
  packages: number;
  /**
   * Paths relative to the image set's directory. Application images also have:
   * - `npm`: `npm ls --all --json` run in /app right after the install (see `flattenNpmLs`)
   * - `pypi`: name, version, directory per distribution importlib.metadata finds in
   *   /usr/lib/python3/dist-packages and /opt/venv/lib/python3.11/site-packages
   * - `gomod`: `go version -m` of each Go binary, named by its path in the image without the leading `/`
   * - `maven`: groupId, artifactId, version, jar path per META-INF/maven/<groupId>/<artifactId>/pom.properties
   */
  truth: { dpkg: string; osRelease: string } & Partial<Record<AppTruthKind, string>>;
}

export interface TestIndex {
  tag: IndexTag;
  mediaType: string;
  manifest: string;
  manifestSize: number;
  manifests: {
    digest: string;
    size: number;
    mediaType: string;
    platform: ImagePlatform;
    /** The tag of the same manifest in the layout. */
    tag: ImageTag;
  }[];
}

export interface TestArchive {
  /** Relative to the image set's directory. */
  path: string;
  transport: 'oci-archive' | 'docker-archive';
  /** oci-archive: the ref name inside the archive. */
  tag?: string;
  /** docker-archive: the reference given to skopeo, and the RepoTags it wrote. */
  reference?: string;
  repoTags?: string[];
  /** The layout tag it was copied from (manifest digests are unchanged for oci-archive). */
  source: ImageTag | IndexTag;
}

/** images.json as written by build.sh. */
export interface ImagesJson {
  schemaVersion: 1;
  suite: string;
  /** /etc/debian_version of the amd64 root file system, e.g. `12.15`. */
  debianVersion: string;
  images: Record<ImageTag, TestImage> & Record<IndexTag, TestIndex>;
  archives: Record<'base-jq.oci.tar' | 'base-jq.docker.tar' | 'multi.oci.tar', TestArchive>;
}

/** One line of a `truth/<tag>.dpkg.tsv` file: what the real dpkg-query reports. */
export interface TruthPackage {
  name: string;
  version: string;
  arch: string;
  source: { name: string; version: string };
}

/** One package of the npm ground truth (unique name and version, wherever npm installed it). */
export interface NpmTruthPackage {
  name: string;
  version: string;
}

/** A node of `npm ls --all --json` output; a deduped dependency is just `{ version }`. */
export interface NpmLsNode {
  name?: string;
  version?: string;
  resolved?: string;
  overridden?: boolean;
  dependencies?: Record<string, NpmLsNode>;
}

/** One line of `truth/<tag>.pypi.tsv`: a distribution importlib.metadata finds. */
export interface PypiTruthPackage {
  /** The metadata `Name`, as written (e.g. `PyYAML`, `charset-normalizer`). */
  name: string;
  version: string;
  /** Absolute directory in the image holding the `.dist-info` / `.egg-info`. */
  directory: string;
}

/** One line of `truth/<tag>.maven.tsv`: one pom.properties in a jar. */
export interface MavenTruthPackage {
  groupId: string;
  artifactId: string;
  version: string;
  /** Absolute path of the jar in the image. */
  jar: string;
}

/** A module as `go version -m` prints it. */
export interface GoModule {
  path: string;
  version: string;
  /** `h1:` checksum; absent for the main module and for vendored or replaced builds. */
  sum?: string;
  replace?: GoModule;
}

/** One binary of `truth/<tag>.gomod.txt` (`go version -m` output). */
export interface GoBinaryTruth {
  /** Path in the image without the leading `/`, e.g. `usr/local/bin/umoci`. */
  file: string;
  /** e.g. `go1.19.8`. */
  goVersion: string;
  /** Package path of the main package (`path` line). */
  path?: string;
  /** The main module (`mod` line); absent for binaries built without modules (GOPATH mode). */
  main?: GoModule;
  deps: GoModule[];
  /** `build` lines: key → value. */
  settings: Record<string, string>;
}

export interface TestImages {
  /** The built image set (absolute). */
  dir: string;
  /** OCI image layout directory; use `oci:<ociLayout>:<tag>`. */
  ociLayout: string;
  archives: {
    /** oci-archive of base-jq, ref name `base-jq`. */
    baseJqOci: string;
    /** docker-archive of base-jq, RepoTags `docker.io/regscan-test/base-jq:latest`. */
    baseJqDocker: string;
    /** oci-archive of the multi-platform index, ref name `multi`. */
    multiOci: string;
  };
  truthDir: string;
  images: ImagesJson;
  /** Absolute path of `truth/<tag>.dpkg.tsv`. */
  truthPath(tag: ImageTag): string;
  /** Absolute path of the copy of the image's os-release. */
  osReleasePath(tag: ImageTag): string;
  /** The parsed dpkg ground truth of an image, sorted by package name. */
  readTruth(tag: ImageTag): Promise<TruthPackage[]>;
  /** Absolute path of an application ground truth file; throws if the image has none of that kind. */
  appTruthPath(tag: ImageTag, kind: AppTruthKind): string;
  /** The npm ground truth as unique packages, sorted by name and version. */
  readNpmTruth(tag: ImageTag): Promise<NpmTruthPackage[]>;
  /** The Python ground truth, sorted by directory, then name. */
  readPypiTruth(tag: ImageTag): Promise<PypiTruthPackage[]>;
  /** The Go ground truth, one entry per binary. */
  readGoTruth(tag: ImageTag): Promise<GoBinaryTruth[]>;
  /** The Maven ground truth, sorted. */
  readMavenTruth(tag: ImageTag): Promise<MavenTruthPackage[]>;
}

/** Parse a `truth/<tag>.dpkg.tsv` file (Package, Version, Architecture, source name, source version). */
export function parseDpkgTruth(text: string): TruthPackage[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line, i) => {
      const fields = line.split('\t');
      const [name, version, arch, sourceName, sourceVersion] = fields;
      if (fields.length !== 5 || !name || !version || !arch || !sourceName || !sourceVersion) {
        throw new Error(
          `dpkg truth line ${i + 1}: expected 5 non-empty fields: ${JSON.stringify(line)}`,
        );
      }
      return { name, version, arch, source: { name: sourceName, version: sourceVersion } };
    });
}

/** The unique packages (name and version) of an `npm ls --all --json` tree, sorted. */
export function flattenNpmLs(root: NpmLsNode): NpmTruthPackage[] {
  const seen = new Map<string, NpmTruthPackage>();
  const walk = (node: NpmLsNode) => {
    for (const [name, dep] of Object.entries(node.dependencies ?? {})) {
      if (!dep.version) throw new Error(`npm truth: ${name} has no version (missing dependency?)`);
      seen.set(`${name}@${dep.version}`, { name, version: dep.version });
      walk(dep);
    }
  };
  walk(root);
  return [...seen.values()].sort((a, b) =>
    a.name === b.name ? compareStrings(a.version, b.version) : compareStrings(a.name, b.name),
  );
}

/** Parse `truth/<tag>.pypi.tsv` (name, version, directory). */
export function parsePypiTruth(text: string): PypiTruthPackage[] {
  return tsvLines(text, 3, 'pypi').map(([name, version, directory]) => ({
    name: name!,
    version: version!,
    directory: directory!,
  }));
}

/** Parse `truth/<tag>.maven.tsv` (groupId, artifactId, version, jar). */
export function parseMavenTruth(text: string): MavenTruthPackage[] {
  return tsvLines(text, 4, 'maven').map(([groupId, artifactId, version, jar]) => ({
    groupId: groupId!,
    artifactId: artifactId!,
    version: version!,
    jar: jar!,
  }));
}

/** Parse `go version -m` output (one or more binaries). */
export function parseGoVersionM(text: string): GoBinaryTruth[] {
  const binaries: GoBinaryTruth[] = [];
  let current: GoBinaryTruth | undefined;
  let last: GoModule | undefined; // the module a `=>` line replaces
  const module = (fields: string[], line: string): GoModule => {
    const [modPath, version, sum] = fields;
    if (!modPath || !version) throw new Error(`go truth: bad module line ${JSON.stringify(line)}`);
    return sum ? { path: modPath, version, sum } : { path: modPath, version };
  };
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    if (!line.startsWith('\t')) {
      const m = /^(.*): (\S+)$/.exec(line);
      if (!m) throw new Error(`go truth: bad header ${JSON.stringify(line)}`);
      current = { file: m[1]!, goVersion: m[2]!, deps: [], settings: {} };
      binaries.push(current);
      last = undefined;
      continue;
    }
    if (!current) throw new Error(`go truth: ${JSON.stringify(line)} before any header`);
    const [kind, ...fields] = line.slice(1).split('\t');
    switch (kind) {
      case 'path':
        current.path = fields[0];
        break;
      case 'mod':
        last = current.main = module(fields, line);
        break;
      case 'dep':
        last = module(fields, line);
        current.deps.push(last);
        break;
      case '=>':
        if (!last)
          throw new Error(`go truth: replacement without a module: ${JSON.stringify(line)}`);
        last.replace = module(fields, line);
        break;
      case 'build': {
        const setting = fields.join('\t');
        const eq = setting.indexOf('=');
        current.settings[eq < 0 ? setting : setting.slice(0, eq)] =
          eq < 0 ? '' : setting.slice(eq + 1);
        break;
      }
      default:
        throw new Error(`go truth: unknown line ${JSON.stringify(line)}`);
    }
  }
  return binaries;
}

function tsvLines(text: string, fields: number, what: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line, i) => {
      const parts = line.split('\t');
      if (parts.length !== fields || parts.some((p) => p.length === 0)) {
        throw new Error(
          `${what} truth line ${i + 1}: expected ${fields} non-empty fields: ${JSON.stringify(line)}`,
        );
      }
      return parts;
    });
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Root of the machine-wide cache: `${REGSCAN_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/regscan-test}`. */
export function testCacheRoot(): string {
  const explicit = process.env.REGSCAN_TEST_CACHE;
  if (explicit) return path.resolve(explicit);
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg ? path.resolve(xdg) : path.join(homedir(), '.cache'), 'regscan-test');
}

/** The image set directory for the current build.sh: `images-<first 12 hex of sha256(build.sh)>`. */
export async function testImagesDir(): Promise<string> {
  const script = await readFile(BUILD_SCRIPT);
  const hash = createHash('sha256').update(script).digest('hex').slice(0, 12);
  return path.join(testCacheRoot(), `images-${hash}`);
}

let pending: Promise<TestImages> | undefined;

/** The built test images; builds them first (once per machine and build.sh version) if needed. */
export function testImages(): Promise<TestImages> {
  pending ??= loadOrBuild().catch((error: unknown) => {
    pending = undefined;
    throw error;
  });
  return pending;
}

const BUILD_TIMEOUT_MS = 30 * 60_000;
/** Image sets of other build.sh versions unused for this long are removed. */
const PRUNE_AFTER_MS = 7 * 24 * 3_600_000;

async function loadOrBuild(): Promise<TestImages> {
  const dir = await testImagesDir();
  const root = path.dirname(dir);
  await mkdir(root, { recursive: true });
  // build.sh serialises concurrent builds of one directory itself (flock on `${dir}.lock`): a
  // second caller waits, then finds the set complete
  if (!(await exists(path.join(dir, '.complete')))) {
    await runBuild(dir, path.join(root, 'rootfs'), `${dir}.log`);
  }
  await markUsed(dir);
  await pruneOldImageSets(root, dir);
  return load(dir);
}

async function load(dir: string): Promise<TestImages> {
  const images = JSON.parse(await readFile(path.join(dir, 'images.json'), 'utf8')) as ImagesJson;
  if (images.schemaVersion !== 1) {
    throw new Error(`${dir}/images.json: unknown schemaVersion ${String(images.schemaVersion)}`);
  }
  const truthDir = path.join(dir, 'truth');
  const truthPath = (tag: ImageTag) => path.join(truthDir, `${tag}.dpkg.tsv`);
  const appTruthPath = (tag: ImageTag, kind: AppTruthKind) => {
    const rel = images.images[tag].truth[kind];
    if (!rel) throw new Error(`test image ${tag} has no ${kind} ground truth`);
    return path.join(dir, rel);
  };
  const readApp = (tag: ImageTag, kind: AppTruthKind) => readFile(appTruthPath(tag, kind), 'utf8');
  return {
    dir,
    ociLayout: path.join(dir, 'oci'),
    archives: {
      baseJqOci: path.join(dir, images.archives['base-jq.oci.tar'].path),
      baseJqDocker: path.join(dir, images.archives['base-jq.docker.tar'].path),
      multiOci: path.join(dir, images.archives['multi.oci.tar'].path),
    },
    truthDir,
    images,
    truthPath,
    osReleasePath: (tag) => path.join(truthDir, `${tag}.os-release`),
    readTruth: async (tag) => parseDpkgTruth(await readFile(truthPath(tag), 'utf8')),
    appTruthPath,
    readNpmTruth: async (tag) => flattenNpmLs(JSON.parse(await readApp(tag, 'npm')) as NpmLsNode),
    readPypiTruth: async (tag) => parsePypiTruth(await readApp(tag, 'pypi')),
    readGoTruth: async (tag) => parseGoVersionM(await readApp(tag, 'gomod')),
    readMavenTruth: async (tag) => parseMavenTruth(await readApp(tag, 'maven')),
  };
}

async function runBuild(dir: string, rootfsCache: string, logFile: string): Promise<void> {
  const log = await open(logFile, 'a'); // 'a': a waiting second caller appends, never truncates
  const started = Date.now();
  process.stderr.write(`regscan-test: building test images into ${dir} (log: ${logFile})\n`);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('bash', [BUILD_SCRIPT, dir], {
        env: {
          ...process.env,
          REGSCAN_ROOTFS_CACHE: process.env.REGSCAN_ROOTFS_CACHE ?? rootfsCache,
        },
        stdio: ['ignore', log.fd, log.fd],
      });
      const timer = setTimeout(() => child.kill('SIGTERM'), BUILD_TIMEOUT_MS);
      child.on('error', reject);
      child.on('exit', (exitCode, signal) => {
        clearTimeout(timer);
        resolve(signal ? null : exitCode);
      });
    });
    if (code !== 0) {
      const tail = (await readFile(logFile, 'utf8')).split('\n').slice(-40).join('\n');
      throw new Error(
        `test image build failed (${code === null ? 'killed' : `exit ${code}`}); log ${logFile}:\n${tail}`,
      );
    }
  } finally {
    await log.close();
  }
  process.stderr.write(
    `regscan-test: test images built in ${((Date.now() - started) / 1000).toFixed(0)}s\n`,
  );
}

async function markUsed(dir: string): Promise<void> {
  const marker = path.join(dir, '.last-used');
  const now = new Date();
  try {
    await utimes(marker, now, now);
  } catch {
    await writeFile(marker, '').catch(() => undefined);
  }
}

/** Remove complete image sets of other build.sh versions that nobody used for a week. */
async function pruneOldImageSets(root: string, current: string): Promise<void> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isDirectory() || !/^images-[0-9a-f]{12}$/.test(entry.name)) continue;
    const dir = path.join(root, entry.name);
    if (dir === current) continue;
    if (!(await exists(path.join(dir, '.complete')))) continue; // maybe building, or holds mounts
    const used = await stat(path.join(dir, '.last-used')).catch(() =>
      stat(path.join(dir, '.complete')),
    );
    if (Date.now() - used.mtimeMs > PRUNE_AFTER_MS) {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      await rm(`${dir}.log`, { force: true });
      await rm(`${dir}.lock`, { force: true });
    }
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}
