import { Readable } from 'node:stream';
import { ApiError } from '@keyroll/core';
import { type DataPlaneSnapshot, readDataPlaneSnapshot } from '@keyroll/storage';
import { edgeConsumerOf, edgeKeyOf, edgePlanOf, type SnapshotLine } from '@keyroll/verifier/internal';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { requireRoot } from '../http/auth.js';
import { adminErrors } from '../http/schemas.js';

/** Lines sent per chunk of the stream. */
const LINES_PER_CHUNK = 1000;

/** `GET /v1/data-plane/snapshot`: every key, consumer and plan limit an edge verifier needs, as NDJSON. */
export async function snapshotRoute(app: FastifyInstance, deps: Pick<AppDeps, 'store' | 'verifier'>): Promise<void> {
  app.get(
    '/v1/data-plane/snapshot',
    {
      preHandler: requireRoot(deps.verifier, 'dataplane:read'),
      schema: {
        tags: ['data plane'],
        summary: 'What an edge verifier boots from: the change sequence, then one line per key, consumer and plan',
        description:
          'Streamed `application/x-ndjson`. The first line is `{"seq":N}`, the change sequence the rows were read at ' +
          '(follow `GET /v1/data-plane/changes` with `Last-Event-ID: N`); then `{"key":{…}}` per key (its SHA-256, ' +
          'never the secret), `{"consumer":{…}}` per live consumer and `{"plan":{…}}` per plan.',
        response: {
          200: { description: 'NDJSON lines', content: { 'application/x-ndjson': { schema: { type: 'string' } } } },
          ...adminErrors,
          503: { $ref: 'Problem' },
        },
      },
    },
    async (_req, reply) => {
      let snapshot: DataPlaneSnapshot;
      try {
        snapshot = await readDataPlaneSnapshot(deps.store.db);
      } catch {
        throw new ApiError('UNAVAILABLE', 'storage is unreachable: the snapshot cannot be read');
      }
      reply.header('content-type', 'application/x-ndjson; charset=utf-8').header('cache-control', 'no-store');
      return reply.send(Readable.from(snapshotChunks(snapshot)));
    },
  );
}

function* snapshotChunks(s: DataPlaneSnapshot): Generator<string> {
  let lines: string[] = [JSON.stringify({ seq: s.seq })];
  for (const line of snapshotLines(s)) {
    lines.push(JSON.stringify(line));
    if (lines.length >= LINES_PER_CHUNK) {
      yield `${lines.join('\n')}\n`;
      lines = [];
    }
  }
  if (lines.length > 0) yield `${lines.join('\n')}\n`;
}

function* snapshotLines(s: DataPlaneSnapshot): Generator<SnapshotLine> {
  for (const k of s.keys) yield { key: edgeKeyOf(k) };
  for (const c of s.consumers) yield { consumer: edgeConsumerOf(c) };
  for (const p of s.plans) yield { plan: edgePlanOf(p) };
}
