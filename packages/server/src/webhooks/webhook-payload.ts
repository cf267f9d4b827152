import type { AuditEventRecord } from '@keyroll/storage';

/** The body of a webhook, in the Standard Webhooks shape. */
export interface WebhookPayload {
  type: string;
  /** ISO 8601 time of the event. */
  timestamp: string;
  data: Record<string, unknown>;
}

/** Field names that never leave keyroll in a webhook, whatever an audit event holds. */
const NEVER_SENT = new Set(['key', 'secret', 'hash', 'keyHash', 'previousSecret']);

/** Builds the payload of a webhook event from the audit event it comes from. */
export function webhookPayload(type: string, event: AuditEventRecord): WebhookPayload {
  const data: Record<string, unknown> = {
    eventId: event.id,
    [`${event.targetType}Id`]: event.targetId,
    consumerId: null,
  };
  for (const [name, value] of Object.entries(event.data)) if (!NEVER_SENT.has(name)) data[name] = value;
  data.actor = event.actor;
  return { type, timestamp: new Date(event.at).toISOString(), data };
}
