import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVerifiedBlob } from '../src/image/blob.js';
import { digestOf } from '../src/image/digest.js';
import { parseDockerReference, type RegistryReference } from '../src/image/reference.js';
import { isPublicAddress } from '../src/image/network.js';
import {
  AddressNotAllowedError,
  MANIFEST_ACCEPT,
  openRegistrySource,
  parseAuthChallenges,
  registryApiHost,
  RegistryError,
  type RegistryEvent,
  type RegistryOptions,
} from '../src/image/registry.js';
import { credentialsFromDockerConfig } from '../src/image/registry/credentials.js';
import { parseRetryAfter } from '../src/image/registry/transport.js';
import { resolveImages } from '../src/image/resolve.js';
import { ImageError, type ImageSource } from '../src/image/types.js';
import {
  makeTempDir,
  startRegistry,
  writeTestImageLayout,
  type TestImageLayout,
  type TestRegistry,
} from './support/registry.js';
import type { TokenRequest } from './support/token-server.js';

const DOCKER = {
  manifest: 'application/vnd.docker.distribution.manifest.v2+json',
  config: 'application/vnd.docker.container.image.v1+json',
  layerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
};
const UA = 'regscan-test';

let work: { dir: string; remove(): Promise<void> };
let layout: TestImageLayout;

beforeAll(async () => {
  work = await makeTempDir('regscan-registry-test-');
  layout = await writeTestImageLayout(join(work.dir, 'oci'));
});
afterAll(async () => {
  await work?.remove();
});

function ref(host: string, repository: string, tag?: string, digest?: string): RegistryReference {
  return {
    transport: 'docker',
    registry: host,
    repository,
    ...(tag ? { tag } : {}),
    ...(digest ? { digest } : {}),
  };
}

/** Opens a source, runs `fn`, always closes. Retries are instant unless the test says otherwise. */
async function withSource<T>(
  r: RegistryReference,
  options: RegistryOptions,
  fn: (source: ImageSource) => Promise<T>,
): Promise<T> {
  const source = openRegistrySource(r, {
    insecure: true,
    userAgent: UA,
    sleep: () => Promise.resolve(),
    ...options,
  });
  try {
    return await fn(source);
  } finally {
    await source.close();
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function rejection(p: Promise<unknown>): Promise<RegistryError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageError);
  return err as RegistryError;
}

// ---------- small real HTTP servers for what a real registry does not do on demand ----------

interface LocalServer {
  host: string;
  origin: string;
  requests: { method: string; url: string; authorization: string | undefined }[];
  close(): Promise<void>;
}

