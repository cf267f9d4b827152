import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../test/support/harness.js';
import { send } from '../../../test/support/http-send.js';
import { type LoopbackUpstream, startUpstream } from '../../../test/support/loopback-upstream.js';

const sqlite = DIALECTS.find((d) => d.name === 'sqlite');

/** What came back on a raw connection: the head's status and content type, and the bytes after the head. */
interface RawAnswer {
  status: number;
  type: string;
  head: string;
  body: string;
}

/**
 * Writes raw bytes to the gateway and reads until it closes the connection. The client's side stays
 * open: the gateway reads a FIN as the client going away.
 */
async function raw(port: number, bytes: string): Promise<RawAnswer> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(bytes);
  const timer = setTimeout(() => socket.destroy(), 5000);
  await closed;
  clearTimeout(timer);
  const end = received.indexOf('\r\n\r\n');
  const head = end < 0 ? received : received.slice(0, end);
  return {
    status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1] ?? 0),
    type: /\r\ncontent-type: ([^\r]+)/i.exec(head)?.[1] ?? '',
    head,
    body: end < 0 ? '' : received.slice(end + 4),
  };
}

describe.skipIf(!sqlite?.available)('gateway: requests Node would answer by itself', () => {
  let h: Harness;
  let upstream: LoopbackUpstream;
  let port: number;
  let base: string;
  let key: string;

  beforeAll(async () => {
    if (!sqlite) throw new Error('no sqlite dialect');
    upstream = await startUpstream();
    const routes = [{ pathPrefix: '/api', upstream: upstream.url, scopes: ['read'] }];
    h = await createHarness(sqlite, { KEYROLL_GATEWAY_CONFIG: JSON.stringify({ routes }) });
    if (!h.kr.gateway) throw new Error('the gateway was not configured');
    base = await h.kr.gateway.listen(0);
    port = Number(new URL(base).port);
    key = (await h.consumerWithKey({ scopes: ['read'] })).key;
  });
  afterAll(async () => {
    await h?.close();
    await upstream?.close();
  });

  it('answers a request the HTTP parser refuses with a 400 problem', async () => {
    for (const bytes of ['GARBAGE\r\n\r\n', 'GET /api/x HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n']) {
      const res = await raw(port, bytes);
      expect(res, JSON.stringify(bytes)).toMatchObject({ status: 400, type: 'application/problem+json' });
      expect(JSON.parse(res.body)).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    }
  });

  it('answers headers over the limit with a 431 problem, and a HEAD with the same head and no body', async () => {
    const big = `X-Big: ${'a'.repeat(20_000)}\r\n`;
    const get = await raw(port, `GET /api/x HTTP/1.1\r\nHost: x\r\n${big}\r\n`);
    expect(get).toMatchObject({ status: 431, type: 'application/problem+json' });
    expect(JSON.parse(get.body)).toMatchObject({ status: 431, code: 'HEADERS_TOO_LARGE' });
    const head = await raw(port, `HEAD /api/x HTTP/1.1\r\nHost: x\r\n${big}\r\n`);
    expect(head).toMatchObject({ status: 431, type: 'application/problem+json', body: '' });
    // Node's client reads any body after a HEAD answer as a broken response.
    const viaClient = await send(base, 'HEAD', `/api/${'s'.repeat(20_000)}`, { 'x-api-key': key });
    expect(viaClient.status).toBe(431);
    expect(viaClient.headers['content-type']).toBe('application/problem+json');
  });

  it('forwards a request with an expectation it does not know, without the Expect header', async () => {
    const res = await send(base, 'GET', '/api/expect', { 'x-api-key': key, expect: 'something' });
    expect(res.status).toBe(200);
    expect(upstream.last()).toMatchObject({ method: 'GET', url: '/api/expect' });
    expect(upstream.last().headers.expect).toBeUndefined();
  });

  it('answers CONNECT with a 405 problem instead of dropping the connection', async () => {
    for (const target of ['127.0.0.1:80', 'http://127.0.0.1/api/x']) {
      const res = await raw(port, `CONNECT ${target} HTTP/1.1\r\nHost: 127.0.0.1:80\r\nX-Api-Key: ${key}\r\n\r\n`);
      expect(res, target).toMatchObject({ status: 405, type: 'application/problem+json' });
      expect(JSON.parse(res.body)).toMatchObject({ status: 405, code: 'METHOD_NOT_ALLOWED' });
    }
  });
});
