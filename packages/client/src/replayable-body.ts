/**
 * True when a request body can be sent a second time unchanged: no body, a string, bytes, URL
 * parameters, a Blob or FormData. A stream is consumed by the first attempt, so it is not.
 */
export function isReplayableBody(body: RequestInit['body'] | undefined): boolean {
  if (body === undefined || body === null) return true;
  if (typeof body === 'string') return true;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true;
  if (body instanceof URLSearchParams) return true;
  if (typeof Blob !== 'undefined' && body instanceof Blob) return true;
  if (typeof FormData !== 'undefined' && body instanceof FormData) return true;
  return false;
}
