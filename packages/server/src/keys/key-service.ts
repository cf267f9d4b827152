import type { KeyStatus } from '@keyroll/core';
import { ApiError, type Clock, generateKey, missingScopes, newId } from '@keyroll/core';
import type { KeysTable, Store, Tx } from '@keyroll/storage';
import { type Page, type PageRequest, pageById } from '@keyroll/storage';
import type { QuotaSpec } from '@keyroll/verifier/internal';
import { assertLiveConsumer, ROOT_CONSUMER_ID } from '../consumers/consumer-service.js';
import { assertPlanExists } from '../plans/plan-service.js';
import { type Actor, actorName } from '../shared/actor.js';
import { type KeyView, keyView } from '../shared/records.js';
import {
  checkAllowedIps,
  checkFuture,
  checkScopes,
  metadataJson,
  parseRateLimit,
  type RateLimitInput,
} from '../shared/validate.js';
import { keyStatusIs } from './key-filters.js';
import { checkRootScopes } from './root-scopes.js';

/** Fields of a new key. */
export interface KeyInput {
  consumerId: string;
  name?: string | undefined;
  scopes?: string[] | undefined;
  /** Epoch ms. */
  expiresAt?: number | null | undefined;
  metadata?: Record<string, unknown> | undefined;
  allowedIps?: string[] | null | undefined;
  rateLimit?: RateLimitInput | null | undefined;
  quota?: QuotaSpec | null | undefined;
  /** The plan whose limits apply where the key sets none. */
  planId?: string | null | undefined;
}

/** Fields a PATCH may change. */
export type KeyPatch = Omit<Partial<KeyInput>, 'consumerId'>;

/** A key just issued: the secret, shown this once, and its view. */
export interface IssuedKey {
  key: string;
  view: KeyView;
}

/** Filters of a key listing. */
export interface KeyFilter {
  consumerId?: string | undefined;
  status?: KeyStatus | undefined;
}

/** What a {@link KeyService} needs. */
export interface KeyServiceOptions {
  store: Store;
  clock: Clock;
  maxActiveKeysPerConsumer: number;
  keyPrefix: string;
  rootKeyPrefix: string;
}

/** The key lifecycle: issue, list, read, change, revoke. Rotation lives in the rotation engine. */
export class KeyService {
  readonly #o: KeyServiceOptions;

  constructor(options: KeyServiceOptions) {
    this.#o = options;
  }

