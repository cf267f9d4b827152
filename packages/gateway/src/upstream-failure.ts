/** Why forwarding failed, as the client is told: 504 for time-outs, 502 for everything else. */
export interface UpstreamFailure {
  code: 'GATEWAY_TIMEOUT' | 'BAD_GATEWAY';
  detail: string;
  /** For the log only: the underlying error code or message. */
  reason: string;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** Classifies an error thrown while forwarding (undici's codes, or the socket's `ECONNREFUSED` & co.). */
export function upstreamFailure(e: unknown): UpstreamFailure {
  const code = e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
  const reason = code ?? (e instanceof Error ? e.message : String(e));
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return { code: 'GATEWAY_TIMEOUT', detail: 'the upstream did not answer in time', reason };
  }
  return { code: 'BAD_GATEWAY', detail: 'the upstream could not be reached or broke the connection', reason };
}
