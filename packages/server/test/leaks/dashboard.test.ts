import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const sqlite = DIALECTS.find((d) => d.name === 'sqlite');

// The browser suite (test/dashboard/browser.test.ts) needs Chromium; these checks do not.
describe.skipIf(!sqlite?.available)('dashboard: incidents', () => {
  let h: Harness;
  beforeAll(async () => {
    if (!sqlite) throw new Error('no sqlite dialect');
    h = await createHarness(sqlite);
  });
  afterAll(() => h.close());
  const get = (url: string) => h.request({ method: 'GET', url, auth: null });

  it('serves the incidents view, linked from the navigation and routed by the shell', async () => {
    const js = await get('/dashboard/incidents.js');
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
    expect(js.body).toContain('/v1/incidents');
    expect((await get('/dashboard/')).body).toContain('href="#/incidents"');
    const app = (await get('/dashboard/app.js')).body;
    expect(app).toContain("from './incidents.js'");
  });
});
