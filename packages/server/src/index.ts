export { ConfigError } from '@keyroll/core';
export { type Config, loadConfig } from './config.js';
export { buildApp } from './http/app.js';
export type { AppDeps } from './http/deps.js';
export { type CreateKeyrollOptions, createKeyroll, type Keyroll } from './keyroll.js';
export { type Actor, systemActor } from './services/actor.js';
export { ROOT_CONSUMER_ID } from './services/consumer-service.js';
