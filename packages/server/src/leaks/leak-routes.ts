import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError } from '@keyroll/core';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { actorOf, requireRoot } from '../http/auth.js';
import { adminErrors, DateTime, Duration, IdParams, Nullable, PageOf, PageQuery } from '../http/schemas.js';
import { requireDuration } from '../http/time-input.js';
import { parseGithubPost, RawBody } from './github-post.js';
import { verifyGithubSignature } from './github-signature.js';
import { LEAK_ACTIONS } from './leak-policies.js';

/** Largest GitHub post accepted (a batch of tokens with their URLs). */
const GITHUB_BODY_LIMIT = 1024 * 1024;

const Action = Type.Union(LEAK_ACTIONS.map((a) => Type.Literal(a)));

const Feedback = Type.Array(
  Type.Object({
    token_hash: Type.String({ description: 'SHA-256 of the token, hex' }),
    token_type: Type.String(),
    label: Type.Union([Type.Literal('true_positive'), Type.Literal('false_positive')]),
  }),
);

const IncidentSchema = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal('open'), Type.Literal('contained')]),
  keyId: Type.String(),
  consumerId: Type.String(),
  keyHint: Type.String(),
  source: Type.String(),
  url: Nullable(Type.String()),
  reportedBy: Type.String(),
  action: Type.Union([...LEAK_ACTIONS.map((a) => Type.Literal(a)), Type.Literal('none')]),
  gracePeriod: Nullable(Type.String()),
  rotationId: Nullable(Type.String()),
  reportedAt: DateTime,
  containedAt: Nullable(DateTime),
  revokesAt: Nullable(DateTime),
  successorClaimedAt: Nullable(DateTime),
  reuseDetectedAt: Nullable(DateTime),
  updatedAt: DateTime,
});

const IncidentDetailSchema = Type.Intersect([
  IncidentSchema,
  Type.Object({
    keyStatus: Type.String(),
    timeline: Type.Array(
      Type.Object(
        {
          type: Type.Union(
            ['reported', 'contained', 'successor_claimed', 'reuse_detected', 'last_use'].map((t) => Type.Literal(t)),
          ),
          at: DateTime,
        },
        { additionalProperties: true },
      ),
    ),
    recentUse: Type.Array(
      Type.Object({ address: Type.String(), userAgent: Type.String(), count: Type.Integer(), lastSeen: DateTime }),
    ),
    checklist: Type.Array(Type.Object({ item: Type.String(), done: Type.Boolean() })),
  }),
]);

const ReportResponse = Type.Object({
  incidentId: Type.String(),
  created: Type.Boolean(),
  incident: IncidentDetailSchema,
});

const PolicySchema = Type.Object({
  target: Type.String(),
  consumerId: Nullable(Type.String()),
  action: Action,
  gracePeriod: Type.String(),
  builtIn: Type.Boolean(),
  createdAt: Nullable(DateTime),
  updatedAt: Nullable(DateTime),
});

const TargetParams = Type.Object({
  target: Type.String({ minLength: 1, maxLength: 64, description: '`default`, or a consumer id' }),
});

const githubErrors = {
  400: Type.Ref('Problem'),
  401: Type.Ref('Problem'),
  413: Type.Ref('Problem'),
  415: Type.Ref('Problem'),
  503: Type.Ref('Problem'),
};

/**
 * Leak response: GitHub's secret-scanning partner endpoint (signed by GitHub, no root key), reports
 * by operators, leak policies and incidents.
 */
