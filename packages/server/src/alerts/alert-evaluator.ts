import { type Clock, newId } from '@keyroll/core';
import {
  type AuditEventQuery,
  countKeyUsageSince,
  failuresByConsumerMinute,
  findRollingRotationOfKey,
  latestAlertRaisedAt,
  listAuditEvents,
  listRetiringKeysInUse,
  raiseAlert,
  readAuditSeqHead,
  readState,
  type Store,
  type Tx,
  unknownKeyBursts,
  usageByKeyAndCode,
  writeState,
} from '@keyroll/storage';
import { type ClientSignalMeter, USAGE_BUCKET_MS, type UsageMeter } from '@keyroll/verifier/internal';
import type { RetiredKeySighting, RetiredKeySightings } from '../analytics/retired-key-sightings.js';
import type { AlertThresholds } from '../config.js';
import type { AlertMetrics } from '../metrics/keyroll-metrics.js';
import type { AlertRule } from './alert-service.js';
import { type FailureBaseline, isFailureSpike, learn } from './failure-baseline.js';

/** What an {@link AlertEvaluator} needs. */
export interface AlertEvaluatorOptions {
  store: Store;
  clock: Clock;
  thresholds: AlertThresholds;
  /** Flushed before each evaluation, so that this node's latest counts are judged. */
  usage: UsageMeter;
  signals: ClientSignalMeter;
  /**
   * How long after a minute ends before it is judged, so that every node has flushed its counts
   * (default 5 s).
   */
  settleMs?: number;
  /**
   * Uses of retired and revoked keys seen by this node's verifier: judged on every round, so that
   * such a use is alerted within one round rather than once its minute has settled.
   */
  sightings?: RetiredKeySightings;
  metrics?: AlertMetrics;
}

/** An alert about to be raised. */
interface Finding {
  rule: AlertRule;
  severity: 'warning' | 'critical';
  subject: string;
  consumerId: string | null;
  keyId: string | null;
  message: string;
  data: Record<string, unknown>;
  /** Raise only if no alert of this rule and subject was raised since this instant. */
  quietSince: number;
}

const MINUTE_CURSOR = 'alerts.minute_cursor';
const AUDIT_CURSOR = 'alerts.audit_cursor';
const BASELINE = 'alerts.baseline:';
/** How far back a first evaluation (or one after a long stop) looks. */
const LOOKBACK_MS = 3_600_000;
/** Keys whose retired or revoked use is judged in one round, at most. */
const SIGHTINGS_PER_ROUND = 200;
/** Traffic window that counts as "still used" for the rotation rule. */
const RECENT_MS = 3_600_000;

/**
 * Evaluates the alert rules over the recorded usage, minute by minute, with the injected clock:
 * a consumer's failure rate above its own EWMA baseline, a burst of unknown keys from one address,
 * any use of a retired or revoked key, a rotation near its deadline with traffic still on the old
 * key, and a second claim of a successor. Uses of retired and revoked keys this node saw are also
 * judged on every round, without waiting for their minute to settle. Each alert is stored, audited
 * (`alert.raised`, which the webhook dispatcher sends on) and counted. Evaluation and its cursors
 * share one transaction under the store's write lock, so several nodes never raise the same alert twice.
 */
export class AlertEvaluator {
  readonly #o: AlertEvaluatorOptions;
  /** Latest known alert per `retired_key_used` subject: sightings within its cooldown need no transaction. */
  readonly #quiet = new Map<string, number>();

  constructor(options: AlertEvaluatorOptions) {
    this.#o = options;
  }

