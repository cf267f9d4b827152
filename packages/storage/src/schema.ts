import type { Generated } from 'kysely';
import type { ChangeKind } from './change-kinds.js';

/** Consumers: the provider's clients; they own keys. Times are epoch milliseconds. */
export interface ConsumersTable {
  id: string;
  name: string;
  external_id: string | null;
  metadata: string;
  plan_id: string | null;
  rate_limit: string | null;
  quota: string | null;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

/** Keys: only the SHA-256 of a secret is ever stored, with its display hint. */
export interface KeysTable {
  id: string;
  consumer_id: string;
  name: string;
  hash: string;
  hint: string;
  prefix: string;
  version: number;
  predecessor_id: string | null;
  /**
   * The id of the first key of this key's rotation chain, carried by every successor: rate limits
   * and quotas count per lineage. `null` only on a row written by a keyroll older than 0009.
   */
  lineage_id: string | null;
  scopes: string;
  metadata: string;
  allowed_ips: string | null;
  rate_limit: string | null;
  quota: string | null;
  plan_id: string | null;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
  retires_at: number | null;
  revoked_at: number | null;
  revoke_reason: string | null;
  last_used_at: number | null;
}

/** The change log: one row per mutation, in commit order; verifiers follow it by `seq`. */
export interface ChangesTable {
  seq: Generated<number>;
  at: number;
  /** Written only with a known kind; a row may hold one a newer node knows and this one does not. */
  kind: ChangeKind;
  entity_id: string;
  key_hash: string | null;
}

/** Audit events, hash-chained: `hash` covers the row and the previous row's hash. */
export interface AuditEventsTable {
  seq: Generated<number>;
  id: string;
  at: number;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  data: string;
  prev_hash: string;
  hash: string;
}

/**
 * The sealed head of the audit chain (one row, `name = 'head'`): the last event's position, MACed
 * with a key kept outside the database and re-sealed by every append. `alarm` is sticky: set when
 * an append finds the chain no longer ending at the sealed head, and covered by the MAC.
 */
export interface AuditHeadTable {
  name: string;
  seq: number;
  hash: string;
  alarm: string | null;
  mac: string;
  updated_at: number;
}

/** Positions of the audit chain that a verification found intact (MACed); later checks start there. */
export interface AuditCheckpointsTable {
  seq: number;
  hash: string;
  /** Events from the genesis through `seq`. */
  events: number;
  mac: string;
  verified_at: number;
}

/** Verification counts per key, minute bucket (epoch ms) and outcome code. */
export interface UsageMinutesTable {
  key_id: string;
  consumer_id: string;
  minute: number;
  code: string;
  count: number;
}

/** Webhook subscriptions. The signing secret must be kept to sign; it is never returned after creation. */
export interface WebhooksTable {
  id: string;
  url: string;
  /** JSON array of event types (`*` for all). */
  events: string;
  consumer_id: string | null;
  description: string | null;
  enabled: number;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: number | null;
  /** Audit sequence number at creation: only later events are sent. */
  since_seq: number;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

/** The webhook outbox: one row per event and subscription, retried until delivered or dead. */
export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event_seq: number;
  event_type: string;
  payload: string;
  status: string;
  attempts: number;
  next_attempt_at: number | null;
  last_attempt_at: number | null;
  response_status: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

/** Small named JSON values of the monitoring workers: cursors, baselines. */
export interface MonitoringStateTable {
  name: string;
  value: string;
  updated_at: number;
}

/** Alerts raised by the alert evaluator. */
export interface AlertsTable {
  id: string;
  rule: string;
  severity: string;
  /** What the alert is about (consumer, address, key, rotation); alerts are de-duplicated by rule and subject. */
  subject: string;
  consumer_id: string | null;
  key_id: string | null;
  message: string;
  data: string;
  raised_at: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
}

/** Verifications of unknown keys (`NOT_FOUND`, `MALFORMED`) per source address and minute. */
export interface UnknownKeyMinutesTable {
  address: string;
  minute: number;
  code: string;
  count: number;
}

/** A bounded set of the most recent client addresses and user agents per key. */
export interface KeyClientsTable {
  key_id: string;
  address: string;
  user_agent: string;
  first_seen: number;
  last_seen: number;
  count: number;
}

/** Plans: a named rate limit and quota (JSON, as on keys and consumers) that consumers and keys inherit. */
export interface PlansTable {
  id: string;
  name: string;
  rate_limit: string | null;
  quota: string | null;
  created_at: number;
  updated_at: number;
}

/** Rotations: an old key, its successor (created when claimed), the grace window and retirement rule. */
export interface RotationsTable {
  id: string;
  consumer_id: string;
  old_key_id: string;
  /** `null` until a server-initiated rotation's successor is claimed by the old key's holder. */
  new_key_id: string | null;
  /** `rolling`, `completed` or `rolled_back`. */
  state: string;
  /** `admin`, `self`, `policy` or `rollover`. */
  origin: string;
  policy_id: string | null;
  /** JSON retirement rule, durations in ms. */
  retire: string;
  grace_ms: number;
  /** `reject` or `revoke`: what a second claim of the successor does. */
  on_reuse: string;
  reason: string | null;
  started_at: number;
  /** The old key's current `retires_at`. */
  deadline_at: number;
  claimed_at: number | null;
  first_used_at: number | null;
  /** JSON array of extensions `{at, byMs, from, to, actor}`. */
  extensions: string;
  ended_at: number | null;
  end_reason: string | null;
  created_by: string;
  updated_at: number;
}

/** Rotation policies: rotate keys of a consumer (or of every consumer: target `default`) at an age. */
export interface RotationPoliciesTable {
  id: string;
  target: string;
  consumer_id: string | null;
  every_ms: number;
  grace_ms: number;
  retire: string;
  notify_before_ms: number | null;
  on_reuse: string;
  created_at: number;
  updated_at: number;
}

/** Reminders already sent for keys about to be rotated by a policy. */
export interface RotationRemindersTable {
  key_id: string;
  due_at: number;
  sent_at: number;
}

/** Leases of singleton background jobs: one holder at a time, until `expires_at`. */
export interface SchedulerLeasesTable {
  name: string;
  holder: string;
  expires_at: number;
}

/** The node registry: live nodes heartbeat here with the change-log sequence they have applied. */
export interface ClusterNodesTable {
  id: string;
  address: string;
  applied_seq: number;
  started_at: number;
  heartbeat_at: number;
}

/** Edge verifiers following a node's change stream; times are epoch ms. */
export interface EdgeNodesTable {
  id: string;
  address: string;
  /** The last change sequence a node sent the edge (a change event's id or a heartbeat's head). */
  sent_seq: number;
  max_staleness_ms: number;
  connected_at: number;
  heard_at: number;
}

/** Leak policies: what a reported leak of a consumer's key (or any key: target `default`) does. */
export interface LeakPoliciesTable {
  target: string;
  consumer_id: string | null;
  /** `revoke`, `rollover` or `notify`. */
  action: string;
  grace_ms: number;
  created_at: number;
  updated_at: number;
}

/** Incidents: one per leaked key; never the key itself, only its id and hint. */
export interface IncidentsTable {
  id: string;
  key_id: string;
  consumer_id: string;
  key_hint: string;
  /** Who found it: `github`, or what the reporter said (`support`, `logs`, …). */
  source: string;
  url: string | null;
  reported_by: string;
  /** The leak policy's action when it was contained: `revoke`, `rollover` or `notify`. */
  action: string;
  grace_ms: number;
  /** The rollover rotation, for `rollover`. */
  rotation_id: string | null;
  /** `open` until the leaked key no longer authenticates, then `contained`. */
  status: string;
  reported_at: number;
  contained_at: number | null;
  /** When the leaked key is revoked (now for `revoke`, the end of the grace for `rollover`). */
  revokes_at: number | null;
  successor_claimed_at: number | null;
  reuse_detected_at: number | null;
  updated_at: number;
}

/** Every table keyroll keeps. */
/** Ids of usage batches applied from edge verifiers (`POST /v1/data-plane/usage`), so a retried batch counts once. */
export interface EdgeUsageBatchesTable {
  id: string;
  /** Epoch ms. */
  received_at: number;
}

export interface Database {
  consumers: ConsumersTable;
  keys: KeysTable;
  changes: ChangesTable;
  audit_events: AuditEventsTable;
  audit_head: AuditHeadTable;
  audit_checkpoints: AuditCheckpointsTable;
  usage_minutes: UsageMinutesTable;
  cluster_nodes: ClusterNodesTable;
  edge_nodes: EdgeNodesTable;
  rotations: RotationsTable;
  rotation_policies: RotationPoliciesTable;
  rotation_reminders: RotationRemindersTable;
  scheduler_leases: SchedulerLeasesTable;
  plans: PlansTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  monitoring_state: MonitoringStateTable;
  alerts: AlertsTable;
  unknown_key_minutes: UnknownKeyMinutesTable;
  key_clients: KeyClientsTable;
  leak_policies: LeakPoliciesTable;
  incidents: IncidentsTable;
  edge_usage_batches: EdgeUsageBatchesTable;
}
