import { ApiError, type Clock, formatDuration, hashKey, isUsableStatus, newId, parseKey } from '@keyroll/core';
import {
  type AuditEventRecord,
  type Db,
  findKeyByHash,
  findRollingRotationOfKey,
  type IncidentFilter,
  type IncidentsTable,
  incidentById,
  incidentOfKey,
  insertIncident,
  type KeyRecord,
  listAuditEvents,
  listIncidents,
  listKeyClients,
  openIncidents,
  type Page,
  type PageRequest,
  raiseAlert,
  revokeKey,
  rotationClaim,
  type Store,
  setKeyRetirement,
  type Tx,
  updateIncident,
} from '@keyroll/storage';
import type { ClientSignalMeter } from '@keyroll/verifier/internal';
import { ROOT_CONSUMER_ID } from '../consumers/consumer-service.js';
import type { KeyService } from '../keys/key-service.js';
import type { RotationEngine } from '../rotations/rotation-engine.js';
import { statusOf } from '../rotations/rotation-keys.js';
import { retireRule } from '../rotations/rotation-retire.js';
import { type Actor, actorName, systemActor } from '../shared/actor.js';
import { iso } from '../shared/records.js';
import type { LeakAction, LeakPolicyService } from './leak-policies.js';

/** Revocation reason of a leaked key. */
export const LEAK_REASON = 'leaked';

/** How far back `recentUse` looks. */
const RECENT_USE_MS = 24 * 3_600_000;
/** Most clients `recentUse` lists, most recent first. */
const RECENT_USE_CLIENTS = 20;

/** Where a leak was found, as reported. */
export interface LeakReport {
  /** `github`, or what found it: `support`, `logs`, another scanner's name. */
  source: string;
  url?: string | undefined;
}

/** One step of an incident's story. */
export interface TimelineEntry {
  type: 'reported' | 'contained' | 'successor_claimed' | 'reuse_detected' | 'last_use';
  at: string;
  [detail: string]: unknown;
}

/** A client that used the leaked key in the last 24 hours. */
export interface RecentUse {
  address: string;
  userAgent: string;
  count: number;
  lastSeen: string;
}

/** One thing the provider still has to do (or has done). */
export interface ChecklistItem {
  item: string;
  done: boolean;
}

/** An incident as listed. */
export interface IncidentView {
  id: string;
  /** `open` while the leaked key still authenticates, then `contained`. */
  status: 'open' | 'contained';
  keyId: string;
  consumerId: string;
  keyHint: string;
  source: string;
  url: string | null;
  reportedBy: string;
  /** The policy applied: `revoke`, `rollover`, `notify`, or `none` when the key no longer authenticated. */
  action: LeakAction | 'none';
  gracePeriod: string | null;
  rotationId: string | null;
  reportedAt: string;
  containedAt: string | null;
  /** When the leaked key stops authenticating (and is revoked). */
  revokesAt: string | null;
  successorClaimedAt: string | null;
  reuseDetectedAt: string | null;
  updatedAt: string;
}

/** An incident with its timeline, recent use and checklist. */
export interface IncidentDetail extends IncidentView {
  keyStatus: string;
  timeline: TimelineEntry[];
  recentUse: RecentUse[];
  checklist: ChecklistItem[];
}

/** The outcome of a report: the incident, and whether this report created it (a duplicate changes nothing). */
export interface ReportOutcome {
  created: boolean;
  incident: IncidentDetail;
}

/** GitHub's feedback for one reported token. */
export interface GithubFeedback {
  token_hash: string;
  token_type: string;
  label: 'true_positive' | 'false_positive';
}

/** One token of a GitHub secret-scanning post. */
export interface GithubToken {
  token: string;
  type: string;
  url?: string | undefined;
  source?: string | undefined;
}

/** What a {@link LeakService} needs. */
export interface LeakServiceOptions {
  store: Store;
  clock: Clock;
  keys: KeyService;
  rotations: RotationEngine;
  policies: LeakPolicyService;
  /** Client addresses and user agents per key (flushed before `recentUse` is read). */
  signals: ClientSignalMeter;
  /** The key prefixes this deployment issues: a token with another prefix is someone else's. */
  prefixes: readonly string[];
}

