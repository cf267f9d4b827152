import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readChangeLogHead } from '@keyroll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../../packages/server/src/data-plane/edge-config.js';
import { type EdgeNode, startEdge } from '../../packages/server/src/data-plane/edge-node.js';
import { DIALECTS } from '../support/databases.js';
import { eventually } from '../support/eventually.js';
import { createHarness, type Harness } from '../support/harness.js';
import { send } from '../support/http-send.js';
import { type LoopbackUpstream, startUpstream } from '../support/loopback-upstream.js';
import {
  expectRefused,
  guideSnippet,
  proxyRoutes,
  type RunningProxy,
  realProxies,
} from '../support/proxy-processes.js';

// The real nginx and Caddy, configured as the verification guide prints them, in front of a
// `keyroll edge` (in-process, listening on a loopback port) that follows a keyroll node: the edge
// answers /v1/forward-auth from its in-memory key table and its own route file, with no database.
// forward-auth-proxies.test.ts runs the same configurations in front of a node.
const PROXIES = realProxies();
const dialect = DIALECTS.find((d) => d.name === 'sqlite');

describe.skipIf(PROXIES.every((p) => p.binary === null) || !dialect?.available)(
  'forward-auth through real proxies in front of a keyroll edge',
  () => {
    let h: Harness;
    let upstream: LoopbackUpstream;
    let edge: EdgeNode;
    let edgeUrl: string;
    let routeDir: string;

    /** Resolves once the edge has applied every change the node has logged so far. */
    const edgeCaughtUp = async () => {
      const head = await readChangeLogHead(h.db.store.db);
      await eventually(() => edge.remote.status().appliedSeq >= head, `the edge to apply change ${head}`);
    };

    beforeAll(async () => {
      if (!dialect) return;
      upstream = await startUpstream();
      h = await createHarness(dialect);
      await h.kr.app.listen({ port: 0, host: '127.0.0.1' });
      // The routes live in the edge's route file only: the node has none, so a 403 can only be the edge's.
      routeDir = mkdtempSync(join(tmpdir(), 'keyroll-edge-routes-'));
      const routeFile = join(routeDir, 'routes.json');
      writeFileSync(routeFile, JSON.stringify(proxyRoutes(upstream.url)));
      const config = loadEdgeConfig({
        KEYROLL_EDGE_UPSTREAM: `http://127.0.0.1:${(h.kr.app.server.address() as AddressInfo).port}`,
        KEYROLL_EDGE_TOKEN: await h.rootKeyWith(['dataplane:read']),
        KEYROLL_GATEWAY_CONFIG: routeFile,
        KEYROLL_EDGE_ID: 'edge-behind-proxies',
      });
      // The node's hand-driven clock: the edge never turns stale while the test waits for it.
      edge = await startEdge(config, { clock: h.clock });
      edgeUrl = await edge.app.listen({ port: 0, host: '127.0.0.1' });
    });
    afterAll(async () => {
      await edge?.close();
      await h?.close();
      await upstream?.close();
      if (routeDir) rmSync(routeDir, { recursive: true, force: true });
    });

    for (const proxy of PROXIES) {
      describe.skipIf(proxy.binary === null)(`behind real ${proxy.name}`, () => {
        let running: RunningProxy;
        let base: string;

        beforeAll(async () => {
          if (proxy.binary === null) return;
          running = await proxy.start(proxy.binary, (port) => guideSnippet(proxy.name, edgeUrl, upstream.url, port));
          base = running.base;
        });
        afterAll(async () => {
          await running?.stop();
        });

        it('passes a valid key: the upstream gets the consumer and key ids from the edge, never the key', async () => {
          const { key, keyId, consumerId } = await h.consumerWithKey({ scopes: ['read'] });
          await edgeCaughtUp();
          const res = await send(base, 'GET', '/api/things?q=1', {
            'x-api-key': key,
            'x-keyroll-consumer-id': 'spoofed',
          });
          expect(res.status, running.output()).toBe(200);
          expect(res.headers['x-upstream']).toBe('yes');
          const seen = upstream.last();
          expect(seen.url).toBe('/api/things?q=1');
          expect(seen.headers['x-keyroll-consumer-id']).toBe(consumerId);
          expect(seen.headers['x-keyroll-key-id']).toBe(keyId);
          expect(seen.headers['x-api-key']).toBeUndefined();
          expect(JSON.stringify(seen.rawHeaders)).not.toContain(key);
        });

        it('refuses a key revoked on the node with 401 REVOKED once the edge has applied the revocation', async () => {
          const { key, keyId } = await h.consumerWithKey({ scopes: ['read'] });
          await edgeCaughtUp();
          expect((await send(base, 'GET', '/api/x', { 'x-api-key': key })).status).toBe(200);
          await h.json('POST', `/v1/keys/${keyId}/revoke`, { reason: 'leaked' }, 200);
          await edgeCaughtUp();
          const before = upstream.last().url;
          const res = await send(base, 'GET', '/api/after-revoke', { 'x-api-key': key });
          expectRefused(res, 'REVOKED', { key, output: running.output() });
          expect(upstream.last().url).toBe(before);
        });

        it('refuses a request without a key with 401 and the bare challenge', async () => {
          expectRefused(await send(base, 'GET', '/api/x'), null);
        });

        it("refuses with 403 what the edge's route file requires and the key lacks", async () => {
          const { key } = await h.consumerWithKey({ scopes: ['read'] });
          await edgeCaughtUp();
          const res = await send(
            base,
            'POST',
            '/api/orders',
            { 'x-api-key': key, 'content-type': 'application/json' },
            '{}',
          );
          expect(res.status).toBe(403);
          expect(res.body).toMatchObject({ status: 403, code: 'FORBIDDEN', verifyCode: 'INSUFFICIENT_SCOPE' });
          expect(res.headers['www-authenticate']).toBe(
            'Bearer realm="keyroll", error="insufficient_scope", scope="write"',
          );
        });
      });
    }
  },
);
