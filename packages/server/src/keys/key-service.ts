import { ApiError, type Clock, generateKey, missingScopes, newId } from '@keyroll/core';
import {
  countKeysWithStatus,
  type Db,
  findKeyById,
  findUsableKeys,
  insertKey,
  type KeyChanges,
  type KeyListFilter,
  type KeyRecord,
  listKeys,
  type NewKey,
  type Page,
  type PageRequest,
  revokeKey,
  type Store,
  type Tx,
  updateKey,
} from '@keyroll/storage';
import { assertLiveConsumer, ROOT_CONSUMER_ID } from '../consumers/consumer-service.js';
import { assertPlanExists } from '../plans/plan-service.js';
import { type Actor, actorName } from '../shared/actor.js';
import { type KeyView, keyRecordView } from '../shared/records.js';
import {
  checkAllowedIps,
  checkFuture,
  checkMetadata,
  checkScopes,
  parseQuota,
  parseRateLimit,
  type QuotaInput,
  type RateLimitInput,
} from '../shared/validate.js';
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
  quota?: QuotaInput | null | undefined;
  /** The plan whose limits apply where the key sets none. */
  planId?: string | null | undefined;
}

/** Fields of a new key that {@link KeyService.newKey} does not decide itself. */
export type NewKeyFields = Partial<
  Pick<
    NewKey,
    | 'name'
    | 'scopes'
    | 'metadata'
    | 'allowedIps'
    | 'rateLimit'
    | 'quota'
    | 'expiresAt'
    | 'planId'
    | 'version'
    | 'predecessorId'
  >
>;

/** Fields a PATCH may change. */
export type KeyPatch = Omit<Partial<KeyInput>, 'consumerId'>;

/** A key just issued: the secret, shown this once, and its view. */
export interface IssuedKey {
  key: string;
  view: KeyView;
}

