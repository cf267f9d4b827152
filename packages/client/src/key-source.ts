/** What a source's `read()` may return: keys best first, or text holding one key a line. */
export type KeyList = string | readonly string[];

/**
 * Where the client gets its key. The first key is the one in use; more keys (one a line in a file)
 * are fallbacks, e.g. the previous key during its grace window.
 * @example const source: KeySource = { read: () => secrets.get('api-key'), write: (keys) => secrets.put('api-key', keys[0]) };
 */
export interface KeySource {
  /** The current keys, best first. */
  read(): KeyList | Promise<KeyList>;
  /** Persists keys (best first) before the client switches to them; without it a rotated key lives in memory only. */
  write?(keys: readonly string[]): void | Promise<void>;
  /** Runs `fn` while no other process sharing this source runs its own `fn` (e.g. a lock file). */
  exclusive?<T>(fn: () => Promise<T>): Promise<T>;
  /** Calls `onChange` when the keys may have changed; returns a function that stops watching. */
  watch?(onChange: () => void): () => void;
  /** Releases what the source holds (watchers, timers). */
  close?(): void | Promise<void>;
}

/** Normalises what a source returned to a list of keys: one a line, blank lines and `#` comments dropped. */
export function toKeys(list: KeyList): string[] {
  const lines = typeof list === 'string' ? list.split(/\r?\n/) : list;
  const keys: string[] = [];
  for (const line of lines) {
    const key = line.trim();
    if (key && !key.startsWith('#') && !keys.includes(key)) keys.push(key);
  }
  return keys;
}