  /** Issues a new key for a consumer; the secret is returned here and never again. */
  async create(actor: Actor, input: KeyInput): Promise<IssuedKey> {
    const now = this.#o.clock.now();
    const scopes = checkScopes(input.scopes ?? []);
    if (input.expiresAt != null) checkFuture('expiresAt', input.expiresAt, now);
    this.assertMayGrant(actor, input.consumerId, scopes);
    return this.#o.store.mutate(async (tx) => {
      await assertLiveConsumer(tx.db, input.consumerId);
      await assertPlanExists(tx.db, input.planId);
      await this.assertBelowKeyLimit(tx, input.consumerId, now);
      const row = this.newKeyRow(input.consumerId, now, {
        name: input.name ?? 'default',
        scopes: JSON.stringify(scopes),
        metadata: metadataJson(input.metadata ?? {}),
        allowed_ips: input.allowedIps ? JSON.stringify(checkAllowedIps(input.allowedIps)) : null,
        rate_limit: input.rateLimit ? JSON.stringify(parseRateLimit(input.rateLimit)) : null,
        quota: input.quota ? JSON.stringify(input.quota) : null,
        expires_at: input.expiresAt ?? null,
        plan_id: input.planId ?? null,
      });
      const issued = await this.insertKey(tx, row.row, actor, 'key.created');
      return { key: row.key, view: issued };
    });
  }

  /** Builds the row of a new key (version 1 unless given) and its secret. */
  newKeyRow(
    consumerId: string,
    now: number,
    fields: Pick<KeysTable, 'name' | 'scopes' | 'metadata' | 'allowed_ips' | 'rate_limit' | 'quota' | 'expires_at'> &
      Partial<Pick<KeysTable, 'version' | 'predecessor_id' | 'plan_id'>>,
  ): { key: string; row: KeysTable } {
    const prefix = consumerId === ROOT_CONSUMER_ID ? this.#o.rootKeyPrefix : this.#o.keyPrefix;
    const generated = generateKey(prefix);
    return {
      key: generated.key,
      row: {
        id: newId('key', now),
        consumer_id: consumerId,
        hash: generated.hash,
        hint: generated.hint,
        prefix,
        version: 1,
        predecessor_id: null,
        // Decided by insertKey, from the predecessor when there is one.
        lineage_id: null,
        plan_id: null,
        created_at: now,
        updated_at: now,
        retires_at: null,
        revoked_at: null,
        revoke_reason: null,
        last_used_at: null,
        ...fields,
      },
    };
  }

  /** Inserts a key row with its change and audit entries; returns its view. */
  async insertKey(
    tx: Tx,
    row: KeysTable,
    actor: Actor,
    action: 'key.created',
    data: Record<string, unknown> = {},
  ): Promise<KeyView> {
    await tx.db
      .insertInto('keys')
      .values({ ...row, lineage_id: row.lineage_id ?? (await lineageOf(tx, row)) })
      .execute();
    await tx.change({ at: row.created_at, kind: action, entityId: row.id, keyHash: row.hash });
    await tx.audit({
      at: row.created_at,
      actor: actorName(actor),
      action,
      targetType: 'key',
      targetId: row.id,
      data: {
        consumerId: row.consumer_id,
        name: row.name,
        hint: row.hint,
        version: row.version,
        scopes: JSON.parse(row.scopes),
        ...data,
      },
    });
    return keyView(row, row.created_at);
  }

  /** 409 KEY_LIMIT_REACHED when the consumer already holds the most active keys allowed. */
  async assertBelowKeyLimit(tx: Tx, consumerId: string, now: number): Promise<void> {
    const { n } = await tx.db
      .selectFrom('keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('consumer_id', '=', consumerId)
      .where((eb) => keyStatusIs(eb, 'active', now))
      .executeTakeFirstOrThrow();
    if (Number(n) >= this.#o.maxActiveKeysPerConsumer) {
      throw new ApiError(
        'KEY_LIMIT_REACHED',
        `consumer ${consumerId} already holds ${n} active keys (the most allowed)`,
        {
          limit: this.#o.maxActiveKeysPerConsumer,
        },
      );
    }
  }

  /** Lists keys, oldest first, filtered by consumer and status. */
  async list(filter: KeyFilter, page: PageRequest): Promise<Page<KeyView>> {
    const now = this.#o.clock.now();
    let q = this.#o.store.db.selectFrom('keys').selectAll();
    if (filter.consumerId) q = q.where('consumer_id', '=', filter.consumerId);
    if (filter.status) {
      const status = filter.status;
      q = q.where((eb) => keyStatusIs(eb, status, now));
    }
    return pageById(q, page, (r) => keyView(r, now));
  }

  /** One key; 404 when unknown. */
  async get(id: string): Promise<KeyView> {
    return keyView(await this.row(this.#o.store.db, id), this.#o.clock.now());
  }

  /** The stored row of a key; 404 when unknown. */
  async row(db: Store['db'], id: string): Promise<KeysTable> {
    const row = await db.selectFrom('keys').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new ApiError('NOT_FOUND', `key ${id} not found`);
    return row;
  }

  /** Changes a key's name, scopes, metadata, expiry, allow-list or limits. */
  async update(actor: Actor, id: string, patch: KeyPatch): Promise<KeyView> {
    const now = this.#o.clock.now();
    const scopes = patch.scopes !== undefined ? checkScopes(patch.scopes) : undefined;
    if (patch.expiresAt != null) checkFuture('expiresAt', patch.expiresAt, now);
    return this.#o.store.mutate(async (tx) => {
      const current = await this.row(tx.db, id);
      if (current.revoked_at !== null || (current.retires_at !== null && current.retires_at <= now)) {
        throw new ApiError('KEY_NOT_ACTIVE', `key ${id} is ${keyView(current, now).status} and cannot be changed`);
      }
      this.assertMayGrant(actor, current.consumer_id, JSON.parse(current.scopes));
      if (scopes) this.assertMayGrant(actor, current.consumer_id, scopes);
      // Taking `*` away from the last root key holding it locks everyone out, just like revoking it.
      if (scopes && !scopes.includes('*') && current.consumer_id === ROOT_CONSUMER_ID) {
        if ((JSON.parse(current.scopes) as string[]).includes('*')) await this.assertAnotherRootKey(tx, id, now);
      }
      const set: Partial<KeysTable> = {
        updated_at: now,
        ...(patch.name !== undefined && { name: patch.name }),
        ...(scopes !== undefined && { scopes: JSON.stringify(scopes) }),
        ...(patch.metadata !== undefined && { metadata: metadataJson(patch.metadata) }),
        ...(patch.expiresAt !== undefined && { expires_at: patch.expiresAt }),
        ...(patch.allowedIps !== undefined && {
          allowed_ips: patch.allowedIps ? JSON.stringify(checkAllowedIps(patch.allowedIps)) : null,
        }),
        ...(patch.rateLimit !== undefined && {
          rate_limit: patch.rateLimit ? JSON.stringify(parseRateLimit(patch.rateLimit)) : null,
        }),
        ...(patch.quota !== undefined && { quota: patch.quota ? JSON.stringify(patch.quota) : null }),
        ...(patch.planId !== undefined && { plan_id: patch.planId }),
      };
      await assertPlanExists(tx.db, patch.planId);
      await tx.db.updateTable('keys').set(set).where('id', '=', id).execute();
      await tx.change({ at: now, kind: 'key.updated', entityId: id, keyHash: current.hash });
      await tx.audit({
        at: now,
        actor: actorName(actor),
        action: 'key.updated',
        targetType: 'key',
        targetId: id,
        data: { consumerId: current.consumer_id, fields: Object.keys(patch) },
      });
      return keyView({ ...current, ...set }, now);
    });
  }

  /** Revokes a key at once. The last usable root key cannot be revoked (that would lock everyone out). */
  async revoke(actor: Actor, id: string, reason: string | undefined): Promise<KeyView> {
    const now = this.#o.clock.now();
    return this.#o.store.mutate(async (tx) => {
      const current = await this.row(tx.db, id);
      if (current.revoked_at !== null) throw new ApiError('KEY_NOT_ACTIVE', `key ${id} is already revoked`);
      this.assertMayGrant(actor, current.consumer_id, JSON.parse(current.scopes));
      if (current.consumer_id === ROOT_CONSUMER_ID) await this.assertAnotherRootKey(tx, id, now);
      await this.revokeInTx(tx, current, now, reason ?? 'revoked', actor);
      return keyView({ ...current, revoked_at: now, revoke_reason: reason ?? 'revoked', updated_at: now }, now);
    });
  }

  /** Revokes a key row inside a running mutation, with its change and audit entries. */
  async revokeInTx(tx: Tx, key: KeysTable, now: number, reason: string, actor: Actor): Promise<void> {
    await tx.db
      .updateTable('keys')
      .set({ revoked_at: now, revoke_reason: reason, updated_at: now })
      .where('id', '=', key.id)
      .execute();
    await tx.change({ at: now, kind: 'key.revoked', entityId: key.id, keyHash: key.hash });
    await tx.audit({
      at: now,
      actor: actorName(actor),
      action: 'key.revoked',
      targetType: 'key',
      targetId: key.id,
      data: { consumerId: key.consumer_id, reason },
    });
  }

  /**
   * 400 for scopes no root key can hold; 403 when a root key would grant a root key scopes it does not
   * hold itself — also checked against the scopes a root key already has before it is changed, revoked
   * or rotated, so that a narrow root key can neither lock out nor inherit a stronger one.
   */
  assertMayGrant(actor: Actor, consumerId: string, scopes: readonly string[]): void {
    if (consumerId !== ROOT_CONSUMER_ID) return;
    checkRootScopes(scopes);
    const beyond = missingScopes(actor.scopes, scopes);
    if (beyond.length > 0) {
      throw new ApiError('FORBIDDEN', `a root key cannot grant scopes it does not hold: ${beyond.join(', ')}`, {
        scopes: beyond,
      });
    }
  }

  /** 409 unless a usable root key with `*` other than `except` exists (so that nobody is locked out). */
  async assertAnotherRootKey(tx: Tx, except: string, now: number): Promise<void> {
    const others = await tx.db
      .selectFrom('keys')
      .select('scopes')
      .where('consumer_id', '=', ROOT_CONSUMER_ID)
      .where('id', '!=', except)
      .where((eb) => eb.or([keyStatusIs(eb, 'active', now), keyStatusIs(eb, 'deprecated', now)]))
      .execute();
    if (!others.some((k) => (JSON.parse(k.scopes) as string[]).includes('*'))) {
      throw new ApiError(
        'CONFLICT',
        'this is the last usable root key with scope *; create another before revoking it or taking * away',
      );
    }
  }
}

/** The lineage a new key joins: its predecessor's (rate limits and quotas count per lineage), else its own. */
async function lineageOf(tx: Tx, row: KeysTable): Promise<string> {
  if (row.predecessor_id === null) return row.id;
  const predecessor = await tx.db
    .selectFrom('keys')
    .select('lineage_id')
    .where('id', '=', row.predecessor_id)
    .executeTakeFirst();
  return predecessor?.lineage_id ?? row.predecessor_id;
}
