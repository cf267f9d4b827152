import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const sqlite = DIALECTS.find((d) => d.name === 'sqlite');

/** Writes raw bytes to the API and returns everything it answers until it closes the connection. */
async function raw(port: number, bytes: string): Promise<{ status: number; type: string; body: unknown }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(bytes);
  await closed;
  const [head = '', body = ''] = received.split('\r\n\r\n');
  return {
    status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1] ?? 0),
    type: /\r\ncontent-type: ([^\r]+)/i.exec(head)?.[1] ?? '',
    body: body ? JSON.parse(body) : undefined,
  };
}

describe.skipIf(!sqlite?.available)('requests Node refuses before Fastify sees them', () => {
  let h: Harness;
  let port: number;

  beforeAll(async () => {
    if (!sqlite) throw new Error('no sqlite dialect');
    h = await createHarness(sqlite);
    port = Number(new URL(await h.kr.app.listen({ host: '127.0.0.1', port: 0 })).port);
  });
  afterAll(() => h?.close());

  it('answers a malformed request with a 400 problem', async () => {
    for (const bytes of ['GARBAGE\r\n\r\n', 'GET /v1/keys HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n']) {
      const res = await raw(port, bytes);
      expect(res, JSON.stringify(bytes)).toMatchObject({
        status: 400,
        type: 'application/problem+json',
        body: { status: 400, code: 'VALIDATION_FAILED', title: expect.any(String) },
      });
    }
  });

  it('answers headers over the limit with a 431 problem', async () => {
    const res = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(res).toMatchObject({
      status: 431,
      type: 'application/problem+json',
      body: { status: 431, code: 'HEADERS_TOO_LARGE' },
    });
  });
});
