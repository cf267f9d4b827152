// keyroll's reverse proxy: verifies the key of every request with a verifier (@keyroll/verifier),
// canonicalises and authorises its path against the routes, and forwards exactly that path.
export { Gateway, type GatewayLog, type GatewayOptions } from './gateway.js';
export {
  DEFAULT_GATEWAY_PORT,
  DEFAULT_UPSTREAM_TIMEOUT_MS,
  type GatewayConfig,
  type GatewayRoute,
  loadGatewayConfig,
  parseGatewayConfig,
} from './gateway-config.js';
