import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { eventually } from '../../../../test/support/eventually.js';

/** One request a {@link Receiver} got. */
export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A real HTTP receiver on 127.0.0.1 that records webhooks and answers with a chosen status. */
export interface Receiver {
  url: string;
  received: Received[];
  /** Status of the next responses (default 200); the function sees the request number, from 1. */
  respond: (n: number) => number;
  /** Waits until at least `n` requests arrived (bounded poll). */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

/** Starts a receiver on a free port. */
export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const receiver: Receiver = {
    url: '',
    received,
    respond: () => 200,
    waitFor: (n, timeoutMs = 10_000) =>
      eventually(() => received.length >= n && received, `${n} webhooks (got ${received.length})`, timeoutMs),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = receiver.respond(received.length + 1);
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
      if (status >= 300 && status < 400) res.setHeader('location', `${receiver.url}/elsewhere`);
      res.statusCode = status;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('receiver has no port');
  receiver.url = `http://127.0.0.1:${address.port}/hooks`;
  return receiver;
}

/** The Standard Webhooks headers of a received request, as the verifier wants them. */
export function signatureHeaders(r: Received): Record<string, string> {
  return {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  };
}
