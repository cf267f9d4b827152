import { createHmac, timingSafeEqual } from 'node:crypto';

/** The secret that seals the audit head and checkpoints; never stored in the database. */
export type AuditKey = Uint8Array;

/** MAC of the sealed head: the last event's position and the sticky alarm text. */
export function headMac(key: AuditKey, seq: number, hash: string, alarm: string | null): string {
  return mac(key, ['keyroll-audit-head', String(seq), hash, alarm ?? '']);
}

/** MAC of a verified checkpoint. */
export function checkpointMac(key: AuditKey, seq: number, hash: string, events: number): string {
  return mac(key, ['keyroll-audit-checkpoint', String(seq), hash, String(events)]);
}

/** Compares a stored MAC with the expected one in constant time. */
export function macMatches(stored: string, expected: string): boolean {
  const a = Buffer.from(stored, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

// The label keeps a checkpoint's MAC from ever passing as a head's, and the reverse.
function mac(key: AuditKey, parts: string[]): string {
  return createHmac('sha256', key).update(parts.join('\n')).digest('hex');
}
