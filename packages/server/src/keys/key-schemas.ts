import { Type } from '@fastify/type-provider-typebox';
import { KEY_STATUSES } from '@keyroll/core';
import { DateTime, Metadata, Nullable, QuotaOut, RateLimitOut } from '../http/schemas.js';

/** A key, without its secret or hash. */
export const KeySchema = Type.Object(
  {
    id: Type.String(),
    consumerId: Type.String(),
    name: Type.String(),
    hint: Type.String({ description: 'display fragment: prefix and last 4 characters' }),
    version: Type.Integer(),
    predecessorId: Nullable(Type.String()),
    status: Type.Union(KEY_STATUSES.map((s) => Type.Literal(s))),
    scopes: Type.Array(Type.String()),
    metadata: Metadata,
    allowedIps: Nullable(Type.Array(Type.String())),
    rateLimit: RateLimitOut,
    quota: QuotaOut,
    planId: Nullable(Type.String()),
    createdAt: DateTime,
    updatedAt: DateTime,
    expiresAt: Nullable(DateTime),
    retiresAt: Nullable(DateTime),
    revokedAt: Nullable(DateTime),
    revokeReason: Nullable(Type.String()),
    lastUsedAt: Nullable(DateTime),
  },
  { $id: 'Key' },
);
