import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import newman from 'newman';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/databases.js';
import { createHarness, type Harness } from '../support/harness.js';

// The Postman collection served at GET /postman.json (and written by `npm run postman`), checked
// against the OpenAPI document of the same node, and its rotation scenario run by newman against a
// live node (SQLite, listening on 127.0.0.1).

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCENARIO = 'Scenario: zero-downtime rotation';

let h: Harness;
let baseUrl: string;
let collection: any;
let openapi: any;

beforeAll(async () => {
  const sqlite = DIALECTS.find((d) => d.name === 'sqlite');
  if (!sqlite) throw new Error('the SQLite dialect is filtered out');
  h = await createHarness(sqlite, { KEYROLL_SCHEDULER_INTERVAL_MS: '0' });
  baseUrl = await h.kr.app.listen({ port: 0, host: '127.0.0.1' });
  const res = await fetch(`${baseUrl}/postman.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  collection = await res.json();
  openapi = await (await fetch(`${baseUrl}/openapi.json`)).json();
});
afterAll(async () => {
  await h?.close();
});

/** Every request of the resource folders (not the scenario). */
function resourceRequests(): any[] {
  return collection.item.filter((f: any) => f.name !== SCENARIO).flatMap((f: any) => f.item);
}

/** `METHOD /path/{param}` of a collection request. */
function operationKey(item: any): string {
  const path = item.request.url.path.map((s: string) => s.replace(/^:(.+)$/, '{$1}')).join('/');
  return `${item.request.method} /${path}`;
}

describe('GET /postman.json', () => {
  it('is a v2.1 collection with baseUrl, rootKey, apiKey and bearer auth with the root key', () => {
    expect(collection.info.schema).toBe('https://schema.getpostman.com/json/collection/v2.1.0/collection.json');
    expect(collection.variable.map((v: any) => v.key)).toEqual(['baseUrl', 'rootKey', 'apiKey']);
    expect(collection.variable[0].value).toBe(baseUrl);
    expect(collection.auth).toEqual({
      type: 'bearer',
      bearer: [{ key: 'token', value: '{{rootKey}}', type: 'string' }],
    });
  });

  it('holds every operation of the OpenAPI document once, in a folder named after its resource', () => {
    const documented: string[] = [];
    for (const [path, item] of Object.entries<any>(openapi.paths)) {
      for (const method of Object.keys(item)) documented.push(`${method.toUpperCase()} ${path}`);
    }
    const inCollection = resourceRequests().map(operationKey);
    expect([...inCollection].sort()).toEqual([...documented].sort());
    const folder = (name: string) => collection.item.find((f: any) => f.name === name);
    expect(folder('keys').item.map(operationKey)).toContain('POST /v1/keys');
    expect(folder('consumers').item.map(operationKey)).toContain('GET /v1/consumers/{id}');
    expect(folder('rotations').item.map(operationKey)).toContain('POST /v1/rotations/{id}/complete');
  });

  it('fills bodies and saved responses with examples from the schemas; self-service sends apiKey', () => {
    const byKey = new Map(resourceRequests().map((i) => [operationKey(i), i]));
    const createKey = byKey.get('POST /v1/keys');
    expect(JSON.parse(createKey.request.body.raw)).toEqual({ consumerId: '<consumerId>' });
    expect(JSON.parse(byKey.get('POST /v1/keys/verify').request.body.raw)).toEqual({ key: '{{apiKey}}' });
    expect(JSON.parse(byKey.get('PATCH /v1/consumers/{id}').request.body.raw)).toEqual({
      name: 'example',
      externalId: '<externalId>',
    });
    const saved = createKey.response.find((r: any) => r.code === 201);
    expect(Object.keys(JSON.parse(saved.body))).toEqual(expect.arrayContaining(['key', 'id', 'hint', 'status']));
    const rotate = byKey.get('POST /v1/keys/{id}/rotate');
    expect(JSON.parse(rotate.request.body.raw)).toEqual({ gracePeriod: '1h' });
    expect(rotate.request.url.variable).toEqual([{ key: 'id', value: '<id>' }]);
    for (const key of ['GET /v1/self', 'POST /v1/self/rotate', 'POST /v1/self/successor']) {
      expect(byKey.get(key).request.auth.apikey).toContainEqual({ key: 'value', value: '{{apiKey}}', type: 'string' });
    }
    expect(byKey.get('GET /healthz').request.auth).toEqual({ type: 'noauth' });
    expect(byKey.get('GET /v1/consumers').request.auth).toBeUndefined(); // the collection's bearer
  });

  it('is what `npm run postman` writes (apart from baseUrl)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyroll-postman-'));
    try {
      const out = join(dir, 'collection.json');
      execFileSync(process.execPath, ['scripts/postman.mjs', out, baseUrl], {
        cwd: ROOT,
        env: { ...process.env, NODE_OPTIONS: '' },
        stdio: 'pipe',
      });
      expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(collection);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the rotation scenario, run by newman against a live node', () => {
  it('creates a consumer and a key, rotates with overlap, completes, and every assertion passes', async () => {
    const summary: any = await new Promise((resolve, reject) => {
      newman.run(
        {
          collection,
          folder: SCENARIO,
          envVar: [
            { key: 'baseUrl', value: baseUrl },
            { key: 'rootKey', value: h.rootKey },
          ],
          reporters: [],
          timeoutRequest: 10_000,
        },
        (err: Error | null, result: any) => (err ? reject(err) : resolve(result)),
      );
    });
    const failures = summary.run.failures.map((f: any) => `${f.source?.name}: ${f.error?.message}`);
    expect(failures).toEqual([]);
    const steps = summary.run.executions.map((e: any) => [e.item.name, e.response?.code]);
    expect(steps).toEqual([
      ['1. Create a consumer', 201],
      ['2. Issue a key', 201],
      ['3. Verify the key', 200],
      ['4. Rotate it with a one-hour overlap', 201],
      ['5. The old key still verifies, deprecated', 200],
      ['6. The new key verifies', 200],
      ['7. The consumer sees its new key (self-service, apiKey)', 200],
      ['8. Complete the rotation', 200],
      ['9. The old key is refused', 200],
      ['10. The new key still verifies', 200],
    ]);
    expect(summary.run.stats.assertions).toMatchObject({ total: 10, failed: 0 });
    // What newman did is what keyroll now holds.
    const keyId = JSON.parse(summary.run.executions[1].response.stream.toString()).id;
    expect((await h.json('GET', `/v1/keys/${keyId}`, undefined, 200)).status).toBe('retired');
  });
});
