import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type BuiltClient, loadBuiltClient } from './support/built-client.js';
import { type GatewayStandIn, KeyTable, startGatewayStandIn } from './support/gateway-stand-in.js';

// Verdicts are set key by key here, so these rules run against a stand-in that answers like the
// gateway contract; the end-to-end proof runs them against the real gateway.
let sdk: BuiltClient;
let gateway: GatewayStandIn;
let table: KeyTable;
let dir: string;
beforeAll(async () => {
  sdk = await loadBuiltClient();
});
beforeEach(async () => {
  table = new KeyTable();
  gateway = await startGatewayStandIn(table.verify);
  dir = mkdtempSync(join(tmpdir(), 'keyroll-client-'));
});
afterEach(async () => {
  await gateway.close();
  rmSync(dir, { recursive: true, force: true });
});

const OLD = 'kr_live_oldkey';
const NEW = 'kr_live_newkey';
const valid = { valid: true, code: 'VALID' };

/** A source whose keys the test swaps by hand (like an operator editing a secret). */
function mutableSource(keys: string[]) {
  const state = { keys, reads: 0 };
  const read = () => {
    state.reads++;
    return state.keys;
  };
  return { state, source: { read } };
}

describe('retry on a refused key', () => {
  for (const code of ['RETIRED', 'REVOKED', 'EXPIRED', 'NOT_FOUND']) {
    it(`401 ${code}: re-reads the source and retries once with the different key`, async () => {
      table.set(OLD, { valid: false, code });
      table.set(NEW, valid);
      const { state, source } = mutableSource([OLD]);
      const client = sdk.createClient({ baseUrl: gateway.url, keys: source });
      expect((await client.fetch('/warm')).status).toBe(401);
      state.keys = [NEW];
      const res = await client.fetch('/api/orders', { method: 'POST', body: 'qty=1' });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('qty=1');
      expect(gateway.seen.slice(-2).map((s) => [s.key, s.body])).toEqual([
        [OLD, 'qty=1'],
        [NEW, 'qty=1'],
      ]);
      await client.close();
    });
  }

  it('uses the next key in the source when the first is refused (the old key as fallback)', async () => {
    table.set(NEW, { valid: false, code: 'NOT_FOUND' }); // not yet propagated to this node
    table.set(OLD, { valid: true, code: 'VALID', deprecated: true, retiresAt: Date.now() + 60_000 });
    const client = sdk.createClient({ baseUrl: gateway.url, keys: sdk.fromValue([NEW, OLD]) });
    const res = await client.fetch('/x');
    expect(res.status).toBe(200);
    expect(gateway.seen.map((s) => s.key)).toEqual([NEW, OLD]);
    // NOT_FOUND may be transient: the client keeps the source's first key.
    expect(client.keyHint).toBe('kr_live_…wkey');
    await client.close();
  });

  for (const [name, body] of [
    ['a string', '{"a":1}'],
    ['a Uint8Array', new TextEncoder().encode('bytes')],
    ['an ArrayBuffer', new TextEncoder().encode('buffer').buffer],
    ['URLSearchParams', new URLSearchParams({ q: 'eth' })],
    ['a Blob', new Blob(['blob'])],
  ] as const) {
    it(`replays ${name} body`, async () => {
      table.set(OLD, { valid: false, code: 'RETIRED' });
      table.set(NEW, valid);
      const client = sdk.createClient({ baseUrl: gateway.url, keys: sdk.fromValue([OLD, NEW]) });
      const res = await client.fetch('/p', { method: 'POST', body });
      expect(res.status).toBe(200);
      const [first, second] = gateway.seen;
      expect(second?.body).toBe(first?.body);
      expect(second?.body.length).toBeGreaterThan(0);
      await client.close();
    });
  }

  it('does not replay a stream: the 401 comes back unchanged, and the next request uses the new key', async () => {
    table.set(OLD, { valid: false, code: 'RETIRED' });
    table.set(NEW, valid);
    const client = sdk.createClient({ baseUrl: gateway.url, keys: sdk.fromValue([OLD, NEW]) });
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('once'));
        c.close();
      },
    });
    const res = await client.fetch('/s', { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'UNAUTHORIZED', verifyCode: 'RETIRED' });
    expect(gateway.seen).toHaveLength(1);
    expect((await client.fetch('/s')).status).toBe(200);
    expect(gateway.seen.map((s) => s.key)).toEqual([OLD, NEW]);
    await client.close();
  });

  for (const code of ['MALFORMED', 'INSUFFICIENT_SCOPE']) {
    it(`does not retry on ${code}`, async () => {
      table.set(OLD, { valid: false, code });
      table.set(NEW, valid);
      const { state, source } = mutableSource([OLD, NEW]);
      const client = sdk.createClient({ baseUrl: gateway.url, keys: source });
      const res = await client.fetch('/x');
      expect(res.status).toBe(401);
      expect(gateway.seen).toHaveLength(1);
      expect(state.reads).toBe(1); // only the first load
      await client.close();
    });
  }

  it('retries only once: a second refusal is returned as is', async () => {
    table.set(OLD, { valid: false, code: 'REVOKED' });
    table.set(NEW, { valid: false, code: 'REVOKED' });
    const client = sdk.createClient({ baseUrl: gateway.url, keys: sdk.fromValue([OLD, NEW, 'kr_live_third']) });
    const res = await client.fetch('/x');
    expect(res.status).toBe(401);
    expect(gateway.seen.map((s) => s.key)).toEqual([OLD, NEW]);
    await client.close();
  });

  it('without another key in the source, surfaces the 401', async () => {
    table.set(OLD, { valid: false, code: 'REVOKED' });
    const client = sdk.createClient({ baseUrl: gateway.url, keys: sdk.fromValue(OLD) });
    const res = await client.fetch('/x');
    expect(res.status).toBe(401);
    expect(gateway.seen).toHaveLength(1);
    await client.close();
  });

  it('emergency rollover: the replacement dropped into the file is picked up and the request retried with it', async () => {
    table.set(OLD, { valid: false, code: 'REVOKED' });
    table.set(NEW, valid);
    const file = join(dir, 'api-key');
    writeFileSync(file, `${OLD}\n`);
    const client = sdk.createClient({
      baseUrl: gateway.url,
      keys: sdk.fromFile(file, { pollMs: 20 }),
      header: 'authorization',
    });
    expect((await client.fetch('/x')).status).toBe(401);
    writeFileSync(join(dir, 'tmp'), `${NEW}\n`);
    renameSync(join(dir, 'tmp'), file);
    expect((await client.fetch('/x')).status).toBe(200);
    expect(gateway.seen.map((s) => s.key)).toEqual([OLD, OLD, NEW]);
    await client.close();
  });

  it('sends the key as Bearer when header is authorization, and never elsewhere', async () => {
    table.set(OLD, valid);
    const client = sdk.createClient({
      baseUrl: `${gateway.url}/base/`,
      keys: sdk.fromValue(OLD),
      header: 'authorization',
    });
    const res = await client.fetch('/api/x?y=1', { headers: { 'x-trace': 't' } });
    expect(res.status).toBe(200);
    expect(gateway.seen[0]).toMatchObject({ key: OLD, url: '/base/api/x?y=1' });
    await client.close();
  });
});
