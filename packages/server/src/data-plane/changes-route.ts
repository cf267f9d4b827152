import { ApiError } from '@keyroll/core';
import { hasChangesUpTo, readChangeLogHead, readChangesAfter } from '@keyroll/storage';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import type { EdgeIdentity } from '../cluster/edge-registry.js';
import { requireRoot } from '../http/auth.js';
import { adminErrors } from '../http/schemas.js';
import { ChangeStream } from './change-stream.js';
import { HeadWatcher } from './head-watcher.js';

/** `GET /v1/data-plane/changes`: the change log as Server-Sent Events, for edge verifiers. */
export async function changesRoute(
  app: FastifyInstance,
  deps: Pick<AppDeps, 'store' | 'verifier' | 'cluster'>,
): Promise<void> {
  const heads = new HeadWatcher(deps.store.db);
  const open = new Set<ChangeStream>();
  // Streams never go idle: end them before the server waits for its connections to close.
  app.addHook('preClose', async () => {
    for (const stream of open) stream.stop();
  });
  app.get(
    '/v1/data-plane/changes',
    {
      // A HEAD of a stream that never ends would never end either.
      exposeHeadRoute: false,
      preHandler: requireRoot(deps.verifier, 'dataplane:read'),
      schema: {
        tags: ['data plane'],
        summary: 'Follow the change log: one `change` event per change (id = sequence), a heartbeat every second',
        description:
          'Server-Sent Events. Without `Last-Event-ID` the stream starts at the head; with it, after that sequence. ' +
          'Each `change` event carries `{seq, kind, entityId, keyHash}` plus the row it left: `key`, `consumer` or ' +
          '`plan` (`null` when gone). A `heartbeat` event (`{"head":N}`) comes every second. A position the log ' +
          'no longer holds is a 410 `CHANGES_PRUNED`: reload the snapshot. An edge that names itself with ' +
          '`x-keyroll-edge-id` (and its staleness bound in ms, `x-keyroll-edge-max-staleness`, default 10,000) ' +
          'counts as a live member of the cluster while it is sent something within that bound: it shows in ' +
          '`GET /v1/cluster` as kind `edge` and holds back change-log retention.',
        headers: {
          type: 'object',
          properties: {
            'last-event-id': { type: 'string', pattern: '^[0-9]{1,15}$' },
            [EDGE_ID_HEADER]: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
            [EDGE_STALENESS_HEADER]: { type: 'string', pattern: '^[0-9]{1,15}$' },
          },
        },
        response: {
          200: { description: 'an event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          ...adminErrors,
          410: { $ref: 'Problem' },
          503: { $ref: 'Problem' },
        },
      },
    },
    async (req, reply) => {
      const header = req.headers['last-event-id'];
      const after = typeof header === 'string' ? Number(header) : undefined;
      const db = deps.store.db;
      let from: number;
      try {
        from = after ?? (await readChangeLogHead(db));
        if (after !== undefined && (await prunedAfter(deps, after))) {
          throw new ApiError('CHANGES_PRUNED', `the change log no longer holds the changes after ${after}`, {
            lastEventId: after,
          });
        }
      } catch (e) {
        if (e instanceof ApiError) throw e;
        throw new ApiError('UNAVAILABLE', 'storage is unreachable: the change log cannot be read');
      }
      reply.hijack();
      reply.raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const raw = reply.raw;
      const edge = edgeOf(req.headers, req.ip);
      const sent = edge && deps.cluster.edges.connected(edge);
      sent?.(from);
      const stream = new ChangeStream({
        db,
        heads,
        from,
        write: (chunk) => raw.write(chunk),
        drained: () =>
          new Promise((resolve) => {
            const done = () => {
              raw.off('drain', done);
              raw.off('close', done);
              resolve();
            };
            raw.once('drain', done);
            raw.once('close', done);
          }),
        ...(sent && { onSent: sent }),
      });
      req.raw.on('close', () => stream.stop());
      reply.raw.on('close', () => stream.stop());
      open.add(stream);
      await stream.run();
      open.delete(stream);
      reply.raw.end();
    },
  );
}

/** The header naming an edge on the change stream. */
const EDGE_ID_HEADER = 'x-keyroll-edge-id';
/** The header giving an edge's staleness bound in ms. */
const EDGE_STALENESS_HEADER = 'x-keyroll-edge-max-staleness';
/** An edge's staleness bound when it does not say (the edge's own default). */
const DEFAULT_EDGE_STALENESS_MS = 10_000;
/** The longest staleness bound an edge is taken at (a day). */
const MAX_EDGE_STALENESS_MS = 86_400_000;

/** The edge a change stream request names, `undefined` when it names none (e.g. a person with curl). */
function edgeOf(headers: Record<string, string | string[] | undefined>, address: string): EdgeIdentity | undefined {
  const id = headers[EDGE_ID_HEADER];
  if (typeof id !== 'string') return undefined;
  const staleness = Number(headers[EDGE_STALENESS_HEADER] ?? DEFAULT_EDGE_STALENESS_MS);
  // A bound of 0 would never be live; one longer than a day would hold retention back for as long.
  return { id, address, maxStalenessMs: Math.min(Math.max(staleness, 1), MAX_EDGE_STALENESS_MS) };
}

/** Whether changes after `seq` were pruned: the first one kept is not `seq + 1` and nothing at or before `seq` is left. */
async function prunedAfter(deps: Pick<AppDeps, 'store'>, seq: number): Promise<boolean> {
  const [first] = await readChangesAfter(deps.store.db, seq, 1);
  return first !== undefined && first.seq > seq + 1 && !(await hasChangesUpTo(deps.store.db, seq));
}
