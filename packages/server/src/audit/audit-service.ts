import type { Clock } from '@keyroll/core';
import {
  type AuditChainReport,
  type AuditKey,
  listAuditEvents,
  type Page,
  type PageRequest,
  pageSize,
  type Store,
  toPage,
  verifyAuditChain,
} from '@keyroll/storage';
import { iso } from '../shared/records.js';
import { type AuditListing, type AuditOrder, auditCursorKey, auditCursorSeq } from './audit-cursor.js';

/** An audit event as the API shows it. */
export interface AuditEventView {
  id: string;
  seq: number;
  at: string | null;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  data: Record<string, unknown>;
  hash: string;
  prevHash: string;
}

/** Filters and order of an audit listing. */
export interface AuditFilter {
  targetId?: string | undefined;
  action?: string | undefined;
  actor?: string | undefined;
  /** Only events at or after this instant (epoch ms). */
  from?: number | undefined;
  /** Only events at or before this instant (epoch ms). */
  to?: number | undefined;
  /** Oldest first (default) or newest first. */
  order?: AuditOrder | undefined;
}

/** What an {@link AuditService} is built from. */
export interface AuditServiceOptions {
  store: Store;
  clock: Clock;
  /** Seals the head and checkpoints (see `loadAuditKey`). */
  key: AuditKey;
  /** Events hashed between two turns of the event loop (default 500). */
  sliceSize?: number;
  /** The sealed head's sequence number at start-up: a lower one later is a rollback. */
  headSeq?: number;
}

/** How a check walks the chain: from the last checkpoint, or from the genesis. */
export type AuditCheckMode = 'incremental' | 'full';

/** Counters of chain checks since start-up. */
export interface AuditCheckStats {
  /** Checks started (callers that join a running check do not start one). */
  runs: number;
  /** Events re-hashed by them. */
  hashed: number;
}

/** Reads the audit log and checks its hash chain. */
export class AuditService {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #key: AuditKey;
  readonly #sliceSize: number;
  readonly #running = new Map<AuditCheckMode, Promise<AuditChainReport>>();
  #highestHead: number;
  #runs = 0;
  #hashed = 0;

  constructor(options: AuditServiceOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#key = options.key;
    this.#sliceSize = options.sliceSize ?? 500;
    this.#highestHead = options.headSeq ?? 0;
  }

  /** Checks started and events hashed since start-up. */
  get stats(): AuditCheckStats {
    return { runs: this.#runs, hashed: this.#hashed };
  }

  /**
   * Lists events in the order they were written, or newest first. A page's cursor is bound to the
   * listing's order and filters: another order or filter with it is a 400 INVALID_CURSOR.
   */
  async list(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEventView>> {
    const size = pageSize(page);
    const order = filter.order ?? 'asc';
    const listing: AuditListing = {
      order,
      filters: [filter.targetId, filter.action, filter.actor, filter.from, filter.to],
    };
    const events = await listAuditEvents(this.#store.db, {
      targetId: filter.targetId,
      action: filter.action,
      actor: filter.actor,
      fromAt: filter.from,
      toAt: filter.to,
      order,
      afterSeq: auditCursorSeq(listing, page.cursor),
      limit: size + 1,
    });
    return toPage(
      events,
      size,
      (e) => auditCursorKey(listing, e.seq),
      (e) => ({ ...e, at: iso(e.at) }),
    );
  }

  /**
   * Checks the chain (from the last keyed checkpoint, or all of it with `full`) in slices that let
   * other requests be served, and checks that it still reaches the sealed head. Concurrent callers
   * share the check in flight; an incremental caller also shares a full one.
   */
  verify(mode: AuditCheckMode = 'incremental'): Promise<AuditChainReport> {
    const shared = this.#running.get('full') ?? this.#running.get(mode);
    if (shared) return shared;
    const run = this.#check(mode).finally(() => this.#running.delete(mode));
    this.#running.set(mode, run);
    return run;
  }

  async #check(mode: AuditCheckMode): Promise<AuditChainReport> {
    this.#runs++;
    const report = await verifyAuditChain(this.#store.db, {
      key: this.#key,
      full: mode === 'full',
      sliceSize: this.#sliceSize,
      now: this.#clock.now(),
      ...(this.#highestHead > 0 && { minHeadSeq: this.#highestHead }),
      onSlice: (hashed) => {
        this.#hashed += hashed;
      },
    });
    if (report.ok && report.sealedSeq !== undefined) this.#highestHead = Math.max(this.#highestHead, report.sealedSeq);
    return report;
  }
}