async function startServer(
  handler: (req: IncomingMessage, res: ServerResponse, n: number) => void | Promise<void>,
  address = '127.0.0.1',
): Promise<LocalServer> {
  const requests: LocalServer['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization,
    });
    Promise.resolve(handler(req, res, requests.length)).catch((err: unknown) => {
      res.destroy(err as Error);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `${address}:${port}`,
    origin: `http://${address}:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Forwards the request to `target` (host:port) unchanged. */
function proxy(target: string, req: IncomingMessage, res: ServerResponse): void {
  const [hostname, port] = target.split(':');
  const upstream = httpRequest(
    {
      hostname,
      port: Number(port),
      path: req.url,
      method: req.method,
      headers: { ...req.headers, host: target },
    },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  upstream.on('error', (err) => res.destroy(err));
  req.pipe(upstream);
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

// ---------- the real registry, no auth ----------

describe('registry source against a real registry (anonymous)', () => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await startRegistry();
    await registry.push(`oci:${layout.dir}:amd64`, 'group/app:1.0');
    await registry.push(`oci:${layout.dir}:multi`, 'group/app:multi');
    await registry.push(`oci:${layout.dir}:amd64`, 'group/app:v2s2', { format: 'v2s2' });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('names the image after registry and repository', async () => {
    await withSource(ref(registry.host, 'group/app', '1.0'), {}, (source) => {
      expect(source.name).toBe(`${registry.host}/group/app`);
      expect(source.tag).toBe('1.0');
      expect(source.reference).toBe(`docker://${registry.host}/group/app:1.0`);
      return Promise.resolve();
    });
  });

  it('pulls the manifest, config and layers exactly as pushed', async () => {
    const img = layout.amd64;
    await withSource(ref(registry.host, 'group/app', '1.0'), {}, async (source) => {
      const manifest = await source.manifest();
      expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
      expect(manifest.digest).toBe(img.manifest.digest);
      expect(manifest.bytes.equals(img.manifest.bytes)).toBe(true);

      const config = await readAll(await source.blob(img.config));
      expect(config.equals(img.config.bytes)).toBe(true);
      expect(digestOf(config)).toBe(img.config.digest);

      for (const layer of img.layers) {
        const bytes = await readAll(await source.blob(layer));
        expect(bytes.equals(layer.bytes)).toBe(true);
        expect(digestOf(bytes)).toBe(layer.digest);
      }
      // and through the verifying reader the rest of regscan uses
      const verified = await readAll(await openVerifiedBlob(source, img.layers[1]!));
      expect(verified.length).toBe(img.layers[1]!.size);
    });
  });

  it('pulls a manifest by digest (reference with a digest, and a child digest)', async () => {
    const img = layout.amd64;
    await withSource(
      ref(registry.host, 'group/app', undefined, img.manifest.digest),
      {},
      async (source) => {
        const m = await source.manifest();
        expect(m.digest).toBe(img.manifest.digest);
        expect(m.bytes.equals(img.manifest.bytes)).toBe(true);
      },
    );
    // a reference with both tag and digest is fetched by digest
    await withSource(
      ref(registry.host, 'group/app', 'multi', img.manifest.digest),
      {},
      async (source) => {
        expect((await source.manifest()).digest).toBe(img.manifest.digest);
      },
    );
  });

  it('pulls an index and each of its platform manifests', async () => {
    await withSource(ref(registry.host, 'group/app', 'multi'), {}, async (source) => {
      const index = await source.manifest();
      expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
      expect(index.digest).toBe(layout.index.digest);
      expect(index.bytes.equals(layout.index.bytes)).toBe(true);
      const doc = JSON.parse(index.bytes.toString('utf8')) as {
        manifests: { digest: string; platform: { architecture: string } }[];
      };
      expect(doc.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
      for (const [entry, img] of [
        [doc.manifests[0]!, layout.amd64],
        [doc.manifests[1]!, layout.arm64],
      ] as const) {
        const child = await source.manifest(entry.digest);
        expect(child.digest).toBe(img.manifest.digest);
        expect(child.bytes.equals(img.manifest.bytes)).toBe(true);
        const config = await readAll(await source.blob(img.config));
        expect((JSON.parse(config.toString('utf8')) as { architecture: string }).architecture).toBe(
          img.platform.architecture,
        );
      }
      // the resolver walks the same source to both images
      const images = await resolveImages(source, 'all');
      expect(images.map((i) => i.platform.architecture)).toEqual(['amd64', 'arm64']);
      expect(images.map((i) => i.indexDigest)).toEqual([layout.index.digest, layout.index.digest]);
    });
  });

  it('pulls a Docker v2 schema 2 image with Docker media types', async () => {
    await withSource(ref(registry.host, 'group/app', 'v2s2'), {}, async (source) => {
      const m = await source.manifest();
      expect(m.mediaType).toBe(DOCKER.manifest);
      expect(m.digest).toBe(digestOf(m.bytes));
      const doc = JSON.parse(m.bytes.toString('utf8')) as {
        config: { mediaType: string; digest: string; size: number };
        layers: { mediaType: string; digest: string; size: number }[];
      };
      expect(doc.config.mediaType).toBe(DOCKER.config);
      expect(doc.layers.map((l) => l.mediaType)).toEqual([DOCKER.layerGzip, DOCKER.layerGzip]);
      // same layer bytes as the OCI original: skopeo converts the manifest, not the blobs
      expect(doc.layers.map((l) => l.digest)).toEqual(layout.amd64.layers.map((l) => l.digest));
      const layer = await readAll(
        await source.blob({ ...doc.layers[0]!, mediaType: DOCKER.layerGzip }),
      );
      expect(layer.equals(layout.amd64.layers[0]!.bytes)).toBe(true);
      const [image] = await resolveImages(source, undefined);
      expect(image!.platform).toEqual({ os: 'linux', architecture: 'amd64' });
    });
  });

  it('reports a missing tag with MANIFEST_UNKNOWN', async () => {
    await withSource(ref(registry.host, 'group/app', 'nope'), {}, async (source) => {
      const err = await rejection(source.manifest());
      expect(err).toBeInstanceOf(RegistryError);
      expect(err.status).toBe(404);
      expect(err.code).toBe('MANIFEST_UNKNOWN');
      expect(err.message).toContain(`manifest ${registry.host}/group/app:nope`);
      expect(err.message).toContain('MANIFEST_UNKNOWN');
    });
  });

  it('reports a missing repository and a missing blob with the registry error code', async () => {
    await withSource(ref(registry.host, 'group/nothing-here', 'latest'), {}, async (source) => {
      const err = await rejection(source.manifest());
      expect(err.status).toBe(404);
      expect(['NAME_UNKNOWN', 'MANIFEST_UNKNOWN']).toContain(err.code);
      expect(err.message).toMatch(/NAME_UNKNOWN|MANIFEST_UNKNOWN/);
    });
    await withSource(ref(registry.host, 'group/app', '1.0'), {}, async (source) => {
      const missing = { mediaType: 'x', digest: `sha256:${'0'.repeat(64)}`, size: 1 };
      const err = await rejection(source.blob(missing));
      expect(err.code).toBe('BLOB_UNKNOWN');
      expect(err.message).toContain('BLOB_UNKNOWN');
    });
  });

  it('does not retry a 404', async () => {
    const events: RegistryEvent[] = [];
    await withSource(
      ref(registry.host, 'group/app', 'nope'),
      { onEvent: (e) => events.push(e) },
      async (source) => {
        await rejection(source.manifest());
      },
    );
    expect(events.filter((e) => e.type === 'request')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'retry')).toHaveLength(0);
  });

  it('refuses digests that are not digests', async () => {
    await withSource(ref(registry.host, 'group/app', '1.0'), {}, async (source) => {
      await expect(
        source.blob({ mediaType: 'x', digest: 'sha256:../../../v2/_catalog', size: 1 }),
      ).rejects.toThrow(/invalid digest/);
      await expect(source.manifest('latest')).rejects.toThrow(/invalid digest/);
    });
  });

  it('refuses to work after close()', async () => {
    const source = openRegistrySource(ref(registry.host, 'group/app', '1.0'), { insecure: true });
    await source.close();
    await source.close(); // idempotent
    await expect(source.manifest()).rejects.toThrow(/closed/);
  });

  it('refuses plain http unless insecure is set', async () => {
    await withSource(
      ref(registry.host, 'group/app', '1.0'),
      { insecure: false },
      async (source) => {
        // https to a plain-http registry fails on the TLS handshake; it never falls back to http.
        const err = await rejection(source.manifest());
        expect(err).toBeInstanceOf(RegistryError);
        expect(err.status).toBeUndefined();
        expect(err.message).toContain(`TLS handshake with ${registry.host} failed`);
        expect(err.message).toContain('set insecure');
      },
    );
  });

  describe('retries in front of the real registry', () => {
    it('retries 503 twice, then succeeds', async () => {
      const front = await startServer((req, res, n) => {
        if (n <= 2)
          return json(res, 503, { errors: [{ code: 'UNAVAILABLE', message: 'try later' }] });
        proxy(registry.host, req, res);
      });
      const events: RegistryEvent[] = [];
      const delays: number[] = [];
      try {
        await withSource(
          ref(front.host, 'group/app', '1.0'),
          {
            onEvent: (e) => events.push(e),
            sleep: (ms) => {
              delays.push(ms);
              return Promise.resolve();
            },
            retryBaseDelayMs: 100,
          },
          async (source) => {
            const m = await source.manifest();
            expect(m.digest).toBe(layout.amd64.manifest.digest);
          },
        );
      } finally {
        await front.close();
      }
      expect(front.requests).toHaveLength(3);
      expect(
        events.filter((e) => e.type === 'retry').map((e) => (e as { reason: string }).reason),
      ).toEqual(['HTTP 503', 'HTTP 503']);
      // exponential backoff with jitter: first in [50, 100], second in [100, 200]
      expect(delays[0]).toBeGreaterThanOrEqual(50);
      expect(delays[0]).toBeLessThanOrEqual(100);
      expect(delays[1]).toBeGreaterThanOrEqual(100);
      expect(delays[1]).toBeLessThanOrEqual(200);
    });

    it('waits for a short Retry-After on 429', async () => {
      const front = await startServer((req, res, n) => {
        if (n === 1) {
          return json(
            res,
            429,
            { errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] },
            { 'retry-after': '2' },
          );
        }
        proxy(registry.host, req, res);
      });
      const delays: number[] = [];
      try {
        await withSource(
          ref(front.host, 'group/app', '1.0'),
          {
            sleep: (ms) => {
              delays.push(ms);
              return Promise.resolve();
            },
          },
          async (source) => {
            const bytes = await readAll(await source.blob(layout.amd64.layers[0]!));
            expect(bytes.equals(layout.amd64.layers[0]!.bytes)).toBe(true);
          },
        );
      } finally {
        await front.close();
      }
      expect(delays).toEqual([2000]);
    });

    it('waits for real when no sleep is injected', async () => {
      const front = await startServer((req, res, n) => {
        if (n === 1) return json(res, 429, {}, { 'retry-after': '1' });
        proxy(registry.host, req, res);
      });
      const started = Date.now();
      try {
        const source = openRegistrySource(ref(front.host, 'group/app', '1.0'), { insecure: true });
        try {
          await source.manifest();
        } finally {
          await source.close();
        }
      } finally {
        await front.close();
      }
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    });

    it('fails at once on a long Retry-After, saying when to come back', async () => {
      const front = await startServer((_req, res) =>
        json(
          res,
          429,
          { errors: [{ code: 'TOOMANYREQUESTS', message: 'rate limit' }] },
          { 'retry-after': '3600' },
        ),
      );
      try {
        await withSource(ref(front.host, 'group/app', '1.0'), {}, async (source) => {
          const err = await rejection(source.manifest());
          expect(err.status).toBe(429);
          expect(err.code).toBe('TOOMANYREQUESTS');
          expect(err.message).toContain('retry after 3600');
        });
      } finally {
        await front.close();
      }
      expect(front.requests).toHaveLength(1);
    });

    it('gives up after the configured retries with the last error', async () => {
      const front = await startServer((_req, res) =>
        json(res, 502, { errors: [{ code: 'UNAVAILABLE', message: 'upstream down' }] }),
      );
      try {
        await withSource(ref(front.host, 'group/app', '1.0'), { retries: 2 }, async (source) => {
          const err = await rejection(source.manifest());
          expect(err.status).toBe(502);
          expect(err.message).toContain('UNAVAILABLE: upstream down');
        });
      } finally {
        await front.close();
      }
      expect(front.requests).toHaveLength(3);
    });

    it('retries a dropped connection and a timeout', async () => {
      const front = await startServer((req, res, n) => {
        if (n === 1) {
          req.socket.destroy();
          return;
        }
        if (n === 2) return new Promise<void>((resolve) => setTimeout(resolve, 1500)); // never answers in time
        proxy(registry.host, req, res);
      });
      const events: RegistryEvent[] = [];
      try {
        await withSource(
          ref(front.host, 'group/app', '1.0'),
          { timeoutMs: 300, onEvent: (e) => events.push(e) },
          async (source) => {
            expect((await source.manifest()).digest).toBe(layout.amd64.manifest.digest);
          },
        );
      } finally {
        await front.close();
      }
      const reasons = events
        .filter((e) => e.type === 'retry')
        .map((e) => (e as { reason: string }).reason);
      expect(reasons).toHaveLength(2);
      expect(reasons[0]).toMatch(/socket|ECONNRESET|closed/i);
      expect(reasons[1]).toMatch(/timeout/i);
    });
  });
});

