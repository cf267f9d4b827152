import { ApiError, grantCovers } from '@keyroll/core';

/** Scopes a root key may hold. `*` grants all; `keys:*` all of `keys:…`. */
export const ROOT_SCOPES = [
  'consumers:read',
  'consumers:write',
  'keys:read',
  'keys:write',
  'keys:verify',
  'keys:rotate',
  'audit:read',
  'webhooks:read',
  'webhooks:write',
  'alerts:read',
  'alerts:write',
  'cluster:read',
  'plans:read',
  'plans:write',
  'analytics:read',
  'dataplane:read',
] as const;

/** 400 for a root-key scope that grants nothing keyroll knows (a typo such as `keys:wrte`). */
export function checkRootScopes(scopes: readonly string[]): void {
  const unknown = scopes.filter((s) => !ROOT_SCOPES.some((known) => grantCovers(s, known)));
  if (unknown.length > 0) {
    throw new ApiError('VALIDATION_FAILED', `scopes: not root-key scopes: ${unknown.join(', ')}`, {
      field: 'scopes',
      known: [...ROOT_SCOPES, '*'],
    });
  }
}
