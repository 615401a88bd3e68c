import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inventoryImage } from '../../src/inventory/inventory-image.js';
import { sha256, singleLayerManifest } from '../support/oci-layout.js';
import { makeTar } from '../support/tar.js';

/**
 * Aborting an inventory closes its source: a layer download under way ends at once (the
 * registry sees its connection closed) and the call rejects with the abort's reason.
 */
let server: Server;
let host: string;
let blobRequest: IncomingMessage | undefined;
let blobRequested: () => void;
const requested = new Promise<void>((resolve) => (blobRequested = resolve));

beforeAll(async () => {
  const layer = gzipSync(
    await makeTar([{ name: 'var/lib/dpkg/status', content: 'Package: a\nVersion: 1\n' }]),
  );
  const { config, manifest } = singleLayerManifest(layer);
  server = createServer((req, res) => {
    if (req.url?.includes('/manifests/')) {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
      res.end(manifest);
    } else if (req.url?.endsWith(sha256(config))) {
      res.writeHead(200).end(config);
    } else if (req.url?.endsWith(sha256(layer))) {
      // the layer starts, then stalls: only an abort can end this download early
      blobRequest = req;
      res.writeHead(200, { 'content-length': layer.length });
      res.write(layer.subarray(0, 10));
      blobRequested();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

it('an abort ends the download under way and rejects with its reason', async () => {
  const controller = new AbortController();
  const scan = inventoryImage(`${host}/stalls:1`, {
    registry: { insecure: true, retries: 0, timeoutMs: 60_000 },
    signal: controller.signal,
  });
  const outcome = scan.then(
    () => 'resolved',
    (e: unknown) => e,
  );
  await requested;
  const closed = new Promise<void>((resolve) => blobRequest!.socket.once('close', resolve));
  controller.abort(new Error('the worker stopped'));
  expect(await outcome).toMatchObject({ message: 'the worker stopped' });
  await closed; // the registry's side of the download is gone too
});

it('an aborted signal stops before anything is fetched', async () => {
  await expect(
    inventoryImage(`${host}/stalls:1`, {
      registry: { insecure: true },
      signal: AbortSignal.abort(new Error('not now')),
    }),
  ).rejects.toThrow('not now');
});
