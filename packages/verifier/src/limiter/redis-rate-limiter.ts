import { createHash } from 'node:crypto';
import { ApiError } from '@keyroll/core';
import type { Redis } from 'ioredis';
import type { ConsumeResult, LimitCounter, RateLimiter } from './rate-limiter.js';

/**
 * Checks every counter and, only if all have room, charges them all: one atomic step, so nodes
 * sharing the Redis admit exactly `limit` and a rejected request consumes nothing. A plain counter is
 * a string (units used). A refilling counter is a hash of `u` (units used) and `i` (the refill
 * interval it was last brought up to): it first gets `amount` back per interval passed since `i`
 * (never below 0 used), and is kept until it would be full again (or its period ends), without
 * expiry when that is more than ten years away.
 * KEYS: counters. ARGV, six per counter in turn: limit, cost, time to live (ms, until the window or
 * period ends), refill amount (0 = plain counter), refill interval index, longest interval (ms).
 * ARGV[#KEYS * 6 + 1]: the expiry slack (ms).
 */
const CONSUME_SCRIPT = `
local n = #KEYS
local slack = tonumber(ARGV[6 * n + 1])
local used = {}
local index = {}
local ok = 1
for i, k in ipairs(KEYS) do
  local b = 6 * (i - 1)
  local limit = tonumber(ARGV[b + 1])
  local cost = tonumber(ARGV[b + 2])
  local amount = tonumber(ARGV[b + 4])
  local u
  if amount > 0 then
    local stored = redis.call('HMGET', k, 'u', 'i')
    local now_index = tonumber(ARGV[b + 5])
    local last = tonumber(stored[2] or now_index)
    u = tonumber(stored[1] or '0')
    if now_index > last then
      u = math.max(0, u - (now_index - last) * amount)
    else
      now_index = last
    end
    index[i] = now_index
  else
    u = tonumber(redis.call('GET', k) or '0')
  end
  used[i] = u
  if u + cost > limit or u >= limit then ok = 0 end
end
if ok == 1 then
  for i, k in ipairs(KEYS) do
    local b = 6 * (i - 1)
    local cost = tonumber(ARGV[b + 2])
    local amount = tonumber(ARGV[b + 4])
    if cost > 0 and amount > 0 then
      used[i] = used[i] + cost
      redis.call('HSET', k, 'u', used[i], 'i', index[i])
      local ttl = (math.ceil(used[i] / amount) + 1) * tonumber(ARGV[b + 6]) + slack
      local period = tonumber(ARGV[b + 3])
      if period < ttl then ttl = period end
      if ttl > 315360000000 then
        redis.call('PERSIST', k)
      else
        redis.call('PEXPIRE', k, string.format('%d', ttl))
      end
    elseif cost > 0 then
      used[i] = redis.call('INCRBY', k, cost)
      redis.call('PEXPIRE', k, ARGV[b + 3])
    end
  end
end
table.insert(used, 1, ok)
return used
`;
const CONSUME_SHA = createHash('sha1').update(CONSUME_SCRIPT).digest('hex');

/**
 * Counters outlive their window by this much, so nodes whose clocks differ a little still agree.
 * Lifetimes are relative (PEXPIRE), so Redis's own clock does not matter.
 */
const EXPIRY_SLACK_MS = 60_000;

/** The six script arguments of one counter (see {@link CONSUME_SCRIPT}). */
function counterArgs(c: LimitCounter, now: number): number[] {
  const r = c.refill;
  const ttl = Math.max(1, c.resetsAt - now) + EXPIRY_SLACK_MS;
  return [c.limit, c.cost, ttl, r?.amount ?? 0, r?.index ?? 0, r?.intervalMs ?? 0];
}

/** What a {@link RedisRateLimiter} needs. */
export interface RedisRateLimiterOptions {
  redis: Redis;
  /** Prepended to every Redis key (default `keyroll:`). */
  prefix?: string;
  /** Whether {@link RedisRateLimiter.close} also closes `redis` (default true). */
  closeClient?: boolean;
  /**
   * Counts while Redis cannot be reached, so verification goes on with per-process limits (an
   * explicit opt-in, e.g. a `MemoryRateLimiter`). Default `null`: fails closed, a request with
   * limits is refused with `ApiError('UNAVAILABLE')` while Redis is away.
   */
  fallback?: RateLimiter | null;
}

/**
 * Cluster-wide counters in Redis, charged by one Lua script per request: exact across any number
 * of nodes. Keys of one request share a hash tag (the consumer), so Redis Cluster works too.
 * While Redis cannot be reached, requests with limits are refused (`UNAVAILABLE`), unless a
 * `fallback` was given to count them per process instead.
 * @example
 * const limiter = new RedisRateLimiter({ redis: new Redis(process.env.KEYROLL_REDIS_URL) });
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #closeClient: boolean;
  readonly #fallback: RateLimiter | null;
  /** The last Redis failure, `null` once a script ran again; for health reports. */
  lastError: string | null = null;

  constructor(options: RedisRateLimiterOptions) {
    this.#redis = options.redis;
    this.#prefix = options.prefix ?? 'keyroll:';
    this.#closeClient = options.closeClient ?? true;
    this.#fallback = options.fallback ?? null;
    // Connection trouble shows in lastError; without a listener ioredis would print it.
    this.#redis.on('error', (e: Error) => {
      this.lastError = e.message;
    });
  }

  async consume(counters: readonly LimitCounter[], now: number): Promise<ConsumeResult> {
    if (counters.length === 0) return { allowed: true, used: [] };
    const keys = counters.map((c) => `${this.#prefix}{${c.group}}:${c.id}`);
    const args = [...counters.flatMap((c) => counterArgs(c, now)), EXPIRY_SLACK_MS];
    let reply: unknown;
    try {
      reply = await this.#run(keys, args);
      this.lastError = null;
    } catch (e) {
      this.lastError = e instanceof Error ? e.message : String(e);
      if (this.#fallback) return this.#fallback.consume(counters, now);
      throw new ApiError('UNAVAILABLE', 'rate limits and quotas cannot be checked now: Redis is unreachable', {
        reason: 'redis_unreachable',
      });
    }
    if (!Array.isArray(reply) || reply.length !== counters.length + 1) {
      throw new Error('unexpected reply from the rate-limit script');
    }
    const [ok, ...used] = reply.map(Number);
    return { allowed: ok === 1, used };
  }

  /** True when Redis answers a PING (within the client's command timeout). */
  reachable(): Promise<boolean> {
    return this.#redis.ping().then(
      () => true,
      () => false,
    );
  }

  async close(): Promise<void> {
    await this.#fallback?.close();
    if (this.#closeClient) await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  async #run(keys: string[], args: number[]): Promise<unknown> {
    try {
      return await this.#redis.evalsha(CONSUME_SHA, keys.length, ...keys, ...args);
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
      return this.#redis.eval(CONSUME_SCRIPT, keys.length, ...keys, ...args);
    }
  }
}
