import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { requireRoot } from '../http/auth.js';
import { adminErrors, CodeCounts, DateTime, Granularity, IdParams, UsageBuckets } from '../http/schemas.js';
import { parseInstant } from '../http/time-input.js';
import { MAX_USAGE_BUCKETS } from './usage-service.js';

const UsageSchema = Type.Object({
  keyId: Type.String(),
  granularity: Granularity,
  from: DateTime,
  to: DateTime,
  total: Type.Integer(),
  codes: CodeCounts,
  buckets: UsageBuckets,
});

/** `GET /v1/keys/:id/usage`: a key's verifications over time, by outcome code. */
export async function usageRoutes(fastify: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/keys/:id/usage',
    {
      preHandler: requireRoot(deps.verifier, 'analytics:read'),
      schema: {
        tags: ['analytics'],
        summary: `A key's usage in minute, hour or day buckets (at most ${MAX_USAGE_BUCKETS}), by verify code`,
        params: IdParams,
        querystring: Type.Object(
          {
            from: Type.Optional(Type.String({ maxLength: 64, description: 'ISO 8601; default: 24 buckets before to' })),
            to: Type.Optional(Type.String({ maxLength: 64, description: 'ISO 8601, exclusive; default: now' })),
            granularity: Type.Optional(Granularity),
          },
          { additionalProperties: false },
        ),
        response: { 200: UsageSchema, ...adminErrors },
      },
    },
    async (req) => {
      await deps.keys.get(req.params.id);
      // The same series as /v1/analytics/usage?keyId=…, under the key it describes.
      return deps.monitoring.analytics.usage(
        { keyId: req.params.id },
        {
          from: parseInstant('from', req.query.from) ?? undefined,
          to: parseInstant('to', req.query.to) ?? undefined,
          granularity: req.query.granularity,
        },
      );
    },
  );
}
