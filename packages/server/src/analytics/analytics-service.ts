import { ApiError, type Clock, VERIFY_CODES, type VerifyCode } from '@keyroll/core';
import {
  decodeCursor,
  type Page,
  type PageRequest,
  pageById,
  pageSize,
  requestsBeforeStart,
  type Store,
  toPage,
} from '@keyroll/storage';
import type { ClientSignalMeter, UsageMeter } from '@keyroll/verifier/internal';
import { sql } from 'kysely';
import { keyStatusIs } from '../keys/key-filters.js';
import { iso, type KeyView, keyView } from '../shared/records.js';
import { MAX_USAGE_BUCKETS, USAGE_GRANULARITY_MS, type UsageBucket, type UsageGranularity } from './usage-service.js';

/** Counts by verification code (codes without requests are left out). */
export type CodeCounts = Partial<Record<VerifyCode, number>>;

/** Whose usage: one key, one consumer, or everything. */
export interface UsageScope {
  keyId?: string | undefined;
  consumerId?: string | undefined;
}

/** A time range in epoch ms (`to` exclusive) and a bucket size. */
export interface RangeQuery {
  from?: number | undefined;
  to?: number | undefined;
  granularity?: UsageGranularity | undefined;
}

/** Usage over time of a scope. */
export interface UsageOverTime {
  keyId: string | null;
  consumerId: string | null;
  granularity: UsageGranularity;
  from: string;
  to: string;
  total: number;
  codes: CodeCounts;
  buckets: UsageBucket[];
}

/** Failures in a range: by code, by consumer, and uses of retired keys on their own. */
export interface FailureReport {
  from: string;
  to: string;
  total: number;
  byCode: CodeCounts;
  byConsumer: { consumerId: string; total: number; codes: CodeCounts }[];
  /** Clients that missed a rotation: verifications of keys already retired. */
  retiredKeyUses: { keyId: string; consumerId: string; requests: number; lastSeenAt: string | null }[];
}

/** Unknown keys presented from one source address. */
export interface UnknownKeySource {
  address: string;
  total: number;
  codes: CodeCounts;
  lastSeenAt: string | null;
}

/** A key about to expire or retire, with which and when. */
export type ExpiringKey = KeyView & { endsBy: 'expiry' | 'retirement'; endsAt: string };

/** A client address and user agent seen with a key. */
export interface KeyClient {
  address: string;
  userAgent: string;
  requests: number;
  firstSeenAt: string | null;
  lastSeenAt: string | null;
}

/** Requests on the old and the new key per bucket since a rotation started, and who is still on the old key. */
export interface RotationTraffic {
  granularity: UsageGranularity;
  buckets: { start: string; oldKey: number; newKey: number }[];
  oldKeyRequests: number;
  newKeyRequests: number;
  shareOnNew: number | null;
  oldKeyLastSeenAt: string | null;
  /** A bounded sample of distinct (address, user agent) pairs seen with the old key since the start, most recent first. */
  oldKeyClients: KeyClient[];
}

/** What an {@link AnalyticsService} needs. */
export interface AnalyticsServiceOptions {
  store: Store;
  clock: Clock;
  /** Flushed before every query, so that this node's latest counts are included. */
  usage: UsageMeter;
  signals: ClientSignalMeter;
}

const FAILURE_CODES = VERIFY_CODES.filter((c) => c !== 'VALID');
const LIST_LIMIT = 100;

function isVerifyCode(code: string): code is VerifyCode {
  return VERIFY_CODES.some((c) => c === code);
}

function add(counts: CodeCounts, code: string, n: number): void {
  if (isVerifyCode(code)) counts[code] = (counts[code] ?? 0) + n;
}

/**
 * Reads usage, failures, unknown-key sources, expiring and idle keys, and rotation traffic from the
 * counts the verifiers record (`usage_minutes`, `unknown_key_minutes`, `key_clients`).
 */
export class AnalyticsService {
  readonly #o: AnalyticsServiceOptions;

  constructor(options: AnalyticsServiceOptions) {
    this.#o = options;
  }

