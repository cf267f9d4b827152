import { Writable } from 'node:stream';
import { generateKey } from '@keyroll/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import {
  githubSignature,
  type KeysServer,
  type SigningKey,
  signingKey,
  startKeysServer,
} from './github-keys-server.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`a reported token reaches no log, row or answer on ${dialect.name}`, () => {
    let h: Harness;
    let server: KeysServer;
    let gh: SigningKey;
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    beforeAll(async () => {
      gh = signingKey('k1');
      server = await startKeysServer([gh]);
      h = await createHarness(
        dialect,
        { KEYROLL_GITHUB_KEYS_URL: server.url, KEYROLL_SCHEDULER_INTERVAL_MS: '0' },
        { logger: { level: 'trace', stream } },
      );
    });
    afterAll(async () => {
      await h?.close();
      await server?.close();
    });

    it('keeps only the SHA-256 of GitHub and operator reports, accepted or refused', async () => {
      const c = await h.consumerWithKey();
      const d = await h.consumerWithKey();
      const stranger = generateKey('kr_live').key;
      const body = JSON.stringify([c.key, stranger].map((token) => ({ token, type: 't', url: 'https://x.example/a' })));
      const headers = {
        'content-type': 'application/json',
        'github-public-key-identifier': gh.id,
        'github-public-key-signature': githubSignature(gh, body),
      };
      const answers = [
        await h.request({ method: 'POST', url: '/v1/leaks/github', payload: body, headers, auth: null }),
        await h.request({
          method: 'POST',
          url: '/v1/leaks/github',
          payload: body,
          headers: { ...headers, 'github-public-key-signature': 'AAAA' },
          auth: null,
        }),
        await h.request({ method: 'POST', url: '/v1/leaks', payload: { key: d.key, source: 'support' } }),
        await h.request({ method: 'POST', url: '/v1/leaks', payload: { key: stranger, source: 'support' } }),
        await h.request({ method: 'POST', url: '/v1/leaks', payload: { key: `${d.key}x`, source: 'support' } }),
      ];
      expect(answers.map((a) => a.statusCode)).toEqual([200, 401, 201, 404, 400]);
      const dump = [
        ...answers.map((a) => a.body),
        ...lines,
        ...(await Promise.all(
          (['incidents', 'audit_events', 'alerts', 'changes', 'rotations', 'keys'] as const).map(async (t) =>
            JSON.stringify(await h.kr.store.db.selectFrom(t).selectAll().execute()),
          ),
        )),
      ].join('\n');
      for (const secret of [c.key, d.key, stranger]) expect(dump).not.toContain(secret.slice(8));
    });
  });
}
