import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

/** A GET with the path sent byte for byte (no client-side normalisation of dot segments). */
function rawGet(port: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const sqlite = DIALECTS.find((d) => d.name === 'sqlite');

/** Every script of the dashboard directory. */
function dashboardScripts(): string[] {
  const files = readdirSync(fileURLToPath(new URL('../../dashboard/', import.meta.url))).filter((f) =>
    f.endsWith('.js'),
  );
  expect(files.length).toBeGreaterThan(10);
  return files;
}

describe.skipIf(!sqlite?.available)('dashboard static files', () => {
  let h: Harness;
  beforeAll(async () => {
    if (!sqlite) throw new Error('no sqlite dialect');
    h = await createHarness(sqlite);
  });
  afterAll(() => h.close());

  const get = (url: string) => h.request({ method: 'GET', url, auth: null });

  it('serves the page at /dashboard and /dashboard/ with the security headers, without a key', async () => {
    for (const url of ['/dashboard', '/dashboard/', '/dashboard/index.html']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body).toContain('<script type="module" src="/dashboard/app.js">');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-frame-options']).toBe('DENY');
    }
  });

  it('has no inline script or inline event handler in the page', async () => {
    const html = (await get('/dashboard')).body;
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\son[a-z]+=/i);
  });

  it('serves scripts and styles with their content types', async () => {
    const js = await get('/dashboard/app.js');
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['x-content-type-options']).toBe('nosniff');
    const css = await get('/dashboard/style.css');
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('serves uPlot from node_modules under the same headers, and nothing else from there', async () => {
    const js = await get('/dashboard/vendor/uplot.js');
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(String(js.headers['content-security-policy'])).toContain("script-src 'self'");
    expect(js.body).toContain('export { uPlot as default }');
    const css = await get('/dashboard/vendor/uplot.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.body).toContain('.uplot');
    for (const url of [
      '/dashboard/vendor/package.json',
      '/dashboard/vendor/..%2Fapp.js',
      '/dashboard/vendor/uPlot.cjs.js',
    ])
      expect((await get(url)).statusCode, url).toBe(404);
  });

  it('never assigns HTML from a script', async () => {
    const files = readdirSync(fileURLToPath(new URL('../../dashboard/', import.meta.url))).filter((f) =>
      f.endsWith('.js'),
    );
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const res = await get(`/dashboard/${file}`);
      expect(res.statusCode, file).toBe(200);
      expect(res.body, file).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
    }
  });

  it('checks the audit chain only when asked, never on loading a view', async () => {
    for (const file of dashboardScripts()) {
      const js = (await get(`/dashboard/${file}`)).body;
      // The one place that asks for a check is chainCheck in audit.js…
      if (file !== 'audit.js') expect(js, file).not.toContain('/v1/audit/verify');
      // …and every call of it is a button's click handler.
      const calls = js.match(/[^\n]*\bchainCheck\(/g) ?? [];
      for (const call of calls) {
        if (/function chainCheck\(/.test(call)) continue;
        expect(call, file).toMatch(/onclick: \(\) => chainCheck\(/);
      }
    }
  });

  it('answers an unknown file with a 404 problem', async () => {
    const res = await get('/dashboard/nope.js');
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('never serves a file outside the dashboard directory', async () => {
    const attempts = [
      '/dashboard/../package.json',
      '/dashboard/..%2Fpackage.json',
      '/dashboard/..%2fpackage.json',
      '/dashboard/%2e%2e%2Fpackage.json',
      '/dashboard/%2E%2E/package.json',
      '/dashboard/..%5Cpackage.json',
      '/dashboard/....//package.json',
      '/dashboard/%252e%252e%252fpackage.json',
      '/dashboard/..%2F..%2F..%2Fpackage.json',
      '/dashboard/..%2Fsrc%2Fhttp%2Fapp.ts',
      '/dashboard/%2Fetc%2Fpasswd',
      '/dashboard/..',
      '/dashboard/.',
    ];
    const index = (await get('/dashboard')).body;
    for (const url of attempts) {
      const res = await get(url);
      // Dot segments may be normalised to the page itself; anything else must be a 404.
      if (res.statusCode !== 404) expect(res.body, url).toBe(index);
      expect(res.body, url).not.toContain('"name": "@keyroll/server"');
      expect(res.body, url).not.toContain('root:');
      expect(res.body, url).not.toContain('buildApp');
    }
  });

  it('never serves a file outside the dashboard directory over a real socket either', async () => {
    const address = await h.kr.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = new URL(address);
    for (const path of [
      '/dashboard/../package.json',
      '/dashboard/..%2Fpackage.json',
      '/dashboard/%2e%2e/package.json',
    ]) {
      const res = await rawGet(port, path);
      expect(res.status, path).toBe(404);
      expect(res.body, path).not.toContain('@keyroll/server');
    }
  });

  it('is not in the OpenAPI document', async () => {
    const doc = (await get('/openapi.json')).json();
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/dashboard'))).toEqual([]);
  });
});