  /** Usage of a key, a consumer or everything, in minute, hour or UTC-day buckets, by code. */
  async usage(scope: UsageScope, query: RangeQuery): Promise<UsageOverTime> {
    const { from, to, size, granularity } = this.#range(query, 'hour');
    await this.#flush();
    const bucket = sql<number>`minute - (minute % ${sql.lit(size)})`;
    let q = this.#o.store.db
      .selectFrom('usage_minutes')
      .select((eb) => [bucket.as('bucket'), 'code', eb.fn.sum<number | string>('count').as('n')])
      .where('minute', '>=', from)
      .where('minute', '<', to);
    if (scope.keyId) q = q.where('key_id', '=', scope.keyId);
    if (scope.consumerId) q = q.where('consumer_id', '=', scope.consumerId);
    const rows = await q.groupBy([bucket, 'code']).execute();
    const buckets: UsageBucket[] = [];
    for (let at = from; at < to; at += size) buckets.push({ start: new Date(at).toISOString(), total: 0, codes: {} });
    const series: UsageOverTime = {
      keyId: scope.keyId ?? null,
      consumerId: scope.consumerId ?? null,
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
      add(b.codes, row.code, n);
      series.total += n;
      add(series.codes, row.code, n);
    }
    return series;
  }

  /** Failed verifications in a range, by code and by consumer; retired-key uses listed per key. */
  async failures(query: RangeQuery): Promise<FailureReport> {
    const { from, to } = this.#range(query, 'day');
    await this.#flush();
    const rows = await this.#o.store.db
      .selectFrom('usage_minutes')
      .select((eb) => ['consumer_id', 'code', eb.fn.sum<number | string>('count').as('n')])
      .where('minute', '>=', from)
      .where('minute', '<', to)
      .where('code', 'in', FAILURE_CODES)
      .groupBy(['consumer_id', 'code'])
      .execute();
    const report: FailureReport = {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      total: 0,
      byCode: {},
      byConsumer: [],
      retiredKeyUses: [],
    };
    const consumers = new Map<string, { consumerId: string; total: number; codes: CodeCounts }>();
    for (const row of rows) {
      const n = Number(row.n);
      report.total += n;
      add(report.byCode, row.code, n);
      const c = consumers.get(row.consumer_id) ?? { consumerId: row.consumer_id, total: 0, codes: {} };
      c.total += n;
      add(c.codes, row.code, n);
      consumers.set(row.consumer_id, c);
    }
    report.byConsumer = [...consumers.values()].sort((a, b) => b.total - a.total).slice(0, LIST_LIMIT);
    const retired = await this.#o.store.db
      .selectFrom('usage_minutes')
      .select((eb) => [
        'key_id',
        'consumer_id',
        eb.fn.sum<number | string>('count').as('n'),
        eb.fn.max('minute').as('last'),
      ])
      .where('minute', '>=', from)
      .where('minute', '<', to)
      .where('code', '=', 'RETIRED')
      .groupBy(['key_id', 'consumer_id'])
      .orderBy('n', 'desc')
      .limit(LIST_LIMIT)
      .execute();
    report.retiredKeyUses = retired.map((r) => ({
      keyId: r.key_id,
      consumerId: r.consumer_id,
      requests: Number(r.n),
      lastSeenAt: iso(r.last === null ? null : Number(r.last)),
    }));
    return report;
  }

  /** Unknown keys (`NOT_FOUND`, `MALFORMED`) grouped by source address, most first. */
  async unknownKeys(query: RangeQuery): Promise<{ from: string; to: string; sources: UnknownKeySource[] }> {
    const { from, to } = this.#range(query, 'day');
    await this.#flush();
    const rows = await this.#o.store.db
      .selectFrom('unknown_key_minutes')
      .select((eb) => ['address', 'code', eb.fn.sum<number | string>('count').as('n'), eb.fn.max('minute').as('last')])
      .where('minute', '>=', from)
      .where('minute', '<', to)
      .groupBy(['address', 'code'])
      .execute();
    const sources = new Map<string, UnknownKeySource & { last: number }>();
    for (const row of rows) {
      const s = sources.get(row.address) ?? { address: row.address, total: 0, codes: {}, lastSeenAt: null, last: 0 };
      const n = Number(row.n);
      s.total += n;
      add(s.codes, row.code, n);
      s.last = Math.max(s.last, Number(row.last));
      sources.set(row.address, s);
    }
    return {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      sources: [...sources.values()]
        .sort((a, b) => b.total - a.total)
        .slice(0, LIST_LIMIT)
        .map(({ last, ...s }) => ({ ...s, lastSeenAt: iso(last) })),
    };
  }

