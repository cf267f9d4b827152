import type { PathRefusal } from '@keyroll/core';

/** A request target split into the path to canonicalise and the query to forward unchanged, or why it cannot be. */
export type RequestTarget =
  | { ok: true; path: string; query: string }
  | { ok: false; reason: PathRefusal; detail: string };

/** `http://authority` or `https://authority` at the start of an absolute-form target. */
const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*/i;

/**
 * Splits a request target (RFC 9112 §3.2): origin-form `/p?q`, or absolute-form `http://host/p?q`,
 * whose authority is ignored (the route decides the upstream) and whose path is read like any other.
 * Refuses other forms (`*`, `host:port`) and any `#`, which no request target may hold.
 */
export function requestTarget(url: string): RequestTarget {
  let start = 0;
  if (url.charCodeAt(0) !== 47) {
    const m = ABSOLUTE_FORM.exec(url);
    if (m === null) {
      return { ok: false, reason: 'NOT_ABSOLUTE', detail: 'the request target must be a path, or an http(s) URL' };
    }
    start = m[0].length;
  }
  if (url.indexOf('#', start) >= 0) {
    return { ok: false, reason: 'INVALID_CHARACTER', detail: 'the request target may not hold a #' };
  }
  const q = url.indexOf('?', start);
  const path = q < 0 ? url.slice(start) : url.slice(start, q);
  return { ok: true, path: path === '' ? '/' : path, query: q < 0 ? '' : url.slice(q) };
}
