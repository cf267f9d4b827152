import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventFilterMatches, WEBHOOK_EVENT_TYPES, webhookEventsOf } from '../../src/webhooks/event-types.js';
import { MAX_RETRY_DELAY_MS, retryDelay } from '../../src/webhooks/retry-delay.js';
import { webhookPayload } from '../../src/webhooks/webhook-payload.js';

describe('webhook event routing', () => {
  it('maps audit actions to event types; retired-key alerts also become key.retired_key_used', () => {
    expect(webhookEventsOf('rotation.started', {})).toEqual(['rotation.started']);
    expect(webhookEventsOf('consumer.created', {})).toEqual([]);
    expect(webhookEventsOf('webhook.created', {})).toEqual([]);
    expect(webhookEventsOf('alert.raised', { rule: 'failure_rate' })).toEqual(['alert.raised']);
    expect(webhookEventsOf('alert.raised', { rule: 'retired_key_used' })).toEqual([
      'alert.raised',
      'key.retired_key_used',
    ]);
  });

  it('matches filters exactly, by family and with *', () => {
    expect(eventFilterMatches(['*'], 'key.created')).toBe(true);
    expect(eventFilterMatches(['rotation.*'], 'rotation.completed')).toBe(true);
    expect(eventFilterMatches(['rotation.*'], 'key.created')).toBe(false);
    expect(eventFilterMatches(['key.created'], 'key.created')).toBe(true);
    expect(eventFilterMatches(['key.created'], 'key.revoked')).toBe(false);
    for (const type of WEBHOOK_EVENT_TYPES) expect(eventFilterMatches([`${type.split('.')[0]}.*`], type)).toBe(true);
  });

  it('never puts a secret-named field into a payload', () => {
    const payload = webhookPayload('key.created', {
      seq: 1,
      id: 'evt_1',
      at: 0,
      actor: 'root:key_1',
      action: 'key.created',
      targetType: 'key',
      targetId: 'key_2',
      data: { consumerId: 'csm_1', key: 'kr_live_x', secret: 's', hash: 'h', keyHash: 'k', name: 'n' },
      hash: '',
      prevHash: '',
    });
    expect(payload).toEqual({
      type: 'key.created',
      timestamp: '1970-01-01T00:00:00.000Z',
      data: { eventId: 'evt_1', keyId: 'key_2', consumerId: 'csm_1', name: 'n', actor: 'root:key_1' },
    });
  });
});

describe('retry delay', () => {
  it('grows exponentially with jitter between half and all of the step, capped at an hour', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 600_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, base, r) => {
          const step = Math.min(MAX_RETRY_DELAY_MS, base * 2 ** (attempt - 1));
          const d = retryDelay(attempt, base, () => r);
          return d >= Math.floor(step / 2) && d <= Math.ceil(step) && d <= MAX_RETRY_DELAY_MS;
        },
      ),
    );
    expect(retryDelay(3, 1000, () => 1)).toBe(4000);
    expect(retryDelay(3, 1000, () => 0)).toBe(2000);
  });
});
