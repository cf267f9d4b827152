import { ApiError } from '@keyroll/core';
import type { FastifyInstance } from 'fastify';

function holdsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 32 || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((v) => holdsNul(v, depth + 1));
  return Object.entries(value).some(([k, v]) => k.includes('\u0000') || holdsNul(v, depth + 1));
}

/**
 * Rejects NUL characters anywhere in a request's path parameters, query or body with a 400:
 * PostgreSQL cannot store them in text, so they would otherwise surface as a 500.
 */
export function rejectNulCharacters(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    if (holdsNul(request.params) || holdsNul(request.query) || holdsNul(request.body)) {
      throw new ApiError('VALIDATION_FAILED', 'text must not contain NUL (\\u0000) characters');
    }
  });
}
