import { ApiError } from '@keyroll/core';
import type { FastifyInstance } from 'fastify';

/** What is wrong with a piece of request text, if anything. */
type TextFault = 'nul' | 'surrogate' | null;

// With the `u` flag a well-formed surrogate pair is one code point; only a lone half matches.
const LONE_SURROGATE = /\p{Surrogate}/u;

function faultOf(text: string): TextFault {
  if (text.includes('\u0000')) return 'nul';
  return LONE_SURROGATE.test(text) ? 'surrogate' : null;
}

/** The first faulty text in a value (strings, object keys, nested arrays and objects). */
function findFault(value: unknown, depth = 0): TextFault {
  if (typeof value === 'string') return faultOf(value);
  if (depth > 32 || value === null || typeof value !== 'object') return null;
  const entries: [string | null, unknown][] = Array.isArray(value)
    ? value.map((v): [null, unknown] => [null, v])
    : Object.entries(value);
  for (const [k, v] of entries) {
    const fault = (k === null ? null : faultOf(k)) ?? findFault(v, depth + 1);
    if (fault) return fault;
  }
  return null;
}

/**
 * Rejects NUL characters anywhere in a request's path parameters, query or body with a 400
 * `VALIDATION_FAILED` (PostgreSQL cannot store them in text), and lone UTF-16 surrogates (`"\ud800"`
 * in JSON: not Unicode, so neither UTF-8 column nor JSON reply could carry them faithfully) with a
 * 400 `INVALID_UNICODE`, before any of it reaches a handler or storage.
 */
export function rejectNulCharacters(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const fault = findFault(request.params) ?? findFault(request.query) ?? findFault(request.body);
    if (fault === 'nul') throw new ApiError('VALIDATION_FAILED', 'text must not contain NUL (\\u0000) characters');
    if (fault === 'surrogate') {
      throw new ApiError(
        'INVALID_UNICODE',
        'text must be well-formed Unicode: a lone UTF-16 surrogate (\\ud800-\\udfff without its pair) is not allowed',
      );
    }
  });
}
