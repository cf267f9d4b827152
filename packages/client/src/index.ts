export type { AutoRotateOptions } from './auto-rotate.js';
export {
  type ClientEvents,
  type ClientOptions,
  createClient,
  type DeprecatedEvent,
  type KeyrollClient,
  type RotatedEvent,
  type RotationHow,
} from './create-client.js';
export type { Duration } from './duration.js';
export { fromEnv } from './from-env.js';
export { fromValue } from './from-value.js';
export { hintOf } from './hint.js';
export type { KeyList, KeySource } from './key-source.js';
export { KeyrollClientError } from './keyroll-client-error.js';
export { isReplayableBody } from './replayable-body.js';
export type { Timers } from './timers.js';
