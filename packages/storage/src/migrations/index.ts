import type { Kysely } from 'kysely';
import * as foundation from './0001-foundation.js';
import * as usage from './0002-usage.js';
import * as rotations from './0003-rotations.js';
import * as cluster from './0004-cluster.js';
import * as plans from './0005-plans.js';
import * as monitoring from './0006-monitoring.js';
import * as retentionIndexes from './0007-retention-indexes.js';
import * as auditSeals from './0008-audit-seals.js';
import * as keyLineage from './0009-key-lineage.js';
import * as leaks from './0010-leaks.js';
import * as edgeUsageBatches from './0011-edge-usage-batches.js';
import * as edgeNodes from './0012-edge-nodes.js';
import type { MigrationContext } from './context.js';

/** A schema step; applied once, in name order. */
export interface KeyrollMigration {
  up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void>;
}

/** Every migration, by name. Add new ones at the end with the next number. */
export const MIGRATIONS: Record<string, KeyrollMigration> = {
  '0001-foundation': foundation,
  '0002-usage': usage,
  '0003-rotations': rotations,
  '0004-cluster': cluster,
  '0005-plans': plans,
  '0006-monitoring': monitoring,
  '0007-retention-indexes': retentionIndexes,
  '0008-audit-seals': auditSeals,
  '0009-key-lineage': keyLineage,
  '0010-leaks': leaks,
  '0011-edge-usage-batches': edgeUsageBatches,
  '0012-edge-nodes': edgeNodes,
};
