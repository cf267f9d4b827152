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
export { CHANGE_KINDS, type ChangeKind } from './change-kinds.js';
export { createStore, PG_CHANGE_CHANNEL, type StoreOptions } from './create-store.js';
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
export * from './repositories/incidents.js';
export * from './repositories/leak-policies.js';
export type * from './schema.js';
export type { AuditInput, ChangeInput, Db, Store, Tx } from './store.js';
