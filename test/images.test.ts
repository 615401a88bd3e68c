import { execFileSync } from 'node:child_process';
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  IMAGE_TAGS,
  flattenNpmLs,
  parseDpkgTruth,
  parseGoVersionM,
  parseMavenTruth,
  parsePypiTruth,
  testImages,
  type TestImages,
} from './support/images.js';

/** Sanity tests of the test-image fixture itself (test/images/build.sh). */
describe('test images', () => {
  let t: TestImages;
  beforeAll(async () => {
    t = await testImages();
  });

  const blob = (digest: string) => path.join(t.ociLayout, 'blobs', ...digest.split(':'));
  const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as unknown;

  it('resolves every tag in the OCI layout index.json to the digest images.json records', async () => {
    const index = (await readJson(path.join(t.ociLayout, 'index.json'))) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    const byTag = new Map(
      index.manifests.map((m) => [m.annotations?.['org.opencontainers.image.ref.name'], m.digest]),
    );
    for (const [tag, image] of Object.entries(t.images.images)) {
      expect(byTag.get(tag), tag).toBe(image.manifest);
      await expect(stat(blob(image.manifest))).resolves.toBeTruthy();
    }
    expect(Object.keys(t.images.images).sort()).toEqual([...IMAGE_TAGS, 'multi'].sort());
  });

  it('base-jq has 2 layers, real whiteouts, jq and no less', async () => {
    const image = t.images.images['base-jq'];
    expect(image.layers).toHaveLength(2);
    expect(image.layers[1]?.whiteouts).toContain('usr/bin/.wh.less');
    const names = (await t.readTruth('base-jq')).map((p) => p.name);
    expect(names).toContain('jq');
    expect(names).not.toContain('less');
    expect((await t.readTruth('base')).map((p) => p.name)).toContain('less');
  });

  it('base has > 50 packages, libssl3 built from openssl', async () => {
    const truth = await t.readTruth('base');
    expect(truth.length).toBeGreaterThan(50);
    expect(truth.find((p) => p.name === 'libssl3')?.source.name).toBe('openssl');
    expect(await readFile(t.osReleasePath('base'), 'utf8')).toMatch(/^ID=debian$/m);
  });

  it('base-zstd is base-jq with zstd layers', async () => {
    const jq = t.images.images['base-jq'];
    const zstd = t.images.images['base-zstd'];
    expect(zstd.layers.map((l) => l.mediaType)).toEqual(
      Array(2).fill('application/vnd.oci.image.layer.v1.tar+zstd'),
    );
    expect(zstd.layers.map((l) => l.diffId)).toEqual(jq.layers.map((l) => l.diffId));
    expect(await t.readTruth('base-zstd')).toEqual(await t.readTruth('base-jq'));
  });

  it('distroless records its packages in status.d only', async () => {
    const names = (await t.readTruth('distroless')).map((p) => p.name);
    expect(names).toEqual(['base-files', 'ca-certificates', 'libc6', 'libssl3', 'zlib1g']);
    expect(t.images.images.distroless.layers).toHaveLength(1);
  });

  it('multi is an index of linux/amd64 base and linux/arm64 base-arm64', async () => {
    const multi = t.images.images.multi;
    const index = (await readJson(blob(multi.manifest))) as {
      manifests: { digest: string; platform: { os: string; architecture: string } }[];
    };
    expect(index.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`)).toEqual([
      'linux/amd64',
      'linux/arm64',
    ]);
    expect(index.manifests.map((m) => m.digest)).toEqual([
      t.images.images.base.manifest,
      t.images.images['base-arm64'].manifest,
    ]);
    const arm = await t.readTruth('base-arm64');
    expect(arm.every((p) => p.arch === 'arm64' || p.arch === 'all')).toBe(true);
  });

  it('node-app: Debian nodejs + /app from a real npm install, with npm ls as truth', async () => {
    const image = t.images.images['node-app'];
    expect(image.layers).toHaveLength(3);
    expect(image.layers[0]?.diffId).toBe(t.images.images.base.layers[0]?.diffId);
    expect(image.platform).toEqual({ os: 'linux', architecture: 'amd64' });
    expect((await t.readTruth('node-app')).map((p) => p.name)).toContain('nodejs');
    const npm = await t.readNpmTruth('node-app');
    const version = (name: string) => npm.filter((p) => p.name === name).map((p) => p.version);
    expect(version('lodash')).toEqual(['4.17.15']);
    expect(version('minimist')).toEqual(['1.2.0']);
    expect(version('express')).toEqual(['4.17.1']);
    expect(npm.length).toBeGreaterThanOrEqual(45);
    expect(npm.length).toBeLessThanOrEqual(60);
    // the lockfile in the last layer describes the same packages
    const layer = blob(image.layers[2]!.digest);
    const lock = JSON.parse(
      execFileSync('tar', ['-xzOf', layer, 'app/package-lock.json'], { encoding: 'utf8' }),
    ) as { lockfileVersion: number; packages: Record<string, { version?: string }> };
    expect(lock.lockfileVersion).toBe(3);
    const locked = Object.entries(lock.packages)
      .filter(([key]) => key !== '')
      .map(([key, p]) => `${key.slice(key.lastIndexOf('node_modules/') + 13)}@${p.version}`);
    expect(new Set(locked)).toEqual(new Set(npm.map((p) => `${p.name}@${p.version}`)));
  });

  it('python-app: Debian python3 packages + a venv, with importlib.metadata as truth', async () => {
    const image = t.images.images['python-app'];
    expect(image.layers).toHaveLength(3);
    const dpkg = (await t.readTruth('python-app')).map((p) => p.name);
    expect(dpkg).toEqual(expect.arrayContaining(['python3', 'python3-requests', 'python3-yaml']));
    const pypi = await t.readPypiTruth('python-app');
    const at = (name: string) => pypi.find((p) => p.name === name);
    expect(at('requests')?.directory).toBe('/usr/lib/python3/dist-packages');
    expect(at('PyYAML')?.directory).toBe('/usr/lib/python3/dist-packages');
    expect(at('pip')?.directory).toMatch(/^\/opt\/venv\/lib\/python3\.\d+\/site-packages$/);
    expect(at('wheel')?.directory).toBe(at('pip')?.directory);
    expect(pypi.length).toBeGreaterThanOrEqual(8);
  });

  it('go-java-app: Go binaries and jars, with go version -m and pom.properties as truth', async () => {
    const image = t.images.images['go-java-app'];
    expect(image.layers).toHaveLength(2);
    expect(image.layers[1]?.whiteouts).toEqual([]);
    expect(await t.readTruth('go-java-app')).toEqual(await t.readTruth('base'));
    const go = await t.readGoTruth('go-java-app');
    expect(go.map((b) => b.file)).toEqual(['usr/local/bin/umoci', 'usr/local/bin/esbuild']);
    const [umoci, esbuild] = go;
    // Debian builds Go programs in GOPATH mode: the package path, but no main module or deps
    expect(umoci?.path).toBe('github.com/opencontainers/umoci/cmd/umoci');
    expect(umoci?.goVersion).toMatch(/^go1\.\d+/);
    expect(umoci?.main).toBeUndefined();
    expect(esbuild?.main).toEqual({ path: 'github.com/evanw/esbuild', version: '(devel)' });
    expect(esbuild?.deps.map((d) => d.path)).toContain('golang.org/x/sys');
    expect(esbuild?.deps.every((d) => d.sum?.startsWith('h1:'))).toBe(true);
    const maven = await t.readMavenTruth('go-java-app');
    expect(maven.map((m) => `${m.groupId}:${m.artifactId}:${m.version}`)).toEqual(
      expect.arrayContaining([
        'joda-time:joda-time:2.9.2',
        'org.anchore:example-java-app-maven:0.1.0',
        'com.fasterxml.jackson.core:jackson-annotations:2.15.0-rc2',
      ]),
    );
    expect(maven.every((m) => m.jar.startsWith('/opt/app/lib/') && m.jar.endsWith('.jar'))).toBe(
      true,
    );
    expect(() => t.appTruthPath('base', 'npm')).toThrow(/no npm ground truth/);
  });

  it('writes non-empty tar archives', async () => {
    for (const file of Object.values(t.archives)) {
      const handle = await open(file, 'r');
      try {
        const header = Buffer.alloc(512);
        await handle.read(header, 0, 512, 0);
        expect(header.subarray(257, 262).toString('latin1'), file).toBe('ustar');
        expect((await handle.stat()).size).toBeGreaterThan(1_000_000);
      } finally {
        await handle.close();
      }
    }
  });

  it('parses truth lines and rejects malformed ones', () => {
    expect(parseDpkgTruth('zlib1g\t1:1.2.13.dfsg-1\tamd64\tzlib\t1:1.2.13.dfsg-1\n')).toEqual([
      {
        name: 'zlib1g',
        version: '1:1.2.13.dfsg-1',
        arch: 'amd64',
        source: { name: 'zlib', version: '1:1.2.13.dfsg-1' },
      },
    ]);
    expect(() => parseDpkgTruth('jq\t1.6\tamd64\n')).toThrow(/5 non-empty fields/);
  });

  it('parses the application truth formats', () => {
    expect(
      flattenNpmLs({
        name: 'app',
        dependencies: {
          b: { version: '1.0.0', dependencies: { a: { version: '2.0.0' } } },
          a: { version: '1.0.0', dependencies: { a: { version: '2.0.0' } } },
        },
      }),
    ).toEqual([
      { name: 'a', version: '1.0.0' },
      { name: 'a', version: '2.0.0' },
      { name: 'b', version: '1.0.0' },
    ]);
    expect(() => flattenNpmLs({ dependencies: { x: {} } })).toThrow(/no version/);
    expect(parsePypiTruth('PyYAML\t6.0\t/usr/lib/python3/dist-packages\n')).toEqual([
      { name: 'PyYAML', version: '6.0', directory: '/usr/lib/python3/dist-packages' },
    ]);
    expect(() => parsePypiTruth('pip\t23.0.1\n')).toThrow(/3 non-empty fields/);
    expect(parseMavenTruth('joda-time\tjoda-time\t2.9.2\t/opt/a.jar\n')).toEqual([
      { groupId: 'joda-time', artifactId: 'joda-time', version: '2.9.2', jar: '/opt/a.jar' },
    ]);
    const go = parseGoVersionM(
      [
        'bin/x: go1.22.1',
        '\tpath\texample.com/x/cmd/x',
        '\tmod\texample.com/x\tv1.2.3\th1:abc=',
        '\tdep\tgolang.org/x/net\tv0.1.0\th1:def=',
        '\t=>\tgolang.org/x/net\tv0.2.0\th1:ghi=',
        '\tdep\tgolang.org/x/text\tv0.3.0',
        '\tbuild\t-ldflags=-s -w',
        '\tbuild\tCGO_ENABLED=0',
        'bin/y: go1.19.8',
        '\tpath\texample.com/y',
        '',
      ].join('\n'),
    );
    expect(go).toEqual([
      {
        file: 'bin/x',
        goVersion: 'go1.22.1',
        path: 'example.com/x/cmd/x',
        main: { path: 'example.com/x', version: 'v1.2.3', sum: 'h1:abc=' },
        deps: [
          {
            path: 'golang.org/x/net',
            version: 'v0.1.0',
            sum: 'h1:def=',
            replace: { path: 'golang.org/x/net', version: 'v0.2.0', sum: 'h1:ghi=' },
          },
          { path: 'golang.org/x/text', version: 'v0.3.0' },
        ],
        settings: { '-ldflags': '-s -w', CGO_ENABLED: '0' },
      },
      { file: 'bin/y', goVersion: 'go1.19.8', path: 'example.com/y', deps: [], settings: {} },
    ]);
  });
});
