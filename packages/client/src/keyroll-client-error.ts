/** An error raised by the SDK: `code` is the problem+json code of keyroll's answer, or the SDK's own code. */
export class KeyrollClientError extends Error {
  override name = 'KeyrollClientError';
  /** Machine code: keyroll's problem `code` (e.g. `SUCCESSOR_ALREADY_CLAIMED`) or an SDK code (`NO_KEY`, `LOCK_TIMEOUT`, …). */
  readonly code: string;
  /** HTTP status of the answer that caused it; `undefined` when no HTTP answer was involved. */
  readonly status: number | undefined;

  constructor(code: string, message: string, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = status;
  }
}