describe('connection failures', () => {
  it('reports a registry nobody listens on, after retrying', async () => {
    const gone = await startServer((_req, res) => {
      res.end();
    });
    const host = gone.host;
    await gone.close();
    const events: RegistryEvent[] = [];
    await withSource(
      ref(host, 'group/app', '1.0'),
      { retries: 2, onEvent: (e) => events.push(e) },
      async (source) => {
        const err = await rejection(source.manifest());
        expect(err.message).toContain('ECONNREFUSED');
        expect(err.message).toContain('gave up after 3 attempts');
      },
    );
    expect(events.filter((e) => e.type === 'retry')).toHaveLength(2);
  });
});

// ---------- which addresses the client may connect to ----------

describe('allowAddress: connections only to addresses it allows', () => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await startRegistry();
    await registry.push(`oci:${layout.dir}:amd64`, 'group/app:1.0');
  });
  afterAll(async () => {
    await registry?.stop();
  });

  /** The events of a pull that must fail with AddressNotAllowedError, and that error. */
  async function refused(
    r: RegistryReference,
    allowAddress: (ip: string) => boolean,
    pull: (source: ImageSource) => Promise<unknown> = (source) => source.manifest(),
  ): Promise<{ error: AddressNotAllowedError; events: RegistryEvent[] }> {
    const events: RegistryEvent[] = [];
    let error: unknown;
    await withSource(r, { retries: 2, allowAddress, onEvent: (e) => events.push(e) }, (source) =>
      pull(source).then(
        () => expect.fail('the pull should have been refused'),
        (e: unknown) => {
          error = e;
        },
      ),
    );
    expect(error).toBeInstanceOf(AddressNotAllowedError);
    // refused, not retried: it cannot get better
    expect(events.filter((e) => e.type === 'retry')).toEqual([]);
    return { error: error as AddressNotAllowedError, events };
  }

  it('isPublicAddress keeps it off a registry on 127.0.0.1: nothing is sent', async () => {
    const { error, events } = await refused(
      ref(registry.host, 'group/app', '1.0'),
      isPublicAddress,
    );
    expect(error.message).toBe(
      `registry address 127.0.0.1 (of host ${registry.host}) is not allowed`,
    );
    expect(error.address).toBe('127.0.0.1');
    expect(events.filter((e) => e.type === 'request')).toEqual([]);

    // the same on a server that counts what reaches it
    const counting = await startServer((_req, res) => json(res, 200, {}));
    try {
      await refused(ref(counting.host, 'r', 'x'), isPublicAddress);
      expect(counting.requests).toEqual([]);
    } finally {
      await counting.close();
    }
  });

  it('a policy that allows the address pulls as usual; it is asked about every hop', async () => {
    const asked: string[] = [];
    await withSource(
      ref(registry.host, 'group/app', '1.0'),
      {
        allowAddress: (ip) => {
          asked.push(ip);
          return ip === '127.0.0.1';
        },
      },
      async (source) => {
        const manifest = await source.manifest();
        expect(manifest.digest).toBe(layout.amd64.manifest.digest);
      },
    );
    expect(asked.length).toBeGreaterThan(0);
    expect(new Set(asked)).toEqual(new Set(['127.0.0.1']));
  });

  it('a name resolving to a refused address is refused at connect time (DNS lookup)', async () => {
    const server = await startServer((_req, res) =>
      json(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }),
    );
    const port = server.host.split(':')[1]!;
    const asked: string[] = [];
    try {
      const { error } = await refused(ref(`localhost:${port}`, 'r', 'x'), (ip) => {
        asked.push(ip);
        return isPublicAddress(ip);
      });
      expect(error.message).toMatch(
        /^registry address (127\.0\.0\.1|::1) \(of host localhost\) is not allowed$/,
      );
      expect(server.requests).toEqual([]);
      // the name itself was never judged, only what it resolved to
      expect(asked).not.toContain('localhost');
      expect(asked.length).toBeGreaterThan(0);

      // and the lookup hands an allowed answer on unchanged: the pull reaches the server
      const answered = await withSource(
        ref(`localhost:${port}`, 'r', 'x'),
        { allowAddress: (ip) => ip === '127.0.0.1' || ip === '::1' },
        (source) => rejection(source.manifest()),
      );
      expect(answered).not.toBeInstanceOf(AddressNotAllowedError);
      expect(answered.code).toBe('MANIFEST_UNKNOWN');
      expect(server.requests.map((r) => r.url)).toEqual(['/v2/r/manifests/x']);
    } finally {
      await server.close();
    }
  });

  const loopbackOnlyOne = (ip: string) => ip === '127.0.0.1';

  it('a redirect to a refused address is refused (blob storage)', async () => {
    const content = Buffer.from('layer bytes');
    const digest = digestOf(content);
    // a storage server on another loopback address, which the policy refuses
    const storage = await startServer((_req, res) => {
      res.end(content);
    }, '127.0.0.2');
    const front = await startServer((req, res) => {
      res.writeHead(307, { location: `${storage.origin}/signed${req.url}` }).end();
    });
    try {
      const { error, events } = await refused(
        ref(front.host, 'r', 'x'),
        loopbackOnlyOne,
        (source) => source.blob({ mediaType: 'x', digest, size: content.length }),
      );
      expect(error.message).toBe(
        `registry address 127.0.0.2 (of host ${storage.host}) is not allowed (redirected from ${front.origin}/v2/r/blobs/${digest})`,
      );
      expect(front.requests.map((r) => r.url)).toEqual([`/v2/r/blobs/${digest}`]);
      expect(storage.requests).toEqual([]);
      expect(events.filter((e) => e.type === 'redirect')).toHaveLength(1);

      // with both addresses allowed the same redirect is followed
      await withSource(
        ref(front.host, 'r', 'x'),
        { allowAddress: (ip) => ip === '127.0.0.1' || ip === '127.0.0.2' },
        async (source) => {
          const body = await source.blob({ mediaType: 'x', digest, size: content.length });
          expect((await readAll(body)).equals(content)).toBe(true);
        },
      );
      expect(storage.requests).toHaveLength(1);
    } finally {
      await Promise.all([front.close(), storage.close()]);
    }
  });

  it('a token server on a refused address is refused', async () => {
    const tokens = await startServer((_req, res) => json(res, 200, { token: 't' }), '127.0.0.2');
    const front = await startServer((_req, res) =>
      json(res, 401, {}, { 'www-authenticate': `Bearer realm="${tokens.origin}/token"` }),
    );
    try {
      const { error } = await refused(ref(front.host, 'r', 'x'), loopbackOnlyOne);
      expect(error.message).toBe(
        `registry address 127.0.0.2 (of host ${tokens.host}) is not allowed`,
      );
      expect(front.requests).toHaveLength(1);
      expect(tokens.requests).toEqual([]);
    } finally {
      await Promise.all([front.close(), tokens.close()]);
    }
  });
});

