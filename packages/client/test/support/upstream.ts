import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the upstream behind the gateway saw it. */
export interface UpstreamHit {
  url: string;
  keyId: string | undefined;
  /** Whether any header still carried a key (the gateway must strip it). */
  sawKey: boolean;
}

/** A loopback upstream answering 200 with the key id the gateway forwarded. */
export interface Upstream {
  url: string;
  hits: UpstreamHit[];
  close(): Promise<void>;
}

/** Starts the upstream on 127.0.0.1, port 0. */
export async function startUpstream(): Promise<Upstream> {
  const hits: UpstreamHit[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const keyId = req.headers['x-keyroll-key-id'];
      hits.push({
        url: req.url ?? '',
        keyId: typeof keyId === 'string' ? keyId : undefined,
        sawKey: req.headers['x-api-key'] !== undefined || req.headers.authorization !== undefined,
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, keyId }));
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
