import type { VerifyCode } from '@keyroll/core';

/** One finished verification, as observers see it (never the key itself). */
export interface VerificationEvent {
  at: number;
  code: VerifyCode;
  keyId: string | null;
  consumerId: string | null;
  ip: string | undefined;
  userAgent: string | undefined;
  /** Milliseconds spent deciding. */
  durationMs: number;
}

/** Something that wants to know about every verification: usage metering, metrics, alerts. */
export interface VerificationObserver {
  observe(event: VerificationEvent): void;
}
