import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/support/eventually.js';
import { type BuiltClient, loadBuiltClient } from './support/built-client.js';
import { type GatewayStandIn, KeyTable, startGatewayStandIn } from './support/gateway-stand-in.js';
import { ManualTimers } from './support/manual-timers.js';

// The gateway's deprecation contract (Deprecation/Sunset on a deprecated key), from a stand-in whose
// verdicts the test sets; claims against keyroll itself are in self-service.test.ts.
let sdk: BuiltClient;
let gateway: GatewayStandIn;
let table: KeyTable;
beforeAll(async () => {
  sdk = await loadBuiltClient();
});
beforeEach(async () => {
  table = new KeyTable();
  gateway = await startGatewayStandIn(table.verify);
});
afterEach(() => gateway.close());

const OLD = 'kr_live_oldkey';
const NEW = 'kr_live_newkey';
const RETIRES_AT = Date.UTC(2030, 0, 1, 12);

describe('deprecated keys', () => {
  it('emits deprecated once per key with the Sunset time, and moves to a newer key found in the source', async () => {
    table.set(OLD, { valid: true, code: 'VALID', deprecated: true, retiresAt: RETIRES_AT });
    table.set(NEW, { valid: true, code: 'VALID' });
    const state = { keys: [OLD] };
    const client = sdk.createClient({ baseUrl: gateway.url, keys: { read: () => state.keys } });
    const deprecated: unknown[] = [];
    const rotated: unknown[] = [];
    client.on('deprecated', (e) => deprecated.push(e));
    client.on('rotated', (e) => rotated.push(e));
    for (let i = 0; i < 5; i++) expect((await client.fetch('/x')).status).toBe(200);
    expect(deprecated).toEqual([{ keyId: undefined, hint: 'kr_live_…dkey', retiresAt: new Date(RETIRES_AT) }]);
    expect(rotated).toEqual([]);
    expect(client.keyHint).toBe('kr_live_…dkey');

    // The operator drops the new key in; the next deprecated answer re-reads the source (throttled to 1/s).
    state.keys = [NEW, OLD];
    await client.refresh();
    expect(rotated).toEqual([
      { fromKeyId: undefined, toKeyId: undefined, fromHint: 'kr_live_…dkey', toHint: 'kr_live_…wkey', how: 'source' },
    ]);
    expect((await client.fetch('/x')).headers.get('deprecation')).toBeNull();
    expect(gateway.seen.at(-1)?.key).toBe(NEW);
    await client.close();
  });

  it('a deprecated answer makes the client re-read the source by itself', async () => {
    table.set(OLD, { valid: true, code: 'VALID', deprecated: true, retiresAt: RETIRES_AT });
    table.set(NEW, { valid: true, code: 'VALID' });
    const state = { keys: [OLD] };
    let reads = 0;
    const keys = {
      read: () => {
        reads++;
        return state.keys;
      },
    };
    const timers = new ManualTimers();
    const client = sdk.createClient({ baseUrl: gateway.url, keys, timers });
    const rotated: { how: string }[] = [];
    client.on('rotated', (e) => rotated.push(e));
    await client.fetch('/first'); // loads the key, then re-reads the source: nothing newer yet
    await client.fetch('/throttled'); // within a second of the last look: no re-read
    // Reads of the source run one at a time, in order: a re-read started by either answer comes
    // before this one.
    await client.refresh();
    expect(reads).toBe(3); // the load, the re-read after /first, the refresh
    expect(rotated).toEqual([]);
    state.keys = [NEW];
    timers.advance(1000);
    await client.fetch('/x');
    await eventually(() => rotated.length > 0, 'the switch after a deprecated answer');
    expect(rotated[0]?.how).toBe('source');
    expect(gateway.seen.map((s) => s.key)).toEqual([OLD, OLD, OLD]);
    await client.close();
  });

  it('without keyrollUrl and without a newer key it keeps the deprecated key and claims nothing', async () => {
    table.set(OLD, { valid: true, code: 'VALID', deprecated: true, retiresAt: RETIRES_AT });
    const sent: string[] = [];
    const client = sdk.createClient({
      baseUrl: gateway.url,
      keys: sdk.fromValue(OLD),
      fetch: (input, init) => {
        sent.push(String(input));
        return globalThis.fetch(input, init);
      },
    });
    const errors: unknown[] = [];
    client.on('error', (e) => errors.push(e));
    expect((await client.fetch('/x')).status).toBe(200);
    // Whatever the deprecated answer set off runs without waiting on the network until it sends
    // something: by the time a later request is answered, a claim or an error would be here.
    expect((await client.fetch('/y')).status).toBe(200);
    expect(errors).toEqual([]);
    expect(sent).toEqual([`${gateway.url}/x`, `${gateway.url}/y`]);
    expect(gateway.seen).toHaveLength(2);
    await client.close();
  });

  it('a failing claim is reported as an error event, not thrown into the request', async () => {
    table.set(OLD, { valid: true, code: 'VALID', deprecated: true, retiresAt: RETIRES_AT });
    // Nothing listens on port 9: the claim fails with a network error.
    const timers = new ManualTimers();
    const client = sdk.createClient({
      baseUrl: gateway.url,
      keys: sdk.fromValue(OLD),
      keyrollUrl: 'http://127.0.0.1:9',
      timers,
    });
    const errors: { name: string; code: string; message: string }[] = [];
    client.on('error', (e) => errors.push(e));
    expect((await client.fetch('/x')).status).toBe(200);
    // The claim waits for claimDelay (5s by default), so an operator's new key is found first.
    await eventually(() => timers.pending > 0, 'the claim to be scheduled');
    expect(errors).toEqual([]);
    timers.advance(5000);
    await eventually(() => errors.length > 0, 'the error event');
    expect(errors[0]).toMatchObject({ name: 'KeyrollClientError', code: 'NETWORK_ERROR' });
    expect(JSON.stringify(errors[0]?.message)).not.toContain(OLD);
    await client.close();
  });

  it('a throwing listener does not break the client', async () => {
    table.set(OLD, { valid: true, code: 'VALID', deprecated: true, retiresAt: RETIRES_AT });
    const client = sdk.createClient({ baseUrl: gateway.url, keys: sdk.fromValue(OLD) });
    client.on('deprecated', () => {
      throw new Error('listener bug');
    });
    let second = 0;
    const off = client.on('deprecated', () => second++);
    expect((await client.fetch('/x')).status).toBe(200);
    expect(second).toBe(1);
    off();
    await client.close();
    await expect(client.fetch('/x')).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('sources that fail', () => {
  it('a source that cannot be read fails the call with SOURCE_READ_FAILED, and works once it recovers', async () => {
    table.set(NEW, { valid: true, code: 'VALID' });
    let broken = true;
    const client = sdk.createClient({
      baseUrl: gateway.url,
      keys: {
        read: () => {
          if (broken) throw new Error('vault unreachable');
          return NEW;
        },
      },
    });
    await expect(client.fetch('/x')).rejects.toMatchObject({ code: 'SOURCE_READ_FAILED' });
    broken = false;
    expect((await client.fetch('/x')).status).toBe(200);
    await client.close();
  });
});

describe('options', () => {
  it('rejects bad options with INVALID_OPTIONS / NO_KEYROLL_URL', async () => {
    expect(() => sdk.createClient({ baseUrl: '', keys: sdk.fromValue('k') })).toThrow(/baseUrl/);
    expect(() =>
      sdk.createClient({ baseUrl: 'http://x', keys: sdk.fromValue('k'), autoRotate: { every: '30d' } }),
    ).toThrow(expect.objectContaining({ code: 'NO_KEYROLL_URL' }));
    expect(() =>
      sdk.createClient({
        baseUrl: 'http://x',
        keys: sdk.fromValue('k'),
        keyrollUrl: 'http://k',
        autoRotate: { every: 'soon' },
      }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    const client = sdk.createClient({ baseUrl: 'http://x', keys: sdk.fromValue('k') });
    await expect(client.rotate()).rejects.toMatchObject({ code: 'NO_KEYROLL_URL' });
  });

  it('isReplayableBody says which bodies a retry may resend', () => {
    expect(sdk.isReplayableBody(undefined)).toBe(true);
    expect(sdk.isReplayableBody('s')).toBe(true);
    expect(sdk.isReplayableBody(new Uint8Array(1))).toBe(true);
    expect(sdk.isReplayableBody(new URLSearchParams())).toBe(true);
    expect(sdk.isReplayableBody(new ReadableStream())).toBe(false);
  });
});
