/** Base62 alphabet in ASCII order, so that fixed-width encodings sort like the numbers they encode. */
export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Encodes a non-negative integer as base62, left-padded with zeros to `width` characters. */
export function encodeBase62(value: bigint | number, width: number): string {
  let out = '';
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
    // Plain arithmetic when the value fits a double: every verification encodes a checksum.
    for (let n = value; n > 0; n = Math.floor(n / 62)) out = BASE62[n % 62] + out;
  } else {
    let n = BigInt(value);
    if (n < 0n) throw new RangeError('base62 encodes non-negative integers only');
    while (n > 0n) {
      out = BASE62[Number(n % 62n)] + out;
      n /= 62n;
    }
  }
  if (out.length > width) throw new RangeError(`value does not fit in ${width} base62 characters`);
  return out.padStart(width, '0');
}

/** Encodes bytes as a fixed-width base62 string (the width that 8·n bits need). */
export function bytesToBase62(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return encodeBase62(n, base62Width(bytes.length * 8));
}

/** Number of base62 characters needed to hold `bits` bits. */
export function base62Width(bits: number): number {
  return Math.ceil(bits / Math.log2(62));
}

const BASE62_RE = /^[0-9A-Za-z]*$/;

/** True when `s` holds base62 characters only. */
export function isBase62(s: string): boolean {
  return BASE62_RE.test(s);
}
