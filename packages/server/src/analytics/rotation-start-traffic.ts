import type { Clock } from '@keyroll/core';
import {
  addRequestsBeforeStart,
  listAuditEvents,
  prunePreStartTotals,
  readAuditSeqHead,
  type Store,
} from '@keyroll/storage';
import { USAGE_BUCKET_MS, type VerificationEvent, type VerificationObserver } from '@keyroll/verifier/internal';

/** What a {@link RotationStartTraffic} needs. */
export interface RotationStartTrafficOptions {
  store: Store;
  clock: Clock;
  /** Keys tracked per minute; the rest count from the start of their minute, as before (default 10,000). */
  maxKeys?: number;
  /** How long reported totals are kept: as long as the usage they correct (default 90 days). */
  keepMs?: number;
}

/** Minutes kept in memory: the current one and two before it, so that a late round still finds a start's minute. */
const MINUTES_KEPT = 3;
const SECONDS = USAGE_BUCKET_MS / 1000;
/** How often reported totals older than `keepMs` are deleted. */
const PRUNE_EVERY_MS = 3_600_000;

/**
 * Counts every key's verifications per second over the last few minutes on this node and, for each
 * rotation started since (followed in the audit log), adds the old key's requests in the start's
 * minute but before the start to a per-rotation total in storage. Each node reports its own
 * requests, so the total is the cluster's; a node that stops before reporting leaves its requests
 * counted, as a per-minute count would. Resolution: one second (the start's own second counts as after).
 */
export class RotationStartTraffic implements VerificationObserver {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #maxKeys: number;
  readonly #keepMs: number;
  #prunedAt = Number.NEGATIVE_INFINITY;
  /** minute → key → requests per second of that minute. */
  readonly #minutes = new Map<number, Map<string, Uint32Array>>();
  #cursor: number | undefined;

  constructor(options: RotationStartTrafficOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#maxKeys = options.maxKeys ?? 10_000;
    this.#keepMs = options.keepMs ?? 90 * 86_400_000;
  }

  observe(e: VerificationEvent): void {
    if (e.keyId === null || e.consumerId === null) return;
    const minute = e.at - (e.at % USAGE_BUCKET_MS);
    let keys = this.#minutes.get(minute);
    if (!keys) {
      keys = new Map();
      this.#minutes.set(minute, keys);
      for (const m of this.#minutes.keys()) if (m <= minute - MINUTES_KEPT * USAGE_BUCKET_MS) this.#minutes.delete(m);
    }
    let perSecond = keys.get(e.keyId);
    if (!perSecond) {
      if (keys.size >= this.#maxKeys) return;
      perSecond = new Uint32Array(SECONDS);
      keys.set(e.keyId, perSecond);
    }
    const second = Math.floor((e.at - minute) / 1000);
    perSecond[second] = (perSecond[second] ?? 0) + 1;
  }

  /** This node's requests of `keyId` in the minute of `startedAt` before its second; `undefined` when no longer known. */
  before(keyId: string, startedAt: number): number | undefined {
    const minute = startedAt - (startedAt % USAGE_BUCKET_MS);
    const keys = this.#minutes.get(minute);
    if (!keys) return undefined;
    const perSecond = keys.get(keyId);
    if (!perSecond) return 0;
    let n = 0;
    for (let s = 0; s < Math.floor((startedAt - minute) / 1000); s++) n += perSecond[s] ?? 0;
    return n;
  }

  /** Reports this node's pre-start requests of every rotation started since the last round; returns how many it reported. */
  async tick(): Promise<number> {
    const db = this.#store.db;
    this.#cursor ??= await readAuditSeqHead(db);
    const reports: { oldKeyId: string; startedAt: number; requests: number }[] = [];
    let cursor = this.#cursor;
    for (;;) {
      const events = await listAuditEvents(db, { afterSeq: cursor, limit: 1000 });
      for (const { action, at, data } of events) {
        if (action !== 'rotation.started') continue;
        if (typeof data.oldKeyId !== 'string' || data.emergency === true) continue;
        const n = this.before(data.oldKeyId, at);
        if (n) reports.push({ oldKeyId: data.oldKeyId, startedAt: at, requests: n });
      }
      const last = events[events.length - 1];
      if (last) cursor = last.seq;
      if (events.length < 1000) break;
    }
    const now = this.#clock.now();
    const prune = now - this.#prunedAt >= PRUNE_EVERY_MS;
    if (reports.length > 0 || prune) {
      await this.#store.mutate(async (tx) => {
        for (const report of reports) await addRequestsBeforeStart(tx.db, report, now);
        if (prune) await prunePreStartTotals(tx.db, now - this.#keepMs);
      });
      if (prune) this.#prunedAt = now;
    }
    // Moved only once reported: a failed write is retried on the next round.
    this.#cursor = cursor;
    return reports.length;
  }
}
