import { ApiError } from '@keyroll/core';
import { type AuditChainReport, type Store, verifyAuditChain } from '@keyroll/storage';
import { decodeCursor, type Page, type PageRequest, pageSize, toPage } from './pagination.js';
import { iso } from './records.js';

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

/** Filters of an audit listing. */
export interface AuditFilter {
  targetId?: string | undefined;
  action?: string | undefined;
}

/** Reads the audit log and checks its hash chain. */
export class AuditService {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Lists events in the order they were written. */
  async list(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEventView>> {
    const size = pageSize(page);
    const after = decodeCursor(page.cursor);
    if (after !== undefined && !/^\d{1,15}$/.test(after)) throw new ApiError('INVALID_CURSOR', 'cursor is not valid');
    let q = this.#store.db.selectFrom('audit_events').selectAll();
    if (filter.targetId) q = q.where('target_id', '=', filter.targetId);
    if (filter.action) q = q.where('action', '=', filter.action);
    if (after !== undefined) q = q.where('seq', '>', Number(after));
    const rows = await q
      .orderBy('seq')
      .limit(size + 1)
      .execute();
    return toPage(
      rows,
      size,
      (r) => String(r.seq),
      (r) => ({
        id: r.id,
        seq: r.seq,
        at: iso(r.at),
        actor: r.actor,
        action: r.action,
        targetType: r.target_type,
        targetId: r.target_id,
        data: JSON.parse(r.data),
        hash: r.hash,
        prevHash: r.prev_hash,
      }),
    );
  }

  /** Walks the whole chain; reports the first broken event. */
  verify(): Promise<AuditChainReport> {
    return verifyAuditChain(this.#store.db);
  }
}
