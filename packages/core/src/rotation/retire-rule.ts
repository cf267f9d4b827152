/** How a rotation's old key is retired. */
export type RetireMode = 'deadline' | 'when-idle' | 'after-first-use';

/** All retirement modes. */
export const RETIRE_MODES: readonly RetireMode[] = ['deadline', 'when-idle', 'after-first-use'];

/** A checked retirement rule, as stored with a rotation or a policy (durations in ms). */
export type RetireRule =
  | { mode: 'deadline' }
  | {
      mode: 'when-idle';
      idleForMs: number;
      minGraceMs: number;
      maxGraceMs: number;
      extendByMs: number | null;
      maxExtensions: number;
    }
  | { mode: 'after-first-use'; graceMs: number; maxGraceMs: number };

/** How long after the start the old key retires at the latest (before extensions). */
export function retireWindowMs(rule: RetireRule, graceMs: number): number {
  return rule.mode === 'deadline' ? graceMs : rule.maxGraceMs;
}
