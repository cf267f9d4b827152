import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type Clock, canonicalizePath, systemClock } from '@keyroll/core';
import {
  type AnswerHeaders,
  checkRequest,
  ERROR_STATUS,
  PROBLEM_CONTENT_TYPE,
  type ProblemBody,
  problemOf,
  type Verifier,
} from '@keyroll/verifier';
import { answerClientError, refuseTunnel } from '@keyroll/verifier/internal';
import { Pool } from 'undici';
import { type ForwardedIdentity, upstreamRequestHeaders } from './forward-headers.js';
import type { GatewayConfig, GatewayRoute } from './gateway-config.js';
import { requestTarget } from './request-target.js';
import { RouteTable } from './route-table.js';
import { TrustedProxies } from './trusted-proxies.js';
import { UpstreamExchange } from './upstream-exchange.js';
import { upstreamFailure } from './upstream-failure.js';

/** Where the gateway reports upstream failures (a pino logger fits). */
export interface GatewayLog {
  warn(details: Record<string, unknown>, message: string): void;
}

/** What a {@link Gateway} is built from. */
export interface GatewayOptions {
  config: GatewayConfig;
  /**
   * Checks every request's key. `null` switches authentication off: the same proxy forwards
   * everything, which is the baseline of `bench:gateway` — never a production setting.
   */
  verifier: Verifier | null;
  clock?: Clock;
  log?: GatewayLog;
  /** Longest wait for a connection to an upstream, in ms (default 10 s). */
  connectTimeoutMs?: number;
}

/**
 * keyroll's reverse proxy: canonicalises the request path, matches it to a route (longest prefix),
 * verifies the key in-process, and streams the request to the route's upstream with exactly that
 * canonical path, without the key, naming the consumer and key in `x-keyroll-consumer-id` /
 * `x-keyroll-key-id`. Refusals are problem+json.
 */
export class Gateway {
  /** The listener; not listening until {@link Gateway.listen}. */
  readonly server: Server;
  readonly #table: RouteTable;
  readonly #trusted: TrustedProxies;
  readonly #pools = new Map<string, Pool>();
  readonly #verifier: Verifier | null;
  readonly #clock: Clock;
  readonly #log: GatewayLog | undefined;

  constructor(options: GatewayOptions) {
    this.#table = new RouteTable(options.config.routes);
    this.#trusted = new TrustedProxies(options.config.trustedProxies);
    this.#verifier = options.verifier;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log;
    for (const route of options.config.routes) {
      if (this.#pools.has(route.upstream)) continue;
      // One keep-alive pool per upstream origin, so connections are reused across requests.
      this.#pools.set(
        route.upstream,
        new Pool(route.upstream, {
          connect: { timeout: options.connectTimeoutMs ?? 10_000 },
          keepAliveTimeout: 10_000,
        }),
      );
    }
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((e: unknown) => this.#fail(res, req, e));
    };
    this.server = createServer(onRequest);
    // What Node would otherwise answer itself, bare or not at all, is answered with a problem too.
    this.server.on('clientError', answerClientError);
    this.server.on('connect', refuseTunnel);
    // An expectation other than 100-continue is ignored and the request handled as any other (RFC 9110
    // §10.1.1 allows, not requires, a 417); `Expect` itself is never forwarded (see forward-headers).
    this.server.on('checkExpectation', onRequest);
  }

