import { type Clock, isValidScope, systemClock } from '@keyroll/core';
import { costProblem, isValidCost } from '../cost.js';
import type { Verifier } from '../verifier.js';

/** Options shared by the Fastify, Express and Hono adapters; `Req` is the framework's request. */
export interface KeyrollAuthOptions<Req> {
  /** The in-process verifier (see `createVerifier`). */
  verifier: Verifier;
  /** Scopes every request through this middleware needs. */
  scopes?: readonly string[];
  /**
   * Credits a request costs against rate limits and quotas (default 1): an integer from 0 to
   * 1,000,000, or a function of the request returning one — a request whose function returns
   * anything else (negative, fractional, `NaN`) is refused with a 400 and counts nothing.
   */
  cost?: number | ((request: Req) => number);
  /** Source of time for header values (default: the wall clock). */
  clock?: Clock;
}

/** Options after validation, with defaults filled in. */
export interface ResolvedAuthOptions<Req> {
  verifier: Verifier;
  scopes: readonly string[] | undefined;
  cost: (request: Req) => number | undefined;
  clock: Clock;
}

/** Checks adapter options once, when the middleware is created, so a mistake fails at start-up. */
export function resolveAuthOptions<Req>(options: KeyrollAuthOptions<Req>): ResolvedAuthOptions<Req> {
  // Duck-typed rather than instanceof: an app may load two copies of this package (source and dist).
  if (typeof options.verifier?.verify !== 'function') {
    throw new TypeError('keyroll middleware: options.verifier must be a Verifier');
  }
  const bad = options.scopes?.find((s) => !isValidScope(s));
  if (bad !== undefined) throw new TypeError(`keyroll middleware: invalid scope ${JSON.stringify(bad)}`);
  const cost = options.cost;
  if (cost !== undefined && typeof cost !== 'function' && !isValidCost(cost)) {
    throw new TypeError(`keyroll middleware: options.cost: ${costProblem(cost).detail}`);
  }
  return {
    verifier: options.verifier,
    scopes: options.scopes && options.scopes.length > 0 ? [...options.scopes] : undefined,
    cost: typeof cost === 'function' ? cost : () => cost,
    clock: options.clock ?? systemClock,
  };
}
