import { ApiError, formatDuration, type RetireMode, type RetireRule } from '@keyroll/core';

/** A retirement rule as requested, durations already in ms; unset fields take their defaults. */
export interface RetireSpec {
  mode: RetireMode;
  idleForMs?: number | undefined;
  minGraceMs?: number | undefined;
  maxGraceMs?: number | undefined;
  extendByMs?: number | undefined;
  maxExtensions?: number | undefined;
  graceMs?: number | undefined;
}

/** A retirement rule as the API shows it (durations as `"7d"`). */
export interface RetireView {
  mode: RetireMode;
  idleFor?: string;
  minGrace?: string;
  maxGrace?: string;
  extendBy?: string | null;
  maxExtensions?: number;
  gracePeriod?: string;
}

/** Extensions allowed when `extendBy` is given without `maxExtensions`. */
export const DEFAULT_MAX_EXTENSIONS = 3;

function invalid(field: string, message: string): never {
  throw new ApiError('VALIDATION_FAILED', `retire.${field}: ${message}`, { field: `retire.${field}` });
}

/**
 * Checks a retirement rule against the rotation's `gracePeriod` (ms). `maxGrace` defaults to the
 * grace period: the old key's latest deadline is `maxGrace` (or the grace period) after the start.
 */
export function retireRule(spec: RetireSpec | undefined, graceMs: number): RetireRule {
  if (!spec || spec.mode === 'deadline') {
    if (spec && Object.entries(spec).some(([k, v]) => k !== 'mode' && v !== undefined))
      invalid('mode', 'mode "deadline" takes no other fields');
    return { mode: 'deadline' };
  }
  const maxGraceMs = spec.maxGraceMs ?? graceMs;
  if (maxGraceMs <= 0) invalid('maxGrace', 'must be longer than 0');
  if (spec.mode === 'after-first-use') {
    const afterUse = spec.graceMs ?? graceMs;
    if (spec.idleForMs !== undefined || spec.minGraceMs !== undefined || spec.extendByMs !== undefined) {
      invalid('mode', 'mode "after-first-use" takes only gracePeriod and maxGrace');
    }
    if (afterUse > maxGraceMs) invalid('gracePeriod', 'must not be longer than maxGrace');
    return { mode: 'after-first-use', graceMs: afterUse, maxGraceMs };
  }
  if (spec.graceMs !== undefined) invalid('gracePeriod', 'only mode "after-first-use" takes a gracePeriod');
  if (spec.idleForMs === undefined || spec.idleForMs <= 0) invalid('idleFor', 'mode "when-idle" needs idleFor > 0');
  const minGraceMs = spec.minGraceMs ?? 0;
  if (minGraceMs > maxGraceMs) invalid('minGrace', 'must not be longer than maxGrace');
  const extendByMs = spec.extendByMs ?? null;
  if (extendByMs !== null && extendByMs <= 0) invalid('extendBy', 'must be longer than 0');
  if (extendByMs === null && spec.maxExtensions !== undefined) invalid('maxExtensions', 'needs extendBy');
  return {
    mode: 'when-idle',
    idleForMs: spec.idleForMs,
    minGraceMs,
    maxGraceMs,
    extendByMs,
    maxExtensions: extendByMs === null ? 0 : (spec.maxExtensions ?? DEFAULT_MAX_EXTENSIONS),
  };
}

/** The API view of a rule. */
export function retireView(rule: RetireRule): RetireView {
  switch (rule.mode) {
    case 'deadline':
      return { mode: 'deadline' };
    case 'after-first-use':
      return { mode: rule.mode, gracePeriod: formatDuration(rule.graceMs), maxGrace: formatDuration(rule.maxGraceMs) };
    case 'when-idle':
      return {
        mode: rule.mode,
        idleFor: formatDuration(rule.idleForMs),
        minGrace: formatDuration(rule.minGraceMs),
        maxGrace: formatDuration(rule.maxGraceMs),
        extendBy: rule.extendByMs === null ? null : formatDuration(rule.extendByMs),
        maxExtensions: rule.maxExtensions,
      };
  }
}
