import { type Clock, systemClock } from '@keyroll/core';
import {
  type AnswerHeaders,
  checkRequest,
  PROBLEM_CONTENT_TYPE,
  type ProblemBody,
  problemOf,
  type Verifier,
} from '@keyroll/verifier';
import { type ForwardAuthCall, originalTarget } from './forward-auth-target.js';
import type { GatewayConfig, GatewayRoute } from './gateway-config.js';
import { RouteTable } from './route-table.js';
import { TrustedProxies } from './trusted-proxies.js';

/** The path of the forward-auth endpoint on a keyroll node. */
export const FORWARD_AUTH_PATH = '/v1/forward-auth';

/** What a {@link ForwardAuth} is built from. */
export interface ForwardAuthOptions {
  verifier: Verifier;
  /** The gateway's routes: their scopes, methods and costs decide; `null` verifies the key alone. */
  routes: GatewayConfig['routes'] | null;
  /** Addresses or CIDR ranges of the proxies whose `X-Forwarded-For` names the client (for `allowedIps`). */
  trustedProxies: readonly string[];
  clock?: Clock;
}

/** A forward-auth call as the HTTP layer hands it over. */
export interface ForwardAuthRequest extends ForwardAuthCall {
  /** The socket's address: the proxy's. */
  peer: string | undefined;
}

/** What to answer the proxy: status, headers (lower-case names) and a problem body on refusals. */
export interface ForwardAuthAnswer {
  status: number;
  headers: AnswerHeaders;
  body: ProblemBody | null;
  /** Why the key could not be checked (storage away), for the log; never sent. */
  error?: unknown;
}

/**
 * The forward-auth decision for existing proxies (nginx `auth_request`, Caddy `forward_auth`,
 * Traefik `ForwardAuth`, Envoy `ext_authz`): reads the original request from the proxy's headers
 * (see {@link originalTarget}), matches it against the gateway's routes when there are any (refusing
 * what the gateway refuses: bad paths, no route, a method the route does not allow), and verifies the
 * key as the gateway would. Accepts with `200` and the headers for the proxy to copy
 * (`x-keyroll-consumer-id`, `x-keyroll-key-id`, `Deprecation`, `Sunset`, `RateLimit-*`); refuses with
 * the gateway's problem+json plus its `code` in `x-keyroll-code` and, when a key was judged, the
 * verify code in `x-keyroll-verify-code`. Never throws.
 */
export class ForwardAuth {
  readonly #verifier: Verifier;
  readonly #table: RouteTable | null;
  readonly #trusted: TrustedProxies;
  readonly #clock: Clock;

  constructor(options: ForwardAuthOptions) {
    this.#verifier = options.verifier;
    this.#table = options.routes === null ? null : new RouteTable(options.routes);
    this.#trusted = new TrustedProxies(options.trustedProxies);
    this.#clock = options.clock ?? systemClock;
  }

  /** Decides one forward-auth call. */
  async answer(req: ForwardAuthRequest): Promise<ForwardAuthAnswer> {
    const read = originalTarget(req);
    if (!read.ok) {
      const { code, reason, field, detail } = read.refusal;
      return refusal(problemOf(code, 400, detail, FORWARD_AUTH_PATH, { field, reason }));
    }
    const { method, path } = read.target;
    let route: GatewayRoute | null = null;
    if (this.#table !== null) {
      if (path === null || method === null) {
        const missing = path === null ? 'X-Original-URI or X-Forwarded-Uri' : 'X-Original-Method or X-Forwarded-Method';
        const detail = `the original request is needed to find its route: send ${missing}`;
        return refusal(problemOf('VALIDATION_FAILED', 400, detail, FORWARD_AUTH_PATH, { reason: 'MISSING_HEADER' }));
      }
      const match = this.#table.match(path, method);
      if (match.kind === 'case') {
        const detail = `the path differs from the route ${match.prefix} only in letter case`;
        return refusal(problemOf('INVALID_PATH', 400, detail, path, { reason: 'CASE_MISMATCH' }));
      }
      if (match.kind === 'none')
        return refusal(problemOf('ROUTE_NOT_FOUND', 404, `no gateway route for ${path}`, path));
      if (match.kind === 'method') {
        const body = problemOf('METHOD_NOT_ALLOWED', 405, `${method} is not allowed on ${path}`, path);
        return refusal(body, { allow: match.allow.join(', ') });
      }
      route = match.route;
    }
    const check = await checkRequest(
      this.#verifier,
      {
        apiKey: headerOf(req.rawHeaders, 'x-api-key'),
        authorization: headerOf(req.rawHeaders, 'authorization'),
        ip: this.#trusted.clientAddress(req.peer, headerOf(req.rawHeaders, 'x-forwarded-for')),
        userAgent: headerOf(req.rawHeaders, 'user-agent'),
        path: path ?? FORWARD_AUTH_PATH,
      },
      route ?? {},
      this.#clock,
    );
    if (!check.ok) {
      const answer = refusal(check.rejection.body, check.rejection.headers);
      return check.error === undefined ? answer : { ...answer, error: check.error };
    }
    return {
      status: 200,
      headers: {
        'cache-control': 'no-store',
        ...check.headers,
        'x-keyroll-consumer-id': check.key.consumerId,
        'x-keyroll-key-id': check.key.keyId,
      },
      body: null,
    };
  }
}

/** A refusal: the problem, its headers, its codes as headers, never cached. */
function refusal(body: ProblemBody, headers: AnswerHeaders = {}): ForwardAuthAnswer {
  const out: AnswerHeaders = {
    ...headers,
    'cache-control': 'no-store',
    'content-type': PROBLEM_CONTENT_TYPE,
    // nginx's auth_request drops the body: these let its error page rebuild the problem.
    'x-keyroll-code': body.code,
  };
  if (typeof body.verifyCode === 'string') out['x-keyroll-verify-code'] = body.verifyCode;
  return { status: body.status, headers: out, body };
}

/** One header's values joined as Node joins them (`x-api-key` twice stays visible as `a, b`, which no key matches). */
function headerOf(raw: readonly string[], lowerName: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() !== lowerName) continue;
    const v = raw[i + 1] ?? '';
    value = value === undefined ? v : `${value}, ${v}`;
  }
  return value;
}
