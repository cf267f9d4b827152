import type { VerifyCode } from '@keyroll/core';

/** Bucket sizes of a usage series. */
export const USAGE_GRANULARITY_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** A bucket size of a usage series. */
export type UsageGranularity = keyof typeof USAGE_GRANULARITY_MS;

/** Most buckets one usage query may return. */
export const MAX_USAGE_BUCKETS = 1440;

/** Verification counts of one bucket, split by outcome code (codes with no requests are left out). */
export interface UsageBucket {
  start: string;
  total: number;
  codes: Partial<Record<VerifyCode, number>>;
}
