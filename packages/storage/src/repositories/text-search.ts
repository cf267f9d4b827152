import { type Expression, type SqlBool, sql } from 'kysely';

/** The character that escapes `%`, `_` and itself in the LIKE patterns below. */
const ESCAPE = '!';

/** A LIKE pattern that finds `text` anywhere, with `%`, `_` and the escape character taken literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[!%_]/g, (c) => `${ESCAPE}${c}`)}%`;
}

/**
 * SQL for "`column` contains the text of `pattern`" (made by {@link containsPattern}), ignoring
 * case: `lower()` on both sides with an explicit ESCAPE, which SQLite and PostgreSQL read alike.
 */
export function columnContains(column: string, pattern: string): Expression<SqlBool> {
  return sql<SqlBool>`lower(${sql.ref(column)}) like lower(${pattern}) escape ${sql.lit(ESCAPE)}`;
}
