import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/support/eventually.js';
import { type BuiltClient, loadBuiltClient } from './support/built-client.js';
import { type KeyrollStack, startKeyrollStack } from './support/keyroll-stack.js';
import { ManualTimers } from './support/manual-timers.js';

// Against a real keyroll (SQLite, hand-driven clock) listening on 127.0.0.1 and its real gateway.
let sdk: BuiltClient;
let stack: KeyrollStack;
let dir: string;
beforeAll(async () => {
  sdk = await loadBuiltClient();
});
beforeEach(async () => {
  stack = await startKeyrollStack();
  dir = mkdtempSync(join(tmpdir(), 'keyroll-client-'));
});
afterEach(async () => {
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

async function keyFile(key: string): Promise<string> {
  const file = join(dir, 'api-key');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return file;
}

async function keyStatus(keyId: string): Promise<string> {
  return (await stack.h.json('GET', `/v1/keys/${keyId}`, undefined, 200)).status;
}

describe('rotate()', () => {
  it('rolls the key through /v1/self/rotate, writes it to the file first, then switches', async () => {
    const { key, keyId } = await stack.h.consumerWithKey();
    const file = await keyFile(key);
    const client = sdk.createClient({
      baseUrl: stack.gatewayUrl,
      keyrollUrl: stack.keyrollUrl,
      keys: sdk.fromFile(file, { pollMs: 0, watch: false }),
    });
    expect((await client.fetch('/api/prices')).status).toBe(200);
    const rotated: unknown[] = [];
    client.on('rotated', (e) => rotated.push(e));

    const event = await client.rotate({ gracePeriod: '1h' });
    const [newKey, oldKey] = readFileSync(file, 'utf8').trim().split('\n');
    expect(oldKey).toBe(key);
    expect(newKey).toMatch(/^kr_live_/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(event).toMatchObject({ how: 'self-rotate', fromKeyId: keyId });
    expect(rotated).toEqual([event]);
    expect(await keyStatus(keyId)).toBe('deprecated');

    const res = await client.fetch('/api/prices');
    expect(res.status).toBe(200);
    expect(res.headers.get('deprecation')).toBeNull();
    expect(stack.upstream.hits.at(-1)?.keyId).toBe(event.toKeyId);
    expect(stack.upstream.hits.every((hit) => !hit.sawKey)).toBe(true);
    await client.close();
  });

  it('keeps the new key in use when the source cannot be written, and says so', async () => {
    const { key } = await stack.h.consumerWithKey();
    let hintAtWrite: string | undefined;
    const client = sdk.createClient({
      baseUrl: stack.gatewayUrl,
      keyrollUrl: stack.keyrollUrl,
      keys: {
        read: () => key,
        write: () => {
          hintAtWrite = client.keyHint;
          throw new Error('read-only volume');
        },
      },
    });
    await client.fetch('/api/x');
    const before = client.keyHint;
    await expect(client.rotate()).rejects.toMatchObject({ code: 'SOURCE_WRITE_FAILED' });
    // The write came first (the old key was still in use), and the claimed key was not thrown away.
    expect(hintAtWrite).toBe(before);
    expect(client.keyHint).not.toBe(before);
    expect((await client.fetch('/api/x')).headers.get('deprecation')).toBeNull();
    await client.close();
  });

  it('surfaces keyroll refusals as KeyrollClientError with the problem code and status', async () => {
    const { key, keyId } = await stack.h.consumerWithKey();
    await stack.h.json('POST', `/v1/keys/${keyId}/rotate`, { gracePeriod: '1h' }, 201);
    const client = sdk.createClient({
      baseUrl: stack.gatewayUrl,
      keyrollUrl: stack.keyrollUrl,
      keys: sdk.fromValue(key),
    });
    const error = await client.rotate().catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'KeyrollClientError', code: 'ROTATION_IN_PROGRESS', status: 409 });
    expect(String((error as Error).message)).not.toContain(key);
    await client.close();
  });
});

describe('server-initiated rotation', () => {
  async function policyRotation(consumerId: string): Promise<void> {
    await stack.h.json('PUT', `/v1/rotation-policies/${consumerId}`, { every: '30d', gracePeriod: '7d' }, 200);
    stack.h.clock.advance(31 * DAY);
    const report = await stack.h.kr.scheduler.tick();
    expect(report.started).toBe(1);
  }

  it('a deprecated answer makes the client claim the successor, write it, and switch', async () => {
    const { key, keyId, consumerId } = await stack.h.consumerWithKey();
    const file = await keyFile(key);
    const client = sdk.createClient({
      baseUrl: stack.gatewayUrl,
      keyrollUrl: stack.keyrollUrl,
      keys: sdk.fromFile(file, { pollMs: 0, watch: false }),
      claimDelay: 0,
    });
    const deprecated: { keyId?: string; retiresAt?: Date }[] = [];
    const rotated: { how: string; toKeyId?: string; fromKeyId?: string }[] = [];
    client.on('deprecated', (e) => deprecated.push(e));
    client.on('rotated', (e) => rotated.push(e));
    expect((await client.fetch('/api/a')).status).toBe(200);
    await policyRotation(consumerId);

    const res = await client.fetch('/api/b');
    expect(res.status).toBe(200);
    // Held for its unclaimed successor: deprecated, but no retirement date until the claim sets one.
    expect(res.headers.get('deprecation')).not.toBeNull();
    expect(res.headers.get('sunset')).toBeNull();
    await eventually(() => rotated.length > 0, 'the claim');
    expect(deprecated).toEqual([{ keyId, hint: expect.any(String), retiresAt: undefined }]);
    expect(rotated[0]).toMatchObject({ how: 'claimed', fromKeyId: keyId });
    expect(readFileSync(file, 'utf8').trim().split('\n')).toEqual([expect.stringMatching(/^kr_live_/), key]);
    const after = await client.fetch('/api/c');
    expect(after.headers.get('deprecation')).toBeNull();
    expect(stack.upstream.hits.at(-1)?.keyId).toBe(rotated[0]?.toKeyId);
    await client.close();
  });

  it('two clients sharing one file: one claims under the lock, the other takes the key from the file', async () => {
    const { key, consumerId } = await stack.h.consumerWithKey();
    const file = await keyFile(key);
    const make = () =>
      sdk.createClient({
        baseUrl: stack.gatewayUrl,
        keyrollUrl: stack.keyrollUrl,
        keys: sdk.fromFile(file, { pollMs: 0, watch: false }),
        claimDelay: 0,
      });
    const clients = [make(), make()];
    const hows: string[] = [];
    for (const c of clients) c.on('rotated', (e) => hows.push(e.how));
    const errors: unknown[] = [];
    for (const c of clients) c.on('error', (e) => errors.push(e));
    for (const c of clients) await c.fetch('/api/warm');
    await policyRotation(consumerId);

    await Promise.all(clients.map((c) => c.fetch('/api/x')));
    await eventually(() => hows.length === 2, 'both clients to switch');
    expect(hows.sort()).toEqual(['claimed', 'source']);
    expect(errors).toEqual([]);
    const audit = await stack.h.json('GET', '/v1/audit?limit=100', undefined, 200);
    const actions = audit.data.map((e: { action: string }) => e.action);
    expect(actions.filter((a: string) => a === 'successor.claimed')).toHaveLength(1);
    expect(actions).not.toContain('successor.reclaim_attempted');
    expect(new Set(clients.map((c) => c.keyHint)).size).toBe(1);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('an operator key dropped into the file within claimDelay wins over claiming', async () => {
    const { key, keyId } = await stack.h.consumerWithKey();
    const file = await keyFile(key);
    const timers = new ManualTimers();
    const client = sdk.createClient({
      baseUrl: stack.gatewayUrl,
      keyrollUrl: stack.keyrollUrl,
      keys: sdk.fromFile(file, { pollMs: 0, watch: false }),
      timers,
    });
    await client.fetch('/api/warm');
    const rotated = await stack.h.json('POST', `/v1/keys/${keyId}/rotate`, { gracePeriod: '1h' }, 201);
    expect((await client.fetch('/api/x')).headers.get('deprecation')).not.toBeNull();
    await eventually(() => timers.pending > 0, 'the claim to be scheduled');
    writeFileSync(file, `${rotated.key}\n`);
    const hows: string[] = [];
    client.on('rotated', (e) => hows.push(e.how));
    timers.advance(5000);
    await eventually(() => hows.length > 0, 'the switch');
    expect(hows).toEqual(['source']);
    const audit = await stack.h.json('GET', '/v1/audit?limit=100', undefined, 200);
    expect(audit.data.map((e: { action: string }) => e.action)).not.toContain('successor.reclaim_attempted');
    await client.close();
  });
});

describe('retired and revoked keys through the real gateway', () => {
  it('a retired key: the request is retried once with the key an operator put in the file', async () => {
    const { key, keyId } = await stack.h.consumerWithKey();
    const file = await keyFile(key);
    const client = sdk.createClient({
      baseUrl: stack.gatewayUrl,
      keys: sdk.fromFile(file, { pollMs: 0, watch: false }),
    });
    await client.fetch('/api/warm');
    const rotated = await stack.h.json('POST', `/v1/keys/${keyId}/rotate`, { gracePeriod: '1h' }, 201);
    stack.h.clock.advance(2 * HOUR);
    writeFileSync(file, `${rotated.key}\n`);
    const res = await client.fetch('/api/orders', { method: 'POST', body: JSON.stringify({ qty: 1 }) });
    expect(res.status).toBe(200);
    expect(await keyStatus(keyId)).toBe('retired');
    expect(stack.upstream.hits.at(-1)?.keyId).toBe(rotated.newKeyId);
    await client.close();
  });

  it('an emergency rollover fails requests only until the new key arrives', async () => {
    const { key, keyId } = await stack.h.consumerWithKey();
    const file = await keyFile(key);
    const client = sdk.createClient({ baseUrl: stack.gatewayUrl, keys: sdk.fromFile(file, { pollMs: 10 }) });
    await client.fetch('/api/warm');
    const rolled = await stack.h.json('POST', `/v1/keys/${keyId}/rotate`, { gracePeriod: 0 }, 201);
    const refused = await client.fetch('/api/x');
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ verifyCode: 'REVOKED' });
    writeFileSync(file, `${rolled.key}\n`);
    await eventually(() => client.keyHint === `kr_live_…${rolled.key.slice(-4)}`, 'the new key from the file');
    expect((await client.fetch('/api/x')).status).toBe(200);
    await client.close();
  });
});

describe('autoRotate', () => {
  it('rotates when the key reaches its age (minus jitter), by the key creation time, then again', async () => {
    const { key, keyId } = await stack.h.consumerWithKey();
    const file = await keyFile(key);
    const timers = new ManualTimers(stack.h.clock.now());
    timers.randomValue = 0.5;
    const client = sdk.createClient({
      baseUrl: stack.gatewayUrl,
      keyrollUrl: stack.keyrollUrl,
      keys: sdk.fromFile(file, { pollMs: 0, watch: false }),
      autoRotate: { every: '30d', jitter: '2d', gracePeriod: '1h' },
      timers,
    });
    const rotated: { how: string; fromKeyId?: string }[] = [];
    client.on('rotated', (e) => rotated.push(e));
    await eventually(() => timers.pending > 0, 'the first schedule');
    const createdAt = timers.now();
    timers.advance(28 * DAY); // due at 30d - 0.5 * 2d = 29d after the key was created
    // Advancing fires due timers synchronously, and a rotation, once started, keeps no timer until
    // it is done: the one timer left waiting for day 29 shows none started.
    expect(timers.pending).toBe(1);
    expect(timers.nextAt).toBe(createdAt + 29 * DAY);
    expect(rotated).toEqual([]);
    timers.advance(DAY);
    await eventually(() => rotated.length === 1, 'the automatic rotation');
    expect(rotated[0]).toMatchObject({ how: 'self-rotate', fromKeyId: keyId });
    expect(readFileSync(file, 'utf8').split('\n')[1]).toBe(key);
    await eventually(() => timers.pending > 0, 'the next schedule');
    timers.advance(29 * DAY);
    await eventually(() => rotated.length === 2, 'the second automatic rotation');
    await client.close();
    expect(timers.pending).toBe(0);
  });

  it('waits longer than a timer can (every 90d) by chaining timers', async () => {
    const { key } = await stack.h.consumerWithKey();
    const timers = new ManualTimers(stack.h.clock.now());
    const client = sdk.createClient({
      baseUrl: stack.gatewayUrl,
      keyrollUrl: stack.keyrollUrl,
      keys: sdk.fromFile(await keyFile(key), { pollMs: 0, watch: false }),
      autoRotate: { every: '90d', jitter: 0 },
      timers,
    });
    const rotated: unknown[] = [];
    client.on('rotated', (e) => rotated.push(e));
    await eventually(() => timers.pending > 0, 'the first schedule');
    for (let day = 0; day < 89; day += 20) timers.advance(20 * DAY); // 100 days in steps, chained re-arms
    await eventually(() => rotated.length === 1, 'the rotation at 90 days');
    await client.close();
  });

  it('two processes sharing a file rotate once, not twice', async () => {
    const { key } = await stack.h.consumerWithKey();
    const file = await keyFile(key);
    const timers = new ManualTimers(stack.h.clock.now());
    const make = () =>
      sdk.createClient({
        baseUrl: stack.gatewayUrl,
        keyrollUrl: stack.keyrollUrl,
        keys: sdk.fromFile(file, { pollMs: 0, watch: false }),
        autoRotate: { every: '30d', jitter: 0 },
        timers,
      });
    const clients = [make(), make()];
    const hows: string[] = [];
    for (const c of clients) c.on('rotated', (e) => hows.push(e.how));
    await eventually(() => timers.pending === 2, 'both schedules');
    timers.advance(30 * DAY);
    await eventually(() => hows.length === 2, 'both clients on the new key');
    expect(hows.sort()).toEqual(['self-rotate', 'source']);
    const rotations = await stack.h.json('GET', '/v1/rotations', undefined, 200);
    expect(rotations.data).toHaveLength(1);
    await Promise.all(clients.map((c) => c.close()));
  });
});
