import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback upstream for the gateway fuzz: counts what reaches it. */
export interface EchoUpstream {
  url: string;
  /** Requests the upstream has answered. */
  served(): number;
  close(): Promise<void>;
}

/**
 * Starts an upstream on 127.0.0.1 that reads every request in full and answers 200 with a small
 * JSON summary, whatever the method, path or body: it never hangs and never fails, so any 5xx the
 * fuzz sees through the gateway is the gateway's own.
 */
export async function startEchoUpstream(): Promise<EchoUpstream> {
  let served = 0;
  const server: Server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      served++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, bytes }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address: AddressInfo | string | null = server.address();
  if (address === null || typeof address === 'string') throw new Error('the upstream is not listening on TCP');
  return {
    url: `http://127.0.0.1:${address.port}`,
    served: () => served,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
