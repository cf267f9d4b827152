export { type KeyLookup, StorageKeyLookup } from './key-lookup.js';
export { type CachedKey, cachedKeyFromRow, type QuotaSpec, type RateLimitSpec } from './key-record.js';
export type { LimitChecker, LimitOutcome, QuotaState, RateLimitState } from './limits.js';
export type { VerificationEvent, VerificationObserver } from './observer.js';
export { USAGE_BUCKET_MS, UsageMeter, type UsageMeterOptions } from './usage-meter.js';
export { Verifier, type VerifierOptions } from './verifier.js';
export type { VerifyOptions, VerifyResult } from './verify-result.js';
