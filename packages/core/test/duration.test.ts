import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DURATION_PATTERN, formatDuration, MAX_DURATION_MS, parseDuration, readDuration } from '../src/index.js';

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['500ms', 500],
    ['30', 30_000],
    [0, 0],
    [3600, 3_600_000],
  ])('%s → %d ms', (input, ms) => expect(parseDuration(input)).toBe(ms));

  it.each([['-5s'], ['abc'], ['5y'], [''], [null], [{}], [-1], [Number.NaN], ['1e3'], ['9999999d']])(
    'rejects %s',
    (input) => expect(parseDuration(input)).toBeNull(),
  );

  it('round-trips formatted durations (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_DURATION_MS / 1000 }), (seconds) => {
        const ms = seconds * 1000;
        expect(parseDuration(formatDuration(ms))).toBe(ms);
        expect(parseDuration(seconds)).toBe(ms);
        expect(parseDuration(String(seconds))).toBe(ms);
      }),
    );
  });

  it('never throws on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.anything(), (x) => {
        const r = parseDuration(x);
        expect(r === null || (Number.isInteger(r) && r >= 0)).toBe(true);
      }),
    );
  });
});

describe('readDuration', () => {
  it('tells a malformed duration from one that is too long', () => {
    expect(readDuration('15m')).toEqual({ ms: 900_000 });
    for (const input of ['5 weeks', '1y', '-1d', '', -5, Number.NaN, null]) {
      expect(readDuration(input), String(input)).toEqual({ fault: 'malformed' });
    }
    for (const input of ['9999999d', 1e300, Number.POSITIVE_INFINITY, MAX_DURATION_MS / 1000 + 1]) {
      expect(readDuration(input), String(input)).toEqual({ fault: 'too-long' });
    }
  });

  it('accepts exactly the strings DURATION_PATTERN matches (property)', () => {
    const pattern = new RegExp(DURATION_PATTERN, 'u');
    const text = fc.oneof(fc.string(), fc.stringMatching(/^\s?\d{1,4}(\.\d{1,2})?(ms|s|m|h|d|w|y|)\s?$/));
    fc.assert(
      fc.property(text, (s) => {
        const read = readDuration(s);
        expect(pattern.test(s), JSON.stringify(s)).toBe(!('fault' in read && read.fault === 'malformed'));
      }),
      { numRuns: 2000 },
    );
  });
});
