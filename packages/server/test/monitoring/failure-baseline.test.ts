import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BASELINE_WARMUP, type FailureBaseline, isFailureSpike, learn } from '../../src/alerts/failure-baseline.js';

const RULE = { deviations: 3, minIncrease: 0.1 };

function learnAll(rates: number[]): FailureBaseline | undefined {
  let b: FailureBaseline | undefined;
  for (const r of rates) b = learn(b, r);
  return b;
}

describe('failure-rate baseline', () => {
  it('judges nothing before the warm-up', () => {
    expect(isFailureSpike(learnAll(Array(BASELINE_WARMUP - 1).fill(0)), 1, RULE)).toBe(false);
    expect(isFailureSpike(learnAll(Array(BASELINE_WARMUP).fill(0)), 1, RULE)).toBe(true);
  });

  it('never flags a rate within the learned range, nor a small rise', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 10, maxLength: 100 }), (rates) => {
        const b = learnAll(rates);
        if (!b) return false;
        return !isFailureSpike(b, b.mean, RULE) && !isFailureSpike(b, b.mean + 0.05, RULE) && b.variance >= 0;
      }),
    );
  });

  it('flags a jump from a steady low rate', () => {
    const b = learnAll([0.02, 0.03, 0.01, 0.02, 0.02, 0.03]);
    expect(isFailureSpike(b, 0.4, RULE)).toBe(true);
    expect(isFailureSpike(b, 0.05, RULE)).toBe(false);
  });
});
