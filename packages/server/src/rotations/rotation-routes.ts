import { type Static, Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { RETIRE_MODES, ROTATION_STATES } from '@keyroll/core';
import type { FastifyInstance } from 'fastify';
import { RotationTrafficFields } from '../analytics/analytics-routes.js';
import type { AppDeps } from '../app-deps.js';
import { actorOf, requireRoot } from '../http/auth.js';
import {
  adminErrors,
  DateTime,
  Duration,
  IdParams,
  Metadata,
  Nullable,
  PageOf,
  PageQuery,
  Scopes,
} from '../http/schemas.js';
import { expiryInput, requireDuration } from '../http/time-input.js';
import type { RetireSpec } from './rotation-retire.js';

/** A retirement rule in a request. */
export const RetireBody = Type.Object(
  {
    mode: Type.Union(RETIRE_MODES.map((m) => Type.Literal(m))),
    idleFor: Type.Optional(Duration),
    minGrace: Type.Optional(Duration),
    maxGrace: Type.Optional(Duration),
    extendBy: Type.Optional(Duration),
    maxExtensions: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    gracePeriod: Type.Optional(Duration),
  },
  { additionalProperties: false },
);

/** Parses a retirement rule's durations. */
export function retireSpec(body: Static<typeof RetireBody> | undefined): RetireSpec | undefined {
  if (!body) return undefined;
  const ms = (field: string, v: string | number | undefined) =>
    v === undefined ? undefined : requireDuration(`retire.${field}`, v);
  return {
    mode: body.mode,
    idleForMs: ms('idleFor', body.idleFor),
    minGraceMs: ms('minGrace', body.minGrace),
    maxGraceMs: ms('maxGrace', body.maxGrace),
    extendByMs: ms('extendBy', body.extendBy),
    maxExtensions: body.maxExtensions,
    graceMs: ms('gracePeriod', body.gracePeriod),
  };
}

const RetireOut = Type.Object({
  mode: Type.String(),
  idleFor: Type.Optional(Type.String()),
  minGrace: Type.Optional(Type.String()),
  maxGrace: Type.Optional(Type.String()),
  extendBy: Type.Optional(Nullable(Type.String())),
  maxExtensions: Type.Optional(Type.Integer()),
  gracePeriod: Type.Optional(Type.String()),
});

/** A rotation with its progress. */
export const RotationSchema = Type.Object({
  id: Type.String(),
  consumerId: Type.String(),
  state: Type.Union(ROTATION_STATES.map((s) => Type.Literal(s))),
  origin: Type.String(),
  oldKeyId: Type.String(),
  newKeyId: Nullable(Type.String()),
  successorClaimed: Type.Boolean(),
  gracePeriod: Type.String(),
  retire: RetireOut,
  policyId: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  startedAt: DateTime,
  retiresAt: DateTime,
  claimedAt: Nullable(DateTime),
  successorFirstUsedAt: Nullable(DateTime),
  extensions: Type.Array(
    Type.Object({ at: DateTime, by: Type.String(), from: DateTime, to: DateTime, actor: Type.String() }),
  ),
  endedAt: Nullable(DateTime),
  endReason: Nullable(Type.String()),
  progress: Type.Object({
    oldKeyRequests: Type.Integer(),
    newKeyRequests: Type.Integer(),
    shareOnNew: Nullable(Type.Number()),
    oldKeyLastUsedAt: Nullable(DateTime),
    newKeyLastUsedAt: Nullable(DateTime),
  }),
});

/** The answer of a rotation that issued a successor: the secret appears here only. */
export const RotationResultSchema = Type.Object({
  key: Type.String({ description: "the successor's secret: shown this once, never again" }),
  newKeyId: Type.String(),
  rotation: RotationSchema,
});

const RotateBody = Type.Object(
  {
    gracePeriod: Duration,
    retire: Type.Optional(RetireBody),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    scopes: Type.Optional(Scopes),
    metadata: Type.Optional(Metadata),
    expiresAt: Type.Optional(Nullable(DateTime)),
    expiresIn: Type.Optional(Duration),
  },
  { additionalProperties: false },
);

const RolloverBody = Type.Object(
  {
    gracePeriod: Duration,
    retire: Type.Optional(RetireBody),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

/** Key rotation, consumer rollover and operator control of rotations. */
export async function rotationRoutes(fastify: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const read = requireRoot(deps.verifier, 'keys:read');
  const rotate = requireRoot(deps.verifier, 'keys:rotate');
  const tags = ['rotations'];

  app.post(
    '/v1/keys/:id/rotate',
    {
      preHandler: rotate,
      schema: {
        tags,
        summary: 'Rotate a key: issue its successor, keep it valid for the grace period (0: revoke it now)',
        params: IdParams,
        body: RotateBody,
        response: { 201: RotationResultSchema, ...adminErrors },
      },
    },
    async (req, reply) => {
      const { gracePeriod, retire, reason, expiresAt, expiresIn, name, scopes, metadata } = req.body;
      const now = deps.clock.now();
      const result = await deps.rotations.rotate(actorOf(req), req.params.id, {
        graceMs: requireDuration('gracePeriod', gracePeriod),
        retire: retireSpec(retire),
        reason,
        overrides: { name, scopes, metadata, expiresAt: expiryInput(expiresAt, expiresIn, now) },
      });
      return reply.code(201).header('cache-control', 'no-store').send(result);
    },
  );

  app.post(
    '/v1/keys/:id/successor',
    {
      preHandler: rotate,
      schema: {
        tags,
        summary: "Claim a root key's policy successor (once); needs a root key holding the old key's scopes",
        params: IdParams,
        response: { 201: RotationResultSchema, ...adminErrors },
      },
    },
    async (req, reply) => {
      const result = await deps.rotations.claimRootSuccessor(actorOf(req), req.params.id);
      return reply.code(201).header('cache-control', 'no-store').send(result);
    },
  );

  app.post(
    '/v1/consumers/:id/rollover',
    {
      preHandler: rotate,
      schema: {
        tags,
        summary: 'Rotate every active key of a consumer in one transaction',
        params: IdParams,
        body: RolloverBody,
        response: { 201: Type.Object({ rotations: Type.Array(RotationResultSchema) }), ...adminErrors },
      },
    },
    async (req, reply) => {
      const rotations = await deps.rotations.rollover(actorOf(req), req.params.id, {
        graceMs: requireDuration('gracePeriod', req.body.gracePeriod),
        retire: retireSpec(req.body.retire),
        reason: req.body.reason,
      });
      return reply.code(201).header('cache-control', 'no-store').send({ rotations });
    },
  );

  app.get(
    '/v1/rotations',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'List rotations with their progress',
        querystring: Type.Object(
          {
            state: Type.Optional(Type.Union(ROTATION_STATES.map((s) => Type.Literal(s)))),
            consumerId: Type.Optional(Type.String({ maxLength: 64 })),
            keyId: Type.Optional(Type.String({ maxLength: 64 })),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(RotationSchema), ...adminErrors },
      },
    },
    async (req) => {
      const { state, consumerId, keyId, ...page } = req.query;
      return deps.rotations.list({ state, consumerId, keyId }, page);
    },
  );

  app.get(
    '/v1/rotations/:id',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'A rotation with its progress and traffic: old vs new key per bucket, clients still on the old key',
        params: IdParams,
        response: {
          200: Type.Composite([RotationSchema, Type.Object({ traffic: Type.Object(RotationTrafficFields) })]),
          ...adminErrors,
        },
      },
    },
    async (req) => {
      const rotation = await deps.rotations.get(req.params.id);
      const traffic = await deps.monitoring.analytics.rotationTraffic(
        rotation.oldKeyId,
        rotation.newKeyId,
        Date.parse(rotation.startedAt),
      );
      return { ...rotation, traffic };
    },
  );

  const control = {
    preHandler: rotate,
    schema: { tags, params: IdParams, response: { 200: RotationSchema, ...adminErrors } },
  };
  app.post(
    '/v1/rotations/:id/rollback',
    {
      ...control,
      schema: { ...control.schema, summary: 'Roll back: the old key is active again, the successor revoked' },
    },
    async (req) => deps.rotations.rollback(actorOf(req), req.params.id),
  );
  app.post(
    '/v1/rotations/:id/complete',
    { ...control, schema: { ...control.schema, summary: 'Retire the old key now' } },
    async (req) => deps.rotations.complete(actorOf(req), req.params.id),
  );
  app.post(
    '/v1/rotations/:id/extend',
    {
      ...control,
      schema: {
        ...control.schema,
        summary: "Push the old key's deadline back (never past its own expiry)",
        body: Type.Object({ by: Duration }, { additionalProperties: false }),
      },
    },
    async (req) => deps.rotations.extend(actorOf(req), req.params.id, requireDuration('by', req.body.by)),
  );
}
