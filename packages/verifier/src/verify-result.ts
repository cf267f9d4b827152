import type { VerifyCode } from '@keyroll/core';
import type { QuotaState, RateLimitState } from './limits.js';

/** The answer to "may this key make this request?"; a rejection is a result, not an exception. */
export type VerifyResult =
  | {
      valid: true;
      code: 'VALID';
      keyId: string;
      consumerId: string;
      scopes: readonly string[];
      metadata: Record<string, unknown>;
      /** True while the key is in a rotation's grace window. */
      deprecated: boolean;
      retiresAt: number | null;
      expiresAt: number | null;
      ratelimit?: RateLimitState;
      quota?: QuotaState;
    }
  | {
      valid: false;
      code: Exclude<VerifyCode, 'VALID'>;
      keyId?: string;
      consumerId?: string;
      missingScopes?: string[];
      retryAfterMs?: number;
      ratelimit?: RateLimitState;
      quota?: QuotaState;
    };

/** What a caller asks of a verification. */
export interface VerifyOptions {
  /** Scopes the request needs; all must be granted. */
  scopes?: readonly string[] | undefined;
  /** The client's address, checked against the key's allow-list. */
  ip?: string | undefined;
  /** The client's user agent, for usage analytics. */
  userAgent?: string | undefined;
  /** Credits the request costs against limits and quota (default 1). */
  cost?: number | undefined;
  /** Skips rate limits and quotas: for keyroll's own admin and self-service routes, which are not the provider's API. */
  skipLimits?: boolean | undefined;
}
