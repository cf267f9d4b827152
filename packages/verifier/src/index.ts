// The embedders' surface: open a verifier on keyroll's database and check requests with it (or
// with the ./fastify, ./express and ./hono middleware). The wiring a keyroll node is built from
// (caches, change feeds, limiters, meters) is in `@keyroll/verifier/internal`.
export { isValidCost, MAX_COST } from './cost.js';
export { type CreateVerifierOptions, createVerifier, type EmbeddedVerifier } from './create-verifier.js';
export {
  type AcceptedKey,
  type AnswerHeaders,
  acceptedHeaders,
  ERROR_STATUS,
  type HttpRejection,
  PROBLEM_CONTENT_TYPE,
  type ProblemBody,
  problemOf,
  type RejectedKey,
  rejectionOf,
} from './http-answers.js';
export type { RefillSpec } from './key-record.js';
export { RedisUnreachableError } from './limiter/connect-redis-limiter.js';
export type { QuotaState, RateLimitState } from './limits.js';
export type { VerificationEvent, VerificationObserver } from './observer.js';
export {
  type CreateRemoteVerifierOptions,
  createRemoteVerifier,
  type RemoteVerifier,
} from './remote/create-remote-verifier.js';
export type { DataPlaneLinkStatus, LinkLogger, OnStale } from './remote/data-plane-link.js';
export {
  bearerToken,
  checkRequest,
  type PresentedRequest,
  presentedKey,
  type RequestCheck,
  type RequestNeeds,
} from './request-check.js';
export type { RootKeyListener, RootKeyPresentation } from './root-key-audit.js';
export type { AdminVerifyOptions, Verifier } from './verifier.js';
export type { VerifyOptions, VerifyResult } from './verify-result.js';
