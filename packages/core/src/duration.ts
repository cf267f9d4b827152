const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
/**
 * The text form of a duration as a JSON Schema `pattern`: exactly the strings {@link readDuration}
 * understands (it may still find one too long).
 */
export const DURATION_PATTERN = '^\\s*\\d+(?:\\.\\d+)?(?:ms|s|m|h|d|w)?\\s*$';
/** Longest duration keyroll accepts: ten years. */
export const MAX_DURATION_MS = 10 * 365 * UNIT_MS.d;

/** Why an input is not an acceptable duration: not one at all, or longer than {@link MAX_DURATION_MS}. */
export type DurationFault = 'malformed' | 'too-long';

/**
 * Reads a duration given as seconds (number or numeric string) or as `"90s"`, `"15m"`, `"24h"`,
 * `"7d"`, `"2w"`, `"500ms"`: milliseconds, or why the input is not an acceptable duration.
 * @example readDuration('15m') // { ms: 900000 }
 */
export function readDuration(input: unknown): { ms: number } | { fault: DurationFault } {
  let ms: number;
  if (typeof input === 'number') {
    ms = input * 1000;
  } else if (typeof input === 'string') {
    const s = input.trim();
    if (/^\d+(?:\.\d+)?$/.test(s)) {
      ms = Number(s) * 1000;
    } else {
      const m = DURATION_RE.exec(s);
      if (!m) return { fault: 'malformed' };
      ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
    }
  } else {
    return { fault: 'malformed' };
  }
  if (Number.isNaN(ms) || ms < 0) return { fault: 'malformed' };
  if (ms > MAX_DURATION_MS) return { fault: 'too-long' };
  return { ms: Math.round(ms) };
}

/**
 * Parses a duration given as seconds (number or numeric string) or as `"90s"`, `"15m"`, `"24h"`,
 * `"7d"`, `"2w"`, `"500ms"`; returns milliseconds, or `null` when the input is not a duration
 * (or is longer than {@link MAX_DURATION_MS}; {@link readDuration} tells which).
 * @example parseDuration('15m') // 900000
 */
export function parseDuration(input: unknown): number | null {
  const read = readDuration(input);
  return 'ms' in read ? read.ms : null;
}

/** Formats milliseconds as the largest whole unit (`"7d"`, `"90s"`), for messages. */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
