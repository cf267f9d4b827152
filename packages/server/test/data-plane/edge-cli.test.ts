import { type ChildProcess, spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { eventually } from '../../../../test/support/eventually.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const CLI = join(resolve(import.meta.dirname, '../../../..'), 'packages/server/dist/cli.js');
const [dialect] = DIALECTS;

describe.skipIf(!dialect?.available)('keyroll edge (the built CLI) following a node', () => {
  let h: Harness;
  let upstream: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    h = await createHarness(dialect ?? DIALECTS[0]!);
    await h.kr.app.listen({ port: 0, host: '127.0.0.1' });
    upstream = `http://127.0.0.1:${(h.kr.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await h?.close();
  });

  it('--json: the start is one JSON line, and the edge it names verifies keys', async () => {
    const consumer = await h.json('POST', '/v1/consumers', { name: 'edge cli' }, 201);
    const key = await h.json('POST', '/v1/keys', { consumerId: consumer.id }, 201);
    const verifyKey = await h.rootKeyWith(['keys:verify']);
    const env = {
      PATH: process.env.PATH ?? '',
      KEYROLL_EDGE_UPSTREAM: upstream,
      KEYROLL_EDGE_TOKEN: await h.rootKeyWith(['dataplane:read']),
      KEYROLL_PORT: '0',
      KEYROLL_LOG_LEVEL: 'warn',
      KEYROLL_USAGE_FLUSH_MS: '0',
    };
    const proc = spawn(process.execPath, [CLI, 'edge', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let out = '';
    proc.stdout?.on('data', (d) => {
      out += String(d);
    });
    await eventually(() => out.includes('\n') || proc.exitCode !== null, 'the start line', 20_000);
    const started = JSON.parse(out.split('\n')[0] ?? '');
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

    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out.split('\n').filter(Boolean)).toHaveLength(1);
  });
});
