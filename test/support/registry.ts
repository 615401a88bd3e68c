/**
 * A real registry for tests: CNCF Distribution (`docker-registry serve`, Debian package
 * `docker-registry`) on a free loopback port, with its storage in a temporary directory, and
 * optionally htpasswd or token (JWT) authentication and notifications. Images go in with the
 * real `skopeo copy`. Also a tiny hand-written OCI layout (two platforms and an index) to push.
 *
 * Every process started here is killed and every directory removed by `stop()`, and again at
 * process exit (or SIGINT/SIGTERM) if a test failed before calling it. Registries are started
 * under `setpriv --pdeathsig SIGKILL` so they die with the test process even on a hard kill.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { startTokenServer, type TokenServer } from './token-server.js';

const run = promisify(execFile);

export type RegistryAuth = 'none' | 'htpasswd' | 'token';

export interface StartRegistryOptions {
  auth?: RegistryAuth;
  /** Distribution notifications endpoint (header values are lists, as Distribution wants). */
  notifications?: { url: string; headers?: Record<string, string[]> };
}

export interface PushOptions {
  /** `skopeo copy --format`: `v2s2` converts to Docker schema 2, `oci` to OCI. Default: as is. */
  format?: 'v2s2' | 'oci';
  /** Copy every image of an index (`--all`). Default true. */
  all?: boolean;
  /** Push credentials; default the registry's `credentials`, `null` for none. */
  credentials?: { username: string; password: string } | null;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`: use with `insecure: true`. */
  host: string;
  auth: RegistryAuth;
  /** The user that may push (htpasswd: testuser; token: alice). */
  credentials?: { username: string; password: string };
  /** Token auth only: the token server (its `requests` can be counted). */
  tokenServer?: TokenServer;
  /** Temporary directory holding config, storage and logs. */
  dir: string;
  /** The registry's log so far. */
  log(): string;
  /** `skopeo copy SRC docker://HOST/DEST`; SRC in skopeo syntax (`oci:/dir:tag`), DEST `repo:tag`. */
  push(src: string, dest: string, options?: PushOptions): Promise<void>;
  stop(): Promise<void>;
}

// ---------- cleanup of everything we started, whatever happens to the test ----------

const liveProcesses = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHooked = false;

function cleanupNow(): void {
  for (const child of liveProcesses) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  liveProcesses.clear();
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', cleanupNow);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanupNow();
      // Our listener is gone now: re-raise so the default action (or other listeners) runs.
      process.kill(process.pid, signal);
    });
  }
}

async function tempDir(prefix: string): Promise<string> {
  hookExit();
  const dir = await mkdtemp(join(tmpdir(), prefix));
  liveDirs.add(dir);
  return dir;
}

async function removeDir(dir: string): Promise<void> {
  liveDirs.delete(dir);
  await rm(dir, { recursive: true, force: true });
}

// ---------- the registry ----------

const HTPASSWD_USER = { username: 'testuser', password: 'testpass' };

let pdeathsig: boolean | undefined;
function hasPdeathsig(): boolean {
  pdeathsig ??= spawnSync('setpriv', ['--pdeathsig', 'SIGKILL', 'true']).status === 0;
  return pdeathsig;
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  const auth = options.auth ?? 'none';
  const dir = await tempDir('regscan-registry-');
  const storage = join(dir, 'storage');
  await mkdir(storage);
  await mkdir(join(dir, 'tmp'));
  let tokenServer: TokenServer | undefined;
  let credentials: TestRegistry['credentials'];
  let child: ChildProcess | undefined;
  let logText = '';

  const stop = async (): Promise<void> => {
    if (child) await killProcess(child);
    await tokenServer?.stop();
    await removeDir(dir);
  };

  try {
    let authYaml = '';
    if (auth === 'htpasswd') {
      const { stdout } = await run('htpasswd', [
        '-Bbn',
        HTPASSWD_USER.username,
        HTPASSWD_USER.password,
      ]);
      await writeFile(join(dir, 'htpasswd'), stdout);
      credentials = HTPASSWD_USER;
      authYaml = [
        'auth:',
        '  htpasswd:',
        '    realm: regscan-test',
        `    path: ${q(join(dir, 'htpasswd'))}`,
      ].join('\n');
    } else if (auth === 'token') {
      const tokenDir = join(dir, 'token');
      await mkdir(tokenDir);
      tokenServer = await startTokenServer({ dir: tokenDir });
      credentials = { username: 'alice', password: 'alicepass' };
      authYaml = [
        'auth:',
        '  token:',
        `    realm: ${q(tokenServer.realm)}`,
        `    service: ${q(tokenServer.service)}`,
        `    issuer: ${q(tokenServer.issuer)}`,
        `    rootcertbundle: ${q(tokenServer.certPath)}`,
      ].join('\n');
    }
    const config = [
      'version: 0.1',
      'log:',
      '  level: info',
      '  formatter: text',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${q(storage)}`,
      '  delete:',
      '    enabled: true',
      '  cache:',
      '    blobdescriptor: inmemory',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      // Port 0: the kernel picks a free port and the registry logs it ("listening on ...").
      '  addr: 127.0.0.1:0',
      '  secret: regscan-test-secret',
      authYaml,
      notificationsYaml(options.notifications),
      'health:',
      '  storagedriver:',
      '    enabled: false',
      '',
    ]
      .filter((line) => line !== '')
      .join('\n');
    const configPath = join(dir, 'config.yml');
    await writeFile(configPath, config + '\n');

    const [cmd, args] = hasPdeathsig()
      ? ['setpriv', ['--pdeathsig', 'SIGKILL', 'docker-registry', 'serve', configPath]]
      : ['docker-registry', ['serve', configPath]];
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    liveProcesses.add(proc);
    proc.once('exit', () => liveProcesses.delete(proc));
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`registry did not start in 15 s:\n${logText}`)),
        15_000,
      );
      const onData = (chunk: Buffer): void => {
        logText += chunk.toString('utf8');
        if (logText.length > 1_000_000) logText = logText.slice(-500_000);
        const m = /listening on (127\.0\.0\.1:\d+)/.exec(logText);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      proc.stdout.on('data', onData);
      proc.stderr.on('data', onData);
      proc.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`registry exited with ${code}:\n${logText}`));
      });
    });
    await waitForApi(address);

    const registry: TestRegistry = {
      host: address,
      auth,
      dir,
      log: () => logText,
      push: (src, dest, opts) =>
        skopeoCopy(dir, src, `docker://${address}/${dest}`, {
          ...opts,
          credentials: opts?.credentials === undefined ? credentials : opts.credentials,
        }),
      stop,
    };
    if (credentials) registry.credentials = credentials;
    if (tokenServer) registry.tokenServer = tokenServer;
    return registry;
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** YAML double-quoted scalar (JSON strings are valid ones). */
function q(value: string): string {
  return JSON.stringify(value);
}

