import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

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
        const item = doc.paths[path.replace(/:(\w+)/g, '{$1}')];
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
