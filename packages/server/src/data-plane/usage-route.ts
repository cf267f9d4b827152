import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError, VERIFY_CODES } from '@keyroll/core';
import { recordEdgeUsage } from '@keyroll/storage';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { requireRoot } from '../http/auth.js';
import { adminErrors } from '../http/schemas.js';

/** Most entries of each kind in one batch (an edge sends at most this many). */
const MAX_ENTRIES = 10_000;

const KeyId = Type.String({ minLength: 1, maxLength: 64 });
const EpochMs = Type.Integer({ minimum: 0, maximum: 253_402_300_799_999 });
const Minute = Type.Integer({ minimum: 0, multipleOf: 60_000, maximum: 253_402_300_740_000 });
const Count = Type.Integer({ minimum: 1, maximum: 1_000_000_000 });
/** A client's address as the edge saw it (`unknown` when it was not told, `other` past its bound). */
const Address = Type.String({ minLength: 1, maxLength: 64 });

const UsageBatch = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9_-]{8,64}$', description: 'the batch id: a batch sent again counts once' }),
    buckets: Type.Array(
      Type.Object(
        {
          keyId: KeyId,
          minute: Minute,
          code: Type.Union(VERIFY_CODES.map((c) => Type.Literal(c))),
          count: Count,
        },
        { additionalProperties: false },
      ),
      { maxItems: MAX_ENTRIES },
    ),
    lastUsed: Type.Array(Type.Object({ keyId: KeyId, at: EpochMs }, { additionalProperties: false }), {
      maxItems: MAX_ENTRIES,
    }),
    unknownKeys: Type.Optional(
      Type.Array(
        Type.Object(
          {
            address: Address,
            minute: Minute,
            code: Type.Union([Type.Literal('NOT_FOUND'), Type.Literal('MALFORMED')]),
            count: Count,
          },
          { additionalProperties: false },
        ),
        { maxItems: MAX_ENTRIES, description: 'unknown keys per source address and minute' },
      ),
    ),
    clients: Type.Optional(
      Type.Array(
        Type.Object(
          {
            keyId: KeyId,
            address: Address,
            userAgent: Type.String({ maxLength: 200 }),
            firstSeen: EpochMs,
            lastSeen: EpochMs,
            count: Count,
          },
          { additionalProperties: false },
        ),
        { maxItems: MAX_ENTRIES, description: 'clients (address, user agent) seen with each key' },
      ),
    ),
  },
  { additionalProperties: false },
);

/** `POST /v1/data-plane/usage`: an edge's usage counts, last-use times and client signals, applied once per batch id. */
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
          "Report an edge's usage: counts per key, minute and outcome, last-use times and client signals; idempotent by batch id",
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
