import fc from 'fast-check';

/** The default seed of the property tests: fixed, so a run is reproducible. */
export const DEFAULT_PROPERTY_SEED = 20_261_129;

/** The seed of this run: `KEYROLL_PROPERTY_SEED` when set, else {@link DEFAULT_PROPERTY_SEED}. */
export function propertySeed(): number {
  const raw = process.env.KEYROLL_PROPERTY_SEED;
  if (raw === undefined || raw === '') return DEFAULT_PROPERTY_SEED;
  const seed = Number(raw);
  if (!Number.isInteger(seed)) throw new Error(`KEYROLL_PROPERTY_SEED must be an integer, not ${raw}`);
  return seed;
}

/**
 * Runs a fast-check property with this run's seed; a failure names the seed to rerun it with
 * (`KEYROLL_PROPERTY_SEED=<seed>`), besides fast-check's own counterexample and path.
 */
export async function assertProperty<T>(
  property: fc.IRawProperty<T, boolean>,
  params: Omit<fc.Parameters<T>, 'seed'> = {},
): Promise<void> {
  const seed = propertySeed();
  try {
    await fc.assert(property, { ...params, seed });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new Error(`property failed with KEYROLL_PROPERTY_SEED=${seed}\n${message}`, { cause: e });
  }
}
