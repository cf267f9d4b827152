import { Writable } from 'node:stream';
import { generateKey, redactKeys } from '@keyroll/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

describe('redactKeys', () => {
  it('redacts every key shape, with any prefix, plain or percent-encoded, and leaves ids alone', () => {
    const { key } = generateKey('kr_live');
    const body = key.slice('kr_live_'.length);
    expect(redactKeys(`GET /v1/keys/${key}/rotate`)).toBe('GET /v1/keys/kr_live_[redacted]/rotate');
    expect(redactKeys(`/x?key=${key}&y=1`)).toBe('/x?key=kr_live_[redacted]&y=1');
    expect(redactKeys(`/x?key=kr%5Flive%5F${body}`)).toBe('/x?key=kr%5Flive%5F[redacted]');
    expect(redactKeys(`acme_prod_eu_${body}`)).toBe('acme_prod_eu_[redacted]');
    // A mistyped key (bad checksum) is still a secret.
    expect(redactKeys(`kr_live_${body.slice(0, -1)}X`)).toBe('kr_live_[redacted]');
    expect(redactKeys('key_0VcHWLtN000091e5pzCh csm_0VcHWLtN000091e5pzCi')).toBe(
      'key_0VcHWLtN000091e5pzCh csm_0VcHWLtN000091e5pzCi',
    );
  });
});

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`keys in URLs never reach the log or a problem on ${dialect.name}`, () => {
    let h: Harness;
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    beforeAll(async () => {
      // A configured prefix: redaction must not depend on the default ones.
      h = await createHarness(dialect, { KEYROLL_KEY_PREFIX: 'acme_prod' }, { logger: { level: 'info', stream } });
    });
    afterAll(() => h?.close());

    it('logs and answers every spelling of a pasted key redacted', async () => {
      const { key } = await h.consumerWithKey();
      expect(key.startsWith('acme_prod_')).toBe(true);
      const stranger = generateKey('kr_live').key;
      const secrets = [key, stranger, h.rootKey];
      const encoded = (k: string) => k.replaceAll('_', '%5F');
      const requests: { method: 'GET' | 'POST' | 'PATCH'; url: string; payload?: Record<string, unknown> }[] = [
        { method: 'GET', url: `/v1/keys/${key}` },
        { method: 'GET', url: `/v1/keys/${stranger}/usage` },
        { method: 'PATCH', url: `/v1/keys/${key}`, payload: { name: 'x' } },
        { method: 'GET', url: `/v1/keys/verify?key=${key}` },
        { method: 'GET', url: `/v1/keys?consumerId=${stranger}` },
        { method: 'GET', url: `/nowhere/${key}?key=${stranger}` },
        { method: 'GET', url: `/v1/keys/${encoded(key)}` },
        { method: 'GET', url: `/v1/consumers?token=${h.rootKey}&limit=nope` },
        { method: 'POST', url: `/v1/keys/verify?key=${key}`, payload: { key, cost: 'lots' } },
        { method: 'POST', url: '/v1/keys/verify', payload: { key: stranger, scopes: 'not-a-list', extra: key } },
      ];
      lines.length = 0;
      for (const r of requests) {
        const res = await h.request(r);
        const what = `${r.method} ${r.url}`;
        for (const secret of secrets) {
          expect(res.body, what).not.toContain(secret);
          expect(res.body, what).not.toContain(encoded(secret).slice(-49));
        }
        if (res.statusCode >= 400) {
          expect(res.headers['content-type'], what).toMatch(/^application\/problem\+json/);
          expect(res.json().instance, what).not.toMatch(/[0-9A-Za-z]{40}/);
        }
      }
      const log = lines.join('');
      // The real logger wrote the requests (redacted), and nothing of the keys themselves.
      expect(log).toContain('/v1/keys/acme_prod_[redacted]');
      expect(log).toContain('/nowhere/acme_prod_[redacted]?key=kr_live_[redacted]');
      expect(log).toContain('acme%5Fprod%5F[redacted]');
      for (const secret of secrets) {
        expect(log).not.toContain(secret.slice(-40));
      }
      const notFound = await h.request({ method: 'GET', url: `/nowhere/${key}` });
      expect(notFound.json()).toMatchObject({
        code: 'ROUTE_NOT_FOUND',
        instance: '/nowhere/acme_prod_[redacted]',
        detail: 'no route for GET /nowhere/acme_prod_[redacted]',
      });
    });
  });
}
