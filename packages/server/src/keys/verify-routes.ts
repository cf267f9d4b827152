import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { QuotaState } from '@keyroll/verifier/internal';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { requireRoot } from '../http/auth.js';
import { adminErrors, DateTime, Metadata, Nullable, RefillOut, Scopes, VerifyCode } from '../http/schemas.js';
import { iso, refillView } from '../shared/records.js';

const VerifyBody = Type.Object(
  {
    key: Type.String({ maxLength: 512, description: 'the key the client presented' }),
    scopes: Type.Optional(Scopes),
    cost: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 1 })),
    ip: Type.Optional(
      Type.String({ maxLength: 64, description: "the client's address, checked against the key's allow-list" }),
    ),
    userAgent: Type.Optional(
      Type.String({ maxLength: 512, description: "the client's user agent, for rotation progress and analytics" }),
    ),
  },
  { additionalProperties: false },
);

const VerifyResponse = Type.Object({
  valid: Type.Boolean(),
  code: VerifyCode,
  keyId: Type.Optional(Type.String()),
  consumerId: Type.Optional(Type.String()),
  scopes: Type.Optional(Type.Array(Type.String())),
  metadata: Type.Optional(Metadata),
  deprecated: Type.Optional(Type.Boolean()),
  retiresAt: Type.Optional(Nullable(DateTime)),
  expiresAt: Type.Optional(Nullable(DateTime)),
  missingScopes: Type.Optional(Type.Array(Type.String())),
  retryAfterMs: Type.Optional(Type.Integer()),
  ratelimit: Type.Optional(
    Type.Object(
      { limit: Type.Integer(), remaining: Type.Integer(), resetMs: Type.Integer() },
      { description: 'the tightest rate limit' },
    ),
  ),
  quota: Type.Optional(
    Type.Object(
      {
        limit: Type.Integer(),
        remaining: Type.Integer(),
        resetsAt: Type.String({
          format: 'date-time',
          description: "when credits next come back: the period's end, or the next refill if sooner",
        }),
        refill: Type.Optional(RefillOut),
      },
      { description: 'the tightest quota' },
    ),
  ),
});

/** `POST /v1/keys/verify`: the provider asks whether a client's key may make a request. */
export async function verifyRoutes(fastify: FastifyInstance, deps: Pick<AppDeps, 'verifier'>): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/v1/keys/verify',
    {
      preHandler: requireRoot(deps.verifier, 'keys:verify'),
      schema: {
        tags: ['verification'],
        summary: 'Verify a key; a rejection is a 200 with valid: false and a code',
        body: VerifyBody,
        response: { 200: VerifyResponse, ...adminErrors },
      },
    },
    async (req) => {
      // Picked one by one: nothing in a body may reach a verifier option it does not name (e.g. skipLimits).
      const { key, scopes, cost, ip, userAgent } = req.body;
      const result = await deps.verifier.verify(key, { scopes, cost, ip, userAgent });
      const quota = result.quota && quotaAnswer(result.quota);
      if (!result.valid) return { ...result, quota };
      return { ...result, quota, retiresAt: iso(result.retiresAt), expiresAt: iso(result.expiresAt) };
    },
  );
}

/** A quota state as answered: `resetsAt` as ISO 8601, a refill's `everyMs` as a duration. */
function quotaAnswer(state: QuotaState) {
  const { refill, ...rest } = state;
  return { ...rest, resetsAt: new Date(state.resetsAt).toISOString(), ...(refill && { refill: refillView(refill) }) };
}
