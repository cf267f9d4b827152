import { ConfigError, parseDuration } from '@keyroll/core';
import type { OnStale } from '@keyroll/verifier';

/** An edge verifier's configuration: where its control plane is, and what it serves. No database. */
export interface EdgeConfig {
  /** The control plane's base URL (`KEYROLL_EDGE_UPSTREAM`). */
  upstream: string;
  /** A root key with `dataplane:read` (`KEYROLL_EDGE_TOKEN`). */
  token: string;
  /** This edge's name in the control plane's cluster view (`KEYROLL_EDGE_ID`; default `<host>-<pid>-<random>`). */
  edgeId: string | undefined;
  host: string;
  port: number;
  gatewayPort: number | undefined;
  gatewayConfig: string | undefined;
  gatewayTrustedProxies: string | undefined;
  /** `KEYROLL_TRUSTED_PROXIES`: reverse proxies in front of the API port (unset: the gateway's list), as on a node. */
  trustedProxies: string | undefined;
  /** `KEYROLL_EDGE_MAX_STALENESS` in ms (default 10 s). */
  maxStalenessMs: number;
  /** `KEYROLL_EDGE_ON_STALE`: `refuse` (default) or `serve-cached`. */
  onStale: OnStale;
  redisUrl: string | undefined;
  redisPrefix: string;
  /** `KEYROLL_USAGE_FLUSH_MS`: how often usage is reported to the control plane (default 1,000; 0: at shutdown only). */
  usageFlushMs: number;
  logLevel: string;
}

type Env = Record<string, string | undefined>;

/** Reads an edge's configuration from `KEYROLL_*` variables, once, frozen; a bad value is a {@link ConfigError} naming it. */
export function loadEdgeConfig(env: Env = process.env): Readonly<EdgeConfig> {
  const upstream = env.KEYROLL_EDGE_UPSTREAM;
  if (!upstream) throw new ConfigError('KEYROLL_EDGE_UPSTREAM is required: the URL of a keyroll node');
  const token = env.KEYROLL_EDGE_TOKEN;
  if (!token) throw new ConfigError('KEYROLL_EDGE_TOKEN is required: a root key with the scope dataplane:read');
  const onStale = env.KEYROLL_EDGE_ON_STALE || 'refuse';
  if (onStale !== 'refuse' && onStale !== 'serve-cached') {
    throw new ConfigError('KEYROLL_EDGE_ON_STALE must be "refuse" or "serve-cached"');
  }
  const edgeId = env.KEYROLL_EDGE_ID || undefined;
  if (edgeId !== undefined && !/^[A-Za-z0-9._:-]{1,128}$/.test(edgeId)) {
    throw new ConfigError('KEYROLL_EDGE_ID must be 1 to 128 letters, digits, ".", "_", ":" or "-"');
  }
  return Object.freeze({
    upstream,
    token,
    edgeId,
    host: env.KEYROLL_HOST || '127.0.0.1',
    port: port(env, 'KEYROLL_PORT') ?? 7070,
    gatewayPort: port(env, 'KEYROLL_GATEWAY_PORT'),
    gatewayConfig: env.KEYROLL_GATEWAY_CONFIG || undefined,
    gatewayTrustedProxies: env.KEYROLL_GATEWAY_TRUSTED_PROXIES || undefined,
    trustedProxies: env.KEYROLL_TRUSTED_PROXIES || undefined,
    maxStalenessMs: staleness(env.KEYROLL_EDGE_MAX_STALENESS),
    onStale,
    redisUrl: env.KEYROLL_REDIS_URL || undefined,
    redisPrefix: env.KEYROLL_REDIS_PREFIX || 'keyroll:',
    usageFlushMs: flushMs(env.KEYROLL_USAGE_FLUSH_MS),
    logLevel: env.KEYROLL_LOG_LEVEL || 'info',
  });
}

function port(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${name} must be an integer from 0 to 65535`);
  return n;
}

function flushMs(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 1000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 60_000)
    throw new ConfigError('KEYROLL_USAGE_FLUSH_MS must be an integer from 0 to 60000');
  return n;
}

function staleness(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 10_000;
  const ms = parseDuration(raw);
  if (ms === null || ms < 1000 || ms > 3_600_000) {
    throw new ConfigError('KEYROLL_EDGE_MAX_STALENESS must be a duration from "1s" to "1h" (e.g. "10s")');
  }
  return ms;
}
