import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { OPERATION_IDS } from '../../src/http/openapi-operation-ids.js';

/** Every route of the app with its methods, read from Fastify's own route tree. */
function registeredRoutes(tree: string): Map<string, string[]> {
  const routes = new Map<string, string[]>();
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)(?:├── |└── )(\S+)(?: \(([^)]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = (m[1] ?? '').length / 4;
    stack.length = depth;
    stack.push(m[2] ?? '');
    if (m[3])
      routes.set(
        stack.join(''),
        m[3].split(', ').filter((x) => x !== 'HEAD'),
      );
  }
  return routes;
}

/** Every `$ref` anywhere in a document. */
function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refs(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`operations and docs on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect);
    });
    afterAll(() => h?.close());

    it('serves OpenAPI 3.1 listing every /v1 route with its methods', async () => {
      const res = await h.request({ method: 'GET', url: '/openapi.json', auth: null });
      expect(res.statusCode).toBe(200);
      const doc = res.json();
      expect(doc.openapi).toBe('3.1.0');
      expect(doc.info).toMatchObject({ title: 'keyroll' });

      const routes = registeredRoutes(h.kr.app.printRoutes({ commonPrefix: false }));
      const v1 = [...routes].filter(([path]) => path.startsWith('/v1/'));
      expect(v1.map(([p]) => p)).toEqual(expect.arrayContaining(['/v1/consumers/:id', '/v1/keys/:id/revoke']));
      for (const [path, methods] of v1) {
        // A wildcard (`/v1/forward-auth/*`) is `/{*}` in the document; Fastify's tree prints it without its slash.
        const item = doc.paths[path.replace(/:(\w+)/g, '{$1}').replace(/\/?\*$/, '/{*}')];
        expect(item, `${path} is missing from /openapi.json`).toBeDefined();
        for (const method of methods) {
          const op = item[method.toLowerCase()];
          expect(op, `${method} ${path} is missing from /openapi.json`).toBeDefined();
          expect(Object.keys(op.responses ?? {}).length, `${method} ${path} documents no response`).toBeGreaterThan(0);
        }
      }
      for (const path of [
        '/v1/consumers',
        '/v1/consumers/{id}',
        '/v1/keys',
        '/v1/keys/{id}',
        '/v1/keys/{id}/revoke',
        '/v1/keys/verify',
        '/v1/self',
        '/v1/audit',
        '/v1/audit/verify',
      ]) {
        expect(doc.paths[path], path).toBeDefined();
      }
      expect(doc.paths['/v1/keys'].post.requestBody.content['application/json'].schema.required).toContain(
        'consumerId',
      );
      for (const ref of refs(doc)) {
        const name = ref.replace('#/components/schemas/', '');
        expect(doc.components.schemas[name], `dangling ${ref}`).toBeDefined();
      }
    });

    it('gives every operation a stable, unique operationId from one table with no stale entries', async () => {
      const doc = (await h.request({ method: 'GET', url: '/openapi.json', auth: null })).json();
      const seen = new Map<string, string>();
      for (const [path, item] of Object.entries<Record<string, { operationId?: string }>>(doc.paths)) {
        for (const [method, op] of Object.entries(item)) {
          const key = `${method.toUpperCase()} ${path}`;
          expect(op.operationId, `${key} has no operationId: add it to OPERATION_IDS`).toBe(OPERATION_IDS[key]);
          expect(seen.get(op.operationId ?? ''), `${key} repeats an operationId`).toBeUndefined();
          seen.set(op.operationId ?? '', key);
        }
      }
      const stale = Object.keys(OPERATION_IDS).filter((key) => ![...seen.values()].includes(key));
      expect(stale, 'OPERATION_IDS entries for no operation').toEqual([]);
      expect(new Set(Object.values(OPERATION_IDS)).size).toBe(Object.keys(OPERATION_IDS).length);
    });

    it('documents errors as application/problem+json and optional bodies as optional', async () => {
      const doc = (await h.request({ method: 'GET', url: '/openapi.json', auth: null })).json();
      let errors = 0;
      for (const item of Object.values<Record<string, any>>(doc.paths)) {
        for (const op of Object.values<any>(item)) {
          for (const [status, response] of Object.entries<any>(op.responses)) {
            if (!/^[45]/.test(status)) continue;
            errors++;
            expect(Object.keys(response.content ?? {}), `${op.operationId} ${status}`).toEqual([
              'application/problem+json',
            ]);
            expect(response.content['application/problem+json'].schema).toEqual({
              $ref: '#/components/schemas/Problem',
            });
          }
        }
      }
      expect(errors).toBeGreaterThan(100);
      for (const path of ['/v1/self/rotate', '/v1/keys/{id}/revoke', '/v1/webhooks/{id}/rotate-secret']) {
        const body = doc.paths[path].post.requestBody;
        expect(body.required, path).toBe(false);
        expect(body.content['application/json'].schema.type, path).toBe('object');
      }
      expect(doc.paths['/v1/keys'].post.requestBody.required).toBe(true);
      // And they are: no body passes validation (an unknown id is the only complaint left).
      for (const url of ['/v1/keys/key_nope/revoke', '/v1/webhooks/whk_nope/rotate-secret']) {
        const res = await h.request({ method: 'POST', url });
        expect(res.json(), url).toMatchObject({ status: 404, code: 'NOT_FOUND' });
      }
    });

    it('defines shared shapes once and references them: keys, consumers, rotations, durations, dates', async () => {
      const doc = (await h.request({ method: 'GET', url: '/openapi.json', auth: null })).json();
      const schemas = doc.components.schemas;
      for (const name of ['Problem', 'Key', 'Consumer', 'Rotation', 'Duration', 'DateTime']) {
        expect(schemas[name], name).toBeDefined();
      }
      expect(schemas.DateTime).toEqual({ type: 'string', format: 'date-time' });
      expect(schemas.Duration.anyOf[0]).toMatchObject({ type: 'string', pattern: expect.any(String) });
      const pattern = new RegExp(schemas.Duration.anyOf[0].pattern, 'u');
      for (const ok of ['90s', '15m', '24h', '7d', '2w', '500ms', '30', '1.5h'])
        expect(pattern.test(ok), ok).toBe(true);
      for (const bad of ['5 weeks', '1y', '-1d', '', 'soon']) expect(pattern.test(bad), bad).toBe(false);

      // No copy of a key, consumer or rotation is left inline, and every date says it is one.
      const inline: string[] = [];
      const undated: string[] = [];
      const walk = (node: unknown, where: string): void => {
        if (Array.isArray(node)) {
          for (const [i, v] of node.entries()) walk(v, `${where}/${i}`);
          return;
        }
        if (node === null || typeof node !== 'object') return;
        const props =
          'properties' in node && node.properties && typeof node.properties === 'object' ? node.properties : {};
        const shapes = [
          ['hint', 'revokeReason'],
          ['externalId', 'updatedAt'],
          ['successorClaimed', 'progress'],
        ];
        if (shapes.some((shape) => shape.every((p) => p in props))) inline.push(where);
        for (const [name, prop] of Object.entries(props)) {
          const dated = JSON.stringify(prop).includes('#/components/schemas/DateTime');
          // (`brokenAt` of the audit check is a place in the chain, not a time.)
          const isObject = prop !== null && typeof prop === 'object' && 'properties' in prop;
          if (/At$/.test(name) && !dated && !isObject) undated.push(`${where}/${name}`);
        }
        for (const [k, v] of Object.entries(node)) walk(v, `${where}/${k}`);
      };
      walk(doc.paths, '#/paths');
      for (const [name, schema] of Object.entries(schemas)) {
        if (!['Key', 'Consumer', 'Rotation'].includes(name)) walk(schema, `#/components/schemas/${name}`);
      }
      expect(inline).toEqual([]);
      expect(undated).toEqual([]);
      expect(JSON.stringify(doc.paths).split('#/components/schemas/Key"').length - 1).toBeGreaterThanOrEqual(8);
      // The issued key is a Key plus its secret.
      expect(doc.paths['/v1/keys'].post.responses['201'].content['application/json'].schema).toMatchObject({
        allOf: [{ $ref: '#/components/schemas/Key' }, { properties: { key: { type: 'string' } }, required: ['key'] }],
      });
    });

    it('serves the API docs as HTML at /docs', async () => {
      const res = await h.request({ method: 'GET', url: '/docs', auth: null });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toMatch(/<html/i);
    });

    it('answers /healthz and /readyz without a key', async () => {
      const live = await h.request({ method: 'GET', url: '/healthz', auth: null });
      expect(live.statusCode).toBe(200);
      expect(live.json()).toEqual({ status: 'ok' });
      const ready = await h.request({ method: 'GET', url: '/readyz', auth: null });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({ status: 'ready', storage: 'ok' });
    });
  });

  describe.skipIf(!dialect.available)(`readiness without storage on ${dialect.name}`, () => {
    it('answers /readyz 503 once storage is gone, /healthz still 200', async () => {
      const h = await createHarness(dialect);
      await h.db.store.close();
      try {
        const ready = await h.request({ method: 'GET', url: '/readyz', auth: null });
        expect(ready.statusCode).toBe(503);
        expect(ready.json()).toMatchObject({ storage: 'unreachable' });
        expect((await h.request({ method: 'GET', url: '/healthz', auth: null })).statusCode).toBe(200);
        // Admin routes fail closed, with a problem rather than a stack trace.
        const res = await h.request({ method: 'GET', url: '/v1/consumers' });
        expect(res.statusCode).toBeGreaterThanOrEqual(500);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body).not.toMatch(/sqlite|postgres|pool|at \w+ \(/i);
      } finally {
        await h.close();
      }
    });
  });
}
