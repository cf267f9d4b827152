import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError } from '@keyroll/core';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { requireRoot } from '../http/auth.js';
import { adminErrors, Metadata, Nullable, PageOf, PageQuery } from '../http/schemas.js';
import { parseInstant } from '../http/time-input.js';

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

const ChainReport = Type.Object({
  ok: Type.Boolean(),
  events: Type.Integer({ description: 'Events from the genesis through the last one checked' }),
  head: Type.String({ description: 'Hash of the last event checked' }),
  brokenAt: Type.Optional(Type.Object({ seq: Type.Integer(), id: Type.String(), reason: Type.String() })),
  reason: Type.Optional(Type.String({ description: 'Why the check failed (a stable code)' })),
  detail: Type.Optional(Type.String()),
  missing: Type.Optional(
    Type.Object({ after: Type.Integer(), through: Type.Integer() }, { description: 'Events cut from the end' }),
  ),
  checked: Type.Integer({ description: 'Events re-hashed by this check' }),
  from: Type.Integer({ description: 'Sequence number after which this check started (0: the genesis)' }),
  full: Type.Boolean({ description: 'Whether this check started at the genesis' }),
  sealedSeq: Type.Optional(Type.Integer({ description: 'Sequence number of the sealed head' })),
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
        summary: 'List audit events, oldest first (or newest first), filtered',
        description:
          '`from` and `to` are inclusive ISO 8601 bounds on `at`. A `nextCursor` continues the same listing: ' +
          'sent with another `order` or other filters it is a 400 `INVALID_CURSOR`.',
        querystring: Type.Object(
          {
            targetId: Type.Optional(Type.String({ maxLength: 64 })),
            action: Type.Optional(Type.String({ maxLength: 64 })),
            actor: Type.Optional(
              Type.String({ minLength: 1, maxLength: 200, description: 'who did it, e.g. `root:<key id>`' }),
            ),
            from: Type.Optional(
              Type.String({ format: 'date-time', description: 'ISO 8601: only events at or after it' }),
            ),
            to: Type.Optional(
              Type.String({ format: 'date-time', description: 'ISO 8601: only events at or before it' }),
            ),
            order: Type.Optional(
              Type.Union([Type.Literal('asc'), Type.Literal('desc')], {
                default: 'asc',
                description: '`asc`: oldest first; `desc`: newest first',
              }),
            ),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(AuditEvent), ...adminErrors },
      },
    },
    async (req) => {
      const { targetId, action, actor, order, cursor, limit } = req.query;
      const from = parseInstant('from', req.query.from) ?? undefined;
      const to = parseInstant('to', req.query.to) ?? undefined;
      if (from !== undefined && to !== undefined && from > to) {
        throw new ApiError('VALIDATION_FAILED', 'from: must not be after to', { field: 'from' });
      }
      return deps.audit.list({ targetId, action, actor, from, to, order }, { cursor, limit });
    },
  );
  app.get(
    '/v1/audit/verify',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'Check the hash chain and that it still reaches its sealed head',
        description:
          'Re-hashes the events after the last verified checkpoint (all of them with `full=true`), in slices that ' +
          'let other requests through; concurrent calls share one check. `ok: false` names the first altered ' +
          'event (`brokenAt`) or, for a cut chain, the missing range (`missing`), with the reason in `detail`.',
        querystring: Type.Object(
          { full: Type.Optional(Type.Boolean({ description: 'Re-hash every event, ignoring checkpoints' })) },
          { additionalProperties: false },
        ),
        response: { 200: ChainReport, ...adminErrors },
      },
    },
    async (req) => deps.audit.verify(req.query.full ? 'full' : 'incremental'),
  );
}
