import { ApiError, type Clock, VERIFY_CODES, type VerifyCode } from '@keyroll/core';
import type { Store } from '@keyroll/storage';
import { sql } from 'kysely';

/** Bucket sizes of a usage series. */
export const USAGE_GRANULARITY_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** A bucket size of a usage series. */
export type UsageGranularity = keyof typeof USAGE_GRANULARITY_MS;

/** Most buckets one usage query may return. */
export const MAX_USAGE_BUCKETS = 1440;

/** Span asked for when `from` is not given, per granularity. */
const DEFAULT_SPAN: Record<UsageGranularity, number> = { minute: 3_600_000, hour: 86_400_000, day: 30 * 86_400_000 };

/** Verification counts of one bucket, split by outcome code (codes with no requests are left out). */
export interface UsageBucket {
  start: string;
  total: number;
  codes: Partial<Record<VerifyCode, number>>;
}

/** A key's usage over time. */
export interface UsageSeries {
  keyId: string;
  granularity: UsageGranularity;
  from: string;
  to: string;
  total: number;
  codes: Partial<Record<VerifyCode, number>>;
  buckets: UsageBucket[];
}

/** A usage query: `from`/`to` in epoch ms, `to` exclusive. */
export interface UsageQuery {
  from?: number | undefined;
  to?: number | undefined;
  granularity?: UsageGranularity | undefined;
}

/** What a {@link UsageService} needs. */
export interface UsageServiceOptions {
  store: Store;
  clock: Clock;
}

function invalid(field: string, message: string): never {
  throw new ApiError('VALIDATION_FAILED', `${field}: ${message}`, { field });
}

function isVerifyCode(code: string): code is VerifyCode {
  return (VERIFY_CODES as readonly string[]).includes(code);
}

/**
 * Reads the per-minute usage counts the verifiers flush into `usage_minutes`, summed into minute,
 * hour or UTC-day buckets. Every bucket of the range is present (zeros included), so charts need no gap filling.
 */
export class UsageService {
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(options: UsageServiceOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
  }

  /** The usage of key `keyId`; 404 when the key does not exist, 400 when the range is invalid or too long. */
  async keyUsage(keyId: string, query: UsageQuery): Promise<UsageSeries> {
    const granularity = query.granularity ?? 'hour';
    const size = USAGE_GRANULARITY_MS[granularity];
    const toRaw = query.to ?? this.#clock.now() + 1;
    const fromRaw = query.from ?? toRaw - DEFAULT_SPAN[granularity];
    if (fromRaw >= toRaw) invalid('from', 'must be before to');
    const from = fromRaw - (fromRaw % size);
    const to = Math.ceil(toRaw / size) * size;
    const count = (to - from) / size;
    if (count > MAX_USAGE_BUCKETS) {
      invalid('to', `the range holds ${count} ${granularity} buckets; at most ${MAX_USAGE_BUCKETS} are allowed`);
    }
    const key = await this.#store.db.selectFrom('keys').select('id').where('id', '=', keyId).executeTakeFirst();
    if (!key) throw new ApiError('NOT_FOUND', `key ${keyId} not found`);

    // The bucket size is a constant of ours, inlined so the select and the group by are the same expression.
    const bucket = sql<number>`minute - (minute % ${sql.lit(size)})`;
    const rows = await this.#store.db
      .selectFrom('usage_minutes')
      .select((eb) => [bucket.as('bucket'), 'code', eb.fn.sum<number | string>('count').as('n')])
      .where('key_id', '=', keyId)
      .where('minute', '>=', from)
      .where('minute', '<', to)
      .groupBy([bucket, 'code'])
      .execute();

    const buckets: UsageBucket[] = [];
    for (let at = from; at < to; at += size) buckets.push({ start: new Date(at).toISOString(), total: 0, codes: {} });
    const series: UsageSeries = {
      keyId,
      granularity,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      total: 0,
      codes: {},
      buckets,
    };
    for (const row of rows) {
      const b = buckets[(Number(row.bucket) - from) / size];
      const n = Number(row.n);
      if (!b || !isVerifyCode(row.code)) continue;
      b.total += n;
      b.codes[row.code] = (b.codes[row.code] ?? 0) + n;
      series.total += n;
      series.codes[row.code] = (series.codes[row.code] ?? 0) + n;
    }
    return series;
  }
}
