import { ipAllowed, parseCidr } from '@keyroll/core';

/** Loopback and private ranges, where a plain-HTTP link to the control plane may be accepted. */
const PRIVATE_RANGES = ['127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '::1/128', 'fc00::/7'].flatMap(
  (r) => {
    const range = parseCidr(r);
    return range ? [range] : [];
  },
);

/**
 * Parses the control plane's base URL: `https://` anywhere, `http://` only to `localhost` or a
 * loopback or private address (a name could resolve anywhere, so it needs TLS). Throws a
 * `TypeError` naming the rule otherwise.
 */
export function parseUpstreamUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError('createRemoteVerifier: url is not a URL');
  }
  if (parsed.username || parsed.password) throw new TypeError('createRemoteVerifier: url must not carry credentials');
  // A base path (`https://host/keyroll`) is kept: the API's paths are resolved under it.
  if (!parsed.pathname.endsWith('/')) parsed.pathname = `${parsed.pathname}/`;
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol !== 'http:')
    throw new TypeError('createRemoteVerifier: url must be https:// (or http:// on a private network)');
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || ipAllowed(host, PRIVATE_RANGES)) return parsed;
  throw new TypeError(
    'createRemoteVerifier: plain http:// is accepted only for localhost, loopback and private addresses; use https://',
  );
}
