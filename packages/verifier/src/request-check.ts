import type { Clock } from '@keyroll/core';
import { isValidCost } from './cost.js';
import {
  type AcceptedKey,
  type AnswerHeaders,
  acceptedHeaders,
  type HttpRejection,
  invalidCostOf,
  rejectionOf,
  unavailableOf,
} from './http-answers.js';
import type { Verifier } from './verifier.js';
import type { VerifyResult } from './verify-result.js';

/** What a key check reads from an HTTP request, whatever the framework. */
export interface PresentedRequest {
  /** The `x-api-key` header. */
  apiKey: string | string[] | undefined;
  /** The `Authorization` header. */
  authorization: string | undefined;
  /** The client's address (the socket's, unless the framework is told to trust a proxy). */
  ip: string | undefined;
  userAgent: string | undefined;
  /** Path of the request, for the problem's `instance`. */
  path: string;
}

/** What a route demands of the key. */
export interface RequestNeeds {
  scopes?: readonly string[] | undefined;
  /** Credits the request costs (default 1). */
  cost?: number | undefined;
}

/** The outcome of a key check: the key and headers to add, or the refusal to send (with the error, when verification itself failed). */
export type RequestCheck =
  | { ok: true; key: AcceptedKey; headers: AnswerHeaders | null }
  | { ok: false; rejection: HttpRejection; error?: unknown };

const BEARER_RE = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The token of an `Authorization: Bearer <token>` header; `undefined` for any other value. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return authorization ? BEARER_RE.exec(authorization)?.[1] : undefined;
}

/** The key a request presents: `x-api-key`, else the token of `Authorization: Bearer`. */
export function presentedKey(
  apiKey: string | string[] | undefined,
  authorization: string | undefined,
): string | undefined {
  if (typeof apiKey === 'string' && apiKey !== '') return apiKey;
  if (Array.isArray(apiKey)) return apiKey.join(', ');
  return bearerToken(authorization);
}

/**
 * Verifies the key a request presents and turns the result into what to answer: the one path
 * shared by the gateway and the Fastify, Express and Hono adapters. Never throws: a cost outside
 * `[0, 1,000,000]` is a 400, a verification that fails for want of storage a 503 carrying the error.
 */
export async function checkRequest(
  verifier: Verifier,
  req: PresentedRequest,
  needs: RequestNeeds,
  clock: Clock,
): Promise<RequestCheck> {
  const key = presentedKey(req.apiKey, req.authorization);
  if (key === undefined) return { ok: false, rejection: rejectionOf(null, req.path, clock.now()) };
  // A route's cost may be computed from the request (`Number(req.query.n)`): a negative, fractional
  // or NaN cost would refund or dodge the quota, so it fails the request before anything is counted.
  if (needs.cost !== undefined && !isValidCost(needs.cost)) {
    return { ok: false, rejection: invalidCostOf(needs.cost, req.path) };
  }
  let result: VerifyResult;
  try {
    // verifyNow: a cached key is answered without a promise of its own (one hop less per request).
    const answer = verifier.verifyNow(key, {
      scopes: needs.scopes,
      ip: req.ip,
      userAgent: req.userAgent,
      cost: needs.cost,
    });
    result = answer instanceof Promise ? await answer : answer;
  } catch (error) {
    // Broken infrastructure (storage away and the key not cached): a 503, never a 500 or a pass.
    return { ok: false, rejection: unavailableOf(req.path), error };
  }
  if (!result.valid) return { ok: false, rejection: rejectionOf(result, req.path, clock.now()) };
  return { ok: true, key: result, headers: acceptedHeaders(result, clock.now()) };
}
