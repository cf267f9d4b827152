import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { type AcceptedKey, PROBLEM_CONTENT_TYPE } from '../http-answers.js';
import { checkRequest } from '../request-check.js';
import { type KeyrollAuthOptions, resolveAuthOptions } from './auth-options.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified key (id, consumer, scopes, …), set by keyroll's hook before the handler runs. */
    keyroll?: AcceptedKey;
  }
}

/** Options of {@link keyrollFastify}. */
export type KeyrollFastifyOptions = KeyrollAuthOptions<FastifyRequest>;

/**
 * A Fastify `preHandler` hook that verifies the request's key (`x-api-key` or `Authorization:
 * Bearer`) in-process, sets `request.keyroll`, and answers refusals like the gateway does.
 * The client address is `request.ip` (the socket's unless Fastify's `trustProxy` says otherwise).
 * @example
 * app.get('/orders', { preHandler: keyrollFastify({ verifier, scopes: ['read'] }) }, async (req) =>
 *   listOrders(req.keyroll?.consumerId));
 */
export function keyrollFastify(options: KeyrollFastifyOptions): preHandlerAsyncHookHandler {
  const o = resolveAuthOptions(options);
  return async function keyrollAuth(request: FastifyRequest, reply: FastifyReply) {
    const check = await checkRequest(
      o.verifier,
      {
        apiKey: request.headers['x-api-key'],
        authorization: request.headers.authorization,
        ip: request.ip,
        userAgent: request.headers['user-agent'],
        path: request.url.split('?')[0] ?? request.url,
      },
      { scopes: o.scopes, cost: o.cost(request) },
      o.clock,
    );
    if (!check.ok) {
      if (check.error !== undefined) request.log.error({ err: check.error }, 'keyroll could not verify the key');
      const { status, headers, body } = check.rejection;
      return reply.code(status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(body);
    }
    request.keyroll = check.key;
    if (check.headers) reply.headers(check.headers);
  };
}
