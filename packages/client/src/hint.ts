/**
 * The display fragment of a key (`kr_live_…a1b2`), safe to log; the same form keyroll shows as `hint`.
 * Computed here because the SDK must stay free of `@keyroll/core` (which needs `node:crypto`).
 */
export function hintOf(key: string): string {
  const sep = key.lastIndexOf('_');
  return `${sep > 0 ? key.slice(0, sep) : ''}_…${key.slice(-4)}`;
}
