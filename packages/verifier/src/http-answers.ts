import { type ErrorCode, HELD_UNTIL_CLAIMED, redactKeys, redactRecord, type VerifyCode } from '@keyroll/core';
import { costProblem } from './cost.js';
import type { QuotaState, RateLimitState } from './limits.js';
import type { VerifyResult } from './verify-result.js';

/** A verification that let the request through. */
export type AcceptedKey = Extract<VerifyResult, { valid: true }>;
/** A verification that refused the request. */
export type RejectedKey = Extract<VerifyResult, { valid: false }>;

/** An RFC 9457 problem body, as keyroll sends it everywhere. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  /** Stable machine code (`UNAUTHORIZED`, `FORBIDDEN`, `RATE_LIMITED`, `BAD_GATEWAY`, …). */
  code: string;
  detail: string;
  instance?: string;
  [extension: string]: unknown;
}

/** Response headers to add, by lower-case name. */
export type AnswerHeaders = Record<string, string>;

/** A refusal ready to send: status, headers and a problem+json body. */
export interface HttpRejection {
  status: 400 | 401 | 403 | 429 | 503;
  headers: AnswerHeaders;
  body: ProblemBody;
}

/** The HTTP status of each error code: where keyroll's wire answer meets HTTP (core knows no HTTP). */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  INVALID_PATH: 400,
  INVALID_CURSOR: 400,
  /** Text that is not well-formed Unicode (a lone UTF-16 surrogate, e.g. `"\ud800"` in JSON). */
  INVALID_UNICODE: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  KEY_NOT_ACTIVE: 409,
  ROTATION_NOT_ROLLING: 409,
  ROTATION_IN_PROGRESS: 409,
  SUCCESSOR_ALREADY_CLAIMED: 409,
  KEY_LIMIT_REACHED: 409,
  /** The change log no longer holds the position asked for (`GET /v1/data-plane/changes`): reload the snapshot. */
  CHANGES_PRUNED: 410,
  REQUEST_TIMEOUT: 408,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  ROTATION_LIMIT_REACHED: 429,
  SIGNATURE_INVALID: 401,
  SIGNING_KEY_UNKNOWN: 401,
  INTERNAL: 500,
  BAD_GATEWAY: 502,
  UNAVAILABLE: 503,
  GATEWAY_TIMEOUT: 504,
} as const satisfies Record<ErrorCode, number>;

/** Media type of every keyroll error body. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The realm named in `WWW-Authenticate` challenges. */
const REALM = 'keyroll';

/** Builds an RFC 9457 problem body with keyroll's `type` URN and title derived from `code`; key-shaped text in `detail`, `instance` and extras is redacted. */
export function problemOf(
  code: string,
  status: number,
  detail: string,
  instance?: string,
  extra: Record<string, unknown> = {},
): ProblemBody {
  return {
    type: `urn:keyroll:problem:${code.toLowerCase().replaceAll('_', '-')}`,
    title: code.charAt(0) + code.slice(1).toLowerCase().replaceAll('_', ' '),
    status,
    code,
    detail: redactKeys(detail),
    ...(instance === undefined ? {} : { instance: redactKeys(instance) }),
    ...redactRecord(extra),
  };
}

interface CodeAnswer {
  status: 401 | 403 | 429;
  code: 'UNAUTHORIZED' | 'FORBIDDEN' | 'RATE_LIMITED';
  detail: (r: RejectedKey) => string;
}

/** One exhaustive map from a refusal's verify code to what the client is told. */
const ANSWERS: Record<Exclude<VerifyCode, 'VALID'>, CodeAnswer> = {
  MALFORMED: { status: 401, code: 'UNAUTHORIZED', detail: () => 'the key is malformed (its checksum does not match)' },
  NOT_FOUND: { status: 401, code: 'UNAUTHORIZED', detail: () => 'the key is not known' },
  EXPIRED: { status: 401, code: 'UNAUTHORIZED', detail: () => 'the key has expired' },
  RETIRED: {
    status: 401,
    code: 'UNAUTHORIZED',
    detail: () => 'the key was retired after a rotation; use its successor',
  },
  REVOKED: { status: 401, code: 'UNAUTHORIZED', detail: () => 'the key has been revoked' },
  INSUFFICIENT_SCOPE: {
    status: 403,
    code: 'FORBIDDEN',
    detail: (r) => `the key lacks the scope(s) ${(r.missingScopes ?? []).join(', ')}`,
  },
  IP_NOT_ALLOWED: { status: 403, code: 'FORBIDDEN', detail: () => 'the key may not be used from this address' },
  RATE_LIMITED: { status: 429, code: 'RATE_LIMITED', detail: () => 'the rate limit of this key is exhausted' },
  QUOTA_EXCEEDED: { status: 429, code: 'RATE_LIMITED', detail: () => 'the quota of this key is exhausted' },
};

