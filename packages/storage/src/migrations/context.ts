import type { ColumnDataType, ColumnDefinitionBuilder, Expression } from 'kysely';
import type { DialectName } from '../dialect.js';

/** What a migration may need to know about the database it runs on. */
export interface MigrationContext {
  dialect: DialectName;
  /** An auto-incrementing 64-bit primary key column. */
  seqColumn: {
    type: ColumnDataType | Expression<unknown>;
    build: (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
  };
}

/** The migration context for a dialect: the one place where column types differ. */
export function migrationContext(dialect: DialectName): MigrationContext {
  return dialect === 'sqlite'
    ? { dialect, seqColumn: { type: 'integer', build: (c) => c.primaryKey().autoIncrement() } }
    : { dialect, seqColumn: { type: 'bigserial', build: (c) => c.primaryKey() } };
}
