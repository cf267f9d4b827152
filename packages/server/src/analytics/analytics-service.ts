import { ApiError, type Clock, VERIFY_CODES, type VerifyCode } from '@keyroll/core';
import {
  findKeyLastUsedAt,
  findRotationTrafficRow,
  listExpiringKeys,
  listIdleKeys,
  listKeyClients,
  type Page,
  type PageRequest,
  requestsBeforeStart,
  type Store,
  unknownKeysByAddressAndCode,
  usageByBucket,
  usageByConsumerAndCode,
  usageByKeyAndBucket,
  usageByKeyAndCode,
} from '@keyroll/storage';
import type { ClientSignalMeter, UsageMeter } from '@keyroll/verifier/internal';
import { iso, type KeyView, keyRecordView } from '../shared/records.js';
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
    const rows = await usageByBucket(this.#o.store.db, scope, { from, to }, size);
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
      const b = buckets[(row.bucket - from) / size];
      const n = row.count;
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
    const rows = await usageByConsumerAndCode(this.#o.store.db, { from, to }, FAILURE_CODES);
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
      const n = row.count;
      report.total += n;
      add(report.byCode, row.code, n);
      const c = consumers.get(row.consumerId) ?? { consumerId: row.consumerId, total: 0, codes: {} };
      c.total += n;
      add(c.codes, row.code, n);
      consumers.set(row.consumerId, c);
    }
    report.byConsumer = [...consumers.values()].sort((a, b) => b.total - a.total).slice(0, LIST_LIMIT);
    const retired = await usageByKeyAndCode(this.#o.store.db, { from, to }, ['RETIRED'], LIST_LIMIT);
    report.retiredKeyUses = retired.map((r) => ({
      keyId: r.keyId,
      consumerId: r.consumerId,
      requests: r.count,
      lastSeenAt: iso(r.lastMinute),
    }));
    return report;
  }

  /** Unknown keys (`NOT_FOUND`, `MALFORMED`) grouped by source address, most first. */
  async unknownKeys(query: RangeQuery): Promise<{ from: string; to: string; sources: UnknownKeySource[] }> {
    const { from, to } = this.#range(query, 'day');
    await this.#flush();
    const rows = await unknownKeysByAddressAndCode(this.#o.store.db, { from, to });
    const sources = new Map<string, UnknownKeySource & { last: number }>();
    for (const row of rows) {
      const s = sources.get(row.address) ?? { address: row.address, total: 0, codes: {}, lastSeenAt: null, last: 0 };
      s.total += row.count;
      add(s.codes, row.code, row.count);
      s.last = Math.max(s.last, row.lastMinute);
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
  async expiring(withinMs: number, request: PageRequest): Promise<Page<ExpiringKey>> {
    const now = this.#o.clock.now();
    const page = await listExpiringKeys(this.#o.store.db, now, now + withinMs, request);
    return {
      nextCursor: page.nextCursor,
      data: page.data.map(({ key, endsAt }) => ({
        ...keyRecordView(key, now),
        endsBy: key.retiresAt !== null && key.retiresAt === endsAt ? 'retirement' : 'expiry',
        endsAt: new Date(endsAt).toISOString(),
      })),
    };
  }

  /** Usable keys not used for at least `idleForMs` (never-used keys count from their creation), oldest id first. */
  async idle(idleForMs: number, page: PageRequest): Promise<Page<KeyView>> {
    await this.#flush();
    const now = this.#o.clock.now();
    const idle = await listIdleKeys(this.#o.store.db, now, now - idleForMs, page);
    return { data: idle.data.map((key) => keyRecordView(key, now)), nextCursor: idle.nextCursor };
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
    const ids = newKeyId ? [oldKeyId, newKeyId] : [oldKeyId];
    const rows = await usageByKeyAndBucket(this.#o.store.db, ids, { from, to }, size);
    const buckets: RotationTraffic['buckets'] = [];
    for (let at = from; at < to; at += size) buckets.push({ start: new Date(at).toISOString(), oldKey: 0, newKey: 0 });
    let oldKeyRequests = 0;
    let newKeyRequests = 0;
    for (const row of rows) {
      const b = buckets[(row.bucket - from) / size];
      const n = row.count;
      if (!b) continue;
      if (row.keyId === oldKeyId) {
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
    const oldKeyLastUsedAt = await findKeyLastUsedAt(this.#o.store.db, oldKeyId);
    const total = oldKeyRequests + newKeyRequests;
    return {
      granularity,
      buckets,
      oldKeyRequests,
      newKeyRequests,
      shareOnNew: total === 0 ? null : newKeyRequests / total,
      oldKeyLastSeenAt: iso(oldKeyLastUsedAt),
      oldKeyClients: await this.keyClients(oldKeyId, since, options.clients ?? 20),
    };
  }

  /** The most recent distinct clients of a key seen since `since` (bounded by what the signal meter keeps). */
  async keyClients(keyId: string, since: number, limit: number): Promise<KeyClient[]> {
    const clients = await listKeyClients(this.#o.store.db, keyId, since, Math.min(limit, LIST_LIMIT));
    return clients.map((c) => ({
      address: c.address,
      userAgent: c.userAgent,
      requests: c.count,
      firstSeenAt: iso(c.firstSeen),
      lastSeenAt: iso(c.lastSeen),
    }));
  }

  /** Traffic of a stored rotation by id; 404 when unknown. */
  async rotationTrafficById(
    rotationId: string,
    granularity?: UsageGranularity,
  ): Promise<RotationTraffic & { rotationId: string }> {
    const rotation = await findRotationTrafficRow(this.#o.store.db, rotationId);
    if (!rotation) throw new ApiError('NOT_FOUND', `rotation ${rotationId} not found`);
    const traffic = await this.rotationTraffic(rotation.oldKeyId, rotation.newKeyId, rotation.startedAt, {
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
