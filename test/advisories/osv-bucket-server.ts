/**
 * A local stand-in for the OSV bucket (`<ecosystem>/all.zip`, `<ecosystem>/modified_id.csv`,
 * `<ecosystem>/<id>.json`) on 127.0.0.1, serving records the test sets and recording every request.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { zipSync, type Zippable } from 'fflate';

export interface OsvBucketServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Paths requested, decoded, in order (`/PyPI/all.zip`). */
  requests: string[];
  /** Record bodies by ecosystem and id; change them between syncs. */
  records: Map<string, Map<string, string>>;
  /** Answers for paths that should fail: a status, used once. */
  failOnce: Map<string, number>;
  /** Ids listed in modified_id.csv but served as 404 (deleted between listing and fetch). */
  vanished: Set<string>;
  close(): Promise<void>;
}

export async function startOsvBucket(): Promise<OsvBucketServer> {
  const records = new Map<string, Map<string, string>>();
  const requests: string[] = [];
  const failOnce = new Map<string, number>();
  const vanished = new Set<string>();

  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const failure = failOnce.get(path);
    if (failure !== undefined) {
      failOnce.delete(path);
      res.writeHead(failure).end('try again');
      return;
    }
    const m = /^\/([^/]+)\/([^/]+)$/.exec(path);
    const eco = m ? records.get(m[1]!) : undefined;
    if (!m || !eco) {
      res.writeHead(404).end();
      return;
    }
    const file = m[2]!;
    if (file === 'all.zip') {
      const files: Zippable = {};
      for (const [id, body] of eco) files[`${id}.json`] = new TextEncoder().encode(body);
      const zip = zipSync(files);
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': zip.length });
      res.end(zip);
      return;
    }
    if (file === 'modified_id.csv') {
      const lines = [...eco]
        .map(([id, body]) => [(JSON.parse(body) as { modified: string }).modified, id] as const)
        .sort((a, b) => (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0))
        .map(([modified, id]) => `${modified},${id}\n`);
      res.writeHead(200, { 'content-type': 'text/csv' }).end(lines.join(''));
      return;
    }
    const id = file.replace(/\.json$/, '');
    const body = eco.get(id);
    if (body === undefined || vanished.has(id) || !file.endsWith('.json')) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    records,
    failOnce,
    vanished,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
