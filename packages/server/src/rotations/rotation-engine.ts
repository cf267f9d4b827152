import {
  ApiError,
  type Clock,
  orThrow,
  type RetireRule,
  type RotationRecord,
  type RotationState,
  refusalError,
  selfRotationGraceMs,
  selfRotationsRollingRefusal,
  selfRotationsTodayRefusal,
} from '@keyroll/core';
import {
  countRollingSelfRotations,
  findRollingRotationOfKey,
  findUnrevokedKeys,
  listRotations,
  type Page,
  type PageRequest,
  type Store,
  type Tx,
} from '@keyroll/storage';
import { assertLiveConsumer, ROOT_CONSUMER_ID } from '../consumers/consumer-service.js';
import type { IssuedKey, KeyService } from '../keys/key-service.js';
import type { Actor } from '../shared/actor.js';
import { statusOf } from './rotation-keys.js';
import { onReuseOf, type RotationPolicyService } from './rotation-policies.js';
import { type RetireSpec, retireRule } from './rotation-retire.js';
import { RotationSteps, type SuccessorOverrides } from './rotation-steps.js';
import { type RotationView, rotationProgress, rotationView } from './rotation-view.js';
import { selfRotationsToday } from './self-rotation-cap.js';

/** A rotation request. */
export interface RotateInput {
  /** 0 is the emergency rollover. */
  graceMs: number;
  retire?: RetireSpec | undefined;
  /** Revocation reason of an emergency rollover. */
  reason?: string | undefined;
  overrides?: SuccessorOverrides | undefined;
}

/** A rotation that issued its successor: the secret (shown this once), its id and the rotation. */
export interface RotationResult {
  key: string;
  newKeyId: string;
  rotation: RotationView;
}

/** Filters of a rotation listing. */
export interface RotationFilter {
  state?: RotationState | undefined;
  consumerId?: string | undefined;
  keyId?: string | undefined;
}

/** What a {@link RotationEngine} needs. */
export interface RotationEngineOptions {
  store: Store;
  clock: Clock;
  keys: KeyService;
  policies: RotationPolicyService;
  /** Longest grace period a consumer may ask for when rotating its own key. */
  selfRotateMaxGraceMs: number;
  /** Most self-rotations of one consumer rolling at once. */
  maxSelfRotations: number;
  /** Most self-rotations one consumer may start per 24 hours, completed ones included. */
  selfRotationsPerDay: number;
}

/**
 * Rotations: replace a key by a successor with an overlap window, roll back, complete, extend,
 * claim a server-issued successor. Every step is one serialised transaction that re-checks state.
 */
export class RotationEngine {
  readonly #o: RotationEngineOptions;
  /** The transaction-level steps, shared with the scheduler. */
  readonly steps: RotationSteps;

  constructor(options: RotationEngineOptions) {
    this.#o = options;
    this.steps = new RotationSteps(options.keys);
  }

  /** Rotates an active key; the successor's secret is in the result, and nowhere else. */
  async rotate(
    actor: Actor,
    keyId: string,
    input: RotateInput,
    origin: 'admin' | 'self' = 'admin',
  ): Promise<RotationResult> {
    const now = this.#o.clock.now();
    const rule = this.#rule(input);
    const started = await this.#o.store.mutate(async (tx) => {
      const old = await this.steps.key(tx.db, keyId);
      if (origin === 'self') {
        await this.#assertSelfRotationsBelowLimit(tx, old.consumerId);
        const recent = await selfRotationsToday(tx, old.consumerId, now, this.#o.selfRotationsPerDay);
        const refused = selfRotationsTodayRefusal(recent, now, this.#o.selfRotationsPerDay);
        if (refused) throw refusalError(refused);
      }
      const policy = await this.#o.policies.effective(tx.db, old.consumerId);
      return this.steps.start(tx, actor, old, now, {
        graceMs: input.graceMs,
        rule,
        origin,
        onReuse: onReuseOf(policy),
        reason: input.reason,
        issueNow: true,
        overrides: input.overrides,
      });
    });
    return this.#result(started.rotation, started.issued);
  }

  /**
   * Each self-rotation leaves one more key valid for its grace period: a consumer may have at most
   * `maxSelfRotations` of them rolling at once, or a loop of self-rotations would mint valid keys.
   */
  async #assertSelfRotationsBelowLimit(tx: Tx, consumerId: string): Promise<void> {
    const n = await countRollingSelfRotations(tx.db, consumerId);
    const refused = selfRotationsRollingRefusal(consumerId, n, this.#o.maxSelfRotations);
    if (refused) throw refusalError(refused);
  }

