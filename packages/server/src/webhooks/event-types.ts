/** Every event type a webhook can subscribe to. */
export const WEBHOOK_EVENT_TYPES = [
  'key.created',
  'key.updated',
  'key.revoked',
  'key.expiring',
  'key.retired_key_used',
  'rotation.started',
  'rotation.reminder',
  'rotation.extended',
  'rotation.completed',
  'rotation.rolled_back',
  'successor.claimed',
  'successor.reclaim_attempted',
  'alert.raised',
  'key.leaked',
  'incident.updated',
] as const;

/** A webhook event type. */
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

const KNOWN = new Set<string>(WEBHOOK_EVENT_TYPES);

/** True for a known event type. */
export function isWebhookEventType(type: string): type is WebhookEventType {
  return KNOWN.has(type);
}

/**
 * The webhook events an audit action becomes. Most map one to one; an alert about a retired or
 * revoked key in use is also sent as `key.retired_key_used`.
 */
export function webhookEventsOf(action: string, data: Record<string, unknown>): WebhookEventType[] {
  if (!isWebhookEventType(action) || action === 'key.retired_key_used') return [];
  if (action === 'alert.raised' && data.rule === 'retired_key_used') return ['alert.raised', 'key.retired_key_used'];
  return [action];
}

/** True when a subscription's event filter (`*`, `rotation.*`, or exact types) takes `type`. */
export function eventFilterMatches(filter: readonly string[], type: string): boolean {
  return filter.some((f) => f === '*' || f === type || (f.endsWith('.*') && type.startsWith(f.slice(0, -1))));
}
