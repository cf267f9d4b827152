import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError } from '@keyroll/core';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { requireRoot } from '../http/auth.js';
import { adminErrors, DateTime, Nullable } from '../http/schemas.js';
import { iso } from '../shared/records.js';

const ClusterNodeSchema = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('node'), Type.Literal('edge')], {
    description: 'a node, or an edge verifier following the change stream',
  }),
  address: Type.String(),
  appliedSeq: Type.Integer({
    description: 'the last change-log sequence number the node has applied (for an edge: the last one sent to it)',
  }),
  lag: Type.Integer({ description: 'changes the node is behind the head of the change log' }),
  /** For an edge: when its change stream connected. */
  startedAt: Nullable(DateTime),
  /** For an edge: when it was last sent an event or a heartbeat. */
  heartbeatAt: Nullable(DateTime),
  maxStalenessMs: Type.Optional(
    Type.Integer({ description: "an edge's staleness bound: it is live while heard from within it" }),
  ),
  self: Type.Boolean({ description: 'true for the node that answered' }),
});

const ClusterStatus = Type.Object({
  node: Type.String({ description: 'id of the node that answered' }),
  head: Type.Integer({ description: 'sequence number of the newest change' }),
  ttlMs: Type.Integer({ description: 'a node is live while its heartbeat is younger than this' }),
  nodes: Type.Array(ClusterNodeSchema),
  changeFeed: Type.Object({
    mode: Type.String(),
    appliedSeq: Type.Integer(),
    connected: Type.Boolean(),
    lastError: Nullable(Type.String()),
    lastReadAt: Nullable(DateTime),
  }),
  cache: Type.Object({
    keys: Type.Integer(),
    unknown: Type.Integer(),
    maxKeys: Type.Integer(),
    maxUnknown: Type.Integer(),
  }),
});

/** `GET /v1/cluster`: live nodes and edges, the sequence number each has applied, and their lag. */
export async function clusterRoutes(fastify: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/cluster',
    {
      preHandler: requireRoot(deps.verifier, 'cluster:read'),
      schema: {
        tags: ['operations'],
        summary: 'Live nodes and edges, and how far each has applied the change log',
        response: { 200: ClusterStatus, ...adminErrors },
      },
    },
    async () => {
      const cluster = deps.cluster;
      let head: number;
      let members: Awaited<ReturnType<typeof cluster.members>>;
      try {
        head = await cluster.head();
        members = await cluster.members(head);
      } catch {
        throw new ApiError('UNAVAILABLE', 'storage is unreachable: the node registry cannot be read');
      }
      const feed = cluster.feedStatus();
      const cache = cluster.lookup.cache;
      return {
        node: cluster.id,
        head,
        ttlMs: cluster.registry.ttlMs,
        nodes: members.map((m) => ({ ...m, startedAt: iso(m.startedAt), heartbeatAt: iso(m.heartbeatAt) })),
        changeFeed: { ...feed, lastReadAt: iso(feed.lastReadAt) },
        cache: { ...cache.size, maxKeys: cache.maxKeys, maxUnknown: cache.maxUnknown },
      };
    },
  );
}
