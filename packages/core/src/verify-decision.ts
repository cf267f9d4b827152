import { type Cidr, ipAllowed } from './ip.js';
import { type KeyStatus, type KeyTimes, keyStatusAt } from './key-status.js';
import { grantCovers, missingScopes } from './scopes.js';

/** Outcome codes of a verification; `VALID` is the only one that lets a request through. */
export const VERIFY_CODES = [
  'VALID',
  'MALFORMED',
  'NOT_FOUND',
  'EXPIRED',
  'RETIRED',
  'REVOKED',
  'INSUFFICIENT_SCOPE',
  'IP_NOT_ALLOWED',
  'RATE_LIMITED',
  'QUOTA_EXCEEDED',
] as const;

/** A verification outcome code. */
export type VerifyCode = (typeof VERIFY_CODES)[number];

/** What the decision needs to know about a stored key. */
export interface VerifiableKey extends KeyTimes {
  id: string;
  consumerId: string;
  scopes: readonly string[];
  /** Parsed allow-list; `null` means any address. */
  allowedRanges: readonly Cidr[] | null;
}

/** What the caller asks for: scopes the request needs and where it comes from. */
export interface VerifyRequirements {
  scopes?: readonly string[] | undefined;
  ip?: string | undefined;
}

/** The decision on a found key, before rate limits. */
export type KeyDecision =
  | { valid: true; code: 'VALID'; status: KeyStatus }
  | { valid: false; code: Exclude<VerifyCode, 'VALID'>; status: KeyStatus; missingScopes?: string[] };

const STATUS_CODE: Record<KeyStatus, VerifyCode> = {
  active: 'VALID',
  deprecated: 'VALID',
  retired: 'RETIRED',
  revoked: 'REVOKED',
  expired: 'EXPIRED',
};

// The two decisions that let a request through, shared (frozen): every verification makes one.
const VALID_ACTIVE: KeyDecision = Object.freeze({ valid: true, code: 'VALID', status: 'active' });
const VALID_DEPRECATED: KeyDecision = Object.freeze({ valid: true, code: 'VALID', status: 'deprecated' });

/** True when the grants cover every required scope (what {@link missingScopes} answers empty, without building the list). */
function coversAll(grants: readonly string[], required: readonly string[]): boolean {
  for (const r of required) {
    let covered = false;
    for (const g of grants) {
      if (grantCovers(g, r)) {
        covered = true;
        break;
      }
    }
    if (!covered) return false;
  }
  return true;
}

/** Decides whether a found key may be used at `now` for the given requirements. Pure. */
export function decideKey(key: VerifiableKey, req: VerifyRequirements, now: number): KeyDecision {
  const status = keyStatusAt(key, now);
  const code = STATUS_CODE[status];
  if (code !== 'VALID') return { valid: false, code, status };
  if (key.allowedRanges && (!req.ip || !ipAllowed(req.ip, key.allowedRanges))) {
    return { valid: false, code: 'IP_NOT_ALLOWED', status };
  }
  if (req.scopes && req.scopes.length > 0 && !coversAll(key.scopes, req.scopes)) {
    return { valid: false, code: 'INSUFFICIENT_SCOPE', status, missingScopes: missingScopes(key.scopes, req.scopes) };
  }
  return status === 'active'
    ? VALID_ACTIVE
    : status === 'deprecated'
      ? VALID_DEPRECATED
      : { valid: true, code: 'VALID', status };
}
