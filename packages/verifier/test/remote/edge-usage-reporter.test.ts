import type { EdgeUsageBatch } from '@keyroll/storage';
import { describe, expect, it } from 'vitest';
import { ClientSignalTally } from '../../src/client-signal-tally.js';
import type { VerificationEvent } from '../../src/observer.js';
import { EdgeUsageReporter, MAX_USAGE_BUCKETS } from '../../src/remote/edge-usage-reporter.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function event(keyId: string | null, code: VerificationEvent['code'], at: number, ip?: string, userAgent?: string) {
  return { at, code, keyId, consumerId: keyId && 'csm_1', ip, userAgent, durationMs: 0.01 };
}

/**
 * A reporter that sends only on `flush()`, to a fake node that keeps every batch it is sent in
 * `node.bodies` and answers 200, or, while `node.losesAnswers` is set, throws after taking the batch
 * (as a fetch does when the answer is lost: the node may have applied it).
 */
function reporterWithFakeNode(losesAnswers = false) {
  const node = { bodies: [] as EdgeUsageBatch[], losesAnswers };
  const fakeFetch = (async (_url: unknown, init?: RequestInit) => {
    node.bodies.push(JSON.parse(String(init?.body)));
    if (node.losesAnswers) throw new TypeError('fetch failed: the answer was lost');
    return new Response(JSON.stringify({ applied: true }), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  }) as typeof fetch;
  const reporter = new EdgeUsageReporter({
    base: new URL('http://127.0.0.1:1/'),
    token: 't',
    fetch: fakeFetch,
    flushIntervalMs: 0,
  });
  return { reporter, node, bodies: node.bodies };
}

describe('EdgeUsageReporter', () => {
  it('retries a batch unchanged while the same keys go on being counted, and counts those next', async () => {
    const { reporter, node, bodies } = reporterWithFakeNode(true);
    reporter.observe(event('key_a', 'VALID', T0));
    reporter.observe(event('key_a', 'VALID', T0 + 1));
    reporter.observe(event('key_a', 'REVOKED', T0 + 2));
    reporter.observe(event('key_a', 'VALID', T0 + 3));
    await expect(reporter.flush()).rejects.toThrow(/answer was lost/);
    // Same key, same minute, same outcome as a bucket already taken into the unacknowledged batch.
    reporter.observe(event('key_a', 'VALID', T0 + 4));
    reporter.observe(event('key_a', 'VALID', T0 + 60_000));
    reporter.observe(event('key_a', 'VALID', T0 + 5));
    node.losesAnswers = false;
    await reporter.flush();
    expect(bodies).toHaveLength(3);
    expect(bodies[1]).toEqual(bodies[0]);
    const counts = (b: EdgeUsageBatch | undefined) =>
      Object.fromEntries((b?.buckets ?? []).map((x) => [`${x.minute - T0}|${x.code}`, x.count]));
    expect(counts(bodies[0])).toEqual({ '0|VALID': 3, '0|REVOKED': 1 });
    expect(counts(bodies[2])).toEqual({ '0|VALID': 2, '60000|VALID': 1 });
    expect(bodies[2]?.id).not.toBe(bodies[0]?.id);
    expect(bodies[2]?.lastUsed).toEqual([{ keyId: 'key_a', at: T0 + 60_000 }]);
    await reporter.close();
  });
});

describe('EdgeUsageReporter client signals', () => {
  it('sends each batch the clients seen since the one before, and the unknown keys per address', async () => {
    const { reporter, bodies } = reporterWithFakeNode();
    reporter.observe(event('key_a', 'VALID', T0, '10.0.0.1', 'curl'));
    reporter.observe(event('key_a', 'VALID', T0 + 1, '10.0.0.1', 'curl'));
    reporter.observe(event('key_a', 'REVOKED', T0 + 2, '10.0.0.2'));
    reporter.observe(event('key_a', 'VALID', T0 + 3, '10.0.0.1', 'curl'));
    reporter.observe(event(null, 'NOT_FOUND', T0 + 4, '10.0.0.9'));
    await reporter.flush();
    // After a batch is taken, a client seen again counts afresh, from its first sighting since.
    reporter.observe(event('key_a', 'VALID', T0 + 10, '10.0.0.1', 'curl'));
    reporter.observe(event('key_a', 'VALID', T0 + 11, '10.0.0.1', 'curl'));
    await reporter.flush();
    expect(bodies).toHaveLength(2);
    expect(bodies[0]?.clients).toEqual([
      { keyId: 'key_a', address: '10.0.0.1', userAgent: 'curl', firstSeen: T0, lastSeen: T0 + 3, count: 3 },
      { keyId: 'key_a', address: '10.0.0.2', userAgent: '', firstSeen: T0 + 2, lastSeen: T0 + 2, count: 1 },
    ]);
    expect(bodies[0]?.unknownKeys).toEqual([{ address: '10.0.0.9', minute: T0, code: 'NOT_FOUND', count: 1 }]);
    expect(bodies[1]?.clients).toEqual([
      { keyId: 'key_a', address: '10.0.0.1', userAgent: 'curl', firstSeen: T0 + 10, lastSeen: T0 + 11, count: 2 },
    ]);
    expect(bodies[1]?.unknownKeys).toEqual([]);
    await reporter.close();
  });
});

describe('EdgeUsageReporter with more keys than a batch takes', () => {
  it('sends the last use of the keys left over, updated by their later uses', async () => {
    const { reporter, node, bodies } = reporterWithFakeNode(true);
    const n = MAX_USAGE_BUCKETS + 5;
    for (let i = 0; i < n; i++) reporter.observe(event(`key_${i}`, 'VALID', T0 + 1));
    await expect(reporter.flush()).rejects.toThrow(/answer was lost/);
    expect(bodies[0]?.lastUsed).toHaveLength(MAX_USAGE_BUCKETS);
    // Keys whose last use was left for the next batch, used again (later, then earlier), and one taken already.
    reporter.observe(event(`key_${n - 1}`, 'VALID', T0 + 9));
    reporter.observe(event(`key_${n - 1}`, 'VALID', T0 + 5));
    reporter.observe(event(`key_${n - 2}`, 'REVOKED', T0 + 9));
    reporter.observe(event('key_0', 'VALID', T0 + 7));
    node.losesAnswers = false;
    await reporter.flush();
    expect(bodies).toHaveLength(3);
    expect(bodies[1]).toEqual(bodies[0]);
    const lastUsed = Object.fromEntries((bodies[2]?.lastUsed ?? []).map((u) => [u.keyId, u.at - T0]));
    expect(lastUsed).toEqual({
      [`key_${n - 5}`]: 1,
      [`key_${n - 4}`]: 1,
      [`key_${n - 3}`]: 1,
      [`key_${n - 2}`]: 1,
      [`key_${n - 1}`]: 9,
      key_0: 7,
    });
    const total = (b: EdgeUsageBatch | undefined) => (b?.buckets ?? []).reduce((sum, x) => sum + x.count, 0);
    expect(total(bodies[0]) + total(bodies[2])).toBe(n + 4);
    await reporter.close();
  });
});

describe('ClientSignalTally', () => {
  it('counts each client of a key apart, however they alternate, within its bounds', () => {
    const tally = new ClientSignalTally({ clientsPerKey: 2 });
    tally.observe(event('key_a', 'VALID', T0, '203.0.113.1', 'curl/8'));
    tally.observe(event('key_a', 'VALID', T0 + 1, '203.0.113.1', 'curl/8'));
    tally.observe(event('key_a', 'VALID', T0 + 2, '203.0.113.2', 'curl/8'));
    tally.observe(event('key_a', 'VALID', T0 + 3, '203.0.113.1', 'curl/8'));
    tally.observe(event('key_a', 'VALID', T0 + 4, '203.0.113.1', 'python'));
    tally.observe(event('key_a', 'VALID', T0 + 5, '203.0.113.2', 'curl/8'));
    tally.observe(event('key_b', 'VALID', T0 + 6));
    tally.observe(event('key_b', 'VALID', T0 + 7));
    const first = tally.take();
    expect(first.clients).toEqual([
      [
        'key_a',
        [
          { address: '203.0.113.1', userAgent: 'curl/8', firstSeen: T0, lastSeen: T0 + 3, count: 3 },
          { address: '203.0.113.2', userAgent: 'curl/8', firstSeen: T0 + 2, lastSeen: T0 + 5, count: 2 },
        ],
      ],
      ['key_b', [{ address: 'unknown', userAgent: '', firstSeen: T0 + 6, lastSeen: T0 + 7, count: 2 }]],
    ]);
    // A take starts afresh: nothing taken counts on.
    tally.observe(event('key_b', 'VALID', T0 + 8));
    expect(tally.take().clients).toEqual([
      ['key_b', [{ address: 'unknown', userAgent: '', firstSeen: T0 + 8, lastSeen: T0 + 8, count: 1 }]],
    ]);
    expect(first.clients[1]?.[1][0]?.count).toBe(2);
  });
});