  /** Keys that will expire or retire within `withinMs` from now, soonest first. */
  async expiring(withinMs: number, page: PageRequest): Promise<Page<ExpiringKey>> {
    const now = this.#o.clock.now();
    const until = now + withinMs;
    const size = pageSize(page);
    const after = decodeCursor(page.cursor);
    const ends = sql<number>`case when retires_at is not null and (expires_at is null or retires_at < expires_at) then retires_at else expires_at end`;
    let q = this.#o.store.db
      .selectFrom('keys')
      .selectAll()
      .select(ends.as('ends_at'))
      .where((eb) => eb.or([keyStatusIs(eb, 'active', now), keyStatusIs(eb, 'deprecated', now)]))
      .where((eb) =>
        eb.or([
          eb.and([eb('expires_at', '>', now), eb('expires_at', '<=', until)]),
          eb.and([eb('retires_at', '>', now), eb('retires_at', '<=', until)]),
        ]),
      );
    if (after !== undefined) {
      const [at, id] = after.split('|');
      q = q.where((eb) =>
        eb.or([eb(ends, '>', Number(at)), eb.and([eb(ends, '=', Number(at)), eb('id', '>', id ?? '')])]),
      );
    }
    const rows = await q
      .orderBy(ends)
      .orderBy('id')
      .limit(size + 1)
      .execute();
    return toPage(
      rows,
      size,
      (r) => `${r.ends_at}|${r.id}`,
      ({ ends_at, ...r }) => ({
        ...keyView(r, now),
        endsBy: r.retires_at !== null && Number(r.retires_at) === Number(ends_at) ? 'retirement' : 'expiry',
        endsAt: new Date(Number(ends_at)).toISOString(),
      }),
    );
  }

  /** Usable keys not used for at least `idleForMs` (never-used keys count from their creation), oldest id first. */
  async idle(idleForMs: number, page: PageRequest): Promise<Page<KeyView>> {
    await this.#flush();
    const now = this.#o.clock.now();
    const q = this.#o.store.db
      .selectFrom('keys')
      .selectAll()
      .where((eb) => eb.or([keyStatusIs(eb, 'active', now), keyStatusIs(eb, 'deprecated', now)]))
      .where((eb) => eb(eb.fn.coalesce('last_used_at', 'created_at'), '<=', now - idleForMs));
    return pageById(q, page, (r) => keyView(r, now));
  }