  /** Starts listening; resolves to the gateway's base URL. */
  listen(port: number, host = '127.0.0.1'): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        if (a === null || typeof a === 'string') reject(new Error('the gateway is not listening on TCP'));
        else resolve(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
      });
    });
  }

  /** Stops accepting requests, waits for those in flight, and closes the upstream connections. */
  async close(): Promise<void> {
    if (this.server.listening) {
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeIdleConnections();
      });
    }
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Canonicalise, then authorise, then forward exactly the canonical path that was authorised.
    const target = requestTarget(req.url ?? '/');
    if (!target.ok) {
      return sendProblem(res, problemOf('INVALID_PATH', 400, target.detail, undefined, { reason: target.reason }));
    }
    const canonical = canonicalizePath(target.path);
    if (!canonical.ok) {
      return sendProblem(
        res,
        problemOf('INVALID_PATH', 400, canonical.detail, undefined, { reason: canonical.reason }),
      );
    }
    const path = canonical.path;
    const method = req.method ?? 'GET';
    const match = this.#table.match(path, method);
    if (match.kind === 'case') {
      const detail = `the path differs from the route ${match.prefix} only in letter case`;
      return sendProblem(res, problemOf('INVALID_PATH', 400, detail, path, { reason: 'CASE_MISMATCH' }));
    }
    if (match.kind === 'none') {
      return sendProblem(res, problemOf('ROUTE_NOT_FOUND', 404, `no gateway route for ${path}`, path));
    }
    if (match.kind === 'method') {
      const body = problemOf('METHOD_NOT_ALLOWED', 405, `${method} is not allowed on ${path}`, path);
      return sendProblem(res, body, { allow: match.allow.join(', ') });
    }
    const route = match.route;
    let identity: ForwardedIdentity | null = null;
    let added: AnswerHeaders | null = null;
    const peer = req.socket.remoteAddress;
    const fromTrustedProxy = this.#trusted.has(peer);
    if (this.#verifier) {
      const check = await checkRequest(
        this.#verifier,
        {
          apiKey: req.headers['x-api-key'],
          authorization: req.headers.authorization,
          ip: fromTrustedProxy ? this.#trusted.clientAddress(peer, req.headers['x-forwarded-for']) : peer,
          userAgent: req.headers['user-agent'],
          path,
        },
        route,
        this.#clock,
      );
      if (!check.ok) {
        if (check.error !== undefined) this.#warn('the key could not be verified', check.error, path);
        return sendProblem(res, check.rejection.body, check.rejection.headers);
      }
      identity = { consumerId: check.key.consumerId, keyId: check.key.keyId };
      added = check.headers;
    }
    this.#forward(req, res, { route, path, query: target.query, fromTrustedProxy }, identity, added);
  }

  #forward(
    req: IncomingMessage,
    res: ServerResponse,
    to: Destination,
    identity: ForwardedIdentity | null,
    added: AnswerHeaders | null,
  ): void {
    const { route, path } = to;
    const pool = this.#pools.get(route.upstream);
    if (!pool) throw new Error(`no pool for ${route.upstream}`);
    const withBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
    const onFailure = (e: Error) => {
      const failure = upstreamFailure(e);
      this.#log?.warn({ upstream: route.upstream, error: failure.reason }, 'gateway upstream failure');
      sendProblem(res, problemOf(failure.code, ERROR_STATUS[failure.code], failure.detail, path));
    };
    try {
      pool.dispatch(
        {
          origin: route.upstream,
          path: to.query === '' ? path : path + to.query,
          method: req.method ?? 'GET',
          headers: upstreamRequestHeaders(req, identity, to.fromTrustedProxy),
          body: withBody ? req : null,
          headersTimeout: route.timeoutMs,
          bodyTimeout: route.timeoutMs,
        },
        new UpstreamExchange(res, added, onFailure),
      );
    } catch (e) {
      // undici refuses a request it cannot send (say, a header it will not forward): the upstream never saw it.
      onFailure(e instanceof Error ? e : new Error(String(e)));
    }
  }

  #fail(res: ServerResponse, req: IncomingMessage, e: unknown): void {
    this.#warn('gateway request failed', e, req.url);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendProblem(res, problemOf('INTERNAL', 500, 'internal error', req.url?.split('?')[0]));
  }

  #warn(message: string, e: unknown, url: string | undefined): void {
    this.#log?.warn({ error: e instanceof Error ? e.message : String(e), url }, message);
  }
}

/** Where an authorised request goes: its route, the canonical path that was authorised, and the query as sent. */
interface Destination {
  route: GatewayRoute;
  path: string;
  query: string;
  fromTrustedProxy: boolean;
}

function sendProblem(res: ServerResponse, body: ProblemBody, headers?: AnswerHeaders): void {
  const payload = JSON.stringify(body);
  res.writeHead(body.status, {
    ...headers,
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}
