import type { Harness } from '../support/harness.js';
import { ROOT_KEY_SCOPES } from './values.js';

/**
 * The real ids and keys that generated requests refer to by placeholder. The fuzz revokes, rotates
 * and deletes what it is given, so the world is re-issued every few hundred requests; the harness's
 * own `*` root key is never handed to the fuzz, so the run can always set up and check afterwards.
 */
export class FuzzWorld {
  readonly #h: Harness;
  #pools = new Map<string, string[]>();
  #roots = new Map<string, string>();
  #generation = 0;
  /** The harness's own root key, found before the fuzz starts; never revoked here. */
  #mainRootKeyId: string | undefined;

  constructor(h: Harness) {
    this.#h = h;
  }

  /** Issues fresh root keys of every scope set, consumers with keys, a rotation, a plan and the gateway's consumer. */
  async refresh(): Promise<void> {
    const h = this.#h;
    const g = this.#generation++;
    await this.#revokeRootKeys();
    const roots = new Map<string, string>();
    for (const [label, scopes] of Object.entries(ROOT_KEY_SCOPES)) roots.set(label, await h.rootKeyWith(scopes));
    const keyBodies: Record<string, unknown>[] = [
      { scopes: ['read'] },
      { scopes: ['read', 'write'] },
      { scopes: [] },
      { scopes: ['read'], rateLimit: { limit: 1000, window: '1m' }, allowedIps: ['127.0.0.1/32', '::1/128'] },
    ];
    const consumers: string[] = [];
    const keyIds: string[] = [];
    const keys: string[] = [];
    for (const body of keyBodies) {
      const c = await h.consumerWithKey(body);
      consumers.push(c.consumerId);
      keyIds.push(c.keyId);
      keys.push(c.key);
    }
    // A rotation in flight: its old key is deprecated (still valid), its successor active.
    const rotated = await h.json('POST', `/v1/keys/${keyIds[0]}/rotate`, { gracePeriod: '1h' }, 201);
    keyIds.push(rotated.newKeyId);
    keys.push(rotated.key);
    // The gateway's own consumer, named by no admin-facing pool, so that no generated request revokes,
    // rotates or limits its keys: an active key and one deprecated by a rotation in flight (both valid).
    const gateway = await h.consumerWithKey({ scopes: ['read', 'write'] });
    const gatewayRotated = await h.json('POST', `/v1/keys/${gateway.keyId}/rotate`, { gracePeriod: '1h' }, 201);
    const plan = await h.json(
      'POST',
      '/v1/plans',
      { name: `fuzz-plan-${g}`, rateLimit: { limit: 100, window: '1m' } },
      201,
    );
    this.#roots = roots;
    this.#pools = new Map([
      ['consumer', consumers],
      ['keyId', keyIds],
      ['consumerKey', keys],
      ['rotation', [rotated.rotation.id]],
      ['plan', [plan.id]],
      ['gatewayKey', [gatewayRotated.key, gateway.key]],
    ]);
  }

  /** Revokes every root key but the harness's own: a consumer may hold only 10 active keys, root included. */
  async #revokeRootKeys(): Promise<void> {
    const h = this.#h;
    const live: { id: string }[] = [];
    for (const status of ['active', 'deprecated']) {
      for (let cursor = ''; ; ) {
        const page = await h.json(
          'GET',
          `/v1/keys?consumerId=root&status=${status}&limit=100${cursor}`,
          undefined,
          200,
        );
        live.push(...page.data);
        if (!page.nextCursor) break;
        cursor = `&cursor=${encodeURIComponent(page.nextCursor)}`;
      }
    }
    if (this.#mainRootKeyId === undefined) {
      if (live.length !== 1) throw new Error(`expected only the bootstrap root key, found ${live.length}`);
      this.#mainRootKeyId = live[0]?.id;
    }
    for (const { id } of live) {
      if (id !== this.#mainRootKeyId)
        await h.json('POST', `/v1/keys/${id}/revoke`, { reason: 'fuzz world re-issued' }, 200);
    }
  }

  /** Replaces every `@@pool.n@@` placeholder with a member of the current world. */
  resolve(text: string): string {
    return text.replace(/@@([A-Za-z]+)\.(\w+)@@/g, (whole, pool: string, n: string) => {
      if (pool === 'root') return this.#roots.get(n) ?? whole;
      const members = this.#pools.get(pool);
      if (!members || members.length === 0) return whole;
      return members[Number(n) % members.length] ?? whole;
    });
  }
}
