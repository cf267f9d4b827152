import { ApiError, missingScopes } from '@keyroll/core';
import { bearerToken, presentedKey, type Verifier, type VerifyResult } from '@keyroll/verifier';
import { ROOT_CONSUMER_ID } from '@keyroll/verifier/internal';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Actor } from '../shared/actor.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, once a guard has authenticated the request. */
    actor: Actor | null;
    /** The verified key of a consumer calling its self-service routes. */
    selfKey: Extract<VerifyResult, { valid: true }> | null;
  }
}

function unauthorized(reply: FastifyReply, detail: string, verifyCode?: string): never {
  reply.header('www-authenticate', `Bearer realm="keyroll"${verifyCode ? `, error="invalid_token"` : ''}`);
  throw new ApiError('UNAUTHORIZED', detail, verifyCode ? { verifyCode } : undefined);
}

/**
 * Guards an admin route: a valid root key (`Authorization: Bearer`) holding `scope`. Checked with
 * `verifyAdmin`, so administering keyroll counts as no usage, analytics or client traffic.
 */
export function requireRoot(verifier: Verifier, scope: string): preHandlerAsyncHookHandler {
  return async function rootGuard(request, reply) {
    const key = bearerToken(request.headers.authorization);
    if (!key) unauthorized(reply, 'a root key is required in Authorization: Bearer');
    const result = await verifier.verifyAdmin(key, { ip: request.ip });
    if (!result.valid) unauthorized(reply, `root key rejected: ${result.code}`, result.code);
    if (result.consumerId !== ROOT_CONSUMER_ID) throw new ApiError('FORBIDDEN', 'this key is not a root key');
    if (missingScopes(result.scopes, [scope]).length > 0) {
      reply.header('www-authenticate', `Bearer realm="keyroll", error="insufficient_scope", scope="${scope}"`);
      throw new ApiError('FORBIDDEN', `this root key lacks the scope ${scope}`, { requiredScope: scope });
    }
    request.actor = { kind: 'root', id: result.keyId, scopes: result.scopes };
  };
}

/** Guards a self-service route: the consumer's own valid key in `x-api-key` (or Bearer). */
export function requireConsumerKey(verifier: Verifier): preHandlerAsyncHookHandler {
  return async function consumerGuard(request, reply) {
    const key = presentedKey(request.headers['x-api-key'], request.headers.authorization);
    if (!key) unauthorized(reply, 'a key is required in x-api-key');
    const result = await verifier.verify(key, { ip: request.ip, skipLimits: true });
    if (!result.valid) unauthorized(reply, `key rejected: ${result.code}`, result.code);
    request.actor = { kind: 'consumer', id: result.keyId, scopes: result.scopes };
    request.selfKey = result;
  };
}

/** The actor of a request that passed a guard. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new Error('route reached without its guard');
  return request.actor;
}
