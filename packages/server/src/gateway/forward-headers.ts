import type { IncomingMessage } from 'node:http';

/** Response headers as undici reports them (lower-case names). */
export type HeaderMap = Record<string, string | string[] | undefined>;

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus ones undici sets itself; never forwarded either way. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'expect',
  'http2-settings',
]);

/** Headers the gateway sets itself on the way to the upstream; a client's own values are dropped. */
const REPLACED = new Set(['x-api-key', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

/** The identity of an authenticated request, as the upstream receives it. */
export interface ForwardedIdentity {
  consumerId: string;
  keyId: string;
}

/**
 * The headers to send upstream, as a flat `[name, value, …]` list: the client's headers without
 * hop-by-hop ones (and those named in `Connection`), without the key (`x-api-key`, any
 * `Authorization: Bearer`) and without any `x-keyroll-*` the client sent, plus
 * `X-Forwarded-For/-Proto/-Host` and, when authenticated, `x-keyroll-consumer-id`/`-key-id`.
 */
export function upstreamRequestHeaders(req: IncomingMessage, identity: ForwardedIdentity | null): string[] {
  const named = connectionTokens(req.headers.connection);
  const raw = req.rawHeaders;
  const out: string[] = [];
  let forwardedFor = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? '';
    const value = raw[i + 1] ?? '';
    const lower = name.toLowerCase();
    if (lower === 'x-forwarded-for') {
      forwardedFor = forwardedFor ? `${forwardedFor}, ${value}` : value;
      continue;
    }
    if (HOP_BY_HOP.has(lower) || REPLACED.has(lower) || lower.startsWith('proxy-') || lower.startsWith('x-keyroll-')) {
      continue;
    }
    if (lower === 'authorization' && /^bearer\s/i.test(value)) continue;
    if (named?.has(lower)) continue;
    out.push(name, value);
  }
  const client = req.socket.remoteAddress ?? '';
  out.push('x-forwarded-for', forwardedFor ? `${forwardedFor}, ${client}` : client);
  out.push('x-forwarded-proto', 'encrypted' in req.socket ? 'https' : 'http');
  if (req.headers.host) out.push('x-forwarded-host', req.headers.host);
  if (identity) out.push('x-keyroll-consumer-id', identity.consumerId, 'x-keyroll-key-id', identity.keyId);
  return out;
}

/** The upstream's response headers without hop-by-hop ones (and those named in its `Connection`). */
export function clientResponseHeaders(headers: HeaderMap): HeaderMap {
  const named = connectionTokens(headers.connection);
  const out: HeaderMap = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || name.startsWith('proxy-') || named?.has(name)) continue;
    out[name] = value;
  }
  return out;
}

function connectionTokens(value: string | string[] | undefined): Set<string> | null {
  if (!value) return null;
  const text = Array.isArray(value) ? value.join(',') : value;
  const tokens = text
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '' && t !== 'close' && t !== 'keep-alive');
  return tokens.length > 0 ? new Set(tokens) : null;
}
