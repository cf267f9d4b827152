import { readFileSync } from 'node:fs';
import { ConfigError, DEFAULT_PREFIXES, isValidPrefix, parseDuration } from '@keyroll/core';
import type { RetentionPeriods } from './cluster/retention.js';
import type { ListenerLimits } from './http/listener-limits.js';
import { GITHUB_KEYS_URL } from './leaks/github-public-keys.js';

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
  /** Comma-separated addresses / CIDR ranges of proxies in front of the gateway (`KEYROLL_GATEWAY_TRUSTED_PROXIES`). */
  gatewayTrustedProxies: string | undefined;
  /** Comma-separated addresses / CIDR ranges of proxies in front of the API (`KEYROLL_TRUSTED_PROXIES`); unset: the gateway's. */
  trustedProxies: string | undefined;
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
  /** Period of the rotation scheduler in ms; 0 runs it only when asked (`scheduler.tick()`). */
  schedulerIntervalMs: number;
  /** Most keys the verifier keeps in memory (least recently used out). */
  keyCacheSize: number;
  /** This node's id in `GET /v1/cluster`; a host/pid-based one when unset. */
  nodeId: string | undefined;
  /** Longest grace period a consumer may ask for in `POST /v1/self/rotate`, in ms. */
  selfRotateMaxGraceMs: number;
  /** Self-service requests (`/v1/self…`) one consumer may make per minute; node-local unless Redis is configured. */
  selfServiceRateLimit: number;
  /** Self-rotations one consumer may start per 24 hours (counted in the database, so across nodes). */
  selfRotationsPerDay: number;
  /** Webhooks may target private and loopback addresses (tests, internal receivers). */
  webhookAllowPrivate: boolean;
  /** Delivery attempts before a webhook delivery is marked dead. */
  webhookMaxAttempts: number;
  /** Time-out of one delivery attempt, in ms. */
  webhookTimeoutMs: number;
  /** First retry delay in ms; doubles per attempt (with jitter), at most one hour. */
  webhookRetryBaseMs: number;
  /** Alert thresholds (see docs/guides/monitoring.md). */
  alerts: AlertThresholds;
  /** How long usage, the change log, webhook deliveries and acknowledged alerts are kept (see docs/retention.md). */
  retention: RetentionPeriods;
  /** Seals the audit head (`KEYROLL_AUDIT_KEY`, shared by every node); unset: `<dataDir>/audit-key` (0600). */
  auditKey: string | undefined;
  /**
   * Start even though the audit chain holds events but its sealed head is gone, and seal its current
   * end (`KEYROLL_AUDIT_ACCEPT_BROKEN_CHAIN=1`): for one start after an investigation, never by default.
   */
  auditAcceptBrokenChain: boolean;
  /** Connection limits and time-outs of the API and gateway listeners. */
  listener: ListenerLimits;
  /** GitHub's secret-scanning public keys (`KEYROLL_GITHUB_KEYS_URL`), for `POST /v1/leaks/github`. */
  githubKeysUrl: string;
}

