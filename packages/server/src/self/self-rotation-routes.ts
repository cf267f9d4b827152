import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { actorOf } from '../http/auth.js';
import { Duration, Nullable } from '../http/schemas.js';
import { requireDuration } from '../http/time-input.js';
import { RotationResultSchema } from '../rotations/rotation-routes.js';
import { requireSelfServiceKey, setRetryAfter } from './self-guard.js';

const errors = {
  400: Type.Ref('Problem'),
  401: Type.Ref('Problem'),
  404: Type.Ref('Problem'),
  403: Type.Ref('Problem'),
  409: Type.Ref('Problem'),
  429: Type.Ref('Problem'),
};

/** `/v1/self/rotate` and `/v1/self/successor`: a consumer rolls its own key, authenticated by that key. */
export async function selfRotationRoutes(fastify: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const guard = requireSelfServiceKey(deps);
  const tags = ['self-service'];

  app.post(
    '/v1/self/rotate',
    {
      // The body is optional: an absent one means "no options".
      preValidation: async (req) => {
        req.body ??= {};
      },
      preHandler: guard,
      schema: {
        tags,
        summary: 'Rotate the calling key; the successor is in this response only',
        // Nullable: the document then says the body is optional (an absent one means no options).
        body: Nullable(Type.Object({ gracePeriod: Type.Optional(Duration) }, { additionalProperties: false })),
        response: { 201: RotationResultSchema, ...errors },
      },
    },
    async (req, reply) => {
      const actor = actorOf(req);
      const grace = req.body?.gracePeriod;
      const graceMs = grace === undefined ? undefined : requireDuration('gracePeriod', grace);
      const result = await deps.rotations.selfRotate(actor, actor.id, graceMs).catch((e: unknown) => {
        setRetryAfter(reply, e);
        throw e;
      });
      return reply.code(201).header('cache-control', 'no-store').send(result);
    },
  );

  app.post(
    '/v1/self/successor',
    {
      preHandler: guard,
      schema: {
        tags,
        summary: 'Claim the successor of the calling key after a scheduled rotation (once)',
        response: { 201: RotationResultSchema, ...errors },
      },
    },
    async (req, reply) => {
      const actor = actorOf(req);
      const result = await deps.rotations.claim(actor, actor.id);
      return reply.code(201).header('cache-control', 'no-store').send(result);
    },
  );
}
