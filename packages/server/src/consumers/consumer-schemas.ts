import { Type } from '@fastify/type-provider-typebox';
import { DateTime, Metadata, Nullable, QuotaOut, RateLimitOut } from '../http/schemas.js';

/** A consumer. */
export const ConsumerSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    externalId: Nullable(Type.String()),
    metadata: Metadata,
    planId: Nullable(Type.String()),
    rateLimit: RateLimitOut,
    quota: QuotaOut,
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { $id: 'Consumer' },
);