/** Thresholds of the alert rules. */
export interface AlertThresholds {
  /** Failure-rate rule: deviations above the consumer's EWMA baseline that raise an alert. */
  failureDeviations: number;
  /** Failure-rate rule: fewest requests in a minute for the rule to judge it. */
  failureMinVolume: number;
  /** Failure-rate rule: the rate must also exceed the baseline mean by this much (0–1). */
  failureMinIncrease: number;
  /** Unknown keys (`NOT_FOUND`/`MALFORMED`) from one address in one minute that count as a burst. */
  unknownKeyBurst: number;
  /** Rotation rule: how close to its retirement a still-used old key raises an alert, in ms. */
  rotationNearMs: number;
  /** Least time between two alerts of the same rule and subject, in ms. */
  cooldownMs: number;
  /** How long before a key's expiry the `key.expiring` event is sent, in ms. */
  keyExpiringNoticeMs: number;
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
    gatewayTrustedProxies: e.KEYROLL_GATEWAY_TRUSTED_PROXIES || undefined,
    trustedProxies: e.KEYROLL_TRUSTED_PROXIES || undefined,
    maxActiveKeysPerConsumer: int(e, 'KEYROLL_MAX_ACTIVE_KEYS', 10, 1, 1000),
    keyPrefix: prefix(e, 'KEYROLL_KEY_PREFIX', DEFAULT_PREFIXES.live),
    rootKeyPrefix: prefix(e, 'KEYROLL_ROOT_KEY_PREFIX', DEFAULT_PREFIXES.root),
    logLevel: e.KEYROLL_LOG_LEVEL || 'info',
    usageFlushMs: int(e, 'KEYROLL_USAGE_FLUSH_MS', 1000, 0, 60_000),
    publicUrl: e.KEYROLL_PUBLIC_URL || undefined,
    schedulerIntervalMs: int(e, 'KEYROLL_SCHEDULER_INTERVAL_MS', 30_000, 0, 3_600_000),
    keyCacheSize: int(e, 'KEYROLL_KEY_CACHE_SIZE', 100_000, 1, 10_000_000),
    nodeId: e.KEYROLL_NODE_ID || undefined,
    selfRotateMaxGraceMs: duration(e, 'KEYROLL_SELF_ROTATE_MAX_GRACE', 7 * 24 * 3_600_000),
    selfServiceRateLimit: int(e, 'KEYROLL_SELF_SERVICE_RATE_LIMIT', 60, 1, 1_000_000),
    selfRotationsPerDay: int(e, 'KEYROLL_SELF_ROTATIONS_PER_DAY', 20, 1, 1_000_000),
    webhookAllowPrivate: e.KEYROLL_WEBHOOK_ALLOW_PRIVATE === '1' || e.KEYROLL_WEBHOOK_ALLOW_PRIVATE === 'true',
    webhookMaxAttempts: int(e, 'KEYROLL_WEBHOOK_MAX_ATTEMPTS', 8, 1, 100),
    webhookTimeoutMs: int(e, 'KEYROLL_WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
    webhookRetryBaseMs: int(e, 'KEYROLL_WEBHOOK_RETRY_BASE_MS', 10_000, 1, 3_600_000),
    alerts: Object.freeze({
      failureDeviations: num(e, 'KEYROLL_ALERT_FAILURE_DEVIATIONS', 3, 0, 100),
      failureMinVolume: int(e, 'KEYROLL_ALERT_FAILURE_MIN_VOLUME', 20, 1, 1_000_000_000),
      failureMinIncrease: num(e, 'KEYROLL_ALERT_FAILURE_MIN_INCREASE', 0.1, 0, 1),
      unknownKeyBurst: int(e, 'KEYROLL_ALERT_UNKNOWN_KEY_BURST', 20, 1, 1_000_000_000),
      rotationNearMs: duration(e, 'KEYROLL_ALERT_ROTATION_NEAR', 24 * 3_600_000),
      cooldownMs: duration(e, 'KEYROLL_ALERT_COOLDOWN', 3_600_000),
      keyExpiringNoticeMs: duration(e, 'KEYROLL_KEY_EXPIRING_NOTICE', 7 * 86_400_000),
    }),
    retention: Object.freeze({
      usageMs: duration(e, 'KEYROLL_USAGE_RETENTION', 90 * 86_400_000),
      changesMs: duration(e, 'KEYROLL_CHANGES_RETENTION', 7 * 86_400_000),
      webhooksMs: duration(e, 'KEYROLL_WEBHOOK_RETENTION', 30 * 86_400_000),
      alertsMs: duration(e, 'KEYROLL_ALERT_RETENTION', 90 * 86_400_000),
    }),
    auditKey: e.KEYROLL_AUDIT_KEY || undefined,
    auditAcceptBrokenChain:
      e.KEYROLL_AUDIT_ACCEPT_BROKEN_CHAIN === '1' || e.KEYROLL_AUDIT_ACCEPT_BROKEN_CHAIN === 'true',
    githubKeysUrl: httpUrl(e, 'KEYROLL_GITHUB_KEYS_URL', GITHUB_KEYS_URL),
    listener: Object.freeze({
      maxConnections: int(e, 'KEYROLL_MAX_CONNECTIONS', 1000, 1, 1_000_000),
      headersTimeoutMs: int(e, 'KEYROLL_HEADERS_TIMEOUT_MS', 10_000, 1, 600_000),
      requestTimeoutMs: int(e, 'KEYROLL_REQUEST_TIMEOUT_MS', 60_000, 1, 3_600_000),
      keepAliveTimeoutMs: int(e, 'KEYROLL_KEEP_ALIVE_TIMEOUT_MS', 5_000, 1, 600_000),
      idleTimeoutMs: int(e, 'KEYROLL_IDLE_TIMEOUT_MS', 0, 0, 3_600_000),
    }),
  };
  return Object.freeze(config);
}

function readConfigFile(path: string): Env {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(`KEYROLL_CONFIG: cannot read ${path} as JSON (${e instanceof Error ? e.message : e})`);
  }
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

function num(e: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = e[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new ConfigError(`${name} must be a number from ${min} to ${max}`);
  return n;
}

function duration(e: Env, name: string, fallback: number): number {
  const raw = e[name];
  if (raw === undefined || raw === '') return fallback;
  const ms = parseDuration(raw);
  if (ms === null) throw new ConfigError(`${name} must be a duration such as "90s", "15m", "24h", "7d"`);
  return ms;
}

function prefix(e: Env, name: string, fallback: string): string {
  const value = e[name] || fallback;
  if (!isValidPrefix(value)) throw new ConfigError(`${name} must be lower-case words joined by _ (got ${value})`);
  return value;
}

function httpUrl(e: Env, name: string, fallback: string): string {
  const value = e[name] || fallback;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL (got ${value})`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${name} must be an http(s) URL`);
  return value;
}
