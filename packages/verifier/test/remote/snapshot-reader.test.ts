import { describe, expect, it } from 'vitest';
import { DataPlaneProtocolError, EDGE_KEY_FIELDS, type EdgeKey } from '../../src/remote/data-plane-wire.js';
import { KeyTable } from '../../src/remote/key-table.js';
import { MAX_SNAPSHOT_LINE, readSnapshot, UpstreamRefusal } from '../../src/remote/snapshot-reader.js';
import { edgeKey as baseKey, hashOf } from './edge-keys.js';

/** The `i`-th key, named with characters a line splitter must not break. */
const edgeKey = (i: number, overrides: Partial<EdgeKey> = {}): EdgeKey =>
  baseKey(i, { name: `naïve “key” ${i} 🔑`, ...overrides });

/** A response whose body arrives in the given chunks (bytes, cut anywhere, even inside a character). */
function responseOf(chunks: Uint8Array[], status = 200): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
  return new Response(body, { status });
}

/** The body cut into chunks of `size` bytes. */
function cut(text: string, size: number): Uint8Array[] {
  const bytes = new TextEncoder().encode(text);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
}

const ndjson = (lines: unknown[]) => lines.map((l) => `${JSON.stringify(l)}\n`).join('');

/** Reads a snapshot into a fresh table's load, noting the presizing hint it was started with. */
async function load(res: Response) {
  const table = new KeyTable(() => false);
  let expected = -1;
  const s = await readSnapshot(res, (n) => {
    expected = n;
    return table.load(n);
  });
  s.sink.commit();
  return { table, expected, snapshot: s };
}

describe('readSnapshot', () => {
  const keys = Array.from({ length: 50 }, (_, i) => edgeKey(i, i === 3 ? { revokedAt: 1_700_000_000_000 } : {}));
  const body = ndjson([
    { seq: 42, keys: keys.length },
    ...keys.map((key) => ({ key })),
    { consumer: { id: 'csm_1', planId: null, rateLimit: { limit: 5, windowMs: 1000 }, quota: null } },
    { plan: { id: 'pln_1', rateLimit: null, quota: null } },
    { somethingNewer: { x: 1 } },
  ]);

  it('reads the same snapshot whatever the chunks it arrives in', async () => {
    for (const size of [1, 2, 3, 7, 64, 1000, body.length]) {
      const { table, expected, snapshot } = await load(responseOf(cut(body, size)));
      expect(snapshot.seq).toBe(42);
      expect(expected).toBe(50);
      expect(snapshot.keys).toBe(50);
      expect(table.size).toBe(50);
      expect(table.peek(hashOf(7))).toMatchObject({ id: 'key_7', name: 'naïve “key” 7 🔑' });
      expect(table.peek(hashOf(3))?.revokedAt).toBe(1_700_000_000_000);
      expect(snapshot.consumers.map((c) => c.id)).toEqual(['csm_1']);
      expect(snapshot.plans.map((p) => p.id)).toEqual(['pln_1']);
    }
  });

  it("reads an older node's head (no key count), a last line without its newline, CRLF-free blank lines", async () => {
    const old = `{"seq":7}\n\n${JSON.stringify({ key: edgeKey(1) })}\n\n${JSON.stringify({ key: edgeKey(2) })}`;
    const { table, expected, snapshot } = await load(responseOf(cut(old, 5)));
    expect(snapshot.seq).toBe(7);
    expect(expected).toBe(0);
    expect(table.size).toBe(2);
  });

  it('takes an announced key count as a hint only: wrong or absurd counts load what the lines hold', async () => {
    for (const announced of [0, 1, 1e15, -5, 2.5, '10', null]) {
      const text = ndjson([{ seq: 1, keys: announced }, ...keys.slice(0, 10).map((key) => ({ key }))]);
      const { table, expected } = await load(responseOf(cut(text, 100)));
      expect(table.size).toBe(10);
      expect(expected).toBe(Number.isSafeInteger(announced) && (announced as number) > 0 ? announced : 0);
    }
  });

  it('refuses what is not the wire format, with a protocol error, whatever a hostile upstream sends', async () => {
    const head = '{"seq":1}\n';
    const line = (key: unknown) => `${JSON.stringify({ key })}\n`;
    const bad = [
      '',
      'not json\n',
      '[1,2]\n',
      '"seq"\n',
      'null\n',
      '{"seq":-1}\n',
      '{"seq":"1"}\n',
      `${line(edgeKey(1))}`,
      `${head}{"key":`,
      `${head}${line(null)}`,
      `${head}${line('x')}`,
      `${head}${line({ ...edgeKey(1), hash: 5 })}`,
      `${head}${line({ ...edgeKey(1), scopes: 'read' })}`,
      `${head}${line({ ...edgeKey(1), scopes: [1] })}`,
      `${head}${line({ ...edgeKey(1), metadata: null })}`,
      `${head}${line({ ...edgeKey(1), name: undefined })}`,
      `${head}${line({ ...edgeKey(1), version: '1' })}`,
      `${head}${line({ ...edgeKey(1), allowedIps: [null] })}`,
      `${head}${line({ ...edgeKey(1), planId: 3 })}`,
      `${head}${line({ ...edgeKey(1), rateLimit: 'fast' })}`,
      `${head}${line({ ...edgeKey(1), expiresAt: 1.5 })}`,
      `${head}${line({ ...edgeKey(1), revokedAt: '2024' })}`,
      `${head}{"consumer":{"planId":null}}\n`,
      `${head}{"plan":null}\n`,
      `${head}"x${'y'.repeat(MAX_SNAPSHOT_LINE)}`,
    ];
    for (const text of bad) {
      const table = new KeyTable(() => false);
      const before = table.load(0);
      before.add(edgeKey(99));
      before.commit();
      let loads = 0;
      await expect(
        readSnapshot(responseOf(cut(text, 4096)), (n) => {
          loads++;
          return table.load(n);
        }),
        text.slice(0, 80),
      ).rejects.toBeInstanceOf(DataPlaneProtocolError);
      // Nothing was committed: the table the edge had is the one it keeps.
      expect(table.size).toBe(1);
      expect(table.peek(hashOf(99))).not.toBeNull();
      expect(loads).toBeLessThanOrEqual(1);
    }
  });

  it('reads keys as rows (?keys=arrays), in whatever field order the head names, ignoring fields it does not know', async () => {
    const fields = [...EDGE_KEY_FIELDS].reverse();
    const withExtra = ['someNewerField', ...fields];
    const rows = keys.slice(0, 20).map((k) => ({ keyRow: ['x', ...fields.map((f) => k[f])] }));
    const text = ndjson([{ seq: 9, keys: 20, keyFields: withExtra }, ...rows, { key: edgeKey(77) }]);
    for (const size of [3, 500, text.length]) {
      const { table, expected, snapshot } = await load(responseOf(cut(text, size)));
      expect(snapshot).toMatchObject({ seq: 9, keys: 21 });
      expect(expected).toBe(20);
      expect(table.size).toBe(21);
      expect(table.peek(hashOf(3))).toMatchObject({ id: 'key_3', revokedAt: 1_700_000_000_000, scopes: ['read'] });
      expect(table.peek(hashOf(77))).not.toBeNull();
    }
  });

  it('refuses key rows it cannot read', async () => {
    const fields = [...EDGE_KEY_FIELDS];
    const row = (k: EdgeKey) => fields.map((f) => k[f]);
    const bad = [
      // rows without keyFields in the head
      ndjson([{ seq: 1 }, { keyRow: row(edgeKey(1)) }]),
      // keyFields that are not a list, or lack a field an edge reads
      ndjson([{ seq: 1, keyFields: 'hash,id' }]),
      ndjson([{ seq: 1, keyFields: fields.filter((f) => f !== 'revokedAt') }]),
      // a row that is not an array, is short, or holds a wrong value
      ndjson([{ seq: 1, keyFields: fields }, { keyRow: { hash: hashOf(1) } }]),
      ndjson([{ seq: 1, keyFields: fields }, { keyRow: row(edgeKey(1)).slice(0, 10) }]),
      ndjson([{ seq: 1, keyFields: fields }, { keyRow: row(edgeKey(1, { scopes: 'read' as unknown as string[] })) }]),
    ];
    for (const text of bad) {
      await expect(
        readSnapshot(responseOf(cut(text, 64)), () => ({ add: () => {} })),
        text,
      ).rejects.toBeInstanceOf(DataPlaneProtocolError);
    }
  });

  it('turns a refusal into an UpstreamRefusal with its problem code', async () => {
    const res = new Response(JSON.stringify({ code: 'FORBIDDEN' }), { status: 403 });
    const refused = await readSnapshot(res, () => ({ add: () => {} })).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UpstreamRefusal);
    expect(refused).toMatchObject({ status: 403, code: 'FORBIDDEN' });
  });
});

