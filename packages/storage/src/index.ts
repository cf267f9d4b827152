export { auditHash, GENESIS_HASH } from './append.js';
export { type AuditChainReport, verifyAuditChain } from './audit-chain.js';
export { createStore, PG_CHANGE_CHANNEL, type StoreOptions } from './create-store.js';
export type { DialectName } from './dialect.js';
export { migrateToLatest } from './migrate.js';
export type { MigrationContext } from './migrations/context.js';
export type * from './schema.js';
export type { AuditInput, ChangeInput, Store, Tx } from './store.js';
