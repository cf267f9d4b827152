import type { KeySource } from './key-source.js';

/**
 * A fixed key (or several, best first). Rotations made by the client live in memory only.
 * @example createClient({ baseUrl, keys: fromValue('kr_live_…') })
 */
export function fromValue(key: string | readonly string[]): KeySource {
  return { read: () => key };
}
