/** Decodes a JSON column that is never `NULL`. */
export function readJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** Decodes a nullable JSON column (`NULL` and `''` are `null`). */
export function readJsonOrNull<T>(text: string | null): T | null {
  return text ? (JSON.parse(text) as T) : null;
}

/** Encodes a value for a nullable JSON column (`null` stays `NULL`). */
export function writeJsonOrNull(value: unknown): string | null {
  return value === null ? null : JSON.stringify(value);
}
