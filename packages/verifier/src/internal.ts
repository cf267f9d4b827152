// Everything a keyroll node wires together (the root export is the embedders' subset): for
// @keyroll/server and tests, not a stable API.
export { CachingKeyLookup, type CachingKeyLookupOptions } from './caching-key-lookup.js';
export {
  type ChangeFeed,
  type ChangeFeedOptions,
  type ChangeFeedStatus,
  ChangeFollower,
  type ChangeListener,
  type ChangeRecord,
  changeLogHead,
  FEED_RESET,
} from './change-feed.js';
export { ClientSignalMeter, type ClientSignalMeterOptions } from './client-signal-meter.js';
export { UNKNOWN_ADDRESS } from './client-signal-tally.js';
export { checkCost, isValidCost, MAX_COST } from './cost.js';
export { type CreateChangeFeedOptions, createChangeFeed } from './create-change-feed.js';
export { type CreateVerifierOptions, createVerifier, type EmbeddedVerifier } from './create-verifier.js';
export {
  type AcceptedKey,
  type AnswerHeaders,
  acceptedHeaders,
  ERROR_STATUS,
  type HttpRejection,
  invalidCostOf,
  PROBLEM_CONTENT_TYPE,
  type ProblemBody,
  problemOf,
  type RejectedKey,
  rejectionOf,
  unavailableOf,
} from './http-answers.js';
export { KeyCache, type KeyCacheOptions } from './key-cache.js';
export { type KeyLookup, StorageKeyLookup } from './key-lookup.js';
export {
  type CachedKey,
  cachedKeyFromRecord,
  type QuotaSpec,
  type RateLimitSpec,
  type RefillSpec,
} from './key-record.js';
export {
  type ConnectedRedisRateLimiter,
  type ConnectRedisRateLimiterOptions,
  connectRedisRateLimiter,
  RedisUnreachableError,
  redactRedisUrl,
} from './limiter/connect-redis-limiter.js';
export { type CreateRateLimiterOptions, createRateLimiter } from './limiter/create-rate-limiter.js';
export {
  type ConsumerLimits,
  type LimitSet,
  type LimitSource,
  type MaybePromise,
  StorageLimitSource,
  type StorageLimitSourceOptions,
} from './limiter/limit-source.js';
export { type LimitWindow, quotaPeriod, rateWindow } from './limiter/limit-windows.js';
export { MemoryRateLimiter } from './limiter/memory-rate-limiter.js';
export { PlanLimitChecker, type PlanLimitCheckerOptions } from './limiter/plan-limit-checker.js';
export { type RefillPoint, refilledUsed, refillKeepMs, refillPoint } from './limiter/quota-refill.js';
export {
  type ConsumeResult,
  type CounterRefill,
  type LimitCounter,
  NEVER_RESETS,
  type RateLimiter,
} from './limiter/rate-limiter.js';
export { RedisRateLimiter, type RedisRateLimiterOptions } from './limiter/redis-rate-limiter.js';
export type { LimitChecker, LimitOutcome, QuotaState, RateLimitState } from './limits.js';
export type { VerificationEvent, VerificationObserver } from './observer.js';
export { FEED_APPLICATION_NAME, PostgresNotifyFeed, type PostgresNotifyFeedOptions } from './postgres-notify-feed.js';
export {
  type CreateRemoteVerifierOptions,
  createRemoteVerifier,
  type RemoteVerifier,
} from './remote/create-remote-verifier.js';
export type { DataPlaneLinkStatus, LinkLogger, OnStale } from './remote/data-plane-link.js';
export {
  checkEdgeKey,
  checkEdgeLimits,
  DataPlaneProtocolError,
  type EdgeChange,
  type EdgeConsumer,
  type EdgeKey,
  type EdgePlan,
  edgeConsumerOf,
  edgeKeyOf,
  edgePlanOf,
  type SnapshotHead,
  type SnapshotLine,
} from './remote/data-plane-wire.js';
export {
  bearerToken,
  checkRequest,
  type PresentedRequest,
  presentedKey,
  type RequestCheck,
  type RequestNeeds,
} from './request-check.js';
export {
  ROOT_CONSUMER_ID,
  ROOT_KEY_PRESENTED,
  RootKeyAudit,
  type RootKeyAuditOptions,
  type RootKeyListener,
  type RootKeyPresentation,
} from './root-key-audit.js';
export { answerClientError, refuseTunnel } from './socket-answers.js';
export { SqlitePollFeed } from './sqlite-poll-feed.js';
export { USAGE_BUCKET_MS, UsageMeter, type UsageMeterOptions } from './usage-meter.js';
export {
  createVerificationPipeline,
  type VerificationPipeline,
  type VerificationPipelineOptions,
} from './verification-pipeline.js';
export { type AdminVerifyOptions, Verifier, type VerifierOptions } from './verifier.js';
export type { VerifyOptions, VerifyResult } from './verify-result.js';
