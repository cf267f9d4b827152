import { type Cidr, ipAllowed } from './ip.js';
import { type KeyStatus, type KeyTimes, keyStatusAt } from './key-status.js';
import { missingScopes } from './scopes.js';

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

/** Decides whether a found key may be used at `now` for the given requirements. Pure. */
export function decideKey(key: VerifiableKey, req: VerifyRequirements, now: number): KeyDecision {
  const status = keyStatusAt(key, now);
  const code = STATUS_CODE[status];
  if (code !== 'VALID') return { valid: false, code, status };
  if (key.allowedRanges && (!req.ip || !ipAllowed(req.ip, key.allowedRanges))) {
    return { valid: false, code: 'IP_NOT_ALLOWED', status };
  }
  if (req.scopes && req.scopes.length > 0) {
    const missing = missingScopes(key.scopes, req.scopes);
    if (missing.length > 0) return { valid: false, code: 'INSUFFICIENT_SCOPE', status, missingScopes: missing };
  }
  return { valid: true, code: 'VALID', status };
}