  /**
   * Traffic of a rotation since `since`: old vs new key per bucket, share on the new key, the old
   * key's last use, and up to `clients` distinct (address, user agent) pairs still presenting the old
   * key. Meant for `GET /v1/rotations/:id`, and served by `GET /v1/analytics/rotations/:id`.
   */
  async rotationTraffic(
    oldKeyId: string,
    newKeyId: string | null,
    since: number,
    options: { granularity?: UsageGranularity | undefined; clients?: number } = {},
  ): Promise<RotationTraffic> {
    await this.#flush();
    const now = this.#o.clock.now();
    const span = Math.max(1, now - since);
    const granularity =
      options.granularity ?? (span <= 2 * 3_600_000 ? 'minute' : span <= 3 * 86_400_000 ? 'hour' : 'day');
    const { from, to, size } = this.#range({ from: since, to: now + 1, granularity }, granularity, true);
    const bucket = sql<number>`minute - (minute % ${sql.lit(size)})`;
    const ids = newKeyId ? [oldKeyId, newKeyId] : [oldKeyId];
    const rows = await this.#o.store.db
      .selectFrom('usage_minutes')
      .select((eb) => ['key_id', bucket.as('bucket'), eb.fn.sum<number | string>('count').as('n')])
      .where('key_id', 'in', ids)
      .where('minute', '>=', from)
      .where('minute', '<', to)
      .groupBy(['key_id', bucket])
      .execute();
    const buckets: RotationTraffic['buckets'] = [];
    for (let at = from; at < to; at += size) buckets.push({ start: new Date(at).toISOString(), oldKey: 0, newKey: 0 });
    let oldKeyRequests = 0;
    let newKeyRequests = 0;
    for (const row of rows) {
      const b = buckets[(Number(row.bucket) - from) / size];
      const n = Number(row.n);
      if (!b) continue;
      if (row.key_id === oldKeyId) {
        b.oldKey += n;
        oldKeyRequests += n;
      } else {
        b.newKey += n;
        newKeyRequests += n;
      }
    }
    // The first bucket holds the whole minute of the start (unless the range was clamped): leave out
    // the old key's requests from before the start.
    const first = from <= since ? buckets[0] : undefined;
    if (first) {
      const before = Math.min(first.oldKey, await requestsBeforeStart(this.#o.store.db, oldKeyId, since));
      first.oldKey -= before;
      oldKeyRequests -= before;
    }
    const old = await this.#o.store.db
      .selectFrom('keys')
      .select('last_used_at')
      .where('id', '=', oldKeyId)
      .executeTakeFirst();
    const total = oldKeyRequests + newKeyRequests;
    return {
      granularity,
      buckets,
      oldKeyRequests,
      newKeyRequests,
      shareOnNew: total === 0 ? null : newKeyRequests / total,
      oldKeyLastSeenAt: iso(old?.last_used_at ?? null),
      oldKeyClients: await this.keyClients(oldKeyId, since, options.clients ?? 20),
    };
  }

  /** The most recent distinct clients of a key seen since `since` (bounded by what the signal meter keeps). */
  async keyClients(keyId: string, since: number, limit: number): Promise<KeyClient[]> {
    const rows = await this.#o.store.db
      .selectFrom('key_clients')
      .selectAll()
      .where('key_id', '=', keyId)
      .where('last_seen', '>=', since)
      .orderBy('last_seen', 'desc')
      .limit(Math.min(limit, LIST_LIMIT))
      .execute();
    return rows.map((r) => ({
      address: r.address,
      userAgent: r.user_agent,
      requests: Number(r.count),
      firstSeenAt: iso(r.first_seen),
      lastSeenAt: iso(r.last_seen),
    }));
  }

  /** Traffic of a stored rotation by id; 404 when unknown. */
  async rotationTrafficById(
    rotationId: string,
    granularity?: UsageGranularity,
  ): Promise<RotationTraffic & { rotationId: string }> {
    const rotation = await this.#o.store.db
      .selectFrom('rotations')
      .select(['id', 'old_key_id', 'new_key_id', 'started_at'])
      .where('id', '=', rotationId)
      .executeTakeFirst();
    if (!rotation) throw new ApiError('NOT_FOUND', `rotation ${rotationId} not found`);
    const traffic = await this.rotationTraffic(rotation.old_key_id, rotation.new_key_id, rotation.started_at, {
      granularity,
    });
    return { rotationId, ...traffic };
  }

  /** Writes this node's pending counts first; if storage refuses them now, answer from what is stored. */
  async #flush(): Promise<void> {
    await Promise.all([this.#o.usage.flush(), this.#o.signals.flush()]).catch(() => undefined);
  }

  /** Aligns a range to its buckets; 400 when it is empty or holds too many buckets (unless `clamp`). */
  #range(
    query: RangeQuery,
    fallback: UsageGranularity,
    clamp = false,
  ): { from: number; to: number; size: number; granularity: UsageGranularity } {
    const granularity = query.granularity ?? fallback;
    const size = USAGE_GRANULARITY_MS[granularity];
    const toRaw = query.to ?? this.#o.clock.now() + 1;
    let fromRaw = query.from ?? toRaw - size * 24;
    if (fromRaw >= toRaw) throw new ApiError('VALIDATION_FAILED', 'from: must be before to', { field: 'from' });
    if (clamp) fromRaw = Math.max(fromRaw, toRaw - size * MAX_USAGE_BUCKETS);
    const from = fromRaw - (fromRaw % size);
    const to = Math.ceil(toRaw / size) * size;
    if ((to - from) / size > MAX_USAGE_BUCKETS) {
      throw new ApiError(
        'VALIDATION_FAILED',
        `to: the range holds more than ${MAX_USAGE_BUCKETS} ${granularity} buckets`,
        {
          field: 'to',
        },
      );
    }
    return { from, to, size, granularity };
  }
}
