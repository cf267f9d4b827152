/** The databases keyroll runs on. */
export type DialectName = 'sqlite' | 'postgres';
