import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gateway, parseGatewayConfig } from '@keyroll/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { eventually } from '../../../../test/support/eventually.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { type BuiltClient, loadBuiltClient } from '../../../client/test/support/built-client.js';
import {
  githubSignature,
  type KeysServer,
  type SigningKey,
  signingKey,
  startKeysServer,
} from './github-keys-server.js';

const MINUTE = 60_000;

/** A loopback upstream behind the gateway: answers 200 and remembers which key id the gateway sent. */
async function startUpstream(): Promise<{ url: string; keyIds: (string | undefined)[]; server: Server }> {
  const keyIds: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = req.headers['x-keyroll-key-id'];
      keyIds.push(typeof id === 'string' ? id : undefined);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, keyIds, server };
}

let sdk: BuiltClient;
beforeAll(async () => {
  sdk = await loadBuiltClient();
});

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`a leak, end to end, on ${dialect.name}`, () => {
    let h: Harness;
    let github: KeysServer;
    let gh: SigningKey;
    let gateway: Gateway;
    let gatewayUrl: string;
    let keyrollUrl: string;
    let upstream: Awaited<ReturnType<typeof startUpstream>>;
    let dir: string;

    beforeAll(async () => {
      gh = signingKey('gh-1');
      github = await startKeysServer([gh]);
      h = await createHarness(dialect, { KEYROLL_GITHUB_KEYS_URL: github.url, KEYROLL_SCHEDULER_INTERVAL_MS: '0' });
      keyrollUrl = await h.kr.app.listen({ host: '127.0.0.1', port: 0 });
      upstream = await startUpstream();
      gateway = new Gateway({
        config: parseGatewayConfig({ routes: [{ pathPrefix: '/api', upstream: upstream.url }] }),
        verifier: h.kr.verifier,
        clock: h.clock,
      });
      gatewayUrl = await gateway.listen(0);
      dir = mkdtempSync(join(tmpdir(), 'keyroll-leak-'));
    });
    afterAll(async () => {
      await gateway?.close();
      await new Promise((r) => upstream?.server.close(r));
      await h?.close();
      await github?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const githubReports = async (token: string) => {
      const body = JSON.stringify([
        { token, type: 'keyroll_api_key', url: 'https://github.com/acme/app/blob/main/.env' },
      ]);
      const res = await h.request({
        method: 'POST',
        url: '/v1/leaks/github',
        payload: body,
        headers: {
          'content-type': 'application/json',
          'github-public-key-identifier': gh.id,
          'github-public-key-signature': githubSignature(gh, body),
        },
        auth: null,
      });
      expect(res.statusCode).toBe(200);
      return res.json()[0].label;
    };
    const clientFor = (key: string, name: string) => {
      const file = join(dir, name);
      writeFileSync(file, `${key}\n`, { mode: 0o600 });
      const client = sdk.createClient({
        baseUrl: gatewayUrl,
        keyrollUrl,
        keys: sdk.fromFile(file, { pollMs: 0, watch: false }),
        claimDelay: 0,
      });
      const rotated: { how: string; toKeyId?: string }[] = [];
      client.on('rotated', (e) => rotated.push(e));
      return { client, file, rotated };
    };

    it('GitHub reports the key; the SDK client switches with 0 failed requests; the leaked key stops at the grace end', async () => {
      const c = await h.consumerWithKey();
      const { client, rotated } = clientFor(c.key, 'owner');
      const statuses: number[] = [];
      const send = async () => statuses.push((await client.fetch('/api/orders')).status);
      for (let i = 0; i < 5; i++) await send();

      const reportedAt = h.clock.now();
      expect(await githubReports(c.key)).toBe('true_positive');
      // The next answers carry Deprecation/Sunset; the SDK claims the successor and switches.
      const deprecated = await client.fetch('/api/orders');
      statuses.push(deprecated.status);
      expect(deprecated.headers.get('deprecation')).not.toBeNull();
      expect(deprecated.headers.get('sunset')).toBe(new Date(reportedAt + 15 * MINUTE).toUTCString());
      await eventually(() => rotated.length > 0, 'the claim');
      for (let i = 0; i < 5; i++) await send();
      expect(upstream.keyIds.at(-1)).toBe(rotated[0]?.toKeyId);

      // The end of the grace: the leaked key no longer works anywhere, the client never noticed.
      h.clock.set(reportedAt + 15 * MINUTE);
      expect((await h.json('POST', '/v1/keys/verify', { key: c.key }, 200)).valid).toBe(false);
      await h.kr.scheduler.tick();
      await h.kr.leaks.tick();
      expect((await h.json('POST', '/v1/keys/verify', { key: c.key }, 200)).code).toBe('REVOKED');
      const attacker = await fetch(`${gatewayUrl}/api/orders`, { headers: { 'x-api-key': c.key } });
      expect(attacker.status).toBe(401);
      for (let i = 0; i < 5; i++) await send();
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      expect(statuses).toHaveLength(16);

      const [incident] = (await h.json('GET', `/v1/incidents?consumerId=${c.consumerId}`, undefined, 200)).data;
      const detail = await h.json('GET', `/v1/incidents/${incident.id}`, undefined, 200);
      expect(detail).toMatchObject({ status: 'contained', source: 'github', keyStatus: 'revoked' });
      expect(detail.timeline.map((e: { type: string }) => e.type).filter((t: string) => t !== 'last_use')).toEqual([
        'reported',
        'successor_claimed',
        'contained',
      ]);
      await client.close();
    });

    it("an attacker who claims first is caught by the owner's claim: the lineage is revoked, a critical alert raised", async () => {
      const c = await h.consumerWithKey();
      expect(await githubReports(c.key)).toBe('true_positive');
      // The attacker, holding the leaked key, claims the successor first.
      const stolen = await fetch(`${keyrollUrl}/v1/self/successor`, {
        method: 'POST',
        headers: { 'x-api-key': c.key },
      });
      expect(stolen.status).toBe(201);
      const stolenKey = ((await stolen.json()) as { key: string }).key;
      expect((await fetch(`${gatewayUrl}/api/x`, { headers: { 'x-api-key': stolenKey } })).status).toBe(200);

      // The owner's SDK sees the deprecation and claims: refused, and the whole lineage is revoked.
      const { client, file } = clientFor(c.key, 'victim');
      const errors: unknown[] = [];
      client.on('error', (e) => errors.push(e));
      await client.fetch('/api/x');
      await eventually(
        async () => (await h.json('POST', '/v1/keys/verify', { key: stolenKey }, 200)).code === 'REVOKED',
        'the lineage revocation',
      );
      expect((await h.json('POST', '/v1/keys/verify', { key: c.key }, 200)).code).toBe('REVOKED');
      expect((await fetch(`${gatewayUrl}/api/x`, { headers: { 'x-api-key': stolenKey } })).status).toBe(401);
      expect(readFileSync(file, 'utf8')).not.toContain(stolenKey);

      await h.kr.monitoring.tick();
      await h.kr.leaks.tick();
      const alerts = (await h.json('GET', `/v1/alerts?consumerId=${c.consumerId}`, undefined, 200)).data;
      const raised = alerts.map((a: { rule: string; severity: string }) => `${a.rule}:${a.severity}`);
      // (and `retired_key_used` for the revoked keys presented since)
      expect(raised).toEqual(expect.arrayContaining(['key_leaked:critical', 'successor_reclaim:critical']));
      const [incident] = (await h.json('GET', `/v1/incidents?consumerId=${c.consumerId}`, undefined, 200)).data;
      const detail = await h.json('GET', `/v1/incidents/${incident.id}`, undefined, 200);
      expect(detail.status).toBe('contained');
      expect(detail.timeline.map((e: { type: string }) => e.type).filter((t: string) => t !== 'last_use')).toEqual([
        'reported',
        'successor_claimed',
        'reuse_detected',
        'contained',
      ]);
      await client.close();
    });
  });
}
