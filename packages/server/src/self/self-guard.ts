import { ApiError, isApiError, parseKey } from '@keyroll/core';
import { presentedKey } from '@keyroll/verifier';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { ROOT_CONSUMER_ID } from '../consumers/consumer-service.js';
import { requireConsumerKey } from '../http/auth.js';

/** Sets `Retry-After` from an error's `retryAfter` detail (seconds), so a 429 says when to come back. */
export function setRetryAfter(reply: FastifyReply, e: unknown): void {
  const seconds = isApiError(e) ? e.details?.retryAfter : undefined;
  if (typeof seconds === 'number') reply.header('retry-after', String(seconds));
}

const ROOT_ONLY =
  'self-service is for consumer keys; rotate or claim a root key through the admin API (/v1/keys/:id/…)';

/** True when the request presents a well-formed key with the root-key prefix (decided before any lookup). */
function presentsRootKey(request: FastifyRequest, rootPrefix: string): boolean {
  const key = presentedKey(request.headers['x-api-key'], request.headers.authorization);
  return key !== undefined && parseKey(key)?.prefix === rootPrefix;
}

/**
 * Guards a self-service route: a consumer's own valid key (never a root key: 403 — a root key's
 * successor is claimed through the admin API), charged against the consumer's per-minute limit.
 */
export function requireSelfServiceKey(deps: AppDeps): preHandlerAsyncHookHandler {
  const authenticate = requireConsumerKey(deps.verifier);
  return async function selfServiceGuard(request, reply) {
    // By prefix first: the verifier may refuse root keys outright, and the answer is still 403.
    if (presentsRootKey(request, deps.config.rootKeyPrefix)) throw new ApiError('FORBIDDEN', ROOT_ONLY);
    await authenticate.call(this, request, reply);
    const consumerId = request.selfKey?.consumerId;
    if (consumerId === undefined) throw new ApiError('UNAUTHORIZED', 'a key is required in x-api-key');
    if (consumerId === ROOT_CONSUMER_ID) {
      throw new ApiError('FORBIDDEN', ROOT_ONLY);
    }
    try {
      await deps.selfService.charge(consumerId);
    } catch (e) {
      setRetryAfter(reply, e);
      throw e;
    }
  };
}
