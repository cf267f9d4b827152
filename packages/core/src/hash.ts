import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 of a string, hex-encoded: the only form in which keyroll stores a key. */
export function sha256Hex(input: string): string {
  return createHash('sha256').update(input).digest('hex');
}

/** Compares two strings in constant time (for secrets and their hashes). */
export function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
