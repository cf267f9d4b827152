import type { KeyStatus } from '@keyroll/core';
import type { ExpressionBuilder, ExpressionWrapper, SqlBool } from 'kysely';
import type { Database } from '../schema.js';

type KeysEb = ExpressionBuilder<Database, 'keys'>;

/** SQL for "this key has status `status` at `now`", mirroring `keyStatusAt` in core. */
export function keyStatusIs(eb: KeysEb, status: KeyStatus, now: number): ExpressionWrapper<Database, 'keys', SqlBool> {
  const notRevoked = eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', now)]);
  const notRetired = eb.or([eb('retires_at', 'is', null), eb('retires_at', '>', now)]);
  const notExpired = eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]);
  switch (status) {
    case 'revoked':
      return eb('revoked_at', '<=', now);
    case 'retired':
      return eb.and([notRevoked, eb('retires_at', '<=', now)]);
    case 'expired':
      return eb.and([notRevoked, notRetired, eb('expires_at', '<=', now)]);
    case 'deprecated':
      return eb.and([notRevoked, eb('retires_at', '>', now), notExpired]);
    case 'active':
      return eb.and([notRevoked, eb('retires_at', 'is', null), notExpired]);
  }
}

/** SQL for "this key is usable at `now`": active or deprecated (inside its grace window). */
export function keyIsUsable(eb: KeysEb, now: number): ExpressionWrapper<Database, 'keys', SqlBool> {
  return eb.or([keyStatusIs(eb, 'active', now), keyStatusIs(eb, 'deprecated', now)]);
}