/** Filters of a key listing: one consumer's keys, keys with a status now. */
export type KeyFilter = KeyListFilter;

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
    const { key, record } = this.newKey(input.consumerId, now, {
      ...(input.name !== undefined && { name: input.name }),
      scopes,
      metadata: checkMetadata(input.metadata ?? {}),
      allowedIps: input.allowedIps ? checkAllowedIps(input.allowedIps) : null,
      rateLimit: input.rateLimit ? parseRateLimit(input.rateLimit) : null,
      quota: input.quota ? parseQuota(input.quota) : null,
      expiresAt: input.expiresAt ?? null,
      planId: input.planId ?? null,
    });
    return this.#o.store.mutate(async (tx) => {
      await assertLiveConsumer(tx.db, input.consumerId);
      await assertPlanExists(tx.db, input.planId);
      await this.assertBelowKeyLimit(tx, input.consumerId, now);
      const issued = await insertKey(tx, record, { at: now, actor: actorName(actor) });
      return { key, view: keyRecordView(issued, now) };
    });
  }

  /** A new key (version 1 named `default` with no scopes, metadata or limits unless given) and its secret. */
  newKey(consumerId: string, now: number, fields: NewKeyFields = {}): { key: string; record: NewKey } {
    const prefix = consumerId === ROOT_CONSUMER_ID ? this.#o.rootKeyPrefix : this.#o.keyPrefix;
    const generated = generateKey(prefix);
    return {
      key: generated.key,
      record: {
        id: newId('key', now),
        consumerId,
        name: 'default',
        hash: generated.hash,
        hint: generated.hint,
        prefix,
        version: 1,
        predecessorId: null,
        scopes: [],
        metadata: {},
        allowedIps: null,
        rateLimit: null,
        quota: null,
        planId: null,
        createdAt: now,
        updatedAt: now,
        expiresAt: null,
        retiresAt: null,
        revokedAt: null,
        revokeReason: null,
        lastUsedAt: null,
        ...fields,
      },
    };
  }

  /** 409 KEY_LIMIT_REACHED when the consumer already holds the most active keys allowed. */
  async assertBelowKeyLimit(tx: Tx, consumerId: string, now: number): Promise<void> {
    const n = await countKeysWithStatus(tx.db, consumerId, 'active', now);
    if (n >= this.#o.maxActiveKeysPerConsumer) {
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
    const found = await listKeys(this.#o.store.db, this.#o.store.dialect, filter, page, now);
    return { ...found, data: found.data.map((k) => keyRecordView(k, now)) };
  }

  /** One key; 404 when unknown. */
  async get(id: string): Promise<KeyView> {
    return keyRecordView(await this.#find(this.#o.store.db, id), this.#o.clock.now());
  }

  /** The stored record of a key, read through `db` (a running mutation's, say); 404 when unknown. */
  record(db: Db, id: string): Promise<KeyRecord> {
    return this.#find(db, id);
  }

  async #find(db: Db, id: string): Promise<KeyRecord> {
    const key = await findKeyById(db, id);
    if (!key) throw notFound(id);
    return key;
  }

  /** Changes a key's name, scopes, metadata, expiry, allow-list or limits. */
  async update(actor: Actor, id: string, patch: KeyPatch): Promise<KeyView> {
    const now = this.#o.clock.now();
    const scopes = patch.scopes !== undefined ? checkScopes(patch.scopes) : undefined;
    if (patch.expiresAt != null) checkFuture('expiresAt', patch.expiresAt, now);
    const changes: KeyChanges = {
      ...(patch.name !== undefined && { name: patch.name }),
      ...(scopes !== undefined && { scopes }),
      ...(patch.metadata !== undefined && { metadata: checkMetadata(patch.metadata) }),
      ...(patch.expiresAt !== undefined && { expiresAt: patch.expiresAt }),
      ...(patch.allowedIps !== undefined && {
        allowedIps: patch.allowedIps ? checkAllowedIps(patch.allowedIps) : null,
      }),
      ...(patch.rateLimit !== undefined && { rateLimit: patch.rateLimit ? parseRateLimit(patch.rateLimit) : null }),
      ...(patch.quota !== undefined && { quota: patch.quota ? parseQuota(patch.quota) : null }),
      ...(patch.planId !== undefined && { planId: patch.planId }),
    };
    return this.#o.store.mutate(async (tx) => {
      const current = await this.#find(tx.db, id);
      if (current.revokedAt !== null || (current.retiresAt !== null && current.retiresAt <= now)) {
        throw new ApiError(
          'KEY_NOT_ACTIVE',
          `key ${id} is ${keyRecordView(current, now).status} and cannot be changed`,
        );
      }
      this.assertMayGrant(actor, current.consumerId, current.scopes);
      if (scopes) this.assertMayGrant(actor, current.consumerId, scopes);
      // Taking `*` away from the last root key holding it locks everyone out, just like revoking it.
      if (scopes && !scopes.includes('*') && current.consumerId === ROOT_CONSUMER_ID) {
        if (current.scopes.includes('*')) await this.assertAnotherRootKey(tx, id, now);
      }
      await assertPlanExists(tx.db, patch.planId);
      const updated = await updateKey(tx, current, changes, {
        at: now,
        actor: actorName(actor),
        data: { fields: Object.keys(patch) },
      });
      return keyRecordView(updated, now);
    });
  }

  /** Revokes a key at once. The last usable root key cannot be revoked (that would lock everyone out). */
  async revoke(actor: Actor, id: string, reason: string | undefined): Promise<KeyView> {
    const now = this.#o.clock.now();
    return this.#o.store.mutate(async (tx) => {
      const current = await this.#find(tx.db, id);
      if (current.revokedAt !== null) throw new ApiError('KEY_NOT_ACTIVE', `key ${id} is already revoked`);
      this.assertMayGrant(actor, current.consumerId, current.scopes);
      if (current.consumerId === ROOT_CONSUMER_ID) await this.assertAnotherRootKey(tx, id, now);
      const revokeReason = reason ?? 'revoked';
      await revokeKey(tx, current, revokeReason, { at: now, actor: actorName(actor) });
      return keyRecordView({ ...current, revokedAt: now, revokeReason, updatedAt: now }, now);
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
    const others = await findUsableKeys(tx.db, ROOT_CONSUMER_ID, now, { except });
    if (!others.some((k) => k.scopes.includes('*'))) {
      throw new ApiError(
        'CONFLICT',
        'this is the last usable root key with scope *; create another before revoking it or taking * away',
      );
    }
  }
}

function notFound(id: string): ApiError {
  return new ApiError('NOT_FOUND', `key ${id} not found`);
}
