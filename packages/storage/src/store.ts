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
  /**
   * Runs `fn` in one consistent, read-only transaction that leaves the store's writes free: on
   * PostgreSQL a `repeatable read` transaction on a pooled connection; on SQLite a read transaction
   * on a connection of its own, opened for the call and closed when it ends (WAL lets the store's
   * connection write meanwhile; the reader keeps seeing the database as it was when it began). An
   * in-memory SQLite database, which a second connection cannot see, reads on the store's connection.
   */
  readConsistently<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
