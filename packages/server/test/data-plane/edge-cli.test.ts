import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { assertBuilt, type RunningCli, startCli } from '../cli/run-cli.js';

const [dialect] = DIALECTS;

describe.skipIf(!dialect?.available)('keyroll edge (the built CLI) following a node', () => {
  let h: Harness;
  let upstream: string;
  let child: RunningCli | undefined;

  beforeAll(async () => {
    assertBuilt();
    h = await createHarness(dialect ?? DIALECTS[0]!);
    await h.kr.app.listen({ port: 0, host: '127.0.0.1' });
    upstream = `http://127.0.0.1:${(h.kr.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    child?.proc.kill('SIGKILL');
    await h?.close();
  });

  it('--json: the start is one JSON line, and the edge it names verifies keys', async () => {
    const consumer = await h.json('POST', '/v1/consumers', { name: 'edge cli' }, 201);
    const key = await h.json('POST', '/v1/keys', { consumerId: consumer.id }, 201);
    const verifyKey = await h.rootKeyWith(['keys:verify']);
    child = startCli(['edge', '--json'], {
      KEYROLL_EDGE_UPSTREAM: upstream,
      KEYROLL_EDGE_TOKEN: await h.rootKeyWith(['dataplane:read']),
      KEYROLL_PORT: '0',
      KEYROLL_LOG_LEVEL: 'warn',
      KEYROLL_USAGE_FLUSH_MS: '0',
    });
    const started = await child.startLine();
    expect(started).toEqual({
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      upstream,
      keys: expect.any(Number),
      appliedSeq: expect.any(Number),
      onStale: 'refuse',
      maxStalenessMs: 10_000,
      verify: `${started.url}/v1/keys/verify`,
      health: `${started.url}/healthz`,
    });
    expect(started.keys).toBeGreaterThanOrEqual(3); // the root keys and the consumer's
    const verified = await fetch(started.verify, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${verifyKey}` },
      body: JSON.stringify({ key: key.key }),
    });
    expect(await verified.json()).toMatchObject({ valid: true, code: 'VALID', consumerId: consumer.id });

    expect(await child.stop()).toBe(0);
    expect(child.stdout().split('\n').filter(Boolean)).toHaveLength(1);
  });
});
