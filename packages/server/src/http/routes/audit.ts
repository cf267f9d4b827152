import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { requireRoot } from '../auth.js';
import type { AppDeps } from '../deps.js';
import { adminErrors, Metadata, Nullable, PageOf, PageQuery } from '../schemas.js';

const AuditEvent = Type.Object({
  id: Type.String(),
  seq: Type.Integer(),
  at: Nullable(Type.String()),
  actor: Type.String(),
  action: Type.String(),
  targetType: Type.String(),
  targetId: Type.String(),
  data: Metadata,
  hash: Type.String(),
  prevHash: Type.String(),
});

/** `/v1/audit`: the hash-chained audit log and its end-to-end check. */
export async function auditRoutes(fastify: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const read = requireRoot(deps.verifier, 'audit:read');
  const tags = ['audit'];
  app.get(
    '/v1/audit',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'List audit events, oldest first',
        querystring: Type.Object(
          {
            targetId: Type.Optional(Type.String({ maxLength: 64 })),
            action: Type.Optional(Type.String({ maxLength: 64 })),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(AuditEvent), ...adminErrors },
      },
    },
    async (req) => {
      const { targetId, action, ...page } = req.query;
      return deps.audit.list({ targetId, action }, page);
    },
  );
  app.get(
    '/v1/audit/verify',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'Check the hash chain end to end',
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            events: Type.Integer(),
            head: Type.String(),
            brokenAt: Type.Optional(Type.Object({ seq: Type.Integer(), id: Type.String(), reason: Type.String() })),
          }),
          ...adminErrors,
        },
      },
    },
    async () => deps.audit.verify(),
  );
}
