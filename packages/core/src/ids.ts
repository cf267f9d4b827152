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
} as const;

/** Kind of thing an id names. */
export type IdKind = keyof typeof ID_PREFIXES;

/**
 * A new prefixed id: `<prefix>_<time><random>`; ids of one kind sort by creation time.
 * @example newId('key', Date.now()) // 'key_0kZ3…'
 */
export function newId(kind: IdKind, now: number): string {
  return `${ID_PREFIXES[kind]}_${encodeBase62(Math.max(0, Math.floor(now)), 8)}${bytesToBase62(randomBytes(10)).slice(0, 12)}`;
}

/** True when `id` has the shape of an id of `kind`. */
export function isId(kind: IdKind, id: string): boolean {
  return id.startsWith(`${ID_PREFIXES[kind]}_`) && /^[a-z]+_[0-9A-Za-z]{20}$/.test(id);
}
