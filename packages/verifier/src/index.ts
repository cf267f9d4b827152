export { type CachedKey, cachedKeyFromRow, type QuotaSpec, type RateLimitSpec } from './key-record.js';
export { Verifier, type VerifierOptions } from './verifier.js';
export type { VerifyOptions, VerifyResult } from './verify-result.js';
