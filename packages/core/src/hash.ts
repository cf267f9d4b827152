import { createHash } from 'node:crypto';

/** SHA-256 of a string, hex-encoded: the only form in which keyroll stores a key. */
export function sha256Hex(input: string): string {
  return createHash('sha256').update(input).digest('hex');
}
