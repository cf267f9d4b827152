import {
  checkEdgeKey,
  checkEdgeLimits,
  DataPlaneProtocolError,
  type EdgeConsumer,
  type EdgeKey,
  type EdgePlan,
} from './data-plane-wire.js';

/** A snapshot as an edge received it. */
export interface ReceivedSnapshot {
  seq: number;
  keys: EdgeKey[];
  consumers: EdgeConsumer[];
  plans: EdgePlan[];
}

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

/** Reads the NDJSON body of `GET /v1/data-plane/snapshot` line by line as it streams in. */
export async function readSnapshot(res: Response): Promise<ReceivedSnapshot> {
  await checkResponse(res);
  if (!res.body) throw new DataPlaneProtocolError('the snapshot has no body');
  const snapshot: ReceivedSnapshot = { seq: -1, keys: [], consumers: [], plans: [] };
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end = buffer.indexOf('\n');
    while (end >= 0) {
      if (end > 0) addLine(snapshot, JSON.parse(buffer.slice(0, end)));
      buffer = buffer.slice(end + 1);
      end = buffer.indexOf('\n');
    }
  }
  if (buffer.trim() !== '') addLine(snapshot, JSON.parse(buffer));
  if (snapshot.seq < 0) throw new DataPlaneProtocolError('the snapshot has no sequence line');
  return snapshot;
}

function addLine(s: ReceivedSnapshot, line: Record<string, unknown>): void {
  if (s.seq < 0) {
    if (!Number.isSafeInteger(line.seq)) throw new DataPlaneProtocolError('the snapshot does not start with {seq}');
    s.seq = line.seq as number;
  } else if ('key' in line) s.keys.push(checkEdgeKey(line.key));
  else if ('consumer' in line) s.consumers.push(checkEdgeLimits<EdgeConsumer>(line.consumer));
  else if ('plan' in line) s.plans.push(checkEdgeLimits<EdgePlan>(line.plan));
  // A line of a kind this version does not know (a newer control plane's) is skipped.
}
