import { once } from 'node:events';
import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const sqlite = DIALECTS.find((d) => d.name === 'sqlite');

/** Opens a TCP connection to `port` and resolves once it is established. */
async function open(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  return socket;
}

/** Everything the server sends until it closes the connection. */
function untilClosed(socket: Socket): Promise<string> {
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.on('close', () => resolve(received)));
}

describe.skipIf(!sqlite?.available)('listener limits (API and gateway)', () => {
  let h: Harness;
  const listeners: { name: string; server: Server; port: number }[] = [];

  beforeAll(async () => {
    if (!sqlite) throw new Error('no sqlite dialect');
    h = await createHarness(sqlite, {
      KEYROLL_HEADERS_TIMEOUT_MS: '200',
      KEYROLL_REQUEST_TIMEOUT_MS: '400',
      KEYROLL_MAX_CONNECTIONS: '2',
      KEYROLL_GATEWAY_CONFIG: JSON.stringify({ routes: [{ pathPrefix: '/api', upstream: 'http://127.0.0.1:9' }] }),
    });
    const api = new URL(await h.kr.app.listen({ host: '127.0.0.1', port: 0 }));
    const gateway = h.kr.gateway;
    if (!gateway) throw new Error('expected a gateway');
    const gw = new URL(await gateway.listen(0));
    listeners.push(
      { name: 'api', server: h.kr.app.server, port: Number(api.port) },
      { name: 'gateway', server: gateway.server, port: Number(gw.port) },
    );
  });
  afterAll(() => h?.close());

  it('cuts off a client that trickles its headers, with 408', { timeout: 10_000 }, async () => {
    for (const { name, port } of listeners) {
      const socket = await open(port);
      const answer = untilClosed(socket);
      socket.write('GET /healthz HTTP/1.1\r\nHost: keyroll\r\n');
      // The slowloris: a header line now and then, never the blank line that ends them.
      const trickle = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 20);
      try {
        expect(await answer, name).toMatch(/^HTTP\/1\.1 408 /);
      } finally {
        clearInterval(trickle);
      }
    }
  });

  it('refuses connections beyond KEYROLL_MAX_CONNECTIONS', { timeout: 10_000 }, async () => {
    for (const { name, server, port } of listeners) {
      const held = [await open(port), await open(port)];
      try {
        const dropped = once(server, 'drop');
        const third = await open(port).catch(() => null);
        await dropped;
        if (third) expect(await untilClosed(third), name).toBe('');
        // The two held connections still work.
        const first = held[0];
        if (!first) throw new Error('no connection');
        const answer = untilClosed(first);
        first.end('GET /healthz HTTP/1.1\r\nHost: keyroll\r\nConnection: close\r\n\r\n');
        expect(await answer, name).toMatch(/^HTTP\/1\.1 (200|404) /);
      } finally {
        for (const s of held) s.destroy();
      }
    }
  });
});
