/** A consumer's exponentially weighted failure-rate baseline. */
export interface FailureBaseline {
  mean: number;
  variance: number;
  /** Minutes learned so far. */
  samples: number;
}

/** Weight of the newest minute in the baseline. */
export const BASELINE_ALPHA = 0.2;
/** Minutes learned before the baseline judges anything. */
export const BASELINE_WARMUP = 5;

/** What the failure-rate rule needs to judge one minute. */
export interface FailureRateRule {
  deviations: number;
  minIncrease: number;
}

/** True when `rate` is an outlier against `baseline`: above mean + k·deviation, and by at least `minIncrease`. */
export function isFailureSpike(baseline: FailureBaseline | undefined, rate: number, rule: FailureRateRule): boolean {
  if (!baseline || baseline.samples < BASELINE_WARMUP) return false;
  const deviation = Math.sqrt(baseline.variance);
  return rate > baseline.mean + rule.deviations * deviation && rate - baseline.mean >= rule.minIncrease;
}

/** The baseline after learning one more minute (West's exponentially weighted mean and variance). */
export function learn(baseline: FailureBaseline | undefined, rate: number): FailureBaseline {
  if (!baseline) return { mean: rate, variance: 0, samples: 1 };
  const diff = rate - baseline.mean;
  const increment = BASELINE_ALPHA * diff;
  return {
    mean: baseline.mean + increment,
    variance: (1 - BASELINE_ALPHA) * (baseline.variance + diff * increment),
    samples: baseline.samples + 1,
  };
}
