import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { base62Width, bytesToBase62, encodeBase62, isBase62 } from './base62.js';
import { sha256Hex } from './hash.js';

/** Random bytes per key: 256 bits from the OS CSPRNG. */
const RANDOM_BYTES = 32;
/** Characters of the random part. */
export const RANDOM_LENGTH = base62Width(RANDOM_BYTES * 8);
/** Characters of the CRC32 checksum, base62. */
export const CHECKSUM_LENGTH = 6;
const BODY_LENGTH = RANDOM_LENGTH + CHECKSUM_LENGTH;
const PREFIX_RE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/** Default key prefixes. */
export const DEFAULT_PREFIXES = { live: 'kr_live', test: 'kr_test', root: 'kr_root' } as const;

/** A key split into its parts; produced by {@link parseKey} only when the checksum holds. */
export interface ParsedKey {
  prefix: string;
  random: string;
  checksum: string;
}

/** A freshly generated key: the secret (shown once) with what is stored in its place. */
export interface GeneratedKey {
  key: string;
  hash: string;
  hint: string;
  prefix: string;
}

/** True when `prefix` is usable as a key prefix (lower case words joined by `_`). */
export function isValidPrefix(prefix: string): boolean {
  return prefix.length <= 32 && PREFIX_RE.test(prefix);
}

/** CRC32 of the text before the checksum, as six base62 characters. */
export function checksumOf(prefixAndRandom: string): string {
  return encodeBase62(crc32(prefixAndRandom), CHECKSUM_LENGTH);
}

/**
 * Generates a new key `<prefix>_<random><checksum>`.
 * @example generateKey('kr_live').key // 'kr_live_4fT…'
 */
export function generateKey(prefix: string): GeneratedKey {
  if (!isValidPrefix(prefix)) throw new RangeError(`invalid key prefix: ${prefix}`);
  const head = `${prefix}_${bytesToBase62(randomBytes(RANDOM_BYTES))}`;
  const key = head + checksumOf(head);
  return { key, hash: sha256Hex(key), hint: hintOf(key), prefix };
}

/** Splits and checks a key; `null` when it is malformed or its checksum does not match. */
export function parseKey(key: string): ParsedKey | null {
  if (typeof key !== 'string' || key.length > 128) return null;
  const sep = key.length - BODY_LENGTH - 1;
  if (sep < 1 || key[sep] !== '_') return null;
  const prefix = key.slice(0, sep);
  const random = key.slice(sep + 1, sep + 1 + RANDOM_LENGTH);
  const checksum = key.slice(sep + 1 + RANDOM_LENGTH);
  if (!isValidPrefix(prefix) || !isBase62(random) || !isBase62(checksum)) return null;
  if (checksumOf(key.slice(0, key.length - CHECKSUM_LENGTH)) !== checksum) return null;
  return { prefix, random, checksum };
}

/** The display fragment of a key: its prefix and last four characters. Safe to store and show. */
export function hintOf(key: string): string {
  const sep = key.length - BODY_LENGTH - 1;
  const prefix = sep > 0 ? key.slice(0, sep) : '';
  return `${prefix}_…${key.slice(-4)}`;
}

/** SHA-256 of the whole key, hex: the lookup handle stored in place of the key. */
export function hashKey(key: string): string {
  return sha256Hex(key);
}
