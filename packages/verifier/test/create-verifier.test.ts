import { ApiError } from '@keyroll/core';
import { createVerifier, type EmbeddedVerifier, RedisUnreachableError } from '@keyroll/verifier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, REDIS_URL } from '../../../test/support/databases.js';
import { eventually } from '../../../test/support/eventually.js';
import { createHarness, type Harness } from '../../../test/support/harness.js';
import { closedPort, RedisRelay } from '../../../test/support/redis-relay.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`createVerifier in a provider's process on ${dialect.name}`, () => {
    let h: Harness;
    let embedded: EmbeddedVerifier;
    beforeAll(async () => {
      h = await createHarness(dialect);
      embedded = await createVerifier({ databaseUrl: h.db.url, usageFlushMs: 0 });
    });
    afterAll(async () => {
      await embedded?.close();
      await h?.close();
    });

    it('verifies keys issued by the keyroll node and follows its revocations', async () => {
      const { key, keyId } = await h.consumerWithKey({ scopes: ['read'] });
      expect(await embedded.verifier.verify(key, { scopes: ['read'] })).toMatchObject({ valid: true, keyId });
      await h.json('POST', `/v1/keys/${keyId}/revoke`, {}, 200);
      const code = await eventually(async () => {
        const { code } = await embedded.verifier.verify(key);
        return code !== 'VALID' && code;
      }, 'the revocation to reach the embedded verifier');
      expect(code).toBe('REVOKED');
    });

    it('refuses a URL that names no keyroll database', async () => {
      await expect(createVerifier({ databaseUrl: 'mysql://x' })).rejects.toThrow(/postgres:\/\/ or sqlite:/);
    });
  });
}

const sqlite = DIALECTS.find((d) => d.name === 'sqlite');

// Security finding: an embedded verifier given a Redis it could not reach fell back to node-local
// counting (fail open), where a keyroll node refuses to start and answers 503 while Redis is away.
describe.skipIf(!sqlite?.available)('createVerifier with a Redis that cannot be reached', () => {
  let h: Harness;
  beforeAll(async () => {
    if (!sqlite) throw new Error('no sqlite');
    h = await createHarness(sqlite);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses to start, naming the URL with its password redacted', async () => {
    const port = await closedPort();
    const error = await createVerifier({
      databaseUrl: h.db.url,
      redisUrl: `redis://:hunter2@127.0.0.1:${port}/0`,
    }).then(
      async (embedded) => {
        await embedded.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect(String(error)).toContain(`redis://:***@127.0.0.1:${port}/0`);
    expect(String(error)).not.toContain('hunter2');
  });

  it.skipIf(!REDIS_URL)('refuses keys with limits as UNAVAILABLE while Redis is away, and recovers', async () => {
    if (!REDIS_URL) throw new Error('no redis');
    const relay = new RedisRelay(new URL(REDIS_URL));
    await relay.open();
    const embedded = await createVerifier({
      databaseUrl: h.db.url,
      redisUrl: `redis://127.0.0.1:${relay.port}/0`,
      redisPrefix: `keyroll-test-${Date.now()}-${Math.random().toString(36).slice(2)}:`,
      usageFlushMs: 0,
    });
    try {
      const limited = await h.consumerWithKey({ rateLimit: { limit: 100, window: '1m' } });
      const unlimited = await h.consumerWithKey();
      expect(await embedded.verifier.verify(limited.key)).toMatchObject({ valid: true, ratelimit: { remaining: 99 } });

      await relay.cut();
      const refused = await embedded.verifier.verify(limited.key).then(
        () => null,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(ApiError);
      expect(refused).toMatchObject({ code: 'UNAVAILABLE' });
      expect(await embedded.verifier.verify(unlimited.key)).toMatchObject({ valid: true });

      await relay.open();
      await eventually(async () => (await embedded.verifier.verify(limited.key).catch(() => null))?.valid === true);
    } finally {
      await embedded.close();
      await relay.cut();
    }
  });
});
