import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const CHROMIUM = '/usr/bin/chromium';
const sqlite = DIALECTS.find((d) => d.name === 'sqlite');

describe.skipIf(!sqlite?.available)('/docs security headers (SQLite)', () => {
  let h: Harness;
  beforeAll(async () => {
    if (!sqlite) throw new Error('no sqlite dialect');
    h = await createHarness(sqlite);
  });
  afterAll(() => h?.close());

  /** Every header the dashboard's pages carry, for a Swagger UI page. */
  const expectSecured = (headers: Record<string, unknown>, what: string) => {
    expect(headers['x-content-type-options'], what).toBe('nosniff');
    expect(headers['x-frame-options'], what).toBe('DENY');
    expect(headers['referrer-policy'], what).toBe('no-referrer');
    const csp = String(headers['content-security-policy']);
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "connect-src 'self'",
      "object-src 'none'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
    ]) {
      expect(csp, `${what}: ${directive}`).toContain(directive);
    }
    expect(csp, what).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline|\*/);
  };

  it('sends them on the UI page, its static files, the document and errors under /docs', async () => {
    const page = await h.request({ method: 'GET', url: '/docs/', auth: null });
    expect(page.statusCode).toBe(200);
    expectSecured(page.headers, '/docs/');
    // The policy allows no inline script: every script of the page is a file of /docs/static.
    const scripts = [...page.body.matchAll(/<script([^>]*)>/g)].map((m) => m[1] ?? '');
    expect(scripts.length).toBeGreaterThan(0);
    for (const attrs of scripts) expect(attrs).toMatch(/src="(\.\/static|\/docs\/static)\//);

    for (const url of [
      '/docs',
      '/docs/static/index.html',
      '/docs/static/swagger-ui-bundle.js',
      '/docs/static/swagger-initializer.js',
      '/docs/static/swagger-ui.css',
      '/docs/json',
      '/docs/static/no-such-file.js',
    ]) {
      const res = await h.request({ method: 'GET', url, auth: null });
      expect(res.statusCode, url).toBeLessThan(500);
      expectSecured(res.headers, url);
    }
  });

  it('leaves the API alone (its answers are JSON, not pages)', async () => {
    const res = await h.request({ method: 'GET', url: '/healthz', auth: null });
    expect(res.headers['content-security-policy']).toBeUndefined();
  });

  describe.skipIf(!existsSync(CHROMIUM))('in Chromium', () => {
    it('still renders the API reference under that policy, without CSP violations', async () => {
      const address = await h.kr.app.listen({ host: '127.0.0.1', port: 0 });
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox'] });
      try {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('pageerror', (err) => problems.push(err.message));
        page.on('console', (msg) => {
          if (msg.type() === 'error') problems.push(msg.text());
        });
        await page.goto(`${address}/docs/`);
        await page.locator('.swagger-ui .info .title').waitFor({ timeout: 15_000 });
        expect(await page.locator('.swagger-ui .info .title').textContent()).toContain('keyroll');
        await page.locator('.opblock').first().waitFor();
        expect(problems).toEqual([]);
      } finally {
        await browser.close();
      }
    }, 60_000);
  });
});
