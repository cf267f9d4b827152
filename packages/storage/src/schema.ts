import type { Generated } from 'kysely';

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
  kind: string;
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

/** Verification counts per key, minute bucket (epoch ms) and outcome code. */
export interface UsageMinutesTable {
  key_id: string;
  consumer_id: string;
  minute: number;
  code: string;
  count: number;
}

/** The node registry: live nodes heartbeat here with the change-log sequence they have applied. */
export interface ClusterNodesTable {
  id: string;
  address: string;
  applied_seq: number;
  started_at: number;
  heartbeat_at: number;
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

/** Every table keyroll keeps. */
export interface Database {
  consumers: ConsumersTable;
  keys: KeysTable;
  changes: ChangesTable;
  audit_events: AuditEventsTable;
  usage_minutes: UsageMinutesTable;
  cluster_nodes: ClusterNodesTable;
  plans: PlansTable;
}
