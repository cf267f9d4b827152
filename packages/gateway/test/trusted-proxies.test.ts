import { Gateway, parseGatewayConfig } from '@keyroll/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../test/support/harness.js';
import { send } from '../../../test/support/http-send.js';
import { type LoopbackUpstream, startUpstream } from '../../../test/support/loopback-upstream.js';
import { TrustedProxies } from '../src/trusted-proxies.js';

const CLIENT_CLAIMS = {
  'x-forwarded-for': '203.0.113.7',
  'X-Forwarded-Proto': 'https',
  'x-forwarded-host': 'api.example',
  forwarded: 'for=203.0.113.7;proto=https',
  X_Forwarded_For: '198.51.100.9',
  'x-real-ip': '198.51.100.10',
};

describe('gateway forwarding headers and trusted proxies', () => {
  let upstream: LoopbackUpstream;
  const gateways: Gateway[] = [];
  const start = async (trustedProxies?: string[]) => {
    const routes = [{ pathPrefix: '/', upstream: upstream.url }];
    const gateway = new Gateway({ config: parseGatewayConfig({ routes, trustedProxies }), verifier: null });
    gateways.push(gateway);
    return gateway.listen(0);
  };
  beforeAll(async () => {
    upstream = await startUpstream();
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await upstream?.close();
  });

  it('replaces what an untrusted client claims with what the socket says', async () => {
    const base = await start();
    expect((await send(base, 'GET', '/x', CLIENT_CLAIMS)).status).toBe(200);
    const seen = upstream.last();
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe(new URL(base).host);
    expect(seen.headers.forwarded).toBe(`for=127.0.0.1;proto=http;host="${new URL(base).host}"`);
    expect(seen.rawHeaders.join('\n')).not.toMatch(/203\.0\.113|198\.51\.100|api\.example|https/);
  });

  it('appends to a trusted proxy’s X-Forwarded-For and Forwarded and keeps its proto and host, never its underscore spellings', async () => {
    const base = await start(['127.0.0.0/8', '::1']);
    expect((await send(base, 'GET', '/x', CLIENT_CLAIMS)).status).toBe(200);
    const seen = upstream.last();
    expect(seen.headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(seen.headers['x-forwarded-host']).toBe('api.example');
    expect(seen.headers.forwarded).toBe(
      `for=203.0.113.7;proto=https, for=127.0.0.1;proto=http;host="${new URL(base).host}"`,
    );
    expect(seen.rawHeaders.join('\n')).not.toMatch(/198\.51\.100/);
  });

  it('reads the client of a trusted hop as the right-most untrusted X-Forwarded-For entry', () => {
    const trusted = new TrustedProxies(['10.0.0.0/8', '127.0.0.1']);
    expect(trusted.clientAddress('127.0.0.1', '203.0.113.7, 10.1.2.3')).toBe('203.0.113.7');
    expect(trusted.clientAddress('127.0.0.1', '198.51.100.1, 203.0.113.7')).toBe('203.0.113.7');
    expect(trusted.clientAddress('127.0.0.1', ['203.0.113.7', '10.0.0.1'])).toBe('203.0.113.7');
    expect(trusted.clientAddress('192.0.2.1', '203.0.113.7')).toBe('192.0.2.1');
    expect(trusted.clientAddress('127.0.0.1', undefined)).toBe('127.0.0.1');
    expect(trusted.clientAddress('127.0.0.1', 'not-an-ip')).toBe('not-an-ip');
    expect(trusted.clientAddress('::ffff:127.0.0.1', '203.0.113.7')).toBe('203.0.113.7');
    expect(new TrustedProxies([]).has('127.0.0.1')).toBe(false);
  });
});

const sqlite = DIALECTS.find((d) => d.name === 'sqlite');

describe.skipIf(!sqlite?.available)('allowedIps behind a trusted proxy', () => {
  let h: Harness;
  let upstream: LoopbackUpstream;
  let base: string;

  beforeAll(async () => {
    if (!sqlite) throw new Error('no sqlite dialect');
    upstream = await startUpstream();
    h = await createHarness(sqlite, {
      KEYROLL_GATEWAY_CONFIG: JSON.stringify({ routes: [{ pathPrefix: '/api', upstream: upstream.url }] }),
      KEYROLL_GATEWAY_TRUSTED_PROXIES: '127.0.0.1, ::1',
    });
    if (!h.kr.gateway) throw new Error('the gateway was not configured');
    base = await h.kr.gateway.listen(0);
  });
  afterAll(async () => {
    await h?.close();
    await upstream?.close();
  });

  it('checks the client named by the trusted proxy, not the proxy itself', async () => {
    const { key } = await h.consumerWithKey({ allowedIps: ['203.0.113.0/24'] });
    const fromClient = await send(base, 'GET', '/api/x', { 'x-api-key': key, 'x-forwarded-for': '203.0.113.7' });
    expect(fromClient.status).toBe(200);
    const fromOther = await send(base, 'GET', '/api/x', { 'x-api-key': key, 'x-forwarded-for': '198.51.100.1' });
    expect(fromOther.status).toBe(403);
    expect(fromOther.body).toMatchObject({ code: 'FORBIDDEN', verifyCode: 'IP_NOT_ALLOWED' });
    const viaUnderscore = await send(base, 'GET', '/api/x', { 'x-api-key': key, X_Forwarded_For: '203.0.113.7' });
    expect(viaUnderscore.status).toBe(403);
  });
});