/**
 * The HTTP answer to a refused verification, or to a request that presented no key (`null`):
 * 401 with `WWW-Authenticate`, 403 for scope and address, 429 with `Retry-After` and
 * `RateLimit-*`; the body is problem+json carrying the verify code as `verifyCode`.
 * @example
 * const r = rejectionOf(result, '/orders', Date.now());
 * res.writeHead(r.status, { ...r.headers, 'content-type': PROBLEM_CONTENT_TYPE }).end(JSON.stringify(r.body));
 */
export function rejectionOf(result: RejectedKey | null, instance: string, now: number): HttpRejection {
  if (result === null) {
    return {
      status: 401,
      headers: { 'www-authenticate': `Bearer realm="${REALM}"` },
      body: problemOf('UNAUTHORIZED', 401, 'a key is required in x-api-key or Authorization: Bearer', instance),
    };
  }
  const answer = ANSWERS[result.code];
  const headers: AnswerHeaders = {};
  const extra: Record<string, unknown> = { verifyCode: result.code };
  if (answer.status === 401) {
    headers['www-authenticate'] = `Bearer realm="${REALM}", error="invalid_token", error_description="${result.code}"`;
  }
  if (result.code === 'INSUFFICIENT_SCOPE') {
    const missing = result.missingScopes ?? [];
    headers['www-authenticate'] = `Bearer realm="${REALM}", error="insufficient_scope", scope="${missing.join(' ')}"`;
    extra.missingScopes = missing;
  }
  if (answer.status === 429) {
    const retryAfter = Math.max(1, Math.ceil((result.retryAfterMs ?? 1000) / 1000));
    headers['retry-after'] = String(retryAfter);
    Object.assign(headers, rateLimitHeaders(result.ratelimit, result.quota, now, result.code === 'QUOTA_EXCEEDED'));
    extra.retryAfterMs = result.retryAfterMs;
  }
  return {
    status: answer.status,
    headers,
    body: problemOf(answer.code, answer.status, answer.detail(result), instance, extra),
  };
}

/** The answer when the route computed a cost that is not an integer in `[0, 1,000,000]`: nothing is counted. */
export function invalidCostOf(cost: unknown, instance: string): HttpRejection {
  const { detail, value } = costProblem(cost);
  return {
    status: 400,
    headers: {},
    body: problemOf('VALIDATION_FAILED', 400, detail, instance, { field: 'cost', value }),
  };
}

/** The answer when the key could not be checked at all (storage unreachable and the key not cached). */
export function unavailableOf(instance: string): HttpRejection {
  return {
    status: 503,
    headers: { 'retry-after': '1' },
    body: problemOf('UNAVAILABLE', 503, 'the key could not be checked now; try again', instance),
  };
}

/**
 * Headers to add to a response served on an accepted key: `Deprecation` (RFC 9745, deprecated as of
 * `now`) and `Sunset` (RFC 8594, the retirement time) while the key is in a rotation's grace window (no
 * `Sunset` while the key is held for an unclaimed successor), and
 * `RateLimit-Limit/-Remaining/-Reset` (IETF draft) when a rate limit or quota applies.
 * Returns `null` when there is nothing to add, so the common path allocates nothing.
 */
export function acceptedHeaders(result: AcceptedKey, now: number): AnswerHeaders | null {
  const limits = rateLimitHeaders(result.ratelimit, result.quota, now, false);
  if (!(result.deprecated && result.retiresAt !== null) && limits === null) return null;
  const headers: AnswerHeaders = { ...limits };
  if (result.deprecated && result.retiresAt !== null) {
    // RFC 9745: Deprecation is when the key was deprecated, never its retirement (a future date would
    // read as "not deprecated yet"). The rotation's start is not carried here; "as of now" is true.
    headers.deprecation = `@${Math.floor(now / 1000)}`;
    // A key held until its successor is claimed has no retirement date: no Sunset.
    if (result.retiresAt !== HELD_UNTIL_CLAIMED) headers.sunset = new Date(result.retiresAt).toUTCString();
  }
  return headers;
}

/** `RateLimit-*` for the tighter of the two states (the quota when it is what refused). */
function rateLimitHeaders(
  rate: RateLimitState | undefined,
  quota: QuotaState | undefined,
  now: number,
  preferQuota: boolean,
): AnswerHeaders | null {
  const useQuota = quota !== undefined && (preferQuota || rate === undefined || quota.remaining < rate.remaining);
  if (useQuota) return limitTriple(quota.limit, quota.remaining, quota.resetsAt - now);
  if (rate) return limitTriple(rate.limit, rate.remaining, rate.resetMs);
  return null;
}

function limitTriple(limit: number, remaining: number, resetMs: number): AnswerHeaders {
  return {
    'ratelimit-limit': String(limit),
    'ratelimit-remaining': String(Math.max(0, remaining)),
    'ratelimit-reset': String(Math.max(0, Math.ceil(resetMs / 1000))),
  };
}
