import { randomBytes } from 'node:crypto';
import { bytesToBase62, encodeBase62 } from './base62.js';

/** Prefixes of the ids keyroll hands out; an id says what it names. */
export const ID_PREFIXES = {
  consumer: 'csm',
  key: 'key',
  rotation: 'rot',
  event: 'evt',
  plan: 'pln',
  webhook: 'whk',
  delivery: 'dlv',
  alert: 'alr',
  policy: 'pol',
  incident: 'inc',
} as const;

/** Kind of thing an id names. */
export type IdKind = keyof typeof ID_PREFIXES;

let lastTime = -1;
let sequence = 0;

/**
 * A new prefixed id: `<prefix>_<time><sequence><random>`. Ids made by one process sort in the order
 * they were made, even within one millisecond (or while a test clock stands still).
 * @example newId('key', Date.now()) // 'key_0kZ3…'
 */
export function newId(kind: IdKind, now: number): string {
  const time = Math.max(0, Math.floor(now));
  sequence = time === lastTime ? sequence + 1 : 0;
  lastTime = time;
  return `${ID_PREFIXES[kind]}_${encodeBase62(time, 8)}${encodeBase62(sequence % 62 ** 4, 4)}${bytesToBase62(randomBytes(8)).slice(0, 8)}`;
}

/** True when `id` has the shape of an id of `kind`. */
export function isId(kind: IdKind, id: string): boolean {
  return id.startsWith(`${ID_PREFIXES[kind]}_`) && /^[a-z]+_[0-9A-Za-z]{20}$/.test(id);
}
