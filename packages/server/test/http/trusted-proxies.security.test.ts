import { loadConfig } from '@keyroll/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

// Security finding: the API's Fastify `trustProxy` was always false, so behind a reverse proxy every
// request seemed to come from the proxy and key IP allow-lists were judged on the proxy's address.
// In-process requests come from 127.0.0.1: here it plays the reverse proxy.
const CLIENT = '203.0.113.7';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`the API's client address behind proxies on ${dialect.name}`, () => {
    const harnesses: Harness[] = [];
    afterAll(async () => {
      for (const h of harnesses) await h.close();
    });
    const open = async (env: Record<string, string>) => {
      const h = await createHarness(dialect, env);
      harnesses.push(h);
      const { key } = await h.consumerWithKey({ allowedIps: [CLIENT] });
      const self = async (forwardedFor?: string) => {
        const res = await h.request({
          method: 'GET',
          url: '/v1/self',
          auth: null,
          headers: { 'x-api-key': key, ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
        });
        return { status: res.statusCode, verifyCode: res.statusCode === 200 ? undefined : res.json().verifyCode };
      };
      return self;
    };

    describe('with KEYROLL_TRUSTED_PROXIES', () => {
      let self: Awaited<ReturnType<typeof open>>;
      beforeAll(async () => {
        self = await open({ KEYROLL_TRUSTED_PROXIES: '127.0.0.1/32' });
      });

      it("judges a key's allow-list on the client address the trusted proxy forwards", async () => {
        expect(await self(CLIENT)).toEqual({ status: 200, verifyCode: undefined });
      });

      it('takes the right-most untrusted hop: a client-written X-Forwarded-For entry does not help', async () => {
        expect(await self(`${CLIENT}, 198.51.100.1`)).toEqual({ status: 401, verifyCode: 'IP_NOT_ALLOWED' });
      });

      it("judges the proxy's own address when it forwards none", async () => {
        expect(await self()).toEqual({ status: 401, verifyCode: 'IP_NOT_ALLOWED' });
      });
    });

    it('honours the gateway list (KEYROLL_GATEWAY_TRUSTED_PROXIES) when the API has none of its own', async () => {
      const self = await open({ KEYROLL_GATEWAY_TRUSTED_PROXIES: '127.0.0.1' });
      expect(await self(CLIENT)).toEqual({ status: 200, verifyCode: undefined });
    });

    it('believes no X-Forwarded-For without a trusted proxy', async () => {
      const self = await open({});
      expect(await self(CLIENT)).toEqual({ status: 401, verifyCode: 'IP_NOT_ALLOWED' });
    });
  });
}

describe('KEYROLL_TRUSTED_PROXIES', () => {
  it('refuses an entry that is no address or CIDR range, naming the variable', async () => {
    const sqlite = DIALECTS.find((d) => d.name === 'sqlite');
    if (!sqlite?.available) return;
    await expect(createHarness(sqlite, { KEYROLL_TRUSTED_PROXIES: '127.0.0.1, *' })).rejects.toThrow(
      /KEYROLL_TRUSTED_PROXIES: .*is not an address or CIDR range/,
    );
  });

  it('is read from the environment', () => {
    expect(loadConfig({ KEYROLL_TRUSTED_PROXIES: '10.0.0.0/8' }).trustedProxies).toBe('10.0.0.0/8');
  });
});
