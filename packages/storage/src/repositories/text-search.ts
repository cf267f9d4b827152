import { type Expression, type SqlBool, sql } from 'kysely';
import type { DialectName } from '../dialect.js';

/** The character that escapes `%`, `_` and itself in the LIKE patterns below. */
const ESCAPE = '!';

/**
 * The SQL function, registered on every SQLite connection of a store (see `createStore`), that
 * folds case with {@link foldCase}: SQLite's own `lower()` and LIKE fold only A–Z.
 */
export const SQLITE_FOLD_FUNCTION = 'keyroll_lower';

/**
 * `text` in lower case, letter by letter, as PostgreSQL's `lower()` folds it in a UTF-8 libc
 * locale (`C.UTF-8`, `en_US.UTF-8`): Unicode's simple case mapping of each character. JavaScript's
 * `toLowerCase()` is that mapping except in two places, evened out first: a capital sigma becomes
 * `ς` at the end of a word (so "ΑΣ" would not be found in "ΑΣΑ"), and `İ` becomes two characters
 * (`i` and a combining dot) instead of `i`. Deterministic: the same text always folds alike.
 */
export function foldCase(text: string): string {
  return text.replace(/[\u0130\u03a3]/g, (c) => (c === '\u0130' ? 'i' : '\u03c3')).toLowerCase();
}

/** A LIKE pattern that finds `text` anywhere, with `%`, `_` and the escape character taken literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[!%_]/g, (c) => `${ESCAPE}${c}`)}%`;
}

/**
 * SQL for "`column` contains the text of `pattern`" (made by {@link containsPattern}), ignoring
 * case: both sides folded, then LIKE with an explicit ESCAPE, which SQLite and PostgreSQL read
 * alike. PostgreSQL folds with `lower()`; SQLite with {@link SQLITE_FOLD_FUNCTION}, whose
 * {@link foldCase} matches `lower()` under a UTF-8 libc locale. Either way a scan of the rows
 * (a pattern that starts with `%` uses no index); on SQLite each value costs a call into
 * JavaScript, some five times the built-in `lower()` (about 1.4 µs a row for two columns).
 */
export function columnContains(dialect: DialectName, column: string, pattern: string): Expression<SqlBool> {
  const lower = sql.raw(dialect === 'sqlite' ? SQLITE_FOLD_FUNCTION : 'lower');
  return sql<SqlBool>`${lower}(${sql.ref(column)}) like ${lower}(${pattern}) escape ${sql.lit(ESCAPE)}`;
}
