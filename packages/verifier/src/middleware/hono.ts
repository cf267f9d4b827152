import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import type { GetConnInfo } from 'hono/conninfo';
import { type AcceptedKey, PROBLEM_CONTENT_TYPE } from '../http-answers.js';
import { checkRequest } from '../request-check.js';
import { type KeyrollAuthOptions, resolveAuthOptions } from './auth-options.js';

/** Context variables set by {@link keyrollHono}: `c.get('keyroll')` is the verified key. */
export interface KeyrollVariables {
  keyroll: AcceptedKey;
}

/** Options of {@link keyrollHono}. */
export interface KeyrollHonoOptions extends KeyrollAuthOptions<Context> {
  /** How to find the client address (default: `@hono/node-server`'s socket address). */
  connInfo?: GetConnInfo;
}

/**
 * A Hono middleware that verifies the request's key (`x-api-key` or `Authorization: Bearer`)
 * in-process, sets `c.get('keyroll')`, and answers refusals like the gateway does.
 * @example
 * app.use('/orders/*', keyrollHono({ verifier, scopes: ['read'] }));
 * app.get('/orders', (c) => c.json(listOrders(c.get('keyroll').consumerId)));
 */
export function keyrollHono(options: KeyrollHonoOptions): MiddlewareHandler<{ Variables: KeyrollVariables }> {
  const o = resolveAuthOptions(options);
  const connInfo = options.connInfo ?? getConnInfo;
  return async function keyrollAuth(c, next) {
    const check = await checkRequest(
      o.verifier,
      {
        apiKey: c.req.header('x-api-key'),
        authorization: c.req.header('authorization'),
        ip: clientAddress(connInfo, c),
        userAgent: c.req.header('user-agent'),
        path: c.req.path,
      },
      { scopes: o.scopes, cost: o.cost(c) },
      o.clock,
    );
    if (!check.ok) {
      const { status, headers, body } = check.rejection;
      return c.body(JSON.stringify(body), status, { ...headers, 'content-type': PROBLEM_CONTENT_TYPE });
    }
    c.set('keyroll', check.key);
    await next();
    if (check.headers) for (const [name, value] of Object.entries(check.headers)) c.header(name, value);
  };
}

function clientAddress(connInfo: GetConnInfo, c: Context): string | undefined {
  try {
    return connInfo(c).remote.address;
  } catch {
    // Not served by @hono/node-server (e.g. `app.request()` in a test): no address known.
    return undefined;
  }
}
