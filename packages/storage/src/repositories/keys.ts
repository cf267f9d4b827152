import type { KeyStatus } from '@keyroll/core';
import type { DialectName } from '../dialect.js';
import { type Page, type PageRequest, pageById } from '../pagination.js';
import type { KeysTable } from '../schema.js';
import type { Db } from '../store.js';
import { readJson, readJsonOrNull } from './json-columns.js';
import { keyIsUsable, keyStatusIs } from './key-status-filter.js';
import type { QuotaSpec, RateLimitSpec } from './limit-specs.js';
import { columnContains, containsPattern } from './text-search.js';

/** A stored key with its JSON columns decoded. Never the secret: only its SHA-256 (`hash`). */
export interface KeyRecord {
  id: string;
  consumerId: string;
  name: string;
  /** SHA-256 of the secret. */
  hash: string;
  /** Display fragment of the secret. */
  hint: string;
  prefix: string;
  version: number;
  predecessorId: string | null;
  /** The first key of this key's rotation chain (rate limits and quotas count per lineage). */
  lineageId: string;
  scopes: string[];
  metadata: Record<string, unknown>;
  /** CIDRs or addresses the key may be used from; `null` for anywhere. */
  allowedIps: string[] | null;
  rateLimit: RateLimitSpec | null;
  quota: QuotaSpec | null;
  planId: string | null;
  /** Epoch ms, as every time below. */
  createdAt: number;
  updatedAt: number;
  expiresAt: number | null;
  retiresAt: number | null;
  revokedAt: number | null;
  revokeReason: string | null;
  lastUsedAt: number | null;
}

/** Decodes a `keys` row. A row older than the lineage column (0009) is its own lineage. */
export function decodeKey(row: KeysTable): KeyRecord {
  return {
    id: row.id,
    consumerId: row.consumer_id,
    name: row.name,
    hash: row.hash,
    hint: row.hint,
    prefix: row.prefix,
    version: row.version,
    predecessorId: row.predecessor_id,
    lineageId: row.lineage_id ?? row.id,
    scopes: readJson(row.scopes),
    metadata: readJson(row.metadata),
    allowedIps: readJsonOrNull(row.allowed_ips),
    rateLimit: readJsonOrNull(row.rate_limit),
    quota: readJsonOrNull(row.quota),
    planId: row.plan_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    retiresAt: row.retires_at,
    revokedAt: row.revoked_at,
    revokeReason: row.revoke_reason,
    lastUsedAt: row.last_used_at,
  };
}

/** The key with this id, or `undefined`. */
export async function findKeyById(db: Db, id: string): Promise<KeyRecord | undefined> {
  const row = await db.selectFrom('keys').selectAll().where('id', '=', id).executeTakeFirst();
  return row && decodeKey(row);
}

/** The key whose secret has this SHA-256, or `undefined`. */
export async function findKeyByHash(db: Db, hash: string): Promise<KeyRecord | undefined> {
  const row = await db.selectFrom('keys').selectAll().where('hash', '=', hash).executeTakeFirst();
  return row && decodeKey(row);
}

/** Filters of a key listing: one consumer's keys, keys with a status at the listing's `now`, a search. */
export interface KeyListFilter {
  consumerId?: string | undefined;
  status?: KeyStatus | undefined;
  /**
   * Text found, ignoring case, in the key's name, hint or id, or in its consumer's name or external
   * id (`%` and `_` match themselves).
   */
  q?: string | undefined;
}

/** One page of keys, oldest first, with their status judged at `now`. */
export function listKeys(
  db: Db,
  dialect: DialectName,
  filter: KeyListFilter,
  page: PageRequest,
  now: number,
): Promise<Page<KeyRecord>> {
  let q = db.selectFrom('keys').selectAll();
  if (filter.consumerId) q = q.where('consumer_id', '=', filter.consumerId);
  const status = filter.status;
  if (status) q = q.where((eb) => keyStatusIs(eb, status, now));
  if (filter.q) {
    const pattern = containsPattern(filter.q);
    q = q.where((eb) =>
      eb.or([
        columnContains(dialect, 'keys.name', pattern),
        columnContains(dialect, 'keys.hint', pattern),
        columnContains(dialect, 'keys.id', pattern),
        eb.exists(
          eb
            .selectFrom('consumers')
            .select('consumers.id')
            .whereRef('consumers.id', '=', 'keys.consumer_id')
            .where((c) =>
              c.or([
                columnContains(dialect, 'consumers.name', pattern),
                columnContains(dialect, 'consumers.external_id', pattern),
              ]),
            ),
        ),
      ]),
    );
  }
  return pageById(q, page, decodeKey);
}

/** How many keys of a consumer have `status` at `now`. */
export async function countKeysWithStatus(db: Db, consumerId: string, status: KeyStatus, now: number): Promise<number> {
  const { n } = await db
    .selectFrom('keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('consumer_id', '=', consumerId)
    .where((eb) => keyStatusIs(eb, status, now))
    .executeTakeFirstOrThrow();
  return Number(n);
}

/** Whether a consumer has ever held a key (revoked ones included). */
export async function consumerHasHadKeys(db: Db, consumerId: string): Promise<boolean> {
  const row = await db
    .selectFrom('keys')
    .select('id')
    .where('consumer_id', '=', consumerId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Which usable keys {@link findUsableKeys} leaves out. */
export interface UsableKeyExclusions {
  /** This key. */
  except: string;
  /** Successors (keys with a predecessor) created at this instant: issued by the write under way. */
  successorsCreatedAt?: number;
}

/** A consumer's keys that are usable (active or deprecated) at `now`, but the excluded ones. */
export async function findUsableKeys(
  db: Db,
  consumerId: string,
  now: number,
  exclude: UsableKeyExclusions,
): Promise<KeyRecord[]> {
  let q = db
    .selectFrom('keys')
    .selectAll()
    .where('consumer_id', '=', consumerId)
    .where('id', '!=', exclude.except)
    .where((eb) => keyIsUsable(eb, now));
  const issuedAt = exclude.successorsCreatedAt;
  if (issuedAt !== undefined) {
    q = q.where((eb) => eb.or([eb('predecessor_id', 'is', null), eb('created_at', '<', issuedAt)]));
  }
  return (await q.execute()).map(decodeKey);
}

/** A consumer's keys that are not revoked (expired and retired ones included), oldest first. */
export async function findUnrevokedKeys(db: Db, consumerId: string): Promise<KeyRecord[]> {
  const rows = await db
    .selectFrom('keys')
    .selectAll()
    .where('consumer_id', '=', consumerId)
    .where('revoked_at', 'is', null)
    .orderBy('id')
    .execute();
  return rows.map(decodeKey);
}
