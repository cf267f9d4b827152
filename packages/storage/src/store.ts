import type { Kysely } from 'kysely';
import type { ChangeKind } from './change-kinds.js';
import type { DialectName } from './dialect.js';
import type { Database } from './schema.js';

/** A change to announce to every verifier. */
export interface ChangeInput {
  at: number;
  kind: ChangeKind;
  entityId: string;
  /** SHA-256 of the key concerned, so that caches can drop exactly that entry. */
  keyHash?: string | null;
}

/** An audit event to chain. `data` must never contain a secret. */
export interface AuditInput {
  at: number;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  data?: Record<string, unknown>;
}

/** A database handle, read or write. Only storage builds queries on it; everyone else passes it to a repository. */
export type Db = Kysely<Database>;

/** A write transaction: the queries, and the two logs every mutation writes to. */
export interface Tx {
  db: Db;
  dialect: DialectName;
  change(change: ChangeInput): Promise<number>;
  audit(event: AuditInput): Promise<string>;
}

/** The database: a Kysely instance plus the one serialised way to change it. */
export interface Store {
  db: Db;
  dialect: DialectName;
  /** Runs `fn` in a write transaction serialised with every other mutation. */
  mutate<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
