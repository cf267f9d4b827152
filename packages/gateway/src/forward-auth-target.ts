import { canonicalizePath, type PathRefusal } from '@keyroll/core';
import { requestTarget } from './request-target.js';

/** The headers naming the original request, by proxy convention (nginx and Traefik/Caddy). */
export const ORIGINAL_URI_HEADERS = ['x-original-uri', 'x-forwarded-uri'] as const;
/** The headers naming the original method, by proxy convention (nginx and Traefik/Caddy). */
export const ORIGINAL_METHOD_HEADERS = ['x-original-method', 'x-forwarded-method'] as const;

/** What a forward-auth call says about the request it asks about. */
export interface ForwardAuthCall {
  /** The forward-auth request's own method. */
  method: string;
  /**
   * The request target after the forward-auth path (`/v1/forward-auth/api/x?y` → `/api/x?y`), as
   * Envoy's `ext_authz` HTTP service sends it (`path_prefix` + original path, original method);
   * `null` when the call names no path of its own (nginx, Caddy, Traefik).
   */
  suffix: string | null;
  /** The raw header list, `[name, value, …]` as Node's `rawHeaders`, so that repeated headers are seen. */
  rawHeaders: readonly string[];
}

/** The original request, canonical: its method and path (either `null` when the call did not name it). */
export interface OriginalRequest {
  method: string | null;
  path: string | null;
}

/** Why the original request could not be read: the problem's code, reason and detail. */
export interface TargetRefusal {
  code: 'VALIDATION_FAILED' | 'INVALID_PATH';
  reason: PathRefusal | 'DUPLICATE_HEADER' | 'CONFLICTING_HEADERS' | 'INVALID_METHOD';
  /** The header (or `path`, for Envoy's suffix) at fault. */
  field: string;
  detail: string;
}

/** The original request, or why it cannot be trusted. */
export type OriginalTarget = { ok: true; target: OriginalRequest } | { ok: false; refusal: TargetRefusal };

/** An HTTP method token (RFC 9110 §9.1). */
const METHOD_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;

/**
 * Reads the original method and canonical path from every convention present: `X-Original-*`
 * (nginx), `X-Forwarded-*` (Caddy, Traefik) and Envoy's path suffix with the call's own method.
 * Every convention present must name the same method and the same canonical path, or the call is
 * refused (`CONFLICTING_HEADERS`): a proxy sets its own convention but passes the client's
 * headers on, so a client could otherwise add the other convention's header and be judged on a
 * path it does not request. A header given twice is refused (`DUPLICATE_HEADER`), a path is read as
 * the gateway reads one (`requestTarget`, `canonicalizePath`) and refused where it refuses.
 */
export function originalTarget(call: ForwardAuthCall): OriginalTarget {
  const paths: { field: string; value: string }[] = [];
  const methods: { field: string; value: string }[] = [];
  if (call.suffix !== null) {
    paths.push({ field: 'path', value: call.suffix });
    methods.push({ field: 'method', value: call.method });
  }
  for (const [names, into] of [
    [ORIGINAL_URI_HEADERS, paths],
    [ORIGINAL_METHOD_HEADERS, methods],
  ] as const) {
    for (const name of names) {
      const values = headerValues(call.rawHeaders, name);
      if (values.length > 1) return refuse('VALIDATION_FAILED', 'DUPLICATE_HEADER', name, `${name} is given twice`);
      const value = values[0];
      if (value !== undefined && value !== '') into.push({ field: name, value });
    }
  }
  let path: string | null = null;
  for (const p of paths) {
    const canonical = canonicalOf(p.value);
    if (!canonical.ok) return refuse('INVALID_PATH', canonical.reason, p.field, `${p.field}: ${canonical.detail}`);
    if (path !== null && canonical.path !== path) {
      return refuse('VALIDATION_FAILED', 'CONFLICTING_HEADERS', p.field, `${p.field} names another path`);
    }
    path = canonical.path;
  }
  let method: string | null = null;
  for (const m of methods) {
    if (!METHOD_TOKEN.test(m.value)) {
      return refuse('VALIDATION_FAILED', 'INVALID_METHOD', m.field, `${m.field} is not an HTTP method`);
    }
    if (method !== null && m.value !== method) {
      return refuse('VALIDATION_FAILED', 'CONFLICTING_HEADERS', m.field, `${m.field} names another method`);
    }
    method = m.value;
  }
  return { ok: true, target: { method, path } };
}

/** The canonical path of a request target (query dropped), as the gateway computes it. */
function canonicalOf(target: string): { ok: true; path: string } | { ok: false; reason: PathRefusal; detail: string } {
  const split = requestTarget(target);
  return split.ok ? canonicalizePath(split.path) : split;
}

/** Every value of one header, case-insensitively, as the client sent them. */
function headerValues(raw: readonly string[], lowerName: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === lowerName) values.push(raw[i + 1]?.trim() ?? '');
  }
  return values;
}

function refuse(
  code: TargetRefusal['code'],
  reason: TargetRefusal['reason'],
  field: string,
  detail: string,
): OriginalTarget {
  return { ok: false, refusal: { code, reason, field, detail } };
}