// ---------- htpasswd ----------

describe('registry source with htpasswd auth', () => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd' });
    await registry.push(`oci:${layout.dir}:amd64`, 'group/app:1.0');
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('pulls with the right credentials', async () => {
    const { username, password } = registry.credentials!;
    await withSource(
      ref(registry.host, 'group/app', '1.0'),
      { username, password },
      async (source) => {
        const m = await source.manifest();
        expect(m.digest).toBe(layout.amd64.manifest.digest);
        const layer = await readAll(await source.blob(layout.amd64.layers[1]!));
        expect(layer.equals(layout.amd64.layers[1]!.bytes)).toBe(true);
      },
    );
  });

  it('sends Basic credentials up front once it has seen the challenge', async () => {
    const events: RegistryEvent[] = [];
    await withSource(
      ref(registry.host, 'group/app', '1.0'),
      { ...registry.credentials, onEvent: (e) => events.push(e) },
      async (source) => {
        await source.manifest();
        await readAll(await source.blob(layout.amd64.config));
      },
    );
    const requests = events.filter((e) => e.type === 'request');
    expect(requests.map((r) => [r.status, r.authorization])).toEqual([
      [401, false],
      [200, true],
      [200, true],
    ]);
  });

  it('gives a clear error for wrong credentials', async () => {
    await withSource(
      ref(registry.host, 'group/app', '1.0'),
      { username: 'testuser', password: 'wrong' },
      async (source) => {
        const err = await rejection(source.manifest());
        expect(err.status).toBe(401);
        expect(err.code).toBe('UNAUTHORIZED');
        expect(err.message).toContain('testuser');
        expect(err.message).toMatch(/rejected|not accepted/);
      },
    );
  });

  it('gives a clear error without credentials', async () => {
    const { dir } = await makeTempDir();
    await withSource(
      ref(registry.host, 'group/app', '1.0'),
      { dockerConfigPath: join(dir, 'none.json'), username: '' },
      async (source) => {
        // an explicit config path that does not exist is an error of its own
        const err = await rejection(source.manifest());
        expect(err.message).toContain('none.json');
      },
    );
    await writeFile(join(dir, 'empty.json'), '{}');
    await withSource(
      ref(registry.host, 'group/app', '1.0'),
      { dockerConfigPath: join(dir, 'empty.json') },
      async (source) => {
        const err = await rejection(source.manifest());
        expect(err.code).toBe('UNAUTHORIZED');
        expect(err.message).toContain('no credentials were given');
      },
    );
  });

  it('reads credentials from a Docker config.json', async () => {
    const { dir } = await makeTempDir();
    const { username, password } = registry.credentials!;
    const auth = Buffer.from(`${username}:${password}`).toString('base64');
    const variants: [string, unknown][] = [
      ['auth.json', { auths: { [registry.host]: { auth } } }],
      ['fields.json', { auths: { [`http://${registry.host}/v2/`]: { username, password } } }],
      // credential helpers are out of scope: ignored, the plain entry still works
      [
        'helpers.json',
        {
          credsStore: 'desktop',
          credHelpers: { 'other.example': 'pass' },
          auths: { [`https://${registry.host}`]: { auth } },
        },
      ],
    ];
    for (const [name, doc] of variants) {
      await writeFile(join(dir, name), JSON.stringify(doc));
      await withSource(
        ref(registry.host, 'group/app', '1.0'),
        { dockerConfigPath: join(dir, name) },
        async (source) => {
          expect((await source.manifest()).digest).toBe(layout.amd64.manifest.digest);
        },
      );
    }
    // the default location: $DOCKER_CONFIG/config.json
    const saved = process.env.DOCKER_CONFIG;
    await mkdir(join(dir, 'docker'));
    await writeFile(
      join(dir, 'docker', 'config.json'),
      JSON.stringify({ auths: { [registry.host]: { auth } } }),
    );
    process.env.DOCKER_CONFIG = join(dir, 'docker');
    try {
      await withSource(ref(registry.host, 'group/app', '1.0'), {}, async (source) => {
        expect((await source.manifest()).digest).toBe(layout.amd64.manifest.digest);
      });
    } finally {
      if (saved === undefined) delete process.env.DOCKER_CONFIG;
      else process.env.DOCKER_CONFIG = saved;
    }
  });

  it('reads no Docker config at all with dockerConfigPath: false', async () => {
    const { dir } = await makeTempDir();
    const { username, password } = registry.credentials!;
    const auth = Buffer.from(`${username}:${password}`).toString('base64');
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ auths: { [registry.host]: { auth } } }),
    );
    const saved = process.env.DOCKER_CONFIG;
    process.env.DOCKER_CONFIG = dir; // the host's own credentials for this very registry
    try {
      const r = ref(registry.host, 'group/app', '1.0');
      // by default (the CLI) the host's config is used
      await withSource(r, {}, async (source) => {
        expect((await source.manifest()).digest).toBe(layout.amd64.manifest.digest);
      });
      // switched off: anonymous, refused
      await withSource(r, { dockerConfigPath: false }, async (source) => {
        const err = await rejection(source.manifest());
        expect(err).toBeInstanceOf(RegistryError);
        expect(err.status).toBe(401);
        expect(err.code).toBe('UNAUTHORIZED');
        expect(err.message).toContain('no credentials were given (set username/password)');
      });
      // given credentials still work
      await withSource(r, { dockerConfigPath: false, username, password }, async (source) => {
        expect((await source.manifest()).digest).toBe(layout.amd64.manifest.digest);
      });
    } finally {
      if (saved === undefined) delete process.env.DOCKER_CONFIG;
      else process.env.DOCKER_CONFIG = saved;
    }
  });
});

