/** The closed set of machine codes an API error carries (keyroll's wire answer maps each to an HTTP status). */
export const ERROR_CODES = [
  'VALIDATION_FAILED',
  'INVALID_PATH',
  'INVALID_CURSOR',
  'INVALID_UNICODE',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'ROUTE_NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'CONFLICT',
  'KEY_NOT_ACTIVE',
  'ROTATION_NOT_ROLLING',
  'ROTATION_IN_PROGRESS',
  'SUCCESSOR_ALREADY_CLAIMED',
  'KEY_LIMIT_REACHED',
  'CHANGES_PRUNED',
  'REQUEST_TIMEOUT',
  'PAYLOAD_TOO_LARGE',
  'URI_TOO_LONG',
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMITED',
  'HEADERS_TOO_LARGE',
  'ROTATION_LIMIT_REACHED',
  'SIGNATURE_INVALID',
  'SIGNING_KEY_UNKNOWN',
  'INTERNAL',
  'BAD_GATEWAY',
  'UNAVAILABLE',
  'GATEWAY_TIMEOUT',
] as const;

/** A machine error code. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** An error meant for an API client: a stable code, a human message, optional details. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.details = details;
  }
}

/** True for an {@link ApiError}. */
export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

/** A configuration error: the message names the variable (or field) and what it expects. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