export async function leakRoutes(fastify: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const read = requireRoot(deps.verifier, 'keys:read');
  const write = requireRoot(deps.verifier, 'keys:write');
  const tags = ['leaks'];

  // The signature covers the body's exact bytes: this route alone keeps them, never re-serialised.
  await fastify.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
      done(null, new RawBody(body as Buffer));
    });
    scope.withTypeProvider<TypeBoxTypeProvider>().post(
      '/v1/leaks/github',
      {
        bodyLimit: GITHUB_BODY_LIMIT,
        schema: {
          tags,
          summary: 'GitHub secret scanning partner endpoint',
          description:
            'Takes the JSON array of `{token, type, url, source}` GitHub posts, signed with `Github-Public-Key-Signature` ' +
            '(base64 DER ECDSA P-256/SHA-256 of the raw body) by the key `Github-Public-Key-Identifier` names. ' +
            'Answers one feedback entry per token; each keyroll key found is contained per its leak policy (once).',
          security: [],
          response: { 200: Feedback, ...githubErrors },
        },
      },
      async (req) => {
        if (!(req.body instanceof RawBody)) {
          throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'GitHub posts application/json');
        }
        await verifyGithubSignature(
          deps.githubKeys,
          req.body.bytes,
          req.headers['github-public-key-identifier'],
          req.headers['github-public-key-signature'],
        );
        return deps.leaks.reportGithub(parseGithubPost(req.body.bytes));
      },
    );
  });

  app.post(
    '/v1/leaks',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Report a leaked key',
        description:
          'By its secret (`key`, never stored: found by its SHA-256) or its id (`keyId`). Contains it per the ' +
          "consumer's leak policy and records an incident; a key already reported answers its incident (200) and changes nothing.",
        body: Type.Object(
          {
            key: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            keyId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            source: Type.String({
              minLength: 1,
              maxLength: 100,
              description: 'who found it: support, logs, a scanner',
            }),
            url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: ReportResponse, 201: ReportResponse, ...adminErrors },
      },
    },
    async (req, reply) => {
      const b = req.body;
      if ((b.key === undefined) === (b.keyId === undefined)) {
        throw new ApiError('VALIDATION_FAILED', 'exactly one of key or keyId is required', { field: 'key' });
      }
      const outcome = await deps.leaks.reportByOperator(actorOf(req), b);
      return reply
        .code(outcome.created ? 201 : 200)
        .send({ incidentId: outcome.incident.id, created: outcome.created, incident: outcome.incident });
    },
  );

  app.get(
    '/v1/incidents',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'List incidents',
        querystring: Type.Object(
          {
            ...PageQuery,
            status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('contained')])),
            consumerId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(IncidentSchema), ...adminErrors },
      },
    },
    async (req) => {
      const q = req.query;
      return deps.leaks.list({ status: q.status, consumerId: q.consumerId }, { limit: q.limit, cursor: q.cursor });
    },
  );
  app.get(
    '/v1/incidents/:id',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'An incident with its timeline, recent use and checklist',
        params: IdParams,
        response: { 200: IncidentDetailSchema, ...adminErrors },
      },
    },
    async (req) => deps.leaks.get(req.params.id),
  );

  app.get(
    '/v1/leak-policies',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'List leak policies',
        response: { 200: Type.Object({ data: Type.Array(PolicySchema) }), ...adminErrors },
      },
    },
    async () => ({ data: await deps.leakPolicies.list() }),
  );
  app.get(
    '/v1/leak-policies/:target',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'The leak policy of a consumer, or the default',
        params: TargetParams,
        response: { 200: PolicySchema, ...adminErrors },
      },
    },
    async (req) => deps.leakPolicies.get(req.params.target),
  );
  app.put(
    '/v1/leak-policies/:target',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Set the leak policy of a consumer, or the default',
        params: TargetParams,
        body: Type.Object({ action: Action, gracePeriod: Type.Optional(Duration) }, { additionalProperties: false }),
        response: { 200: PolicySchema, ...adminErrors },
      },
    },
    async (req) => {
      const { action, gracePeriod } = req.body;
      const graceMs = gracePeriod === undefined ? undefined : requireDuration('gracePeriod', gracePeriod);
      return deps.leakPolicies.put(actorOf(req), req.params.target, action, graceMs);
    },
  );
  app.delete(
    '/v1/leak-policies/:target',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Remove a leak policy',
        params: TargetParams,
        response: { 204: Type.Null(), ...adminErrors },
      },
    },
    async (req, reply) => {
      await deps.leakPolicies.remove(actorOf(req), req.params.target);
      return reply.code(204).send(null);
    },
  );
}
