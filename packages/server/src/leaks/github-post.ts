import { ApiError } from '@keyroll/core';
import type { GithubToken } from './leak-service.js';

/**
 * The raw bytes of a request body, kept whole for a signature check. A class with a private field,
 * so that hooks walking the body (the NUL check) see nothing to walk.
 */
export class RawBody {
  readonly #bytes: Buffer;

  constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  /** The body exactly as received. */
  get bytes(): Buffer {
    return this.#bytes;
  }
}

/** Most tokens one post may carry. */
export const MAX_TOKENS_PER_POST = 1000;

const CONTROL = /\p{Cc}/u;
const LONE_SURROGATE = /\p{Surrogate}/u;
/** Text worth keeping (echoed or stored): bounded, printable, well-formed; otherwise dropped. */
function keepable(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) return undefined;
  if (CONTROL.test(value) || LONE_SURROGATE.test(value)) return undefined;
  return value;
}

/**
 * Reads a verified GitHub post: a JSON array of `{token, type, url?, source?}`. 400 VALIDATION_FAILED
 * for anything else, naming the first faulty entry. Only `token` is required to be usable; an odd
 * `url` or `source` is dropped rather than stored.
 */
export function parseGithubPost(raw: Buffer): GithubToken[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ApiError('VALIDATION_FAILED', 'the body is not JSON');
  }
  if (!Array.isArray(parsed)) throw new ApiError('VALIDATION_FAILED', 'the body must be a JSON array of tokens');
  if (parsed.length > MAX_TOKENS_PER_POST) {
    throw new ApiError('VALIDATION_FAILED', `at most ${MAX_TOKENS_PER_POST} tokens per post`, {
      limit: MAX_TOKENS_PER_POST,
    });
  }
  return parsed.map((entry: unknown, i): GithubToken => {
    const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    if (typeof e.token !== 'string' || e.token.length === 0 || e.token.length > 4096) {
      throw new ApiError('VALIDATION_FAILED', `[${i}].token: a string of 1 to 4096 characters is required`, {
        field: `[${i}].token`,
      });
    }
    return {
      token: e.token,
      type: keepable(e.type, 200) ?? 'unknown',
      url: keepable(e.url, 2048),
      source: keepable(e.source, 200),
    };
  });
}
