import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { requireRoot } from '../http/auth.js';
import {
  adminErrors,
  CodeCounts,
  DateTime,
  Duration,
  Granularity,
  IdParams,
  Nullable,
  PageOf,
  PageQuery,
  UsageBuckets,
} from '../http/schemas.js';
import { parseInstant, requireDuration } from '../http/time-input.js';
import { KeySchema } from '../keys/key-schemas.js';

const Range = {
  from: Type.Optional(Type.String({ maxLength: 64, description: 'ISO 8601; default: 24 buckets before to' })),
  to: Type.Optional(Type.String({ maxLength: 64, description: 'ISO 8601, exclusive; default: now' })),
};
const Id = Type.String({ minLength: 1, maxLength: 64 });

const UsageOverTime = Type.Object({
  keyId: Nullable(Type.String()),
  consumerId: Nullable(Type.String()),
  granularity: Granularity,
  from: DateTime,
  to: DateTime,
  total: Type.Integer(),
  codes: CodeCounts,
  buckets: UsageBuckets,
});

const Failures = Type.Object({
  from: DateTime,
  to: DateTime,
  total: Type.Integer(),
  byCode: CodeCounts,
  byConsumer: Type.Array(Type.Object({ consumerId: Type.String(), total: Type.Integer(), codes: CodeCounts })),
  retiredKeyUses: Type.Array(
    Type.Object({
      keyId: Type.String(),
      consumerId: Type.String(),
      requests: Type.Integer(),
      lastSeenAt: Nullable(DateTime),
    }),
  ),
});

const UnknownKeys = Type.Object({
  from: DateTime,
  to: DateTime,
  sources: Type.Array(
    Type.Object({ address: Type.String(), total: Type.Integer(), codes: CodeCounts, lastSeenAt: Nullable(DateTime) }),
  ),
});

const ExpiringKey = Type.Composite([
  KeySchema,
  Type.Object({ endsBy: Type.Union([Type.Literal('expiry'), Type.Literal('retirement')]), endsAt: DateTime }),
]);

/** Fields of a rotation's traffic: old vs new key per bucket and who still uses the old key. */
export const RotationTrafficFields = {
  granularity: Granularity,
  buckets: Type.Array(Type.Object({ start: DateTime, oldKey: Type.Integer(), newKey: Type.Integer() })),
  oldKeyRequests: Type.Integer(),
  newKeyRequests: Type.Integer(),
  shareOnNew: Nullable(Type.Number()),
  oldKeyLastSeenAt: Nullable(DateTime),
  oldKeyClients: Type.Array(
    Type.Object({
      address: Type.String(),
      userAgent: Type.String(),
      requests: Type.Integer(),
      firstSeenAt: Nullable(DateTime),
      lastSeenAt: Nullable(DateTime),
    }),
  ),
};

/** The traffic of a rotation: old vs new key per bucket and who still uses the old key. */
export const RotationTrafficSchema = Type.Object(
  { rotationId: Type.String(), ...RotationTrafficFields },
  { $id: 'RotationTraffic' },
);

/** `/v1/analytics/…`: usage over time, failures, unknown keys, expiring and idle keys, rotation traffic. */
export async function analyticsRoutes(fastify: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const read = requireRoot(deps.verifier, 'analytics:read');
  const analytics = deps.monitoring.analytics;
  const tags = ['analytics'];
  const range = (q: { from?: string | undefined; to?: string | undefined }) => ({
    from: parseInstant('from', q.from) ?? undefined,
    to: parseInstant('to', q.to) ?? undefined,
  });

  app.get(
    '/v1/analytics/usage',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'Verifications over time of a key, a consumer or everything, by outcome code',
        querystring: Type.Object(
          {
            keyId: Type.Optional(Id),
            consumerId: Type.Optional(Id),
            granularity: Type.Optional(Granularity),
            ...Range,
          },
          { additionalProperties: false },
        ),
        response: { 200: UsageOverTime, ...adminErrors },
      },
    },
    async (req) =>
      analytics.usage(
        { keyId: req.query.keyId, consumerId: req.query.consumerId },
        { ...range(req.query), granularity: req.query.granularity },
      ),
  );
  app.get(
    '/v1/analytics/failures',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'Failed verifications by code and consumer; uses of retired keys on their own',
        querystring: Type.Object(Range, { additionalProperties: false }),
        response: { 200: Failures, ...adminErrors },
      },
    },
    async (req) => analytics.failures({ ...range(req.query), granularity: 'hour' }),
  );
  app.get(
    '/v1/analytics/unknown-keys',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'Unknown keys (NOT_FOUND, MALFORMED) grouped by source address',
        querystring: Type.Object(Range, { additionalProperties: false }),
        response: { 200: UnknownKeys, ...adminErrors },
      },
    },
    async (req) => analytics.unknownKeys({ ...range(req.query), granularity: 'hour' }),
  );
  app.get(
    '/v1/analytics/expiring',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'Keys that expire or retire within a duration (default 7d), soonest first',
        querystring: Type.Object({ within: Type.Optional(Duration), ...PageQuery }, { additionalProperties: false }),
        response: { 200: PageOf(ExpiringKey), ...adminErrors },
      },
    },
    async (req) => {
      const { within, ...page } = req.query;
      return analytics.expiring(requireDuration('within', within ?? '7d'), page);
    },
  );
  app.get(
    '/v1/analytics/idle',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'Usable keys not used for a duration (default 90d)',
        querystring: Type.Object({ idleFor: Type.Optional(Duration), ...PageQuery }, { additionalProperties: false }),
        response: { 200: PageOf(KeySchema), ...adminErrors },
      },
    },
    async (req) => {
      const { idleFor, ...page } = req.query;
      return analytics.idle(requireDuration('idleFor', idleFor ?? '90d'), page);
    },
  );
  app.get(
    '/v1/analytics/rotations/:id',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'Traffic of a rotation: old vs new key since the start, and who still uses the old key',
        params: IdParams,
        querystring: Type.Object({ granularity: Type.Optional(Granularity) }, { additionalProperties: false }),
        response: { 200: RotationTrafficSchema, ...adminErrors },
      },
    },
    async (req) => analytics.rotationTrafficById(req.params.id, req.query.granularity),
  );
}
