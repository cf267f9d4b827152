import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRotationScenario } from '../../demo/scenario.mjs';
import { buildClient } from '../../packages/client/test/support/built-client.js';
import { DIALECTS, type TestDatabase } from '../support/databases.js';

// The proof of issue 6: two keyroll nodes on one PostgreSQL database, each with its gateway in front
// of a loopback upstream; eight consumer processes using the built SDK send continuously through both
// gateways while keys are rotated every way keyroll allows (demo/scenario.mjs). Real time, ~20 s.

interface Failure {
  startedAt: number;
  at: number;
  status: number;
  code: string;
}
interface WorkerResult {
  label: string;
  sent: number;
  ok: number;
  failed: number;
  totalMs: number;
  maxMs: number;
  failures: Failure[];
  rotations: { at: number; how: string }[];
  errors: { code: string; message: string }[];
}
interface ScenarioResult {
  workers: WorkerResult[];
  keysByConsumer: Record<string, { id: string; status: string }[]>;
  rotations: { consumerId: string; origin: string; successorClaimed: boolean }[];
  policyConsumerId: string;
  reclaimAttempts: number;
  upstreamRequests: number;
  keyReachedUpstream: boolean;
  emergency: { revokedAt: number; deliveredAt: number };
}

const postgres = DIALECTS.find((d) => d.name === 'postgres');

describe.skipIf(!postgres?.available)('rotation under load: 2 nodes on PostgreSQL, SDK consumers', () => {
  let db: TestDatabase | undefined;
  let result: ScenarioResult;

  beforeAll(async () => {
    buildClient(); // the consumer processes import the built SDK
    db = await postgres?.create();
    result = await runRotationScenario({ databaseUrl: db?.url });
    const byLabel = (label: string) => result.workers.find((w) => w.label === label);
    const outside = result.workers.filter((w) => w.label !== 'emergency');
    console.log(
      `rotation under load: sent ${result.workers.reduce((s, w) => s + w.sent, 0)}, ` +
        `failed ${outside.reduce((s, w) => s + w.failed, 0)} outside the emergency rollover ` +
        `(${byLabel('emergency')?.failed} refused during it), rotations ${result.rotations.length}`,
    );
    console.table(
      result.workers.map((w) => ({
        consumer: w.label,
        sent: w.sent,
        failed: w.failed,
        'avg ms': Math.round((w.totalMs / Math.max(1, w.ok)) * 10) / 10,
        'max ms': Math.round(w.maxMs),
        rotations: w.rotations.map((r) => r.how).join(' ') || '-',
      })),
    );
  }, 90_000);

  afterAll(async () => {
    await db?.drop();
  });

  const worker = (label: string): WorkerResult => {
    const w = result.workers.find((x) => x.label === label);
    if (!w) throw new Error(`no consumer process ${label}`);
    return w;
  };

  it('has zero failed requests outside the emergency rollover', () => {
    for (const w of result.workers) {
      if (w.label === 'emergency') continue;
      expect({ label: w.label, failed: w.failed, failures: w.failures.slice(0, 5) }).toEqual({
        label: w.label,
        failed: 0,
        failures: [],
      });
      expect(w.sent).toBeGreaterThan(50);
    }
    expect(result.upstreamRequests).toBeGreaterThan(500);
  });

  it('fails the emergency consumer only with REVOKED, only until its new key arrived', () => {
    const em = worker('emergency');
    const { revokedAt, deliveredAt } = result.emergency;
    const pickedUpAt = em.rotations[0]?.at ?? Number.POSITIVE_INFINITY;
    expect(pickedUpAt).toBeGreaterThanOrEqual(deliveredAt);
    expect(pickedUpAt).toBeLessThanOrEqual(deliveredAt + 3000);
    for (const failure of em.failures) {
      expect(failure).toMatchObject({ status: 401, code: 'REVOKED' });
      expect(failure.at).toBeGreaterThanOrEqual(revokedAt);
      expect(failure.startedAt).toBeLessThanOrEqual(pickedUpAt);
    }
  });

  it('moved every consumer to its new key the way its case says', () => {
    expect(worker('operator').rotations.map((r) => r.how)).toEqual(['source']);
    expect([worker('self-a').rotations[0]?.how, worker('self-b').rotations[0]?.how]).toEqual(['self-rotate', 'source']);
    // autoRotate may fire more than once; the client that replaces it at the end ("redeploy") may
    // then take the last rotated key from the file.
    const auto = worker('auto').rotations.map((r) => r.how);
    expect(auto).toContain('self-rotate');
    expect(auto.every((how) => how === 'self-rotate' || how === 'source')).toBe(true);
    expect(worker('emergency').rotations.map((r) => r.how)).toEqual(['source']);
    expect(worker('bystander').rotations).toEqual([]);
  });

  it('claimed each policy rotation exactly once between two processes sharing one key file', () => {
    const policy = result.rotations.filter((r) => r.consumerId === result.policyConsumerId);
    expect(policy.length).toBeGreaterThanOrEqual(1);
    expect(policy.every((r) => r.origin !== 'admin' && r.successorClaimed)).toBe(true);
    const hows = [...worker('policy-a').rotations, ...worker('policy-b').rotations].map((r) => r.how);
    expect(hows.filter((h) => h === 'claimed')).toHaveLength(policy.length);
    expect(result.reclaimAttempts).toBe(0);
  });

  it('retired every old key (the emergency one revoked); each consumer holds one active key', () => {
    for (const [name, keys] of Object.entries(result.keysByConsumer)) {
      expect(
        keys.filter((k) => k.status === 'active'),
        name,
      ).toHaveLength(1);
      const old = keys.filter((k) => k.status !== 'active');
      if (name === 'bystander') expect(old, name).toEqual([]);
      else expect(old.length, name).toBeGreaterThanOrEqual(1);
      for (const k of old) expect(k.status, `${name} ${k.id}`).toBe(name === 'emergency' ? 'revoked' : 'retired');
    }
  });

  it('never let a key reach the upstream', () => {
    expect(result.keyReachedUpstream).toBe(false);
  });
});
