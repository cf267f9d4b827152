export { type Config, ConfigError, loadConfig } from './config.js';
export { Gateway, type GatewayLog, type GatewayOptions } from './gateway/gateway.js';
export {
  type GatewayConfig,
  type GatewayRoute,
  loadGatewayConfig,
  parseGatewayConfig,
} from './gateway/gateway-config.js';
export { buildApp } from './http/app.js';
export type { AppDeps } from './http/deps.js';
export { type CreateKeyrollOptions, createKeyroll, type Keyroll } from './keyroll.js';
export { type Actor, systemActor } from './services/actor.js';
export { ROOT_CONSUMER_ID } from './services/consumer-service.js';