  /**
   * Judges every settled minute since the last call (usage rules and rotation deadlines, once per
   * minute), every use of a retired or revoked key this node saw since, and every successor reclaim
   * recorded since; returns the alerts raised. Takes the write lock only when there is something to judge.
   */
  async tick(): Promise<number> {
    await Promise.all([this.#o.usage.flush(), this.#o.signals.flush()]);
    const now = this.#o.clock.now();
    const settled = now - (this.#o.settleMs ?? 5_000);
    const end = settled - (settled % USAGE_BUCKET_MS);
    const db = this.#o.store.db;
    const minuteDue = ((await readState<number>(db, MINUTE_CURSOR)) ?? Number.NEGATIVE_INFINITY) < end;
    const unquieted = this.#unquieted(this.#o.sightings?.take() ?? [], now);
    // Bounded work under the write lock: many keys at once are judged over the next rounds.
    const sighted = unquieted.slice(0, SIGHTINGS_PER_ROUND);
    this.#o.sightings?.restore(unquieted.slice(SIGHTINGS_PER_ROUND));
    if (!minuteDue && sighted.length === 0 && !(await this.#reclaimPending(now))) return 0;
    const raised = await this.#judge(now, end, sighted).catch((e: unknown) => {
      // Judged again on the next round (and by the per-minute rule in any case).
      this.#o.sightings?.restore(sighted);
      throw e;
    });
    for (const r of raised) {
      if (r.rule === 'retired_key_used') this.#quiet.set(r.subject, r.raisedAt);
      if (r.raised) this.#o.metrics?.alertRaised(r.rule);
    }
    return raised.filter((r) => r.raised).length;
  }

  /** Sightings whose key has no alert within the cooldown, as far as this node knows; forgets expired cooldowns. */
  #unquieted(sighted: RetiredKeySighting[], now: number): RetiredKeySighting[] {
    const since = now - this.#o.thresholds.cooldownMs;
    for (const [subject, at] of this.#quiet) if (at < since) this.#quiet.delete(subject);
    return sighted.filter((s) => !this.#quiet.has(`${s.keyId}:${s.code}`));
  }

  async #judge(
    now: number,
    end: number,
    sighted: RetiredKeySighting[],
  ): Promise<{ rule: AlertRule; subject: string; raised: boolean; raisedAt: number }[]> {
    return this.#o.store.mutate(async (tx) => {
      const cursor = (await readState<number>(tx.db, MINUTE_CURSOR)) ?? end - LOOKBACK_MS;
      const start = Math.max(cursor, end - 24 * LOOKBACK_MS);
      const findings: Finding[] = await this.#sightedKeyUses(tx, sighted, now);
      if (start < end) {
        findings.push(...(await this.#failureRates(tx, start, end)));
        findings.push(...(await this.#unknownKeyBursts(tx, start, end, now)));
        findings.push(...(await this.#retiredKeyUses(tx, start, end, now)));
        findings.push(...(await this.#rotationDeadlines(tx, now)));
        await writeState(tx.db, MINUTE_CURSOR, end, now);
      }
      findings.push(...(await this.#successorReclaims(tx, now)));
      const outcomes = [];
      for (const f of findings) outcomes.push({ rule: f.rule, subject: f.subject, ...(await this.#raise(tx, f, now)) });
      return outcomes;
    });
  }

  /**
   * Uses of retired and revoked keys seen by this node, judged at once. The request count is the
   * cluster's, as far as the nodes have written their counts since the first use seen here.
   */
  async #sightedKeyUses(tx: Tx, sighted: RetiredKeySighting[], now: number): Promise<Finding[]> {
    const findings: Finding[] = [];
    for (const s of sighted) {
      const from = s.firstAt - (s.firstAt % USAGE_BUCKET_MS);
      const stored = await countKeyUsageSince(tx.db, s.keyId, s.code, from);
      findings.push(
        retiredKeyFinding(s.keyId, s.consumerId, s.code, Math.max(s.count, stored), now, this.#o, {
          firstSeenAt: new Date(s.firstAt).toISOString(),
          address: s.address,
        }),
      );
    }
    return findings;
  }

  async #failureRates(tx: Tx, start: number, end: number): Promise<Finding[]> {
    const t = this.#o.thresholds;
    const rows = await failuresByConsumerMinute(tx.db, { from: start, to: end });
    const baselines = new Map<string, FailureBaseline | undefined>();
    const findings: Finding[] = [];
    for (const row of rows) {
      const { consumerId, minute, total, failed } = row;
      if (total < t.failureMinVolume) continue;
      if (!baselines.has(consumerId)) {
        baselines.set(consumerId, await readState<FailureBaseline>(tx.db, BASELINE + consumerId));
      }
      const baseline = baselines.get(consumerId);
      const rate = failed / total;
      const rule = { deviations: t.failureDeviations, minIncrease: t.failureMinIncrease };
      if (baseline && isFailureSpike(baseline, rate, rule)) {
        findings.push({
          rule: 'failure_rate',
          severity: 'warning',
          subject: consumerId,
          consumerId,
          keyId: null,
          message: `failure rate ${pct(rate)} in the minute from ${new Date(minute).toISOString()}, baseline ${pct(baseline.mean)}`,
          data: {
            minute: new Date(minute).toISOString(),
            requests: total,
            failed,
            rate,
            baselineMean: baseline.mean,
            baselineDeviation: Math.sqrt(baseline.variance),
          },
          quietSince: minute - t.cooldownMs,
        });
      }
      baselines.set(consumerId, learn(baseline, rate));
    }
    for (const [consumerId, baseline] of baselines) {
      if (baseline) await writeState(tx.db, BASELINE + consumerId, baseline, end);
    }
    return findings;
  }

  async #unknownKeyBursts(tx: Tx, start: number, end: number, now: number): Promise<Finding[]> {
    const threshold = this.#o.thresholds.unknownKeyBurst;
    const rows = await unknownKeyBursts(tx.db, { from: start, to: end }, threshold);
    return rows.map((r) => ({
      rule: 'unknown_key_burst',
      severity: 'warning',
      subject: r.address,
      consumerId: null,
      keyId: null,
      message: `${r.count} unknown keys from ${r.address} in one minute (threshold ${threshold}): key guessing?`,
      data: { address: r.address, minute: new Date(r.minute).toISOString(), attempts: r.count, threshold },
      quietSince: now - this.#o.thresholds.cooldownMs,
    }));
  }

  async #retiredKeyUses(tx: Tx, start: number, end: number, now: number): Promise<Finding[]> {
    const rows = await usageByKeyAndCode(tx.db, { from: start, to: end }, ['RETIRED', 'REVOKED']);
    return rows.map((r) => retiredKeyFinding(r.keyId, r.consumerId, r.code, r.count, now, this.#o, {}));
  }

  async #rotationDeadlines(tx: Tx, now: number): Promise<Finding[]> {
    const recent = now - RECENT_MS;
    const rows = await listRetiringKeysInUse(
      tx.db,
      now,
      now + this.#o.thresholds.rotationNearMs,
      recent - (recent % USAGE_BUCKET_MS),
    );
    const findings: Finding[] = [];
    for (const { keyId, consumerId, retiresAt, requests } of rows) {
      const rotation = await findRollingRotationOfKey(tx.db, keyId);
      findings.push({
        rule: 'rotation_deadline',
        severity: 'warning',
        // One alert per deadline: an extension sets a new deadline, which may raise a new alert.
        subject: `${keyId}@${retiresAt}`,
        consumerId,
        keyId,
        message: `key ${keyId} retires at ${new Date(retiresAt).toISOString()} and still served ${requests} requests in the last hour`,
        data: {
          keyId,
          rotationId: rotation?.id ?? null,
          newKeyId: rotation?.newKeyId ?? null,
          retiresAt: new Date(retiresAt).toISOString(),
          requestsLastHour: requests,
        },
        quietSince: 0,
      });
    }
    return findings;
  }

  /** True when a successor reclaim was recorded after the audit cursor (which moves at least once a minute). */
  async #reclaimPending(now: number): Promise<boolean> {
    const cursor = await readState<number>(this.#o.store.db, AUDIT_CURSOR);
    return (await listAuditEvents(this.#o.store.db, reclaimsAfter(cursor, now, 1))).length > 0;
  }

  async #successorReclaims(tx: Tx, now: number): Promise<Finding[]> {
    const cursor = await readState<number>(tx.db, AUDIT_CURSOR);
    const events = await listAuditEvents(tx.db, reclaimsAfter(cursor, now, 500));
    const last = events[events.length - 1];
    await writeState(
      tx.db,
      AUDIT_CURSOR,
      events.length === 500 && last ? last.seq : await readAuditSeqHead(tx.db),
      now,
    );
    return events.map((e) => {
      const { data } = e;
      const consumerId = typeof data.consumerId === 'string' ? data.consumerId : null;
      const keyId = typeof data.oldKeyId === 'string' ? data.oldKeyId : null;
      return {
        rule: 'successor_reclaim',
        severity: 'critical',
        subject: e.id,
        consumerId,
        keyId,
        message: `the successor of rotation ${e.targetId} was claimed a second time: the old key may have leaked`,
        data: { rotationId: e.targetId, auditEventId: e.id, ...data },
        quietSince: 0,
      };
    });
  }

  /**
   * Stores and audits an alert unless one of the same rule and subject is recent; returns whether it
   * did, and when the latest alert of that rule and subject was raised.
   */
  async #raise(tx: Tx, f: Finding, now: number): Promise<{ raised: boolean; raisedAt: number }> {
    const recent = await latestAlertRaisedAt(tx.db, f.rule, f.subject, f.quietSince);
    if (recent !== undefined) return { raised: false, raisedAt: recent };
    const { rule, severity, subject, consumerId, keyId, message, data } = f;
    await raiseAlert(
      tx,
      { id: newId('alert', now), rule, severity, subject, consumerId, keyId, message, data },
      { at: now, actor: 'system:alerts' },
    );
    return { raised: true, raisedAt: now };
  }
}

/** A `retired_key_used` finding; critical for a revoked key (a leak), a warning for a retired one (a missed rotation). */
function retiredKeyFinding(
  keyId: string,
  consumerId: string,
  code: string,
  requests: number,
  now: number,
  o: AlertEvaluatorOptions,
  extra: Record<string, unknown>,
): Finding {
  const what = code === 'RETIRED' ? 'retired' : 'revoked';
  return {
    rule: 'retired_key_used',
    severity: code === 'REVOKED' ? 'critical' : 'warning',
    subject: `${keyId}:${code}`,
    consumerId,
    keyId,
    message: `${what} key ${keyId} was presented ${requests} times`,
    data: { keyId, code, requests, ...extra },
    quietSince: now - o.thresholds.cooldownMs,
  };
}

/** Successor reclaims after the audit cursor; a first start judges only recent history, not every reclaim ever recorded. */
function reclaimsAfter(cursor: number | undefined, now: number, limit: number): AuditEventQuery {
  const from = cursor === undefined ? { fromAt: now - LOOKBACK_MS } : { afterSeq: cursor };
  return { ...from, action: 'successor.reclaim_attempted', limit };
}

function pct(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}
