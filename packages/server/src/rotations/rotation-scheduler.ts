import { randomUUID } from 'node:crypto';
import type { Clock, TickOutcome } from '@keyroll/core';
import {
  findKeysDueUnderPolicy,
  findRollingRotationIds,
  type KeyRecord,
  listRotationPolicies,
  type RotationPolicyRecord,
  recordRotationReminder,
  type Store,
} from '@keyroll/storage';
import { takeJobLease } from '../cluster/job-lease.js';
import { ROOT_CONSUMER_ID } from '../consumers/consumer-service.js';
import { actorName, systemActor } from '../shared/actor.js';
import type { RotationEngine } from './rotation-engine.js';
import { statusOf } from './rotation-keys.js';
import { DEFAULT_POLICY_TARGET, onReuseOf, type RotationPolicyService } from './rotation-policies.js';

/** What a {@link RotationScheduler} needs. */
export interface RotationSchedulerOptions {
  store: Store;
  clock: Clock;
  engine: RotationEngine;
  policies: RotationPolicyService;
  /** Timer period in ms; 0 runs no timer (call {@link RotationScheduler.tick} yourself). */
  intervalMs: number;
  /** How long a node keeps the lease without renewing it (default: 3 intervals, at least a minute). */
  leaseMs?: number;
  /** How far ahead of a deadline a still-used old key has it pushed back (default: 2 intervals, at least a minute). */
  lookaheadMs?: number;
  /** Most rotations and keys looked at per job and tick. */
  batchSize?: number;
  /** This node's name in the lease. */
  nodeId?: string;
  /** Told of a failed tick (the next tick retries). */
  onError?: (err: unknown) => void;
}

/** What one tick did. */
export interface TickReport {
  /** False when another node holds the lease (and nothing was done here). */
  leader: boolean;
  completed: number;
  retiredIdle: number;
  extended: number;
  firstUse: number;
  started: number;
  reminders: number;
  /** Jobs that threw; each is reported to `onError` and retried next tick, the others still run. */
  failed: number;
}

/** Name of the scheduler's lease row. */
const LEASE = 'rotation-scheduler';
const MINUTE = 60_000;

/**
 * Runs rotations forward: completes those past their deadline, applies the when-idle, first-use and
 * extension rules, and starts rotations that policies call for. One node at a time holds a lease
 * (a row renewed each tick); every job is its own transaction that re-reads what it changes, so a
 * crash or a second runner leaves nothing half done or done twice.
 */
export class RotationScheduler {
  readonly #o: RotationSchedulerOptions;
  readonly #node: string;
  readonly #actor = systemActor('scheduler');
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<TickReport> | undefined;

  constructor(options: RotationSchedulerOptions) {
    this.#o = options;
    this.#node = options.nodeId ?? randomUUID();
  }

  /** Starts the timer (no-op when the interval is 0 or it runs already). */
  start(): void {
    if (this.#timer || this.#o.intervalMs <= 0) return;
    this.#timer = setInterval(() => {
      this.tick().catch((err: unknown) => this.#o.onError?.(err));
    }, this.#o.intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a running tick. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  /** Runs every job once, if this node holds (or takes) the lease. Overlapping calls share one run. */
  tick(): Promise<TickReport> {
    if (!this.#running) {
      this.#running = this.#tick().finally(() => {
        this.#running = undefined;
      });
    }
    return this.#running;
  }

  async #tick(): Promise<TickReport> {
    const report: TickReport = {
      leader: false,
      completed: 0,
      retiredIdle: 0,
      extended: 0,
      firstUse: 0,
      started: 0,
      reminders: 0,
      failed: 0,
    };
    const job = async <T>(fn: () => Promise<T>): Promise<T | null> => {
      try {
        return await fn();
      } catch (err) {
        report.failed++;
        this.#o.onError?.(err);
        return null;
      }
    };
    if (!(await this.#takeLease())) return report;
    report.leader = true;
    const now = this.#o.clock.now();
    for (const id of await findRollingRotationIds(this.#o.store.db, this.#batch())) {
      const done = await job(() => this.#advance(id, now));
      if (done) report[done]++;
    }
    for (const policy of await listRotationPolicies(this.#o.store.db)) {
      for (const key of await this.#dueKeys(policy, now, policy.everyMs)) {
        if (await job(() => this.#startPolicyRotation(policy, key.id, now))) report.started++;
      }
      if (policy.notifyBeforeMs !== null) {
        for (const key of await this.#dueKeys(policy, now, policy.everyMs - policy.notifyBeforeMs)) {
          if (await job(() => this.#remind(policy, key, now))) report.reminders++;
        }
      }
    }
    return report;
  }

  /** How far ahead of a deadline the scheduler acts, so that it moves deadlines before they pass. */
  #lookahead(): number {
    return this.#o.lookaheadMs ?? Math.max(2 * this.#o.intervalMs, MINUTE);
  }

  /** Takes or renews the lease; false when another node holds an unexpired one. */
  #takeLease(): Promise<boolean> {
    const now = this.#o.clock.now();
    const expires = now + (this.#o.leaseMs ?? Math.max(3 * this.#o.intervalMs, MINUTE));
    return takeJobLease(this.#o.store, LEASE, this.#node, now, expires);
  }

  /** One rotation's job: complete it, retire early, push its deadline or shorten it after first use. */
  #advance(id: string, now: number): Promise<TickOutcome | null> {
    const steps = this.#o.engine.steps;
    return this.#o.store.mutate(async (tx) => {
      const row = await steps.rotation(tx.db, id);
      if (row.state !== 'rolling') return null;
      return steps.tick(tx, this.#actor, row, now, this.#lookahead());
    });
  }

  /** Active keys under `policy` created at least `ageMs` ago, not rolled back from a rotation within `every`. */
  #dueKeys(policy: RotationPolicyRecord, now: number, ageMs: number): Promise<KeyRecord[]> {
    const scope = { policy, defaultTarget: DEFAULT_POLICY_TARGET, exceptConsumerId: ROOT_CONSUMER_ID };
    return findKeysDueUnderPolicy(this.#o.store.db, scope, now, ageMs, this.#batch());
  }

  /** Starts a policy rotation of one key; its successor waits for the old key's holder to claim it. */
  #startPolicyRotation(policy: RotationPolicyRecord, keyId: string, now: number): Promise<boolean> {
    const steps = this.#o.engine.steps;
    return this.#o.store.mutate(async (tx) => {
      const key = await steps.key(tx.db, keyId);
      const current = await this.#o.policies.effective(tx.db, key.consumerId);
      if (statusOf(key, now) !== 'active' || current?.id !== policy.id || key.createdAt > now - current.everyMs) {
        return false;
      }
      await steps.start(tx, this.#actor, key, now, {
        graceMs: current.graceMs,
        rule: current.retire,
        origin: 'policy',
        policyId: current.id,
        onReuse: onReuseOf(current),
        issueNow: false,
      });
      return true;
    });
  }

  /** Sends the one reminder of a key's coming policy rotation. */
  #remind(policy: RotationPolicyRecord, key: KeyRecord, now: number): Promise<boolean> {
    const reminder = {
      keyId: key.id,
      consumerId: key.consumerId,
      policyId: policy.id,
      dueAt: key.createdAt + policy.everyMs,
    };
    return this.#o.store.mutate((tx) =>
      recordRotationReminder(tx, reminder, { at: now, actor: actorName(this.#actor) }),
    );
  }

  #batch(): number {
    return this.#o.batchSize ?? 500;
  }
}