describe('KeyTable.load', () => {
  it('is seen by lookups only once committed, all at once; an abandoned load changes nothing', () => {
    const table = new KeyTable(() => false);
    table.replaceAll([edgeKey(1), edgeKey(2)]);
    const next = table.load(1000);
    next.add(edgeKey(2, { revokedAt: 5 }));
    next.add(edgeKey(3));
    // Mid-load: the old table, whole.
    expect(table.size).toBe(2);
    expect(table.peek(hashOf(1))).not.toBeNull();
    expect(table.peek(hashOf(2))?.revokedAt).toBeNull();
    expect(table.peek(hashOf(3))).toBeNull();
    expect(next.size).toBe(2);
    next.commit();
    // After: the new table, whole.
    expect(table.size).toBe(2);
    expect(table.peek(hashOf(1))).toBeNull();
    expect(table.peek(hashOf(2))?.revokedAt).toBe(5);
    expect(table.peek(hashOf(3))).not.toBeNull();
    expect(() => next.add(edgeKey(4))).toThrow();
    expect(() => next.commit()).toThrow();
    // A load abandoned half-way (its snapshot failed) is never seen.
    const abandoned = table.load(10);
    abandoned.add(edgeKey(9));
    expect(table.peek(hashOf(9))).toBeNull();
    expect(table.size).toBe(2);
  });

  it('grows past its presize, and is not trusted with more memory than its cap', () => {
    const table = new KeyTable(() => false);
    const small = table.load(1);
    for (let i = 0; i < 5000; i++) small.add(edgeKey(i));
    small.commit();
    expect(table.size).toBe(5000);
    for (let i = 0; i < 5000; i += 499) expect(table.peek(hashOf(i))?.id).toBe(`key_${i}`);
    // An absurd hint (a hostile upstream's) is capped instead of allocating it.
    const huge = table.load(Number.MAX_SAFE_INTEGER);
    huge.add(edgeKey(1));
    huge.commit();
    expect(table.size).toBe(1);
  });
});
