import { CHECKSUM_LENGTH, checksumOf, isValidPrefix, RANDOM_LENGTH } from '@keyroll/core';

/** What a secret scanner is given: a regular expression for a whole key and a sample it matches. */
export interface KeyPattern {
  /** One line, JavaScript and PCRE syntax: a whole key, not a key embedded in a longer token. */
  pattern: string;
  /** A key-shaped, checksum-valid string that is never issued (its random part is not random). */
  sample: string;
}

/** Base62 characters of a key after its prefix and separator: the random part and the checksum. */
export const KEY_BODY_LENGTH = RANDOM_LENGTH + CHECKSUM_LENGTH;

/** The marker the sample's random part starts with; the rest is `0`s, which no CSPRNG key will be. */
const SAMPLE_MARKER = 'KeyrollSampleNotALiveKey';

/**
 * The scanner pattern of the keys issued with `prefixes`: each prefix, `_`, then exactly
 * {@link KEY_BODY_LENGTH} base62 characters, with no word character or `_` on either side.
 * @example keyPattern(['kr_live']).pattern // '(?<![A-Za-z0-9_])(?:kr_live)_[0-9A-Za-z]{49}(?![A-Za-z0-9_])'
 */
export function keyPattern(prefixes: readonly string[]): KeyPattern {
  const unique = [...new Set(prefixes)];
  const first = unique[0];
  if (first === undefined) throw new RangeError('keyPattern: at least one prefix is needed');
  for (const p of unique) if (!isValidPrefix(p)) throw new RangeError(`keyPattern: invalid prefix ${p}`);
  // Prefixes are lower-case letters, digits and `_` (isValidPrefix): nothing in them needs escaping.
  const alternatives = unique.sort((a, b) => b.length - a.length).join('|');
  const pattern = `(?<![A-Za-z0-9_])(?:${alternatives})_[0-9A-Za-z]{${KEY_BODY_LENGTH}}(?![A-Za-z0-9_])`;
  const head = `${first}_${SAMPLE_MARKER.padEnd(RANDOM_LENGTH, '0')}`;
  return { pattern, sample: head + checksumOf(head) };
}
