/**
 * Every kind of change-log entry, closed: a verifier's listeners switch on it exhaustively, so
 * adding or renaming a kind is a compile error where it must be handled. Entries about one key
 * (`key.*`, `rotation.*` but `rotation.reminder`) carry that key's hash.
 */
export const CHANGE_KINDS = [
  'key.created',
  'key.updated',
  'key.revoked',
  'rotation.started',
  'rotation.claimed',
  'rotation.completed',
  'rotation.rolled_back',
  'rotation.extended',
  'rotation.shortened',
  'rotation.reminder',
  'consumer.created',
  'consumer.updated',
  'consumer.deleted',
  'plan.created',
  'plan.updated',
  'plan.deleted',
  'rotation_policy.set',
  'rotation_policy.deleted',
] as const;

/** A kind of change-log entry. */
export type ChangeKind = (typeof CHANGE_KINDS)[number];
