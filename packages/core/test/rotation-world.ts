import {
  type Effects,
  isRefusal,
  isUsableKey,
  type Refusal,
  type RetireRule,
  type RotationDecision,
  type RotationKey,
  type RotationRecord,
  type RotationSnapshot,
  type StartDecision,
  successorExpiresAt,
} from '../src/index.js';

/** A key of the in-memory world, with the lineage it belongs to. */
export interface WorldKey extends RotationKey {
  lineage: string;
  revokeReason: string | null;
}

/** A consumer's policy in the world. */
export interface WorldPolicy {
  everyMs: number;
  graceMs: number;
  rule: RetireRule;
  onReuse: 'reject' | 'revoke';
}

/**
 * An in-memory store for core's rotation machine: keys, rotations, the successors' first use and a
 * clock. It applies decisions as the server persists them and checks that a step only writes about
 * keys it read, that every key patch comes with its change-log entry and that every step is audited.
 */
export class RotationWorld {
  now: number;
  readonly keys = new Map<string, WorldKey>();
  readonly rotations: RotationRecord[] = [];
  readonly firstUse = new Map<string, number>();
  readonly policy: WorldPolicy | null;
  #ids = 0;

  constructor(now: number, policy: WorldPolicy | null) {
    this.now = now;
    this.policy = policy;
  }

  /** A new id of `kind`. */
  id(kind: string): string {
    return `${kind}_${++this.#ids}`;
  }

  /** Adds a key (`lifetimeMs`: its expiry from now) starting a lineage of its own. */
  addKey(lifetimeMs: number | null): WorldKey {
    const id = this.id('key');
    const key: WorldKey = {
      id,
      consumerId: 'csm_1',
      createdAt: this.now,
      expiresAt: lifetimeMs === null ? null : this.now + lifetimeMs,
      retiresAt: null,
      revokedAt: null,
      lastUsedAt: null,
      lineage: id,
      revokeReason: null,
    };
    this.keys.set(id, key);
    return key;
  }

  /** Keys in creation order. */
  keyList(): WorldKey[] {
    return [...this.keys.values()];
  }

  /** The snapshot of a rotation, as the server reads it. */
  snapshot(rotation: RotationRecord, actor: string): RotationSnapshot {
    return {
      rotation: { ...rotation, extensions: [...rotation.extensions] },
      old: this.key(rotation.oldKeyId),
      successor: rotation.newKeyId === null ? null : this.key(rotation.newKeyId),
      now: this.now,
      actor,
    };
  }

  /** A copy of a key; throws when unknown. */
  key(id: string): WorldKey {
    const key = this.keys.get(id);
    if (!key) throw new Error(`no key ${id}`);
    return { ...key };
  }

  /** The rolling rotation of an old key, as a claim looks it up. */
  rollingOf(oldKeyId: string): RotationRecord | undefined {
    return this.rotations.find((r) => r.oldKeyId === oldKeyId && r.state === 'rolling');
  }

  /** Persists a start: the rotation, its successor when issued, and the effects. */
  applyStart(d: StartDecision): void {
    this.rotations.push({ ...d.rotation, extensions: [...d.rotation.extensions] });
    if (d.rotation.newKeyId !== null) this.#issue(d.rotation.oldKeyId, d.rotation.newKeyId);
    this.#effects(d, [d.rotation.oldKeyId, d.rotation.newKeyId]);
  }

  /** Persists a decision on rotation `id`; `successorId` is issued first when the decision hands it out. */
  apply(id: string, d: RotationDecision, successorId: string | null = null): void {
    const rotation = this.rotations.find((r) => r.id === id);
    if (!rotation) throw new Error(`no rotation ${id}`);
    const read = [rotation.oldKeyId, rotation.newKeyId];
    if (successorId !== null) this.#issue(rotation.oldKeyId, successorId);
    if (d.patch) Object.assign(rotation, d.patch);
    this.#effects(d, read);
  }

  /** Persists an operator's revocation (or any effects about keys in `read`). */
  applyEffects(e: Effects, read: (string | null)[]): void {
    this.#effects(e, read);
  }

  /** True when the key exists and authenticates now. */
  usable(id: string | null): boolean {
    return id !== null && isUsableKey(this.keys.get(id) ?? null, this.now);
  }

  /** Each lineage with whether it holds a usable key now. */
  lineages(): Map<string, boolean> {
    const out = new Map<string, boolean>();
    for (const k of this.keys.values()) out.set(k.lineage, (out.get(k.lineage) ?? false) || this.usable(k.id));
    return out;
  }

  /** A deep copy of the rotations, to compare before and after a step. */
  rotationsCopy(): RotationRecord[] {
    return this.rotations.map((r) => ({ ...r, extensions: [...r.extensions] }));
  }

  #issue(oldKeyId: string, id: string): void {
    const old = this.key(oldKeyId);
    this.keys.set(id, {
      id,
      consumerId: old.consumerId,
      createdAt: this.now,
      expiresAt: successorExpiresAt(old, this.now),
      retiresAt: null,
      revokedAt: null,
      lastUsedAt: null,
      lineage: old.lineage,
      revokeReason: null,
    });
  }

  #effects(e: Effects, read: (string | null)[]): void {
    for (const p of e.keys) {
      if (!read.includes(p.keyId)) throw new Error(`patch of key ${p.keyId}, which the step did not read`);
      if (!e.changes.some((c) => c.keyId === p.keyId))
        throw new Error(`patch of key ${p.keyId} without a change entry`);
      const key = this.keys.get(p.keyId);
      if (!key) throw new Error(`patch of unknown key ${p.keyId}`);
      if (p.retiresAt !== undefined) key.retiresAt = p.retiresAt;
      if (p.revokedAt !== undefined) key.revokedAt = p.revokedAt;
      if (p.revokeReason !== undefined) key.revokeReason = p.revokeReason;
    }
    for (const c of e.changes) {
      if (!read.includes(c.keyId)) throw new Error(`change about key ${c.keyId}, which the step did not read`);
    }
    // Every step is audited, naming the consumer.
    if (e.audit.length === 0 || e.audit.some((a) => a.data.consumerId !== 'csm_1')) {
      throw new Error('a step without its audit event (naming the consumer)');
    }
  }
}

/** The decision, or `null` for a refusal (a refusal is an answer, not a failure). */
export function unlessRefused<T>(result: T | Refusal): T | null {
  return isRefusal(result) ? null : result;
}
