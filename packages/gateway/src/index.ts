// keyroll's reverse proxy: verifies the key of every request with a verifier (@keyroll/verifier),
// canonicalises and authorises its path against the routes, and forwards exactly that path.

export {
  FORWARD_AUTH_PATH,
  ForwardAuth,
  type ForwardAuthAnswer,
  type ForwardAuthOptions,
  type ForwardAuthRequest,
} from './forward-auth.js';
export { type ForwardAuthCall, type OriginalRequest, originalTarget } from './forward-auth-target.js';
export { Gateway, type GatewayLog, type GatewayOptions } from './gateway.js';
export {
  DEFAULT_GATEWAY_PORT,
  DEFAULT_UPSTREAM_TIMEOUT_MS,
  type GatewayConfig,
  type GatewayRoute,
  loadGatewayConfig,
  parseGatewayConfig,
  trustedProxyList,
} from './gateway-config.js';
export { TrustedProxies } from './trusted-proxies.js';
