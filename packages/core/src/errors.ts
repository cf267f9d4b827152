/** The closed set of machine codes an API error carries, with the HTTP status of each. */
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
  REQUEST_TIMEOUT: 408,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  ROTATION_LIMIT_REACHED: 429,
  INTERNAL: 500,
  BAD_GATEWAY: 502,
  UNAVAILABLE: 503,
  GATEWAY_TIMEOUT: 504,
} as const;

/** A machine error code. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** An error meant for an API client: a stable code, a human message, optional details. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = details;
  }
}

/** True for an {@link ApiError}. */
export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}