/**
 * Leak response: finds a reported key by its SHA-256 (the token itself is never stored or logged),
 * contains it per the consumer's leak policy in one transaction, records one incident per key (a
 * second report of the same key changes nothing) and follows the incident until the key is contained.
 */
export class LeakService {
  readonly #o: LeakServiceOptions;

  constructor(options: LeakServiceOptions) {
    this.#o = options;
  }

  /** The key a token is, or `null` for a malformed, checksum-invalid, foreign or unknown token. */
  async keyOfToken(token: string): Promise<KeyRecord | null> {
    const parsed = parseKey(token);
    if (!parsed || !this.#o.prefixes.includes(parsed.prefix)) return null;
    const found = await findKeyByHash(this.#o.store.db, hashKey(token));
    return found ? this.#o.keys.record(this.#o.store.db, found.id) : null;
  }

  /** Handles a verified GitHub post: one feedback entry per token, a report for each of ours. */
  async reportGithub(tokens: readonly GithubToken[]): Promise<GithubFeedback[]> {
    const actor = systemActor('github-secret-scanning');
    const out: GithubFeedback[] = [];
    for (const t of tokens) {
      const key = await this.keyOfToken(t.token);
      if (key) await this.report(actor, key, { source: 'github', url: t.url });
      out.push({ token_hash: hashKey(t.token), token_type: t.type, label: key ? 'true_positive' : 'false_positive' });
    }
    return out;
  }

  /** Reports a leak of a key by its secret or id (`POST /v1/leaks`); 404 when keyroll has no such key. */
  async reportByOperator(
    actor: Actor,
    input: { key?: string | undefined; keyId?: string | undefined } & LeakReport,
  ): Promise<ReportOutcome> {
    let key: KeyRecord | null = null;
    if (input.key !== undefined) {
      if (!parseKey(input.key)) {
        throw new ApiError('VALIDATION_FAILED', 'key: not a keyroll key (malformed or checksum invalid)', {
          field: 'key',
        });
      }
      key = await this.keyOfToken(input.key);
      if (!key) throw new ApiError('NOT_FOUND', 'no key with this secret');
    } else if (input.keyId !== undefined) {
      key = await this.#o.keys.record(this.#o.store.db, input.keyId);
    }
    if (!key) throw new ApiError('VALIDATION_FAILED', 'one of key or keyId is required', { field: 'key' });
    this.#o.keys.assertMayGrant(actor, key.consumerId, key.scopes);
    return this.report(actor, key, input);
  }

  /**
   * Records the incident of a leaked key and contains it per policy, in one transaction. A key with an
   * incident already is answered with that incident and nothing changes.
   */
  async report(actor: Actor, key: KeyRecord, report: LeakReport): Promise<ReportOutcome> {
    const now = this.#o.clock.now();
    const outcome = await this.#o.store.mutate(async (tx) => {
      const existing = await incidentOfKey(tx.db, key.id);
      if (existing) return { created: false, row: existing };
      const current = await this.#o.keys.record(tx.db, key.id);
      return { created: true, row: await this.#contain(tx, actor, current, report, now) };
    });
    return { created: outcome.created, incident: await this.detail(outcome.row) };
  }

  async #contain(tx: Tx, actor: Actor, key: KeyRecord, report: LeakReport, now: number): Promise<IncidentsTable> {
    const policy = await this.#o.policies.effective(tx.db, key.consumerId);
    const status = statusOf(key, now);
    let action: IncidentsTable['action'] = isUsableStatus(status) ? policy.action : 'none';
    // A root key has no holder to claim a successor: it is revoked — unless it is the last `*` root
    // key, which only an operator can replace (the checklist says so).
    if (key.consumerId === ROOT_CONSUMER_ID && action === 'rollover') action = 'revoke';
    if (key.consumerId === ROOT_CONSUMER_ID && action === 'revoke') {
      try {
        await this.#o.keys.assertAnotherRootKey(tx, key.id, now);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        action = 'notify';
      }
    }
    const id = newId('incident', now);
    let rotationId: string | null = null;
    let revokesAt: number | null = null;
    if (action === 'revoke') {
      await revokeKey(tx, key, LEAK_REASON, { at: now, actor: actorName(actor) });
      revokesAt = now;
    } else if (action === 'rollover') {
      revokesAt = now + policy.graceMs;
      if (status === 'active') {
        // The successor waits for its claim (the first claim wins, a second revokes the lineage); the
        // leaked key is deprecated now and stops at the end of the grace, claimed or not.
        const started = await this.#o.rotations.steps.start(tx, actor, key, now, {
          graceMs: policy.graceMs,
          rule: retireRule(undefined, policy.graceMs),
          origin: 'leak',
          onReuse: 'revoke',
          issueNow: false,
        });
        rotationId = started.rotation.id;
      } else {
        // Already being rotated: that rotation's successor is the one to claim; the grace still holds.
        rotationId = (await findRollingRotationOfKey(tx.db, key.id))?.id ?? null;
      }
      // Never later than the key's own retirement or expiry.
      revokesAt = Math.min(revokesAt, key.expiresAt ?? Infinity);
      if (status === 'active' || (key.retiresAt ?? Infinity) > revokesAt) {
        await setKeyRetirement(tx, key, revokesAt, {
          at: now,
          actor: actorName(actor),
          data: { fields: ['retiresAt'] },
        });
      }
    }
    const contained = action === 'revoke' || action === 'none';
    const row: IncidentsTable = {
      id,
      key_id: key.id,
      consumer_id: key.consumerId,
      key_hint: key.hint,
      source: report.source,
      url: report.url ?? null,
      reported_by: actorName(actor),
      action,
      grace_ms: action === 'rollover' ? policy.graceMs : 0,
      rotation_id: rotationId,
      status: contained ? 'contained' : 'open',
      reported_at: now,
      contained_at: contained ? now : null,
      revokes_at: revokesAt,
      successor_claimed_at: null,
      reuse_detected_at: null,
      updated_at: now,
    };
    await insertIncident(tx.db, row);
    const data = {
      consumerId: key.consumerId,
      keyId: key.id,
      incidentId: id,
      source: row.source,
      url: row.url,
      action,
      policy: policy.target,
      revokesAt: iso(revokesAt),
      rotationId,
    };
    await tx.audit({
      at: now,
      actor: actorName(actor),
      action: 'key.leaked',
      targetType: 'key',
      targetId: key.id,
      data,
    });
    await this.#raiseAlert(tx, row, now);
    if (contained) await this.#updated(tx, row, now, 'contained');
    return row;
  }

  async #raiseAlert(tx: Tx, row: IncidentsTable, now: number): Promise<void> {
    await raiseAlert(
      tx,
      {
        id: newId('alert', now),
        rule: 'key_leaked',
        severity: 'critical',
        subject: row.id,
        consumerId: row.consumer_id,
        keyId: row.key_id,
        message: `key ${row.key_id} (${row.key_hint}) leaked (${row.source}); action: ${row.action}`,
        data: { incidentId: row.id, source: row.source, url: row.url, action: row.action },
      },
      { at: now, actor: 'system:alerts' },
    );
  }

  /** Audits `incident.updated` (a webhook to the provider's and the consumer's endpoints). */
  async #updated(tx: Tx, row: IncidentsTable, now: number, change: string): Promise<void> {
    await tx.audit({
      at: now,
      actor: 'system:leaks',
      action: 'incident.updated',
      targetType: 'incident',
      targetId: row.id,
      data: { consumerId: row.consumer_id, keyId: row.key_id, change, status: row.status },
    });
  }

  /**
   * Follows unsettled incidents: revokes a rolled-over key at the end of its grace, and records (with
   * an `incident.updated` event) its successor's claim, a reuse of it, and containment. Returns how
   * many incidents changed. `keyroll serve` runs it with the background workers; tests call it.
   */
  async tick(): Promise<number> {
    let changed = 0;
    let after: string | null = null;
    for (;;) {
      const page = await openIncidents(this.#o.store.db, after, 500);
      for (const candidate of page) {
        // Read first: most open incidents have nothing new, and a mutation takes the cluster-wide lock.
        if ((await this.#changesOf(this.#o.store.db, candidate, this.#o.clock.now())).length === 0) continue;
        if (await this.#follow(candidate.id)) changed++;
      }
      const last = page.at(-1);
      if (!last || page.length < 500) return changed;
      after = last.id;
    }
  }

  /** One watcher step of an open incident; true when it changed. */
  async #follow(id: string): Promise<boolean> {
    const now = this.#o.clock.now();
    return this.#o.store.mutate(async (tx) => {
      const row = await incidentById(tx.db, id);
      if (!row) return false;
      const key = await this.#o.keys.record(tx.db, row.key_id);
      if (row.revokes_at !== null && row.revokes_at <= now && key.revokedAt === null && row.action === 'rollover') {
        await revokeKey(tx, key, LEAK_REASON, { at: now, actor: actorName(systemActor('leaks')) });
      }
      const found = await this.#changesOf(tx.db, row, now);
      const changes = found.map((c) => c.change);
      const set: Parameters<typeof updateIncident>[2] = Object.assign({}, ...found.map((c) => c.set));
      if (changes.length === 0) return false;
      set.updated_at = now;
      await updateIncident(tx.db, row.id, set);
      const next = { ...row, ...set };
      for (const change of changes) await this.#updated(tx, next, now, change);
      return true;
    });
  }

  /** What has happened to an open incident since it was last recorded (nothing written). */
  async #changesOf(
    db: Store['db'],
    row: IncidentsTable,
    now: number,
  ): Promise<{ change: string; set: Parameters<typeof updateIncident>[2] }[]> {
    const out: { change: string; set: Parameters<typeof updateIncident>[2] }[] = [];
    const key = await this.#o.keys.record(db, row.key_id);
    if (row.rotation_id !== null) {
      const rotation = await rotationClaim(db, row.rotation_id);
      if (rotation?.claimed_at != null && row.successor_claimed_at === null) {
        out.push({ change: 'successor_claimed', set: { successor_claimed_at: Number(rotation.claimed_at) } });
      }
      if (row.reuse_detected_at === null) {
        const [reuse] = await reclaimsOf(db, row.rotation_id);
        if (reuse) out.push({ change: 'reuse_detected', set: { reuse_detected_at: reuse.at } });
      }
    }
    const due = row.action === 'rollover' && row.revokes_at !== null && row.revokes_at <= now;
    if (row.status === 'open' && (due || !isUsableStatus(statusOf(key, now)))) {
      out.push({ change: 'contained', set: { status: 'contained', contained_at: containedAt(key, now) } });
    }
    return out;
  }

  /** One incident with its timeline, recent use and checklist; 404 when unknown. */
  async get(id: string): Promise<IncidentDetail> {
    const row = await incidentById(this.#o.store.db, id);
    if (!row) throw new ApiError('NOT_FOUND', `incident ${id} not found`);
    return this.detail(row);
  }

  /** Incidents, oldest first. */
  async list(filter: IncidentFilter, page: PageRequest): Promise<Page<IncidentView>> {
    const now = this.#o.clock.now();
    const rows = await listIncidents(this.#o.store.db, filter, page);
    const data = await Promise.all(
      rows.data.map(async (r) => incidentView(r, await this.#o.keys.record(this.#o.store.db, r.key_id), now)),
    );
    return { data, nextCursor: rows.nextCursor };
  }

  /** The detail view of an incident row, read now (the key's status decides `status`, no job needed). */
  async detail(row: IncidentsTable): Promise<IncidentDetail> {
    const db = this.#o.store.db;
    const now = this.#o.clock.now();
    const key = await this.#o.keys.record(db, row.key_id);
    const view = incidentView(row, key, now);
    const rotation = row.rotation_id ? await rotationClaim(db, row.rotation_id) : undefined;
    const reuses = row.rotation_id ? await reclaimsOf(db, row.rotation_id) : [];
    const timeline: TimelineEntry[] = [
      {
        type: 'reported',
        at: view.reportedAt,
        source: row.source,
        url: row.url,
        reportedBy: row.reported_by,
        action: view.action,
        revokesAt: view.revokesAt,
      },
    ];
    if (rotation?.claimed_at != null) {
      timeline.push({
        type: 'successor_claimed',
        at: new Date(Number(rotation.claimed_at)).toISOString(),
        successorKeyId: rotation.new_key_id,
      });
    }
    for (const r of reuses) {
      timeline.push({ type: 'reuse_detected', at: new Date(r.at).toISOString(), actor: r.actor, lineageRevoked: true });
    }
    if (view.containedAt !== null) {
      timeline.push({ type: 'contained', at: view.containedAt, keyStatus: statusOf(key, now), action: view.action });
    }
    if (key.lastUsedAt !== null) {
      timeline.push({ type: 'last_use', at: new Date(key.lastUsedAt).toISOString() });
    }
    timeline.sort((a, b) => a.at.localeCompare(b.at));
    await this.#o.signals.flush();
    const recentUse = (await listKeyClients(db, key.id, now - RECENT_USE_MS, RECENT_USE_CLIENTS)).map((c) => ({
      address: c.address,
      userAgent: c.userAgent,
      count: c.count,
      lastSeen: new Date(c.lastSeen).toISOString(),
    }));
    return {
      ...view,
      keyStatus: statusOf(key, now),
      timeline,
      recentUse,
      checklist: checklist(row, view, recentUse, rotation?.claimed_at != null, reuses.length > 0),
    };
  }
}

/** When a key that no longer authenticates stopped: the earliest of its revocation, retirement and expiry. */
/** Second claims of a rotation's successor, oldest first (the story of a rotation, for a timeline). */
function reclaimsOf(db: Db, rotationId: string): Promise<AuditEventRecord[]> {
  return listAuditEvents(db, { targetId: rotationId, action: 'successor.reclaim_attempted', limit: 100 });
}

function containedAt(key: KeyRecord, now: number): number {
  const times = [key.revokedAt, key.retiresAt, key.expiresAt].filter((t): t is number => t !== null && t <= now);
  return times.length > 0 ? Math.min(...times) : now;
}

function incidentView(row: IncidentsTable, key: KeyRecord, now: number): IncidentView {
  const contained = !isUsableStatus(statusOf(key, now));
  return {
    id: row.id,
    status: contained ? 'contained' : 'open',
    keyId: row.key_id,
    consumerId: row.consumer_id,
    keyHint: row.key_hint,
    source: row.source,
    url: row.url,
    reportedBy: row.reported_by,
    action: row.action as IncidentView['action'],
    gracePeriod: row.action === 'rollover' ? formatDuration(row.grace_ms) : null,
    rotationId: row.rotation_id,
    reportedAt: new Date(row.reported_at).toISOString(),
    containedAt: iso(row.contained_at ?? (contained ? containedAt(key, now) : null)),
    revokesAt: iso(row.revokes_at),
    successorClaimedAt: iso(row.successor_claimed_at),
    reuseDetectedAt: iso(row.reuse_detected_at),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

function checklist(
  row: IncidentsTable,
  view: IncidentView,
  recentUse: RecentUse[],
  claimed: boolean,
  reused: boolean,
): ChecklistItem[] {
  const where = row.url ?? row.source;
  const items: ChecklistItem[] = [
    { item: `Remove the key from where it leaked (${where}) and purge it from history`, done: false },
  ];
  if (row.action === 'notify') {
    items.push({
      item: 'Revoke or rotate the leaked key (the policy only notified)',
      done: view.status === 'contained',
    });
  }
  if (row.action === 'rollover' && row.rotation_id !== null) {
    items.push({ item: "The key's owner claims its successor (the SDK does it by itself)", done: claimed });
  }
  items.push({
    item: `The leaked key stops authenticating${view.revokesAt ? ` (at ${view.revokesAt})` : ''}`,
    done: view.status === 'contained',
  });
  if (reused) {
    items.push({
      item: 'The successor was claimed twice: the whole lineage is revoked; give the consumer a new key',
      done: false,
    });
  }
  if (recentUse.length > 0) {
    items.push({
      item: `Review the ${recentUse.length} client(s) that used the key in the last 24 hours`,
      done: false,
    });
  }
  items.push({ item: 'Review the audit log for what the key did (GET /v1/audit)', done: false });
  return items;
}
