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

/**
 * Headers never passed on from a client, compared with `_` read as `-` (CGI, WSGI and PHP read
 * `X_Keyroll_Consumer_Id` as `x-keyroll-consumer-id`): the key, headers that name the client (the
 * upstream gets `X-Forwarded-For`/`Forwarded` from the gateway instead), headers that make some
 * upstreams serve another path or method than the one authorised, and `Proxy` (httpoxy).
 */
const DROPPED = new Set([
  'x-api-key',
  'proxy',
  'x-real-ip',
  'x-client-ip',
  'client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'x-cluster-client-ip',
  'x-originating-ip',
  'x-remote-ip',
  'x-remote-addr',
  'x-forwarded',
  'forwarded-for',
  'x-original-url',
  'x-original-uri',
  'x-rewrite-url',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
]);

/** The identity of an authenticated request, as the upstream receives it. */
export interface ForwardedIdentity {
  consumerId: string;
  keyId: string;
}

/**
 * The headers to send upstream, as a flat `[name, value, …]` list: the client's headers without
 * hop-by-hop ones (and those named in `Connection`), without the key (`x-api-key`, any
 * `Authorization: Bearer`), without any spelling of `x-keyroll-*`, of the forwarding headers or of
 * the {@link DROPPED} ones, plus `X-Forwarded-For/-Proto/-Host` and `Forwarded` from the socket and,
 * when authenticated, `x-keyroll-consumer-id`/`-key-id`. Only from a trusted proxy (`fromTrustedProxy`)
 * are its `X-Forwarded-*` kept and its `X-Forwarded-For`/`Forwarded` appended to.
 */
export function upstreamRequestHeaders(
  req: IncomingMessage,
  identity: ForwardedIdentity | null,
  fromTrustedProxy: boolean,
): string[] {
  const named = connectionTokens(req.headers.connection);
  const raw = req.rawHeaders;
  const out: string[] = [];
  let forwardedFor = '';
  let forwarded = '';
  let proto: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? '';
    const value = raw[i + 1] ?? '';
    const lower = name.toLowerCase();
    const spelled = lower.includes('_') ? lower.replaceAll('_', '-') : lower;
    if (spelled === 'forwarded' || spelled.startsWith('x-forwarded-')) {
      // An underscore spelling is never a proxy's: it is dropped even from a trusted hop.
      if (!fromTrustedProxy || spelled !== lower) continue;
      if (lower === 'x-forwarded-for') forwardedFor = forwardedFor ? `${forwardedFor}, ${value}` : value;
      else if (lower === 'forwarded') forwarded = forwarded ? `${forwarded}, ${value}` : value;
      else if (lower === 'x-forwarded-proto') proto ??= value;
      else if (lower === 'x-forwarded-host') host ??= value;
      else out.push(name, value);
      continue;
    }
    if (
      HOP_BY_HOP.has(lower) ||
      DROPPED.has(spelled) ||
      spelled.startsWith('proxy-') ||
      spelled.startsWith('x-keyroll-') ||
      named?.has(lower)
    ) {
      continue;
    }
    if (lower === 'authorization' && /^bearer\s/i.test(value)) continue;
    out.push(name, value);
  }
  const client = req.socket.remoteAddress ?? 'unknown';
  const ownProto = 'encrypted' in req.socket ? 'https' : 'http';
  out.push('x-forwarded-for', forwardedFor ? `${forwardedFor}, ${client}` : client);
  out.push('x-forwarded-proto', proto ?? ownProto);
  const ownHost = req.headers.host;
  if (host ?? ownHost) out.push('x-forwarded-host', host ?? ownHost ?? '');
  const element = forwardedElement(client, ownProto, ownHost);
  out.push('forwarded', forwarded ? `${forwarded}, ${element}` : element);
  if (identity) out.push('x-keyroll-consumer-id', identity.consumerId, 'x-keyroll-key-id', identity.keyId);
  return out;
}

/** One RFC 7239 `Forwarded` element for this hop: `for=…;proto=…` and `host=…` when there is one. */
function forwardedElement(client: string, proto: string, host: string | undefined): string {
  const node = client.includes(':') ? `"[${client}]"` : client;
  return `for=${node};proto=${proto}${host ? `;host=${forwardedValue(host)}` : ''}`;
}

/** A `Forwarded` parameter value: a token as is, anything else as a quoted-string. */
function forwardedValue(value: string): string {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
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
