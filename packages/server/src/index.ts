export { ConfigError } from '@keyroll/core';
export { buildApp } from './app.js';
export type { AppDeps } from './app-deps.js';
export { type Config, loadConfig } from './config.js';
export { ROOT_CONSUMER_ID } from './consumers/consumer-service.js';
export { type CreateKeyrollOptions, createKeyroll, type Keyroll } from './keyroll.js';
export { type Actor, systemActor } from './shared/actor.js';
