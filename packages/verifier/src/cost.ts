import { ApiError } from '@keyroll/core';

/** The largest cost one request may have, in credits. */
export const MAX_COST = 1_000_000;

/** True for a cost a request may have: a safe integer in `[0, MAX_COST]`. */
export function isValidCost(cost: unknown): cost is number {
  return typeof cost === 'number' && Number.isSafeInteger(cost) && cost >= 0 && cost <= MAX_COST;
}

/**
 * Returns `cost` when it is a safe integer in `[0, 1,000,000]`; otherwise throws a 400
 * `VALIDATION_FAILED` naming the value. A negative cost would refund a quota and a fraction or
 * `NaN` would slip past it, so a bad cost fails the request before anything is counted.
 */
export function checkCost(cost: unknown): number {
  if (isValidCost(cost)) return cost;
  const problem = costProblem(cost);
  throw new ApiError('VALIDATION_FAILED', problem.detail, { field: 'cost', value: problem.value });
}

/** Why `cost` is refused, naming the value (for a 400 answer). */
export function costProblem(cost: unknown): { detail: string; value: string } {
  const value = describe(cost);
  return { detail: `cost must be an integer from 0 to ${MAX_COST}; got ${value}`, value };
}

/** The value as a short string: `NaN`, `-1000000`, `1.5`, `"5"`, `undefined`… */
function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || value === undefined) return String(value);
  let shown: string | undefined;
  try {
    shown = JSON.stringify(value);
  } catch {
    // A cyclic or otherwise unprintable value: its type says enough.
  }
  return (shown ?? typeof value).slice(0, 40);
}
