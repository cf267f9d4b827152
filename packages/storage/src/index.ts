export { type AppendedAudit, auditHash, GENESIS_HASH } from './append.js';
export {
  type AuditChainReport,
  type AuditFailure,
  type VerifyAuditOptions,
  verifyAuditChain,
} from './audit-chain.js';
export { type AuditCheckpoint, latestCheckpoint } from './audit-checkpoint.js';
export { type OpenedHead, openAuditHead, readAuditHead, type SealedHead, sealAuditAppends } from './audit-head.js';
export type { AuditKey } from './audit-mac.js';
export { PG_CHANGE_CHANNEL, PG_CHANGE_ROW_CHANNEL, parseChangeRow } from './change-channels.js';
export { CHANGE_KINDS, type ChangeKind } from './change-kinds.js';
export { createStore, type StoreOptions } from './create-store.js';
export type { DialectName } from './dialect.js';
export { migrateToLatest } from './migrate.js';
export type { MigrationContext } from './migrations/context.js';
export {
  addRequestsBeforeStart,
  prunePreStartTotals,
  readState,
  requestsBeforeStart,
  writeState,
} from './monitoring-state.js';
export {
  decodeCursor,
  encodeCursor,
  PAGE_LIMITS,
  type Page,
  type PageRequest,
  pageById,
  pageSize,
  toPage,
} from './pagination.js';
export { ensurePrivateDir, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './private-files.js';
export type * from './schema.js';
export type { AuditInput, ChangeInput, Db, Store, Tx } from './store.js';

// Repositories: keys, consumers, plans, audit log, change log

export {
  type AuditEventQuery,
  type AuditEventRecord,
  listAuditEvents,
} from './repositories/audit-log.js';
export { type ChangeEntry, hasChangesUpTo, readChangeLogHead, readChangesAfter } from './repositories/changes.js';
export {
  type ConsumerChanges,
  deleteConsumer,
  insertConsumer,
  updateConsumer,
} from './repositories/consumer-writes.js';
export {
  type ConsumerListFilter,
  type ConsumerRecord,
  findConsumer,
  findConsumerIdByExternalId,
  findLiveConsumer,
  listLiveConsumers,
} from './repositories/consumers.js';
export {
  DATA_PLANE_KEY_FIELDS,
  type DataPlaneKey,
  type DataPlaneKeyForm,
  type DataPlaneSnapshot,
  type DataPlaneSnapshotSink,
  readDataPlaneSnapshot,
  SNAPSHOT_PAGE_SIZE,
  streamDataPlaneSnapshot,
} from './repositories/data-plane.js';
export {
  type EdgeClientSighting,
  type EdgeUsageBatch,
  type EdgeUsageBucket,
  recordEdgeUsage,
} from './repositories/edge-usage.js';
export {
  type IncidentFilter,
  incidentById,
  incidentOfKey,
  insertIncident,
  listIncidents,
  openIncidents,
  rotationClaim,
  updateIncident,
} from './repositories/incidents.js';
export { keyStatusIs } from './repositories/key-status-filter.js';
export {
  applyKeyLifecycle,
  encodeKey,
  insertKey,
  insertKeysUnlogged,
  type KeyChanges,
  type LifecycleKey,
  type NewKey,
  revokeKey,
  setKeyRetirement,
  updateKey,
} from './repositories/key-writes.js';
export {
  consumerHasHadKeys,
  countKeysWithStatus,
  decodeKey,
  findKeyByHash,
  findKeyById,
  findUnrevokedKeys,
  findUsableKeys,
  type KeyListFilter,
  type KeyRecord,
  listKeys,
  type UsableKeyExclusions,
} from './repositories/keys.js';
export { deleteLeakPolicy, leakPolicies, leakPolicy, putLeakPolicy } from './repositories/leak-policies.js';
export type { QuotaSpec, RateLimitSpec, RefillSpec } from './repositories/limit-specs.js';
export {
  deletePlan,
  findPlan,
  findPlanIdByName,
  findPlanUser,
  insertPlan,
  listPlans,
  type PlanChanges,
  type PlanRecord,
  updatePlan,
} from './repositories/plans.js';
export type { WriteEvent } from './repositories/write-event.js';

// Repositories: usage, client signals, webhooks, alerts, cluster, retention, analytics

export {
  type AlertListFilter,
  type AlertRecord,
  acknowledgeAlert,
  findAlert,
  latestAlertRaisedAt,
  listAlerts,
  type NewAlert,
  raiseAlert,
} from './repositories/alerts.js';
export {
  type ExpiringKeyRow,
  findKeyLastUsedAt,
  findRotationTrafficRow,
  listExpiringKeys,
  listIdleKeys,
  type RotationTrafficRow,
} from './repositories/analytics.js';
export { readAuditSeqHead } from './repositories/audit-log.js';
export {
  type ClientSighting,
  type ClientSignals,
  listKeyClients,
  recordClientSignals,
  type UnknownKeyCount,
  unknownKeyBursts,
  unknownKeysByAddressAndCode,
} from './repositories/client-signals.js';
export {
  type EdgeHeartbeat,
  forgetEdgesSilentSince,
  listLiveEdges,
  writeEdgeHeartbeat,
} from './repositories/edge-nodes.js';
export { type KeyExpiryNoticeRow, listKeysDueExpiryNotice, recordExpiryNotice } from './repositories/expiry-notices.js';
export { databaseAnswers } from './repositories/health.js';
export { takeLease } from './repositories/job-leases.js';
export { countRotationsByState } from './repositories/metrics.js';
export {
  forgetNodesSilentSince,
  listNodesHeardSince,
  type NodeHeartbeat,
  removeNode,
  writeNodeHeartbeat,
} from './repositories/nodes.js';
export { type PrunedTable, pruneBatch, readChangeRetentionBounds } from './repositories/retention.js';
export {
  listRetiringKeysInUse,
  type RetiringKeyInUseRow,
} from './repositories/rotation-deadlines.js';
export {
  type ConsumerMinute,
  countKeyUsageSince,
  failuresByConsumerMinute,
  type KeyCodeUsage,
  type MinuteRange,
  recordUsage,
  type UsageBucketCount,
  type UsageCount,
  usageByBucket,
  usageByConsumerAndCode,
  usageByKeyAndBucket,
  usageByKeyAndCode,
} from './repositories/usage.js';
export {
  type ClaimedDelivery,
  claimDueDeliveries,
  countOpenDeliveries,
  type DeliveryAttempt,
  type DeliveryRecord,
  findDelivery,
  hasDueDelivery,
  listDeliveries,
  queueDelivery,
  recordDeliveryAttempt,
  requeueDelivery,
} from './repositories/webhook-deliveries.js';
export {
  deleteWebhook,
  findLiveWebhook,
  insertWebhook,
  listEnabledWebhooks,
  listLiveWebhooks,
  updateWebhook,
  type WebhookChanges,
  type WebhookRecord,
} from './repositories/webhooks.js';

// Repositories: usage export

export {
  type UsageExportPosition,
  type UsageExportRange,
  type UsageExportRow,
  usageExportPage,
  usageExportRows,
} from './repositories/usage-export.js';

// Repositories: rotations, rotation policies

export {
  decodeRotationPolicy,
  deleteRotationPolicy,
  encodeRotationPolicy,
  findKeysDueUnderPolicy,
  findRotationPolicy,
  listRotationPolicies,
  type PolicyScope,
  type RotationPolicyRecord,
  type RotationReminder,
  recordRotationReminder,
  saveRotationPolicy,
} from './repositories/rotation-policies.js';
export { firstValidUseMinute, keyLastUsedAt, requestsFromMinute } from './repositories/rotation-usage.js';
export { insertRotation, updateRotation, writeRotationEffects } from './repositories/rotation-writes.js';
export {
  countRollingSelfRotations,
  decodeRotation,
  findRollingRotationIds,
  findRollingRotationOfKey,
  findRotation,
  listRotations,
  type RotationListFilter,
  selfRotationStartsAfter,
} from './repositories/rotations.js';