// ---------- token auth ----------

describe('registry source with token auth', () => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token' });
    await registry.push(`oci:${layout.dir}:multi`, 'group/app:multi');
    await registry.push(`oci:${layout.dir}:amd64`, 'group/other:1.0');
  });
  afterAll(async () => {
    await registry?.stop();
  });

  const ours = (ua: string): TokenRequest[] =>
    registry.tokenServer!.requests.filter((r) => r.userAgent === ua);

  it('pulls with a token, fetched once per scope across many requests', async () => {
    const ua = 'regscan-test-token-once';
    await withSource(
      ref(registry.host, 'group/app', 'multi'),
      { ...registry.credentials, userAgent: ua },
      async (source) => {
        const images = await resolveImages(source, 'all');
        expect(images).toHaveLength(2);
        for (const img of [layout.amd64, layout.arm64]) {
          for (const layer of img.layers) {
            expect((await readAll(await source.blob(layer))).equals(layer.bytes)).toBe(true);
          }
        }
        expect((await source.manifest()).digest).toBe(layout.index.digest);
      },
    );
    const requests = ours(ua);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      account: 'alice',
      scopes: ['repository:group/app:pull'],
      status: 200,
      service: registry.tokenServer!.service,
    });
    // another repository is another scope: one more token
    const ua2 = 'regscan-test-token-other';
    await withSource(
      ref(registry.host, 'group/other', '1.0'),
      { ...registry.credentials, userAgent: ua2 },
      async (source) => {
        await source.manifest();
        await readAll(await source.blob(layout.amd64.config));
      },
    );
    expect(ours(ua2).map((r) => r.scopes)).toEqual([['repository:group/other:pull']]);
  });

  it('fetches a new token once the old one has expired', async () => {
    const ua = 'regscan-test-token-expiry';
    let clock = 1_000_000;
    await withSource(
      ref(registry.host, 'group/app', 'multi'),
      { ...registry.credentials, userAgent: ua, now: () => clock },
      async (source) => {
        await source.manifest();
        await source.manifest();
        clock += 299_000; // the token server says expires_in 300: renewed a little early
        await source.manifest();
      },
    );
    expect(ours(ua)).toHaveLength(2);
  });

  it('lets a pull-only user pull', async () => {
    await withSource(
      ref(registry.host, 'group/app', 'multi'),
      { username: 'bob', password: 'bobpass' },
      async (source) => {
        expect(
          (await source.manifest(layout.arm64.manifest.digest)).bytes.equals(
            layout.arm64.manifest.bytes,
          ),
        ).toBe(true);
      },
    );
  });

  it('gives a clear error when the token server rejects the password', async () => {
    const { dir } = await makeTempDir();
    await writeFile(join(dir, 'empty.json'), '{}');
    await withSource(
      ref(registry.host, 'group/app', 'multi'),
      { username: 'alice', password: 'wrong' },
      async (source) => {
        const err = await rejection(source.manifest());
        expect(err.status).toBe(401);
        expect(err.code).toBe('UNAUTHORIZED');
        expect(err.message).toContain('token server rejected the credentials of user "alice"');
      },
    );
  });

  it('gives a clear error for an anonymous pull the registry refuses', async () => {
    const { dir } = await makeTempDir();
    await writeFile(join(dir, 'empty.json'), '{}');
    const ua = 'regscan-test-token-anon';
    await withSource(
      ref(registry.host, 'group/app', 'multi'),
      { dockerConfigPath: join(dir, 'empty.json'), userAgent: ua },
      async (source) => {
        const err = await rejection(source.manifest());
        expect(err.status).toBe(401);
        expect(err.code).toBe('UNAUTHORIZED');
        expect(err.message).toContain('no credentials were given');
      },
    );
    // the anonymous token (no access) was fetched fresh for this request: refused, no second try
    expect(ours(ua)).toHaveLength(1);
  });
});

