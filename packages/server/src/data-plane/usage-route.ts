import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError, VERIFY_CODES } from '@keyroll/core';
import { recordEdgeUsage } from '@keyroll/storage';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { requireRoot } from '../http/auth.js';
import { adminErrors } from '../http/schemas.js';

/** Most buckets and last-use entries in one batch (an edge sends at most this many). */
const MAX_ENTRIES = 10_000;

const KeyId = Type.String({ minLength: 1, maxLength: 64 });
const EpochMs = Type.Integer({ minimum: 0, maximum: 253_402_300_799_999 });

const UsageBatch = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9_-]{8,64}$', description: 'the batch id: a batch sent again counts once' }),
    buckets: Type.Array(
      Type.Object(
        {
          keyId: KeyId,
          minute: Type.Integer({ minimum: 0, multipleOf: 60_000, maximum: 253_402_300_740_000 }),
          code: Type.Union(VERIFY_CODES.map((c) => Type.Literal(c))),
          count: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }),
        },
        { additionalProperties: false },
      ),
      { maxItems: MAX_ENTRIES },
    ),
    lastUsed: Type.Array(Type.Object({ keyId: KeyId, at: EpochMs }, { additionalProperties: false }), {
      maxItems: MAX_ENTRIES,
    }),
  },
  { additionalProperties: false },
);

/** `POST /v1/data-plane/usage`: an edge's usage counts and last-use times, applied once per batch id. */
export async function usageRoute(
  fastify: FastifyInstance,
  deps: Pick<AppDeps, 'store' | 'verifier' | 'clock'>,
): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/v1/data-plane/usage',
    {
      preHandler: requireRoot(deps.verifier, 'dataplane:read'),
      schema: {
        tags: ['data plane'],
        summary:
          "Report an edge's usage: counts per key, minute and outcome, and last-use times; idempotent by batch id",
        body: UsageBatch,
        response: {
          200: Type.Object({ applied: Type.Boolean({ description: 'false when this batch id was applied before' }) }),
          ...adminErrors,
          503: Type.Ref('Problem'),
        },
      },
    },
    async (req) => {
      try {
        return { applied: await recordEdgeUsage(deps.store.db, req.body, deps.clock.now()) };
      } catch {
        throw new ApiError('UNAVAILABLE', 'storage is unreachable: the usage batch was not recorded; send it again');
      }
    },
  );
}
