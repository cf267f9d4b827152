import { createVerifier, type EmbeddedVerifier } from '@keyroll/verifier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/support/databases.js';
import { eventually } from '../../../test/support/eventually.js';
import { createHarness, type Harness } from '../../../test/support/harness.js';

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