// ---------- behaviour only small local servers can show ----------

describe('registry source against small local servers', () => {
  it('refuses Docker schema 1 manifests', async () => {
    const schema1 = {
      schemaVersion: 1,
      name: 'group/old',
      tag: 'v1',
      architecture: 'amd64',
      fsLayers: [{ blobSum: `sha256:${'a'.repeat(64)}` }],
      history: [{ v1Compatibility: '{}' }],
    };
    const server = await startServer((req, res) => {
      const type = req.url?.endsWith('/signed')
        ? 'application/vnd.docker.distribution.manifest.v1+prettyjws'
        : req.url?.endsWith('/plain')
          ? 'application/vnd.docker.distribution.manifest.v1+json'
          : 'application/json';
      res.writeHead(200, { 'content-type': type });
      res.end(JSON.stringify(schema1));
    });
    try {
      for (const tag of ['signed', 'plain', 'generic']) {
        await withSource(ref(server.host, 'group/old', tag), {}, async (source) => {
          const err = await rejection(source.manifest());
          expect(err.message).toContain('schema 1 manifests are not supported');
        });
      }
    } finally {
      await server.close();
    }
  });

  it('asks for OCI and Docker manifest types and takes the type from the body or the shape', async () => {
    const index = { schemaVersion: 2, manifests: [] };
    const indexBytes = Buffer.from(JSON.stringify(index));
    const accepts: (string | undefined)[] = [];
    const server = await startServer((req, res) => {
      accepts.push(req.headers.accept);
      res.writeHead(200, {
        'content-type': 'application/json',
        'docker-content-digest': digestOf(indexBytes),
      });
      res.end(indexBytes);
    });
    try {
      await withSource(ref(server.host, 'r', 'x'), {}, async (source) => {
        const m = await source.manifest();
        expect(m.mediaType).toBe('application/vnd.oci.image.index.v1+json');
        expect(m.digest).toBe(digestOf(indexBytes));
      });
    } finally {
      await server.close();
    }
    expect(accepts[0]).toBe(MANIFEST_ACCEPT);
    for (const t of [
      'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.oci.image.index.v1+json',
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.docker.distribution.manifest.list.v2+json',
    ]) {
      expect(accepts[0]).toContain(t);
    }
  });

  it('checks the bytes against the digest asked for and against Docker-Content-Digest', async () => {
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [],
      }),
    );
    const other = `sha256:${'b'.repeat(64)}`;
    const server = await startServer((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/vnd.oci.image.index.v1+json',
        'docker-content-digest': other,
      });
      res.end(bytes);
    });
    try {
      await withSource(ref(server.host, 'r', 'x'), {}, async (source) => {
        expect((await rejection(source.manifest())).message).toMatch(
          /digest mismatch.*registry says/,
        );
        expect((await rejection(source.manifest(other))).message).toContain('digest mismatch');
      });
    } finally {
      await server.close();
    }
  });

  it('follows blob redirects, dropping Authorization when the host changes', async () => {
    const content = Buffer.from('layer bytes from storage');
    const digest = digestOf(content);
    const storage = await startServer((req, res) => {
      if (req.url?.startsWith('/signed/')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(content);
        return;
      }
      res.writeHead(404).end();
    });
    const basic = `Basic ${Buffer.from('u:p').toString('base64')}`;
    const front = await startServer((req, res) => {
      if (req.headers.authorization !== basic) {
        return json(
          res,
          401,
          { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
          {
            'www-authenticate': 'Basic realm="test"',
          },
        );
      }
      if (req.url === `/v2/r/blobs/${digest}`) {
        // first a same-host hop (keeps the credentials), then off to the storage host
        res.writeHead(307, { location: `/internal/${digest}` }).end();
        return;
      }
      if (req.url === `/internal/${digest}`) {
        res.writeHead(302, { location: `${storage.origin}/signed/${digest}?sig=abc` }).end();
        return;
      }
      res.writeHead(404).end();
    });
    const events: RegistryEvent[] = [];
    try {
      await withSource(
        ref(front.host, 'r', 'x'),
        { username: 'u', password: 'p', onEvent: (e) => events.push(e) },
        async (source) => {
          const bytes = await readAll(
            await source.blob({ mediaType: 'x', digest, size: content.length }),
          );
          expect(bytes.equals(content)).toBe(true);
        },
      );
    } finally {
      await front.close();
      await storage.close();
    }
    expect(front.requests.map((r) => [r.url, r.authorization])).toEqual([
      [`/v2/r/blobs/${digest}`, undefined],
      [`/v2/r/blobs/${digest}`, basic],
      [`/internal/${digest}`, basic],
    ]);
    expect(storage.requests).toEqual([
      { method: 'GET', url: `/signed/${digest}?sig=abc`, authorization: undefined },
    ]);
    expect(
      events
        .filter((e) => e.type === 'redirect')
        .map((e) => (e as { authorization: string }).authorization),
    ).toEqual(['kept', 'dropped']);
  });

  it('drops a bearer token on a redirect to another host too', async () => {
    const content = Buffer.from('bytes');
    const digest = digestOf(content);
    const storage = await startServer((_req, res) => {
      res.end(content);
    });
    const tokens = await startServer((_req, res) => json(res, 200, { access_token: 'tok-1' }));
    const front = await startServer((req, res) => {
      if (req.headers.authorization !== 'Bearer tok-1') {
        return json(
          res,
          401,
          {},
          {
            'www-authenticate': `Bearer realm="${tokens.origin}/token",service="svc",scope="repository:r:pull"`,
          },
        );
      }
      res.writeHead(303, { location: `${storage.origin}/blob` }).end();
    });
    try {
      await withSource(ref(front.host, 'r', 'x'), {}, async (source) => {
        expect(
          (await readAll(await source.blob({ mediaType: 'x', digest, size: 5 }))).equals(content),
        ).toBe(true);
      });
    } finally {
      await Promise.all([front.close(), storage.close(), tokens.close()]);
    }
    expect(front.requests.map((r) => r.authorization)).toEqual([undefined, 'Bearer tok-1']);
    expect(storage.requests[0]!.authorization).toBeUndefined();
    expect(tokens.requests[0]!.url).toBe('/token?service=svc&scope=repository%3Ar%3Apull');
  });

  it('retries once with a fresh token when the registry refuses a cached one', async () => {
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [],
      }),
    );
    let issued = 0;
    let valid = 'tok-1';
    const tokens = await startServer((_req, res) =>
      json(res, 200, { token: `tok-${++issued}`, expires_in: 600 }),
    );
    const front = await startServer((req, res) => {
      if (req.headers.authorization !== `Bearer ${valid}`) {
        return json(
          res,
          401,
          { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
          {
            'www-authenticate': `Bearer realm="${tokens.origin}/token",service="svc",scope="repository:r:pull"`,
          },
        );
      }
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
      res.end(bytes);
    });
    try {
      await withSource(ref(front.host, 'r', 'x'), {}, async (source) => {
        await source.manifest(); // no auth → 401 → tok-1
        await source.manifest(); // tok-1 up front
        valid = 'tok-2'; // the registry revokes tok-1
        await source.manifest(); // tok-1 → 401 → fresh tok-2
        valid = 'never';
        const err = await rejection(source.manifest()); // tok-2 → 401 → tok-3 → 401 → give up
        expect(err.code).toBe('UNAUTHORIZED');
      });
    } finally {
      await Promise.all([front.close(), tokens.close()]);
    }
    expect(issued).toBe(3);
    expect(front.requests.map((r) => r.authorization)).toEqual([
      undefined,
      'Bearer tok-1',
      'Bearer tok-1',
      'Bearer tok-1',
      'Bearer tok-2',
      'Bearer tok-2',
      'Bearer tok-3',
    ]);
  });

  it('closes promptly even while a blob body is still open', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': '1000000',
      });
      res.write(Buffer.alloc(1000)); // and never the rest
    });
    try {
      const source = openRegistrySource(ref(server.host, 'r', 'x'), { insecure: true });
      const body = await source.blob({
        mediaType: 'x',
        digest: `sha256:${'c'.repeat(64)}`,
        size: 1_000_000,
      });
      const ended = new Promise<unknown>((resolve) => {
        body.on('error', resolve);
        body.on('close', () => resolve('closed'));
      });
      body.resume();
      const started = Date.now();
      await source.close();
      expect(Date.now() - started).toBeLessThan(5000);
      // the reader sees the stream fail, it does not hang until the body timeout
      expect(await ended).toBeInstanceOf(ImageError);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await server.close();
    }
  });

  it('shares one token fetch between concurrent requests', async () => {
    const bytes = Buffer.from('{"schemaVersion":2,"manifests":[]}');
    const tokens = await startServer(async (_req, res) => {
      await new Promise((r) => setTimeout(r, 50));
      json(res, 200, { token: 'tok' });
    });
    const front = await startServer((req, res) => {
      if (req.headers.authorization !== 'Bearer tok') {
        return json(
          res,
          401,
          {},
          { 'www-authenticate': `Bearer realm="${tokens.origin}/token",service="svc"` },
        );
      }
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
      res.end(bytes);
    });
    try {
      await withSource(ref(front.host, 'r', 'x'), {}, async (source) => {
        await source.manifest();
        await Promise.all([1, 2, 3, 4, 5].map(() => source.manifest()));
      });
    } finally {
      await Promise.all([front.close(), tokens.close()]);
    }
    expect(tokens.requests).toHaveLength(1);
    // no scope in the challenge: we ask for pull on the repository
    expect(tokens.requests[0]!.url).toBe('/token?service=svc&scope=repository%3Ar%3Apull');
  });
});

