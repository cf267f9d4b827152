import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { checkWebhookUrl, guardedLookup, isPrivateAddress } from '../../src/webhooks/ssrf-guard.js';
import { startReceiver } from './receiver.js';

describe('webhook SSRF guard', () => {
  it('classifies private, loopback, link-local and reserved addresses', () => {
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fc00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      'not-an-ip',
    ]) {
      expect(isPrivateAddress(ip), ip).toBe(true);
    }
    for (const ip of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
      expect(isPrivateAddress(ip), ip).toBe(false);
    }
  });

  it('refuses private targets by address and by resolved name, unless allowed', async () => {
    for (const url of [
      'http://127.0.0.1:9/x',
      'http://localhost/x',
      'http://[::1]/x',
      'http://169.254.169.254/latest',
    ]) {
      await expect(checkWebhookUrl(url, false), url).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(checkWebhookUrl(url, true)).resolves.toBe(new URL(url).toString());
    }
    await expect(checkWebhookUrl('https://user:pw@example.com/', true)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(checkWebhookUrl('file:///etc/passwd', true)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('refuses at connect time a name that resolves to a private address', async () => {
    const error = await new Promise<Error | null>((resolve) =>
      guardedLookup('localhost', { all: true }, (err) => resolve(err)),
    );
    expect(error?.name).toBe('ForbiddenTargetError');
  });
});

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(
    `webhook targets without KEYROLL_WEBHOOK_ALLOW_PRIVATE on ${dialect.name}`,
    () => {
      let h: Harness;
      beforeAll(async () => {
        h = await createHarness(dialect);
      });
      afterAll(() => h?.close());

      it('rejects a loopback subscription, and never connects to one that slipped in', async () => {
        const rx = await startReceiver();
        const res = await h.request({ method: 'POST', url: '/v1/webhooks', payload: { url: rx.url, events: ['*'] } });
        expect(res.statusCode).toBe(400);
        expect(res.json().detail).toMatch(/private/);

        // A row written behind the API's back (or a name re-pointed after the check) is still refused.
        const now = h.clock.now();
        const target = rx.url.replace('127.0.0.1', 'localhost');
        await h.kr.store.mutate(async (tx) => {
          await tx.db
            .insertInto('webhooks')
            .values({
              id: 'whk_sneaky',
              url: target,
              events: '["*"]',
              consumer_id: null,
              description: null,
              enabled: 1,
              secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}`,
              previous_secret: null,
              previous_secret_until: null,
              since_seq: 0,
              created_at: now,
              updated_at: now,
              deleted_at: null,
            })
            .execute();
          await tx.db
            .insertInto('webhook_deliveries')
            .values({
              id: 'dlv_sneaky',
              webhook_id: 'whk_sneaky',
              event_seq: 1,
              event_type: 'key.created',
              payload: '{}',
              status: 'pending',
              attempts: 0,
              next_attempt_at: now,
              last_attempt_at: null,
              response_status: null,
              last_error: null,
              created_at: now,
              delivered_at: null,
            })
            .execute();
        });
        expect(await h.kr.monitoring.deliveries.tick()).toBe(1);
        const row = await h.kr.store.db
          .selectFrom('webhook_deliveries')
          .selectAll()
          .where('id', '=', 'dlv_sneaky')
          .executeTakeFirstOrThrow();
        expect(row).toMatchObject({ status: 'retrying', attempts: 1, response_status: null });
        expect(row.last_error).toMatch(/private/);
        expect(rx.received).toHaveLength(0);
        await rx.close();
      });
    },
  );
}
