import { PassThrough } from 'node:stream';
import { ApiError } from '@keyroll/core';
import { DATA_PLANE_KEY_FIELDS, streamDataPlaneSnapshot } from '@keyroll/storage';
import { edgeConsumerOf, edgePlanOf, type SnapshotHead, type SnapshotLine } from '@keyroll/verifier/internal';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { requireRoot } from '../http/auth.js';
import { adminErrors } from '../http/schemas.js';

/** Lines sent per chunk of the stream. */
const LINES_PER_CHUNK = 1000;

/** `GET /v1/data-plane/snapshot`: every key, consumer and plan limit an edge verifier needs, as NDJSON. */
export async function snapshotRoute(app: FastifyInstance, deps: Pick<AppDeps, 'store' | 'verifier'>): Promise<void> {
  app.get<{ Querystring: { keys?: 'objects' | 'arrays' } }>(
    '/v1/data-plane/snapshot',
    {
      preHandler: requireRoot(deps.verifier, 'dataplane:read'),
      schema: {
        tags: ['data plane'],
        summary: 'What an edge verifier boots from: the change sequence, then one line per key, consumer and plan',
        description:
          'Streamed `application/x-ndjson`. The first line is `{"seq":N,"keys":M}`: the change sequence the rows were ' +
          'read at (follow `GET /v1/data-plane/changes` with `Last-Event-ID: N`) and how many key lines follow (a hint ' +
          'to presize with; `keys` is absent from older nodes); then `{"key":{…}}` per key (its SHA-256, ' +
          'never the secret), `{"consumer":{…}}` per live consumer and `{"plan":{…}}` per plan. With `?keys=arrays` ' +
          '(what edges ask for: half the bytes and parsing) the head also holds `keyFields`, the names of the fields ' +
          'in order, and each key comes as `{"keyRow":[…]}`, its values in that order (a node that does not know ' +
          'the parameter ignores it: the head then has no `keyFields`).',
        querystring: {
          type: 'object',
          properties: {
            keys: {
              type: 'string',
              enum: ['objects', 'arrays'],
              default: 'objects',
              description: 'How each key is written: a JSON object (`{"key":{…}}`) or an array in `keyFields` order',
            },
          },
        },
        response: {
          200: { description: 'NDJSON lines', content: { 'application/x-ndjson': { schema: { type: 'string' } } } },
          ...adminErrors,
          503: { $ref: 'Problem' },
        },
      },
    },
    async (req, reply) => {
      const arrays = req.query.keys === 'arrays';
      const body = new PassThrough();
      let sentHead!: () => void;
      const headSent = new Promise<void>((resolve) => {
        sentHead = resolve;
      });
      // Lines are gathered into chunks; a chunk the socket cannot take yet holds the read (and its
      // transaction, on a connection of its own on SQLite) until it drains, so at most a page of rows
      // sits in this process per edge. Keys arrive as JSON text written by the database.
      let lines: string[] = [];
      const write = async (chunk: string) => {
        if (!body.write(chunk) && !body.destroyed) await drained(body);
        if (body.destroyed) throw new Error('the client went away');
      };
      const flush = async () => {
        if (lines.length === 0) return;
        const chunk = `${lines.join('\n')}\n`;
        lines = [];
        await write(chunk);
      };
      const add = async (line: string) => {
        lines.push(line);
        if (lines.length >= LINES_PER_CHUNK) await flush();
      };
      const keyLine = arrays ? '{"keyRow":' : '{"key":';
      const reading = streamDataPlaneSnapshot(
        deps.store,
        {
          head: (seq, keys) => {
            const head: SnapshotHead = arrays ? { seq, keys, keyFields: [...DATA_PLANE_KEY_FIELDS] } : { seq, keys };
            lines.push(JSON.stringify(head));
            sentHead();
          },
          keys: async (page) => {
            await flush();
            let chunk = '';
            for (const json of page) chunk += `${keyLine}${json}}\n`;
            await write(chunk);
          },
          consumers: async (page) => {
            for (const c of page) await add(JSON.stringify({ consumer: edgeConsumerOf(c) } satisfies SnapshotLine));
          },
          plans: async (page) => {
            for (const p of page) await add(JSON.stringify({ plan: edgePlanOf(p) } satisfies SnapshotLine));
          },
        },
        undefined,
        arrays ? 'array' : 'object',
      ).then(flush);
      // Storage unreachable before the head is read: a 503 problem. Failing later, mid-stream: the
      // response is cut off (no final chunk), which the edge sees as a failed load, never as a short snapshot.
      const started = await Promise.race([headSent.then(() => true), reading.then(() => true)]).catch(() => false);
      if (!started) throw new ApiError('UNAVAILABLE', 'storage is unreachable: the snapshot cannot be read');
      reading.then(
        () => body.end(),
        (e: unknown) => body.destroy(e instanceof Error ? e : new Error(String(e))),
      );
      reply.header('content-type', 'application/x-ndjson; charset=utf-8').header('cache-control', 'no-store');
      return reply.send(body);
    },
  );
}

/** Resolves once the stream can take more, or has been destroyed. */
function drained(stream: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