function notificationsYaml(n: StartRegistryOptions['notifications']): string {
  if (!n) return '';
  const lines = [
    'notifications:',
    '  events:',
    '    includereferences: true',
    '  endpoints:',
    '    - name: regscan',
    '      disabled: false',
    `      url: ${q(n.url)}`,
    '      timeout: 2s',
    '      threshold: 3',
    '      backoff: 1s',
  ];
  const headers = Object.entries(n.headers ?? {});
  if (headers.length > 0) {
    lines.push('      headers:');
    for (const [name, values] of headers)
      lines.push(`        ${q(name)}: [${values.map(q).join(', ')}]`);
  }
  return lines.join('\n');
}

/** `/v2/` answers 200, or 401 with auth on: the registry serves. */
async function waitForApi(address: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://${address}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`registry at ${address} not ready: ${last}`);
}

async function killProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
  liveProcesses.delete(child);
}

// ---------- pushing with skopeo ----------

let privateMounts: boolean | undefined;
/**
 * As root, skopeo keeps a blob-info cache in /var/lib/containers/cache: it would write to the
 * host, and it changes what a push does (cross-repository mounts) from one run to the next. In a
 * private mount namespace with a tmpfs over /var/lib, the cache lives and dies with the command.
 */
function canUsePrivateMounts(): boolean {
  if (privateMounts === undefined) {
    privateMounts =
      process.getuid?.() === 0 &&
      spawnSync('unshare', [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount -t tmpfs tmpfs /var/lib',
      ]).status === 0;
  }
  return privateMounts;
}

