import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { loadEdgeConfig } from '../../src/data-plane/edge-config.js';
import { type EdgeNode, startEdge } from '../../src/data-plane/edge-node.js';

// Security finding: the edge app's Fastify `trustProxy` was always false, so behind a load balancer
// every call to its verify API seemed to come from the balancer, and a root key's `allowedIps` was
// judged on the balancer's address; a node honours KEYROLL_TRUSTED_PROXIES (default: the gateway's
// list). In-process requests come from 127.0.0.1: here it plays the proxy; 198.51.100.9 is a peer
// that is no proxy and writes X-Forwarded-For itself (a spoofing attempt).
const CLIENT = '203.0.113.7';
const PROXY = '127.0.0.1';
const STRANGER = '198.51.100.9';
const sqlite = DIALECTS.find((d) => d.name === 'sqlite');

describe.skipIf(!sqlite?.available)('keyroll edge: the client address behind proxies, as on a node', () => {
  let h: Harness;
  let upstream: string;
  let token: string;
  let rootKey: string;
  let consumerKey: string;
  const edges: EdgeNode[] = [];

  beforeAll(async () => {
    if (!sqlite) throw new Error('no sqlite');
    h = await createHarness(sqlite);
    await h.kr.app.listen({ port: 0, host: '127.0.0.1' });
    upstream = `http://127.0.0.1:${(h.kr.app.server.address() as AddressInfo).port}`;
    token = await h.rootKeyWith(['dataplane:read']);
    // Created before the edges start: each loads them with its snapshot.
    rootKey = (
      await h.json('POST', '/v1/keys', { consumerId: 'root', scopes: ['keys:verify'], allowedIps: [CLIENT] }, 201)
    ).key;
    consumerKey = (await h.consumerWithKey({ allowedIps: [CLIENT] })).key;
  });
  afterAll(async () => {
    for (const edge of edges) await edge.close();
    await h?.close();
  });

  const open = async (env: Record<string, string>) => {
    const edge = await startEdge(
      loadEdgeConfig({
        KEYROLL_EDGE_UPSTREAM: upstream,
        KEYROLL_EDGE_TOKEN: token,
        KEYROLL_USAGE_FLUSH_MS: '0',
        ...env,
      }),
    );
    edges.push(edge);
    const forwardedFor = (value: string | undefined) => (value === undefined ? {} : { 'x-forwarded-for': value });
    /** The verify API, called with the root key limited to CLIENT: 200, or the refusal's verify code. */
    const verifyApi = async (from: string, xff?: string) => {
      const res = await edge.app.inject({
        method: 'POST',
        url: '/v1/keys/verify',
        remoteAddress: from,
        headers: { authorization: `Bearer ${rootKey}`, ...forwardedFor(xff) },
        payload: { key: consumerKey, ip: CLIENT },
      });
      return res.statusCode === 200 ? 'allowed' : `${res.statusCode} ${res.json().verifyCode}`;
    };
    /** Forward-auth for the consumer key limited to CLIENT. */
    const forwardAuth = async (from: string, xff?: string) => {
      const res = await edge.app.inject({
        method: 'GET',
        url: '/v1/forward-auth',
        remoteAddress: from,
        headers: {
          'x-api-key': consumerKey,
          'x-original-method': 'GET',
          'x-original-uri': '/api',
          ...forwardedFor(xff),
        },
      });
      return res.statusCode === 200 ? 'allowed' : `${res.statusCode} ${res.json().verifyCode}`;
    };
    return { verifyApi, forwardAuth };
  };

  describe('with KEYROLL_TRUSTED_PROXIES', () => {
    let edge: Awaited<ReturnType<typeof open>>;
    beforeAll(async () => {
      edge = await open({ KEYROLL_TRUSTED_PROXIES: `${PROXY}/32` });
    });

    it("judges a root key's allow-list on the client address a trusted proxy forwards", async () => {
      expect(await edge.verifyApi(PROXY, CLIENT)).toBe('allowed');
      expect(await edge.verifyApi(CLIENT)).toBe('allowed');
    });

    it('ignores X-Forwarded-For from a peer that is not a listed proxy (spoofing)', async () => {
      expect(await edge.verifyApi(STRANGER, CLIENT)).toBe('401 IP_NOT_ALLOWED');
    });

    it('takes the right-most untrusted hop: a client-written entry does not help', async () => {
      expect(await edge.verifyApi(PROXY, `${CLIENT}, 198.51.100.1`)).toBe('401 IP_NOT_ALLOWED');
      expect(await edge.verifyApi(PROXY)).toBe('401 IP_NOT_ALLOWED');
    });

    it("leaves forward-auth to the gateway's list, as on a node", async () => {
      expect(await edge.forwardAuth(PROXY, CLIENT)).toBe('403 IP_NOT_ALLOWED');
    });
  });

  describe('with only KEYROLL_GATEWAY_TRUSTED_PROXIES', () => {
    let edge: Awaited<ReturnType<typeof open>>;
    beforeAll(async () => {
      edge = await open({ KEYROLL_GATEWAY_TRUSTED_PROXIES: PROXY });
    });

    it("the API honours the gateway's list when it has none of its own", async () => {
      expect(await edge.verifyApi(PROXY, CLIENT)).toBe('allowed');
      expect(await edge.verifyApi(STRANGER, CLIENT)).toBe('401 IP_NOT_ALLOWED');
    });

    it('forward-auth believes X-Forwarded-For from a listed proxy only', async () => {
      expect(await edge.forwardAuth(PROXY, CLIENT)).toBe('allowed');
      expect(await edge.forwardAuth(STRANGER, CLIENT)).toBe('403 IP_NOT_ALLOWED');
      expect(await edge.forwardAuth(PROXY, `${CLIENT}, 198.51.100.1`)).toBe('403 IP_NOT_ALLOWED');
    });
  });

  it('believes no X-Forwarded-For without a trusted proxy (the default)', async () => {
    const edge = await open({});
    expect(await edge.verifyApi(PROXY, CLIENT)).toBe('401 IP_NOT_ALLOWED');
    expect(await edge.forwardAuth(PROXY, CLIENT)).toBe('403 IP_NOT_ALLOWED');
    expect(await edge.verifyApi(CLIENT)).toBe('allowed');
  });

  it('refuses to start with a KEYROLL_TRUSTED_PROXIES entry that is no address or CIDR range, naming it', async () => {
    await expect(open({ KEYROLL_TRUSTED_PROXIES: '10.0.0.0/8, *' })).rejects.toThrow(
      /KEYROLL_TRUSTED_PROXIES: .*is not an address or CIDR range/,
    );
  });
});