// ---------- pure parts ----------

describe('parseAuthChallenges', () => {
  const cases: [string, ReturnType<typeof parseAuthChallenges>][] = [
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.docker.io/token',
            service: 'registry.docker.io',
            scope: 'repository:library/alpine:pull',
          },
        },
      ],
    ],
    [
      'Bearer realm="http://127.0.0.1:1/token", scope="repository:a/b:pull,push" , service=svc',
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'http://127.0.0.1:1/token',
            scope: 'repository:a/b:pull,push',
            service: 'svc',
          },
        },
      ],
    ],
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    [
      'Basic realm="a, b", Bearer realm="https://x/token",error="invalid_token"',
      [
        { scheme: 'basic', params: { realm: 'a, b' } },
        { scheme: 'bearer', params: { realm: 'https://x/token', error: 'invalid_token' } },
      ],
    ],
    [
      'Negotiate YWJjZA==, Basic',
      [
        { scheme: 'negotiate', params: {}, token68: 'YWJjZA==' },
        { scheme: 'basic', params: {} },
      ],
    ],
    ['BEARER REALM="q\\"uoted"', [{ scheme: 'bearer', params: { realm: 'q"uoted' } }]],
    ['', []],
  ];
  it.each(cases)('%s', (header, expected) => {
    expect(parseAuthChallenges(header)).toEqual(expected);
  });
  it('reads repeated headers', () => {
    expect(
      parseAuthChallenges(['Basic realm="a"', 'Bearer realm="b"']).map((c) => c.scheme),
    ).toEqual(['basic', 'bearer']);
  });
});

