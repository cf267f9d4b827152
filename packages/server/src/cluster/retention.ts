import { randomUUID } from 'node:crypto';
import type { Clock } from '@keyroll/core';
import { type PrunedTable, pruneBatch, readChangeRetentionBounds, type Store } from '@keyroll/storage';
import { takeJobLease } from './job-lease.js';

/** How long each kind of row is kept, in ms (see docs/retention.md). */
export interface RetentionPeriods {
  /**
   * `usage_minutes`, `unknown_key_minutes` and `key_clients` rows not seen since; also the ids of
   * edge usage batches received longer ago (a batch resent after that could only add to minutes
   * this same period prunes).
   */
  usageMs: number;
  /** The change log (never past what a live node has not applied; the newest row always stays). */
  changesMs: number;
  /** Delivered and dead webhook deliveries (pending and retrying ones always stay). */
  webhooksMs: number;
  /** Acknowledged alerts. */
  alertsMs: number;
}

/** What a {@link RetentionJob} needs. */
export interface RetentionJobOptions {
  store: Store;
  clock: Clock;
  periods: RetentionPeriods;
  /** Applied change-log sequence numbers of the live nodes (this one included). */
  liveAppliedSeqs: () => Promise<number[]>;
  /** Timer period in ms; 0 runs no timer (call {@link RetentionJob.tick} yourself). Default one hour. */
  intervalMs?: number;
  /** How long a node keeps the lease without renewing it (default 3 intervals). */
  leaseMs?: number;
  /** Most rows one DELETE statement removes (default 5,000). */
  batchSize?: number;
  /** A tick stops starting new batches after this much real time (default 30 s); the next tick goes on. */
  budgetMs?: number;
  /** This node's name in the lease. */
  nodeId?: string;
  /** Told of a failed tick (the next tick retries). */
  onError?: (err: unknown) => void;
  /** Told what a tick deleted, when it deleted anything (for the log). */
  onPruned?: (report: RetentionReport) => void;
}

/** Rows deleted by one tick, per table. */
export interface RetentionReport {
  /** False when another node holds the lease (and nothing was done here). */
  leader: boolean;
  usage_minutes: number;
  unknown_key_minutes: number;
  key_clients: number;
  changes: number;
  webhook_deliveries: number;
  alerts: number;
  edge_usage_batches: number;
  /** True when the time budget ran out before every table was pruned. */
  partial: boolean;
}

/** Name of the retention job's lease row. */
const LEASE = 'retention';
const HOUR = 3_600_000;

/**
 * Deletes rows past their retention horizon: usage counts, unknown-key counts, stale client rows,
 * the ids of applied edge usage batches,
 * the change log (only a prefix every live node has applied, never the newest row), finished
 * webhook deliveries and acknowledged alerts. Audit events are never deleted (the hash chain must
 * stay verifiable). One node at a time holds a lease; deletes go in bounded batches outside the
 * mutation lock, each its own short statement, so a large backlog never holds locks long, and two
 * runners at once only delete the same rows once.
 */
export class RetentionJob {
  readonly #o: RetentionJobOptions;
  readonly #node: string;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<RetentionReport> | undefined;

  constructor(options: RetentionJobOptions) {
    this.#o = options;
    this.#node = options.nodeId ?? randomUUID();
  }

  /** Starts the timer (no-op when the interval is 0 or it runs already). */
  start(): void {
    const interval = this.#interval();
    if (this.#timer || interval <= 0) return;
    this.#timer = setInterval(() => {
      this.tick().catch((err: unknown) => this.#o.onError?.(err));
    }, interval);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a running tick. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  /** Prunes every table once, if this node holds (or takes) the lease. Overlapping calls share one run. */
  tick(): Promise<RetentionReport> {
    if (!this.#running) {
      this.#running = this.#tick().finally(() => {
        this.#running = undefined;
      });
    }
    return this.#running;
  }

  async #tick(): Promise<RetentionReport> {
    const report: RetentionReport = {
      leader: false,
      usage_minutes: 0,
      unknown_key_minutes: 0,
      key_clients: 0,
      changes: 0,
      webhook_deliveries: 0,
      alerts: 0,
      edge_usage_batches: 0,
      partial: false,
    };
    const now = this.#o.clock.now();
    const lease = now + (this.#o.leaseMs ?? 3 * Math.max(this.#interval(), HOUR));
    if (!(await takeJobLease(this.#o.store, LEASE, this.#node, now, lease))) return report;
    report.leader = true;
    const { periods } = this.#o;
    const { db, dialect } = this.#o.store;
    const deadline = performance.now() + (this.#o.budgetMs ?? 30_000);
    const batch = this.#o.batchSize ?? 5000;
    const prune = async (table: PrunedTable, horizon: number) => {
      for (;;) {
        if (performance.now() >= deadline) {
          report.partial = true;
          return;
        }
        const deleted = await pruneBatch(db, dialect, table, horizon, batch);
        report[table] += deleted;
        if (deleted < batch) return;
      }
    };
    const usageBefore = now - periods.usageMs;
    await prune('usage_minutes', usageBefore);
    await prune('unknown_key_minutes', usageBefore);
    await prune('key_clients', usageBefore);
    await prune('edge_usage_batches', usageBefore);
    await prune('changes', await this.#oldestChangeToKeep(now - periods.changesMs));
    await prune('webhook_deliveries', now - periods.webhooksMs);
    await prune('alerts', now - periods.alertsMs);
    const { leader, partial, ...deleted } = report;
    if (Object.values(deleted).some((n) => n > 0)) this.#o.onPruned?.(report);
    return report;
  }

  /**
   * The change log is pruned as a prefix, below the smallest of: the first change younger than the
   * horizon, what every live node has applied, and the newest change (which always stays, so the
   * head never goes back). A follower can then tell it missed pruned changes (see `ChangeFollower`).
   */
  async #oldestChangeToKeep(before: number): Promise<number> {
    const { head, firstSince } = await readChangeRetentionBounds(this.#o.store.db, before);
    return Math.min(head, firstSince ?? head, ...(await this.#o.liveAppliedSeqs()));
  }

  #interval(): number {
    return this.#o.intervalMs ?? HOUR;
  }
}
