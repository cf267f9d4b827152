import { DURATION_PATTERN, VERIFY_CODES } from '@keyroll/core';
import { type Static, type TSchema, Type } from '@sinclair/typebox';

/**
 * Nullable variant of a schema. A typed schema becomes `type: [t, 'null']` rather than an `anyOf`,
 * because Ajv's type coercion (on for query strings) would otherwise turn a `null` body value into
 * `[""]` or `""` in the first branch before the `null` branch is tried.
 */
export const Nullable = <T extends TSchema>(schema: T) =>
  typeof schema.type === 'string'
    ? Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] })
    : Type.Union([Type.Null(), schema]);

/** RFC 9457 problem details with keyroll's stable `code`. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
  },
  { $id: 'Problem', additionalProperties: true },
);

/** A duration: seconds, or a string such as `"90s"`, `"15m"`, `"24h"`, `"7d"`. */
export const Duration = Type.Union(
  [Type.String({ maxLength: 32, pattern: DURATION_PATTERN }), Type.Number({ minimum: 0 })],
  { description: 'seconds, or a string such as "90s", "15m", "24h", "7d"' },
);

/** ISO 8601 date-time. */
export const DateTime = Type.String({ format: 'date-time' });

/** Bucket size of usage over time. */
export const Granularity = Type.Union([Type.Literal('minute'), Type.Literal('hour'), Type.Literal('day')]);

/** Verification counts by outcome code (codes with no count are left out). */
export const CodeCounts = Type.Object(Object.fromEntries(VERIFY_CODES.map((c) => [c, Type.Optional(Type.Integer())])), {
  additionalProperties: false,
});

/** Usage buckets over time: each bucket's start, total and counts by code. */
export const UsageBuckets = Type.Array(Type.Object({ start: DateTime, total: Type.Integer(), codes: CodeCounts }));

/** Free-form JSON object, at most 8 KiB serialized. */
export const Metadata = Type.Record(Type.String(), Type.Unknown(), { description: 'free-form JSON object (≤ 8 KiB)' });

/** A rate limit: `limit` requests per `window`. */
export const RateLimit = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }), window: Duration },
  { additionalProperties: false },
);

/** A quota: `limit` requests (or credits) per UTC day or month. */
export const Quota = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1_000_000_000_000 }),
    period: Type.Union([Type.Literal('day'), Type.Literal('month')]),
  },
  { additionalProperties: false },
);

/** Scopes granted to a key: `read`, `keys:write`, `keys:*`, `*`. */
export const Scopes = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100 });

/** An id in a path. */
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/** Pagination query parameters. */
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 300 })),
};

/** A listing's search text (`?q=`): at most 100 characters, `%` and `_` taken literally. */
export const SearchText = Type.String({
  minLength: 1,
  maxLength: 100,
  description: 'text to find, ignoring case (at most 100 characters; `%` and `_` match themselves)',
});

/** A page of items. */
export const PageOf = <T extends TSchema>(item: T) =>
  Type.Object({ data: Type.Array(item), nextCursor: Nullable(Type.String()) });

/** A rate limit as answered. */
export const RateLimitOut = Nullable(Type.Object({ limit: Type.Integer(), window: Type.String() }));
/** A quota as answered. */
export const QuotaOut = Nullable(Type.Object({ limit: Type.Integer(), period: Type.String() }));

/** The verification outcome codes. */
export const VerifyCode = Type.Union(VERIFY_CODES.map((c) => Type.Literal(c)));

/** Standard error responses of an authenticated admin route. */
export const adminErrors = {
  400: Type.Ref('Problem'),
  401: Type.Ref('Problem'),
  403: Type.Ref('Problem'),
  404: Type.Ref('Problem'),
  409: Type.Ref('Problem'),
};
