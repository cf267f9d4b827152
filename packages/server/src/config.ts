import { readFileSync } from 'node:fs';
import { isValidPrefix } from '@keyroll/core';

/** keyroll's configuration, parsed once from the environment (and an optional JSON file). */
export interface Config {
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  /** Prefix of every Redis key keyroll writes (several deployments may share one Redis). */
  redisPrefix: string;
  host: string;
  port: number;
  gatewayPort: number | undefined;
  gatewayConfig: string | undefined;
  /** Most keys a consumer may hold in status `active` at once. */
  maxActiveKeysPerConsumer: number;
  /** Prefix of consumer keys; root keys use `rootKeyPrefix`. */
  keyPrefix: string;
  rootKeyPrefix: string;
  logLevel: string;
  /** How often usage counts are written to storage, in ms. */
  usageFlushMs: number;
  /** Where clients are told the API lives, for the start-up banner. */
  publicUrl: string | undefined;
}

/** A configuration error: the message names the variable and what it expects. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

/** Reads the configuration from `env`; values in `KEYROLL_CONFIG` (a JSON file of the same names) come first. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const file = env.KEYROLL_CONFIG ? readConfigFile(env.KEYROLL_CONFIG) : {};
  const e: Env = { ...file, ...env };
  const config: Config = {
    dataDir: e.KEYROLL_DATA_DIR || './.keyroll',
    databaseUrl: e.KEYROLL_DATABASE_URL || undefined,
    redisUrl: e.KEYROLL_REDIS_URL || undefined,
    redisPrefix: e.KEYROLL_REDIS_PREFIX || 'keyroll:',
    host: e.KEYROLL_HOST || '127.0.0.1',
    port: int(e, 'KEYROLL_PORT', 7070, 0, 65535),
    gatewayPort: e.KEYROLL_GATEWAY_PORT ? int(e, 'KEYROLL_GATEWAY_PORT', 0, 0, 65535) : undefined,
    gatewayConfig: e.KEYROLL_GATEWAY_CONFIG || undefined,
    maxActiveKeysPerConsumer: int(e, 'KEYROLL_MAX_ACTIVE_KEYS', 10, 1, 1000),
    keyPrefix: prefix(e, 'KEYROLL_KEY_PREFIX', 'kr_live'),
    rootKeyPrefix: prefix(e, 'KEYROLL_ROOT_KEY_PREFIX', 'kr_root'),
    logLevel: e.KEYROLL_LOG_LEVEL || 'info',
    usageFlushMs: int(e, 'KEYROLL_USAGE_FLUSH_MS', 1000, 0, 60_000),
    publicUrl: e.KEYROLL_PUBLIC_URL || undefined,
  };
  return Object.freeze(config);
}

function readConfigFile(path: string): Env {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`KEYROLL_CONFIG: ${path} must hold a JSON object`);
  }
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, v === null ? undefined : String(v)]));
}

function int(e: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = e[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

function prefix(e: Env, name: string, fallback: string): string {
  const value = e[name] || fallback;
  if (!isValidPrefix(value)) throw new ConfigError(`${name} must be lower-case words joined by _ (got ${value})`);
  return value;
}
