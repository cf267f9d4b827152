import type { VerifyCode } from '@keyroll/core';

/** One finished verification, as observers see it (never the key itself). */
export interface VerificationEvent {
  at: number;
  code: VerifyCode;
  keyId: string | null;
  consumerId: string | null;
  ip: string | undefined;
  userAgent: string | undefined;
  /** Milliseconds spent deciding; 0 when no observer of the verifier reads it ({@link VerificationObserver.readsDuration}). */
  durationMs: number;
}

/** Something that wants to know about every verification: usage metering, metrics, alerts. */
export interface VerificationObserver {
  observe(event: VerificationEvent): void;
  /**
   * `false` when `observe` never reads `durationMs`: a verifier none of whose observers reads it
   * does not time its verifications (two clock readings fewer on every one).
   */
  readonly readsDuration?: boolean;
}
