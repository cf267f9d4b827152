import { Gateway, parseGatewayConfig } from '@keyroll/gateway';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { startUpstream, type Upstream } from './upstream.js';

/** An in-process keyroll (hand-driven clock) listening on 127.0.0.1, its real gateway and an upstream. */
export interface KeyrollStack {
  h: Harness;
  /** keyroll's API (self-service, admin). */
  keyrollUrl: string;
  /** The gateway; `/api/…` goes to the upstream. */
  gatewayUrl: string;
  upstream: Upstream;
  close(): Promise<void>;
}

/** Starts a {@link KeyrollStack} on SQLite. */
export async function startKeyrollStack(): Promise<KeyrollStack> {
  const sqlite = DIALECTS.find((d) => d.name === 'sqlite');
  if (!sqlite) throw new Error('the SQLite dialect is filtered out');
  const h = await createHarness(sqlite, { KEYROLL_SCHEDULER_INTERVAL_MS: '0' });
  const keyrollUrl = await h.kr.app.listen({ port: 0, host: '127.0.0.1' });
  const upstream = await startUpstream();
  const gateway = new Gateway({
    config: parseGatewayConfig({ routes: [{ pathPrefix: '/api', upstream: upstream.url }] }),
    verifier: h.kr.verifier,
    clock: h.clock,
  });
  const gatewayUrl = await gateway.listen(0);
  return {
    h,
    keyrollUrl,
    gatewayUrl,
    upstream,
    close: async () => {
      await gateway.close();
      await upstream.close();
      await h.close();
    },
  };
}
