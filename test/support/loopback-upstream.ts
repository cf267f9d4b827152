import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the upstream saw of the last request. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
}

/** A real HTTP upstream on 127.0.0.1 for the gateway suites. */
export interface LoopbackUpstream {
  url: string;
  last(): SeenRequest;
  /** Resolves when the connection of a `/…/hang` request closes (the gateway gave up on it). */
  hangClosed(): Promise<void>;
  /** Resolves when a `/…/hang` request arrives (the gateway forwarded it). */
  hangArrived(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the upstream. Paths: `/…/echo` streams the request body back; `/…/big?mb=N` streams N MiB
 * of zeros; `/…/hang` never answers; `/…/hop` answers with hop-by-hop headers; anything else
 * answers 200 with a JSON summary of the request.
 */
export async function startUpstream(): Promise<LoopbackUpstream> {
  let last: SeenRequest | undefined;
  let hangClosed: (() => void) | undefined;
  let hangArrived: (() => void) | undefined;
  const hangClosedOnce = () =>
    new Promise<void>((resolve) => {
      hangClosed = resolve;
    });
  const server: Server = createServer((req, res) => {
    last = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders };
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path.endsWith('/echo')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
      return;
    }
    if (path.endsWith('/big')) {
      const mb = Number(new URL(req.url ?? '', 'http://x').searchParams.get('mb') ?? '1');
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let sent = 0;
      const chunk = Buffer.alloc(1024 * 1024);
      const write = () => {
        while (sent < mb) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', write);
        }
        res.end();
      };
      write();
      return;
    }
    if (path.endsWith('/hang')) {
      req.socket.once('close', () => hangClosed?.());
      hangArrived?.();
      return;
    }
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      hash.update(c);
    });
    req.on('end', () => {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-upstream': 'yes' };
      if (path.endsWith('/hop'))
        Object.assign(headers, { connection: 'x-hop-secret', 'x-hop-secret': '1', 'proxy-x': '1' });
      res.writeHead(200, headers);
      res.end(JSON.stringify({ method: req.method, url: req.url, bytes, sha256: hash.digest('hex') }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    last: () => {
      if (!last) throw new Error('the upstream has seen no request');
      return last;
    },
    hangClosed: hangClosedOnce,
    hangArrived: () =>
      new Promise<void>((resolve) => {
        hangArrived = resolve;
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 where nothing listens (for 502s). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
