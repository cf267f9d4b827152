import type { Request, RequestHandler } from 'express';
import { type AcceptedKey, PROBLEM_CONTENT_TYPE } from '../http-answers.js';
import { checkRequest } from '../request-check.js';
import { type KeyrollAuthOptions, resolveAuthOptions } from './auth-options.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** The verified key (id, consumer, scopes, …), set by keyroll's middleware. */
    keyroll?: AcceptedKey;
  }
}

/** Options of {@link keyrollExpress}. */
export type KeyrollExpressOptions = KeyrollAuthOptions<Request>;

/**
 * An Express middleware that verifies the request's key (`x-api-key` or `Authorization: Bearer`)
 * in-process, sets `req.keyroll`, and answers refusals like the gateway does. The client address
 * is `req.ip` (the socket's unless Express's `trust proxy` says otherwise).
 * @example
 * app.get('/orders', keyrollExpress({ verifier, scopes: ['read'] }), (req, res) =>
 *   res.json(listOrders(req.keyroll?.consumerId)));
 */
export function keyrollExpress(options: KeyrollExpressOptions): RequestHandler {
  const o = resolveAuthOptions(options);
  return function keyrollAuth(req, res, next) {
    checkRequest(
      o.verifier,
      {
        apiKey: req.headers['x-api-key'],
        authorization: req.headers.authorization,
        ip: req.ip,
        userAgent: req.headers['user-agent'],
        path: req.originalUrl.split('?')[0] ?? req.originalUrl,
      },
      { scopes: o.scopes, cost: o.cost(req) },
      o.clock,
    ).then((check) => {
      if (!check.ok) {
        const { status, headers, body } = check.rejection;
        res.status(status).set(headers).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
        return;
      }
      req.keyroll = check.key;
      if (check.headers) res.set(check.headers);
      next();
    }, next);
  };
}
