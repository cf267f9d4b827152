import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { actorOf, requireRoot } from '../http/auth.js';
import { adminErrors, DateTime, Duration, Nullable } from '../http/schemas.js';
import { requireDuration } from '../http/time-input.js';
import { RetireBody, retireSpec } from './rotation-routes.js';

const OnReuse = Type.Union([Type.Literal('reject'), Type.Literal('revoke')]);

const PolicyBody = Type.Object(
  {
    every: Duration,
    gracePeriod: Duration,
    retire: Type.Optional(RetireBody),
    notifyBefore: Type.Optional(Nullable(Duration)),
    onReuse: Type.Optional(OnReuse),
  },
  { additionalProperties: false },
);

const PolicySchema = Type.Object({
  id: Type.String(),
  target: Type.String(),
  consumerId: Nullable(Type.String()),
  every: Type.String(),
  gracePeriod: Type.String(),
  retire: Type.Object({}, { additionalProperties: true }),
  notifyBefore: Nullable(Type.String()),
  onReuse: OnReuse,
  createdAt: DateTime,
  updatedAt: DateTime,
});

const TargetParams = Type.Object({
  target: Type.String({ minLength: 1, maxLength: 64, description: '`default`, or a consumer id' }),
});

/** `/v1/rotation-policies`: rotate keys automatically at an age, per consumer or by default. */
export async function rotationPolicyRoutes(fastify: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const read = requireRoot(deps.verifier, 'keys:read');
  const write = requireRoot(deps.verifier, 'keys:rotate');
  const tags = ['rotations'];

  app.get(
    '/v1/rotation-policies',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'List rotation policies',
        response: { 200: Type.Object({ data: Type.Array(PolicySchema) }), ...adminErrors },
      },
    },
    async () => ({ data: await deps.rotationPolicies.list() }),
  );
  app.get(
    '/v1/rotation-policies/:target',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'The rotation policy of a consumer, or the default',
        params: TargetParams,
        response: { 200: PolicySchema, ...adminErrors },
      },
    },
    async (req) => deps.rotationPolicies.get(req.params.target),
  );
  app.put(
    '/v1/rotation-policies/:target',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Set the rotation policy of a consumer, or the default',
        params: TargetParams,
        body: PolicyBody,
        response: { 200: PolicySchema, ...adminErrors },
      },
    },
    async (req) => {
      const b = req.body;
      return deps.rotationPolicies.put(actorOf(req), req.params.target, {
        everyMs: requireDuration('every', b.every),
        graceMs: requireDuration('gracePeriod', b.gracePeriod),
        retire: retireSpec(b.retire),
        notifyBeforeMs: b.notifyBefore == null ? b.notifyBefore : requireDuration('notifyBefore', b.notifyBefore),
        onReuse: b.onReuse,
      });
    },
  );
  app.delete(
    '/v1/rotation-policies/:target',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Remove a rotation policy',
        params: TargetParams,
        response: { 204: Type.Null(), ...adminErrors },
      },
    },
    async (req, reply) => {
      await deps.rotationPolicies.remove(actorOf(req), req.params.target);
      return reply.code(204).send(null);
    },
  );
}
