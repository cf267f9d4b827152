import { Type } from '@fastify/type-provider-typebox';
import { FORWARD_AUTH_PATH, type ForwardAuth } from '@keyroll/gateway';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Methods Envoy's `ext_authz` may call `/v1/forward-auth/<original path>` with (it keeps the original method). */
const SUFFIX_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

const problem = Type.Ref('Problem');
const responses = {
  200: Type.Null({
    description:
      'the key passes: copy x-keyroll-consumer-id and x-keyroll-key-id to the upstream, Deprecation, Sunset and RateLimit-* to the client',
  }),
  400: problem,
  401: problem,
  403: problem,
  404: problem,
  405: problem,
  429: problem,
  503: problem,
};
const headers = Type.Object(
  {
    'x-original-uri': Type.Optional(Type.String({ description: 'the original request target (nginx convention)' })),
    'x-original-method': Type.Optional(Type.String({ description: 'the original method (nginx convention)' })),
    'x-forwarded-uri': Type.Optional(Type.String({ description: 'the original request target (Caddy, Traefik)' })),
    'x-forwarded-method': Type.Optional(Type.String({ description: 'the original method (Caddy, Traefik)' })),
  },
  { additionalProperties: true },
);
// The query of an Envoy call is the original request's: never read as this route's own.
const anyQuery = Type.Object({}, { additionalProperties: true });
const description =
  'For nginx auth_request, Caddy forward_auth, Traefik ForwardAuth and Envoy ext_authz (HTTP): the key in x-api-key or ' +
  'Authorization: Bearer, the original request in X-Original-Method/X-Original-URI or X-Forwarded-Method/X-Forwarded-Uri ' +
  '(or, for Envoy, as the path after /v1/forward-auth with the original method); with KEYROLL_GATEWAY_CONFIG its route ' +
  "decides scopes, methods and cost. Refusals carry the verify API's code as verifyCode. Reachable by the proxy only: " +
  'the original request is taken from its headers (docs/guides/verification.md#forward-auth).';

/**
 * `GET|POST /v1/forward-auth` (nginx, Caddy, Traefik) and `/v1/forward-auth/*` (Envoy `ext_authz`):
 * the forward-auth decision of {@link ForwardAuth} on the node's verifier. Any request body is read
 * and dropped (a proxy may pass the original's `Content-Type` on).
 */
export async function forwardAuthRoutes(app: FastifyInstance, forwardAuth: ForwardAuth): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, _body, done) => done(null, undefined));
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const url = req.raw.url ?? FORWARD_AUTH_PATH;
    const rest = url.slice(FORWARD_AUTH_PATH.length);
    const answer = await forwardAuth.answer({
      method: req.method,
      suffix: rest.startsWith('/') ? rest : null,
      rawHeaders: req.raw.rawHeaders,
      peer: req.raw.socket.remoteAddress,
    });
    if (answer.error !== undefined) req.log.warn({ err: answer.error }, 'forward-auth could not verify the key');
    reply.code(answer.status).headers(answer.headers);
    return answer.body === null ? reply.send() : reply.send(JSON.stringify(answer.body));
  };
  const config = { propagationWait: false };
  const schema = { tags: ['verification'], headers, querystring: anyQuery, response: responses, description };
  // One route per method: each operation gets its own schema object (and so its own operationId).
  for (const method of ['GET', 'POST']) {
    const summary = 'Forward-auth for nginx, Caddy and Traefik';
    app.route({ method, url: FORWARD_AUTH_PATH, config, schema: { ...schema, summary }, handler });
  }
  for (const method of SUFFIX_METHODS) {
    const summary = 'Forward-auth for Envoy ext_authz: the original path follows, with the original method';
    app.route({ method, url: `${FORWARD_AUTH_PATH}/*`, config, schema: { ...schema, summary }, handler });
  }
}