export async function skopeoCopy(
  workDir: string,
  src: string,
  dest: string,
  options: PushOptions = {},
): Promise<void> {
  const state = await mkdtemp(join(workDir, 'skopeo-'));
  try {
    await mkdir(join(state, 'tmp'));
    const policy = join(state, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const authFile = join(state, 'auth.json');
    await writeFile(authFile, JSON.stringify({ auths: {} }));
    const args = [
      '--policy',
      policy,
      'copy',
      '-q',
      '--dest-tls-verify=false',
      '--src-tls-verify=false',
    ];
    if (options.all ?? true) args.push('--all');
    if (options.format) args.push('--format', options.format);
    if (options.credentials) {
      args.push('--dest-creds', `${options.credentials.username}:${options.credentials.password}`);
    }
    args.push(src, dest);
    const env = {
      ...process.env,
      TMPDIR: join(state, 'tmp'),
      REGISTRY_AUTH_FILE: authFile,
      XDG_DATA_HOME: join(state, 'xdg'),
    };
    const [cmd, cmdArgs] = canUsePrivateMounts()
      ? [
          'unshare',
          [
            '--mount',
            '--propagation',
            'private',
            'sh',
            '-c',
            'mount -t tmpfs tmpfs /var/lib && exec "$@"',
            'sh',
            'skopeo',
            ...args,
          ],
        ]
      : ['skopeo', args];
    try {
      await run(cmd, cmdArgs, { env, timeout: 120_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`skopeo copy ${src} ${dest} failed: ${e.stderr?.trim() || e.message}`, {
        cause: err,
      });
    }
  } finally {
    await rm(state, { recursive: true, force: true });
  }
}

// ---------- a tiny OCI layout to push ----------

export interface TestBlob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

export interface TestImage {
  platform: { os: string; architecture: string; variant?: string };
  manifest: TestBlob;
  config: TestBlob;
  layers: TestBlob[];
  /** Files in the layers (path → content). */
  files: Record<string, string>;
}

export interface TestImageLayout {
  /** The OCI layout directory; tags `amd64`, `arm64` (images) and `multi` (the index). */
  dir: string;
  amd64: TestImage;
  arm64: TestImage;
  index: TestBlob;
}

export const OCI = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function blobOf(mediaType: string, bytes: Buffer): TestBlob {
  return { mediaType, digest: sha256(bytes), size: bytes.length, bytes };
}

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  const mtime = new Date('2024-01-01T00:00:00Z');
  const dirs = new Set<string>();
  for (const name of Object.keys(files)) {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const d of [...dirs].sort())
    p.entry({ name: `${d}/`, type: 'directory', mode: 0o755, mtime });
  for (const [name, content] of Object.entries(files)) {
    p.entry({ name, type: 'file', mode: 0o644, mtime }, Buffer.from(content, 'utf8'));
  }
  p.finalize();
  await ended;
  return Buffer.concat(chunks);
}

async function buildImage(
  blobs: Map<string, Buffer>,
  platform: TestImage['platform'],
  layerFiles: Record<string, string>[],
): Promise<TestImage> {
  const layers: TestBlob[] = [];
  const diffIds: string[] = [];
  for (const files of layerFiles) {
    const tar = await tarOf(files);
    diffIds.push(sha256(tar));
    layers.push(blobOf(OCI.layerGzip, gzipSync(tar, { level: 6 })));
  }
  const configDoc = {
    created: '2024-01-01T00:00:00Z',
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {
      Env: ['PATH=/usr/local/bin:/usr/bin:/bin'],
      Labels: { 'org.regscan.test': platform.architecture },
    },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: layerFiles.map(() => ({
      created: '2024-01-01T00:00:00Z',
      created_by: 'regscan test',
    })),
  };
  const config = blobOf(OCI.config, Buffer.from(JSON.stringify(configDoc)));
  const manifestDoc = {
    schemaVersion: 2,
    mediaType: OCI.manifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifest = blobOf(OCI.manifest, Buffer.from(JSON.stringify(manifestDoc)));
  for (const b of [config, manifest, ...layers]) blobs.set(b.digest, b.bytes);
  return {
    platform,
    manifest,
    config,
    layers,
    files: Object.assign({}, ...layerFiles) as Record<string, string>,
  };
}

/**
 * Writes a small OCI image layout by hand: an amd64 image with two layers, an arm64 image with
 * one, and an OCI index of both. Content is deterministic, so digests are the same every run.
 */
export async function writeTestImageLayout(dir: string): Promise<TestImageLayout> {
  const blobs = new Map<string, Buffer>();
  const amd64 = await buildImage(blobs, { os: 'linux', architecture: 'amd64' }, [
    {
      'etc/os-release': 'ID=regscan-test\nVERSION_ID=1\n',
      'usr/share/regscan/hello.txt': 'hello amd64\n',
    },
    { 'app/data.txt': 'x'.repeat(10_000) + '\n' },
  ]);
  const arm64 = await buildImage(blobs, { os: 'linux', architecture: 'arm64', variant: 'v8' }, [
    {
      'etc/os-release': 'ID=regscan-test\nVERSION_ID=1\n',
      'usr/share/regscan/hello.txt': 'hello arm64\n',
    },
  ]);
  const indexDoc = {
    schemaVersion: 2,
    mediaType: OCI.index,
    manifests: [amd64, arm64].map((img) => ({
      mediaType: img.manifest.mediaType,
      digest: img.manifest.digest,
      size: img.manifest.size,
      platform: img.platform,
    })),
  };
  const index = blobOf(OCI.index, Buffer.from(JSON.stringify(indexDoc)));
  blobs.set(index.digest, index.bytes);

  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const [digest, bytes] of blobs) {
    await writeFile(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), bytes);
  }
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const ref = (blob: TestBlob, name: string): object => ({
    mediaType: blob.mediaType,
    digest: blob.digest,
    size: blob.size,
    annotations: { 'org.opencontainers.image.ref.name': name },
  });
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI.index,
      manifests: [ref(amd64.manifest, 'amd64'), ref(arm64.manifest, 'arm64'), ref(index, 'multi')],
    }),
  );
  return { dir, amd64, arm64, index };
}

/** A temporary directory removed at process exit (or by the returned function). */
export async function makeTempDir(
  prefix = 'regscan-test-',
): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await tempDir(prefix);
  return { dir, remove: () => removeDir(dir) };
}

/** Whether the tools the real-registry tests need are installed. */
export function haveRegistryTools(): boolean {
  return ['docker-registry', 'skopeo', 'htpasswd', 'openssl'].every(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0,
  );
}