  /** Rotates every active key of a consumer in one transaction (incident response). */
  async rollover(actor: Actor, consumerId: string, input: Omit<RotateInput, 'overrides'>): Promise<RotationResult[]> {
    const now = this.#o.clock.now();
    const rule = this.#rule(input);
    const started = await this.#o.store.mutate(async (tx) => {
      await assertLiveConsumer(tx.db, consumerId);
      const policy = await this.#o.policies.effective(tx.db, consumerId);
      const keys = await findUnrevokedKeys(tx.db, consumerId);
      const out = [];
      for (const old of keys.filter((k) => statusOf(k, now) === 'active')) {
        out.push(
          await this.steps.start(tx, actor, old, now, {
            graceMs: input.graceMs,
            rule,
            origin: 'rollover',
            onReuse: onReuseOf(policy),
            reason: input.reason,
            issueNow: true,
          }),
        );
      }
      return out;
    });
    return Promise.all(started.map((s) => this.#result(s.rotation, s.issued)));
  }

  /** Rolls a rolling rotation back: the old key is active again, the successor revoked. */
  rollback(actor: Actor, id: string): Promise<RotationView> {
    return this.#step(actor, id, (tx, row, now) => this.steps.rollback(tx, actor, row, now));
  }

  /** Retires the old key now; needs a usable successor. */
  complete(actor: Actor, id: string): Promise<RotationView> {
    return this.#step(actor, id, (tx, row, now) => this.steps.complete(tx, actor, row, now, 'operator'));
  }

  /** Pushes the old key's deadline back by `byMs` (never past its own expiry). */
  extend(actor: Actor, id: string, byMs: number): Promise<RotationView> {
    if (byMs <= 0) throw new ApiError('VALIDATION_FAILED', 'by: must be longer than 0', { field: 'by' });
    return this.#step(actor, id, (tx, row, now) => this.steps.extend(tx, actor, row, now, byMs));
  }

  /** One rotation with its progress; 404 when unknown. */
  async get(id: string): Promise<RotationView> {
    return this.view(await this.steps.rotation(this.#o.store.db, id));
  }

  /** Rotations, oldest first, filtered by state, consumer and key (old or new). */
  async list(filter: RotationFilter, page: PageRequest): Promise<Page<RotationView>> {
    const rows = await listRotations(this.#o.store.db, filter, page);
    return { data: await Promise.all(rows.data.map((r) => this.view(r))), nextCursor: rows.nextCursor };
  }

  /**
   * Hands the successor of a server-initiated rotation to the holder of the old key, once. A second
   * claim is recorded as a possible leak and answered 409 (after the record commits); with the
   * policy's `onReuse: revoke` the old key and the successor are revoked as well.
   */
  async claim(actor: Actor, oldKeyId: string): Promise<RotationResult> {
    const now = this.#o.clock.now();
    const outcome = await this.#o.store.mutate(async (tx) => {
      const row = await findRollingRotationOfKey(tx.db, oldKeyId);
      if (!row) throw new ApiError('NOT_FOUND', 'no successor awaits this key');
      return this.steps.claim(tx, actor, row, now);
    });
    if (outcome.kind === 'reused') {
      throw new ApiError(
        'SUCCESSOR_ALREADY_CLAIMED',
        outcome.revoked
          ? 'the successor was already claimed; this key and its successor are now revoked'
          : 'the successor was already claimed',
        { rotationId: outcome.row.id, revoked: outcome.revoked },
      );
    }
    return this.#result(outcome.row, outcome.issued);
  }

  /**
   * An operator claims the policy successor of a root key (root keys have no self-service); the
   * actor must hold every scope of the old key. A consumer's successor goes only to its holder (403).
   */
  async claimRootSuccessor(actor: Actor, oldKeyId: string): Promise<RotationResult> {
    const old = await this.steps.key(this.#o.store.db, oldKeyId);
    if (old.consumerId !== ROOT_CONSUMER_ID) {
      throw new ApiError('FORBIDDEN', "only a root key's successor is claimed here; a consumer claims its own");
    }
    this.#o.keys.assertMayGrant(actor, old.consumerId, old.scopes);
    return this.claim(actor, oldKeyId);
  }

  /**
   * A consumer rotates the key it authenticated with. The grace period is the request's, else the
   * consumer's policy's, else core's `DEFAULT_SELF_GRACE_MS`; a request beyond the server maximum is 400.
   */
  async selfRotate(actor: Actor, keyId: string, graceMs: number | undefined): Promise<RotationResult> {
    let policyGraceMs: number | undefined;
    if (graceMs === undefined) {
      const key = await this.steps.key(this.#o.store.db, keyId);
      policyGraceMs = (await this.#o.policies.effective(this.#o.store.db, key.consumerId))?.graceMs;
    }
    const grace = orThrow(selfRotationGraceMs(graceMs, policyGraceMs, this.#o.selfRotateMaxGraceMs));
    return this.rotate(actor, keyId, { graceMs: grace }, 'self');
  }

  /** The API view of a rotation. */
  async view(row: RotationRecord): Promise<RotationView> {
    return rotationView(row, await rotationProgress(this.#o.store.db, row));
  }

  #rule(input: Pick<RotateInput, 'graceMs' | 'retire'>): RetireRule {
    if (input.graceMs === 0 && input.retire && input.retire.mode !== 'deadline') {
      throw new ApiError('VALIDATION_FAILED', 'retire: an emergency rollover (gracePeriod 0) has no grace window', {
        field: 'retire',
      });
    }
    return retireRule(input.graceMs === 0 ? undefined : input.retire, input.graceMs);
  }

  /** Runs an operator step; a root key may only steer rotations of root keys whose scopes it holds itself. */
  async #step(
    actor: Actor,
    id: string,
    fn: (tx: Tx, row: RotationRecord, now: number) => Promise<void>,
  ): Promise<RotationView> {
    const now = this.#o.clock.now();
    await this.#o.store.mutate(async (tx) => {
      const row = await this.steps.rotation(tx.db, id);
      const old = await this.steps.key(tx.db, row.oldKeyId);
      this.#o.keys.assertMayGrant(actor, old.consumerId, old.scopes);
      await fn(tx, row, now);
    });
    return this.get(id);
  }

  async #result(row: RotationRecord, issued: IssuedKey | null): Promise<RotationResult> {
    if (!issued) throw new Error('rotation started without a successor');
    return { key: issued.key, newKeyId: issued.view.id, rotation: await this.view(row) };
  }
}