describe('Docker config credentials', () => {
  it('finds Docker Hub under its usual names and ignores helpers', async () => {
    const { dir } = await makeTempDir();
    const auth = Buffer.from('hubuser:pa:ss').toString('base64');
    const path = join(dir, 'config.json');
    await writeFile(
      path,
      JSON.stringify({
        credsStore: 'secretservice',
        auths: { 'https://index.docker.io/v1/': { auth }, 'ghcr.io': {} },
      }),
    );
    expect(await credentialsFromDockerConfig('docker.io', path, true)).toEqual({
      username: 'hubuser',
      password: 'pa:ss',
    });
    expect(await credentialsFromDockerConfig('ghcr.io', path, true)).toBeUndefined();
    expect(await credentialsFromDockerConfig('quay.io', path, true)).toBeUndefined();
    expect(
      await credentialsFromDockerConfig('quay.io', join(dir, 'missing.json'), false),
    ).toBeUndefined();
    await expect(
      credentialsFromDockerConfig('quay.io', join(dir, 'missing.json'), true),
    ).rejects.toThrow(/missing\.json/);
    await writeFile(path, '{not json');
    await expect(credentialsFromDockerConfig('quay.io', path, false)).rejects.toThrow(
      /not valid JSON/,
    );
  });
});

describe('registry names and retry timing', () => {
  it('maps Docker Hub to its API host and keeps its name', () => {
    expect(registryApiHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryApiHost('ghcr.io')).toBe('ghcr.io');
    const source = openRegistrySource(parseDockerReference('alpine:3.20'));
    expect(source.name).toBe('docker.io/library/alpine');
    expect(source.tag).toBe('3.20');
    return source.close();
  });

  it('parses Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
