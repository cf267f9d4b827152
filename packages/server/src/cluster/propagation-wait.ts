import { Type } from '@fastify/type-provider-typebox';
import { ApiError, parseDuration } from '@keyroll/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ClusterNode, PropagationResult } from './cluster-node.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when a mutating request asked `?wait=true`: how long to wait for the cluster. */
    propagationWait: { timeoutMs: number } | null;
  }
  interface FastifyContextConfig {
    /** `false` on a route whose query is not its own (forward-auth): `?wait` is never read there. */
    propagationWait?: boolean;
  }
}

/** `waitTimeout` when none is given. */
export const DEFAULT_WAIT_TIMEOUT_MS = 5000;
/** Longest `waitTimeout` accepted. */
export const MAX_WAIT_TIMEOUT_MS = 60_000;
/** Response header that says how far a waited-for change got. */
export const PROPAGATION_HEADER = 'keyroll-propagation';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The query parameters, as the API docs show them on every mutating route. */
const WaitQuery = Type.Object({
  wait: Type.Optional(
    Type.Union([Type.Literal('true'), Type.Literal('false'), Type.Literal('1'), Type.Literal('0')], {
      description: 'answer once every live node has applied this change (or waitTimeout passed)',
    }),
  ),
  waitTimeout: Type.Optional(
    Type.String({ maxLength: 32, description: 'longest wait: seconds or "500ms", "5s" (default 5s, at most 60s)' }),
  ),
});

/**
 * `?wait=true[&waitTimeout=5s]` on every mutating route: the successful response is held until
 * every live node has applied the change log up to its head as of the response (so the request's
 * own change included), or until the timeout. The status code stays the mutation's own (it did
 * happen); the `Keyroll-Propagation` header and a `propagation` member of a JSON object body say
 * whether it completed and which nodes lag.
 */
export function installPropagationWait(app: FastifyInstance, cluster: ClusterNode): void {
  app.decorateRequest('propagationWait', null);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (route.schema && !route.schema.querystring && methods.some((m) => MUTATING.has(m))) {
      route.schema.querystring = WaitQuery;
    }
  });
  app.addHook('onRequest', async (request) => {
    if (MUTATING.has(request.method) && request.routeOptions.config.propagationWait !== false) {
      request.propagationWait = waitRequest(request);
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const wait = request.propagationWait;
    if (!wait || reply.statusCode >= 300) return payload;
    let result: PropagationResult;
    try {
      result = await cluster.waitFor(await cluster.head(), wait.timeoutMs);
    } catch {
      // The change is committed; only the confirmation is missing while storage is away.
      reply.header(PROPAGATION_HEADER, 'unknown');
      return payload;
    }
    reply.header(PROPAGATION_HEADER, headerValue(result));
    return withPropagation(payload, String(reply.getHeader('content-type') ?? ''), result);
  });
}

function waitRequest(request: FastifyRequest): { timeoutMs: number } | null {
  const query = request.query;
  if (typeof query !== 'object' || query === null) return null;
  const wait = 'wait' in query ? query.wait : undefined;
  if (wait === undefined || wait === 'false' || wait === '0') return null;
  if (wait !== 'true' && wait !== '1') {
    throw new ApiError('VALIDATION_FAILED', 'querystring/wait must be true or false');
  }
  const raw = 'waitTimeout' in query ? query.waitTimeout : undefined;
  if (raw === undefined) return { timeoutMs: DEFAULT_WAIT_TIMEOUT_MS };
  const timeoutMs = parseDuration(raw);
  if (timeoutMs === null || timeoutMs > MAX_WAIT_TIMEOUT_MS) {
    throw new ApiError(
      'VALIDATION_FAILED',
      `querystring/waitTimeout must be a duration (seconds, or like "500ms", "5s") of at most ${MAX_WAIT_TIMEOUT_MS / 1000}s`,
    );
  }
  return { timeoutMs };
}

function headerValue(r: PropagationResult): string {
  const base = `${r.complete ? 'complete' : 'timeout'}; seq=${r.seq}; nodes=${r.applied + r.lagging.length}; waited=${r.waitedMs}ms`;
  return r.complete ? base : `${base}; lagging="${r.lagging.map((n) => n.id).join(',')}"`;
}

function withPropagation(payload: unknown, contentType: string, result: PropagationResult): unknown {
  if (typeof payload !== 'string' || !contentType.includes('json')) return payload;
  try {
    const body: unknown = JSON.parse(payload);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return payload;
    return JSON.stringify({ ...body, propagation: result });
  } catch {
    return payload;
  }
}
