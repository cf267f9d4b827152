import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { send } from '../../../../test/support/http-send.js';

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

  it('answers a HEAD whose headers are over the limit with the 431 head and no body', async () => {
    // Node's client reads any body after a HEAD answer as a broken response ("data after Connection: close").
    const res = await send(`http://127.0.0.1:${port}`, 'HEAD', `/v1/keys/${'s'.repeat(20_000)}`);
    expect(res.status).toBe(431);
    expect(res.headers['content-type']).toBe('application/problem+json');
  });

  it('handles a request with an expectation it does not know as any other, instead of a bare 417', async () => {
    const res = await send(`http://127.0.0.1:${port}`, 'GET', '/healthz', { expect: 'something' });
    expect(res.status).toBe(200);
  });

  it('answers CONNECT with a 405 problem instead of dropping the connection', async () => {
    const res = await raw(port, 'CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n');
    expect(res).toMatchObject({
      status: 405,
      type: 'application/problem+json',
      body: { status: 405, code: 'METHOD_NOT_ALLOWED' },
    });
  });
});
