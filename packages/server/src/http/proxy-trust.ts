import { type GatewayConfig, TrustedProxies, trustedProxyList } from '@keyroll/gateway';

/** The proxy variables a node and an edge read alike. */
export interface ProxyVariables {
  /** `KEYROLL_GATEWAY_TRUSTED_PROXIES`. */
  gatewayTrustedProxies: string | undefined;
  /** `KEYROLL_TRUSTED_PROXIES`. */
  trustedProxies: string | undefined;
}

/** Whose `X-Forwarded-For` is believed, on a node and an edge alike. */
export interface ProxyTrust {
  /** Forward-auth's callers: the gateway's list (its file's `trustedProxies` and `KEYROLL_GATEWAY_TRUSTED_PROXIES`). */
  forwardAuth: readonly string[];
  /** The API port's reverse proxies (its `request.ip`): `KEYROLL_TRUSTED_PROXIES`, unset: forward-auth's list. */
  api: readonly string[];
}

/**
 * The trusted proxies of a node's or an edge's configuration. Default: nobody. Throws a
 * `ConfigError` naming the variable on an entry that is no address or CIDR range.
 */
export function proxyTrust(vars: Readonly<ProxyVariables>, gatewayConfig: GatewayConfig | null): ProxyTrust {
  const forwardAuth = gatewayConfig?.trustedProxies ?? trustedProxyList(vars.gatewayTrustedProxies);
  const api =
    vars.trustedProxies === undefined ? forwardAuth : trustedProxyList(vars.trustedProxies, 'KEYROLL_TRUSTED_PROXIES');
  return { forwardAuth, api };
}

/**
 * Fastify's `trustProxy` for a list of proxies: `false` without one, else a check of each hop, so
 * that only listed proxies are believed, right-most untrusted `X-Forwarded-For` hop first, as at
 * the gateway. `true` (believe anyone) would let any client choose the address its key's
 * allow-list is judged on: it is never offered.
 */
export function fastifyTrustProxy(list: readonly string[]): false | ((address: string) => boolean) {
  if (list.length === 0) return false;
  const trusted = new TrustedProxies(list);
  return (address) => trusted.has(address);
}
