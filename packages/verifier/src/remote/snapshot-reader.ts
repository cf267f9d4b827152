import {
  checkEdgeKey,
  checkEdgeLimits,
  DataPlaneProtocolError,
  EDGE_KEY_FIELDS,
  type EdgeConsumer,
  type EdgeKey,
  type EdgePlan,
} from './data-plane-wire.js';

/** Where {@link readSnapshot} puts keys as they stream in (a key table's load, say). */
export interface SnapshotKeySink {
  add(key: EdgeKey): void;
}

/** A snapshot as an edge received it: its keys went to the sink, one by one. */
export interface ReceivedSnapshot<S extends SnapshotKeySink> {
  seq: number;
  /** The sink the keys went to. */
  sink: S;
  /** Key lines read. */
  keys: number;
  consumers: EdgeConsumer[];
  plans: EdgePlan[];
}

/** The longest line accepted (a key line is a few hundred bytes; its metadata at most 8 KiB): longer is not the wire format. */
export const MAX_SNAPSHOT_LINE = 1 << 20;

/** A refusal by the control plane: its status and problem `code` (never the token). */
export class UpstreamRefusal extends Error {
  override name = 'UpstreamRefusal';
  constructor(
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(`the control plane answered ${status}${code ? ` ${code}` : ''}`);
  }
}

/** Throws an {@link UpstreamRefusal} for a response that is not a 200. */
export async function checkResponse(res: Response): Promise<void> {
  if (res.ok) return;
  let code: string | undefined;
  try {
    const body = (await res.json()) as { code?: unknown };
    if (typeof body.code === 'string') code = body.code;
  } catch {
    // not a problem body: the status says enough
  }
  throw new UpstreamRefusal(res.status, code);
}

/** The snapshot's path, asking for keys as arrays (`{"keyRow":[…]}`; a node that does not know it sends `{"key":{…}}`, read as well). */
export const SNAPSHOT_PATH = 'v1/data-plane/snapshot?keys=arrays';

/**
 * Reads the NDJSON body of `GET /v1/data-plane/snapshot` line by line as it streams in, handing
 * each key to the sink `start` makes once the head line has been read (with the number of keys the
 * head announces, or 0 from a node that does not: a presizing hint only). Every line is checked;
 * anything else than the wire format rejects (the caller keeps the table it had).
 */
export async function readSnapshot<S extends SnapshotKeySink>(
  res: Response,
  start: (expectedKeys: number) => S,
): Promise<ReceivedSnapshot<S>> {
  await checkResponse(res);
  if (!res.body) throw new DataPlaneProtocolError('the snapshot has no body');
  const read: { head: ReceivedSnapshot<S> | null; at: KeyRowPositions | null } = { head: null, at: null };
  const line = (text: string) => {
    const value = parse(text);
    const received = read.head;
    if (received === null) {
      const seq = value.seq;
      if (!Number.isSafeInteger(seq) || (seq as number) < 0) {
        throw new DataPlaneProtocolError('the snapshot does not start with {seq}');
      }
      if (value.keyFields !== undefined) read.at = positionsOf(value.keyFields);
      const announced = value.keys;
      const expected = Number.isSafeInteger(announced) && (announced as number) > 0 ? (announced as number) : 0;
      read.head = { seq: seq as number, sink: start(expected), keys: 0, consumers: [], plans: [] };
    } else if (value.keyRow !== undefined) {
      if (read.at === null) throw new DataPlaneProtocolError('a key row came without keyFields in the head');
      if (!Array.isArray(value.keyRow)) throw new DataPlaneProtocolError('a key row is not an array');
      received.sink.add(checkEdgeKey(keyOfRow(value.keyRow, read.at)));
      received.keys++;
    } else if (value.key !== undefined) {
      received.sink.add(checkEdgeKey(value.key));
      received.keys++;
    } else if (value.consumer !== undefined) received.consumers.push(checkEdgeLimits<EdgeConsumer>(value.consumer));
    else if (value.plan !== undefined) received.plans.push(checkEdgeLimits<EdgePlan>(value.plan));
    // A line of a kind this version does not know (a newer control plane's) is skipped.
  };
  const decoder = new TextDecoder();
  // What follows the last newline seen: the start of a line the next chunk ends.
  let rest = '';
  for await (const chunk of res.body) {
    const text = rest + decoder.decode(chunk, { stream: true });
    let from = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', from)) {
      if (end > from) line(text.slice(from, end));
      from = end + 1;
    }
    rest = from === 0 ? text : text.slice(from);
    if (rest.length > MAX_SNAPSHOT_LINE)
      throw new DataPlaneProtocolError('a snapshot line is longer than any the wire format has');
  }
  rest += decoder.decode();
  if (rest.trim() !== '') line(rest);
  if (read.head === null) throw new DataPlaneProtocolError('the snapshot has no sequence line');
  return read.head;
}

/** Where each field of a key sits in a `keyRow` line. */
type KeyRowPositions = Record<(typeof EDGE_KEY_FIELDS)[number], number>;

/** The positions of a key's fields from the head's `keyFields` (every field an edge reads must be there; others are ignored). */
function positionsOf(keyFields: unknown): KeyRowPositions {
  if (!Array.isArray(keyFields) || keyFields.length > 1000)
    throw new DataPlaneProtocolError('keyFields is not a list of names');
  const at: Partial<KeyRowPositions> = {};
  for (const field of EDGE_KEY_FIELDS) {
    const i = keyFields.indexOf(field);
    if (i < 0) throw new DataPlaneProtocolError(`keyFields lacks ${field}`);
    at[field] = i;
  }
  return at as KeyRowPositions;
}

/** A key from its `keyRow` values (checked by the caller, as a `key` line's object). */
function keyOfRow(row: unknown[], at: KeyRowPositions): unknown {
  return {
    hash: row[at.hash],
    id: row[at.id],
    consumerId: row[at.consumerId],
    name: row[at.name],
    version: row[at.version],
    lineageId: row[at.lineageId],
    predecessorId: row[at.predecessorId],
    scopes: row[at.scopes],
    metadata: row[at.metadata],
    allowedIps: row[at.allowedIps],
    rateLimit: row[at.rateLimit],
    quota: row[at.quota],
    planId: row[at.planId],
    expiresAt: row[at.expiresAt],
    retiresAt: row[at.retiresAt],
    revokedAt: row[at.revokedAt],
  };
}

/** One line as an object: anything else (not JSON, an array, a scalar) is not the wire format. */
function parse(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DataPlaneProtocolError('a snapshot line is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DataPlaneProtocolError('a snapshot line is not a JSON object');
  }
  return value as Record<string, unknown>;
}
