// @ts-check
// `npm run screenshots`: starts a node on a throw-away SQLite database, fills it with a day of demo
// traffic and a rotation in progress, and takes the README's pictures of the dashboard with Chromium
// (Debian's /usr/bin/chromium, or CHROMIUM_PATH) into docs/images/.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '@keyroll/core/testing';
import { createKeyroll, loadConfig } from '@keyroll/server';
import { chromium } from 'playwright-core';

const IMAGES = fileURLToPath(new URL('../docs/images/', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const HOUR = 3_600_000;
const STEP = 20 * 60_000;

// The node's clock starts a day ago and is walked to now while the traffic is made.
const now = Date.now();
const clock = new ManualClock(now - 24 * HOUR);
const dir = mkdtempSync(join(tmpdir(), 'keyroll-screenshots-'));
const kr = await createKeyroll(loadConfig({ KEYROLL_DATA_DIR: dir }), { clock, cluster: { nodeId: 'node-a' } });
const rootKey = kr.bootstrap?.rootKey;
if (!rootKey) throw new Error('expected a first start on an empty database');

/**
 * Calls the admin API in process; returns the JSON answer.
 * @param {'GET' | 'POST' | 'PATCH' | 'PUT'} method
 * @param {string} url
 * @param {object} [payload]
 */
async function call(method, url, payload) {
  const res = await kr.app.inject({ method, url, payload, headers: { authorization: `Bearer ${rootKey}` } });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.json();
}

/**
 * Verifies `key` `times` times as a client at `ip` with `userAgent`, asking for `scopes`.
 * @param {string} key @param {number} times @param {string} ip @param {string} userAgent @param {string[]} [scopes]
 */
async function traffic(key, times, ip, userAgent, scopes) {
  for (let i = 0; i < times; i++) await call('POST', '/v1/keys/verify', { key, ip, userAgent, scopes });
}

/** A wave of about `n` requests, higher by day (UTC) and a little random. @param {number} n */
function wave(n) {
  const hour = new Date(clock.now()).getUTCHours();
  const day = 0.6 + 0.4 * Math.sin(((hour - 6) / 24) * 2 * Math.PI);
  return Math.max(0, Math.round(n * day * (0.8 + Math.random() * 0.4)));
}

const pro = await call('POST', '/v1/plans', {
  name: 'pro',
  rateLimit: { limit: 600, window: '1m' },
  quota: { limit: 5000, period: 'day' },
});
const starter = await call('POST', '/v1/plans', {
  name: 'starter',
  rateLimit: { limit: 60, window: '1m' },
  quota: { limit: 1000, period: 'day' },
});
/** @type {Record<string, { id: string, key: string, keyId: string }>} */
const consumers = {};
for (const [name, plan, scopes] of [
  ['acme-billing', pro, ['invoices:read', 'invoices:write']],
  ['globex-mobile', starter, ['catalog:read']],
  ['initech-reports', starter, ['reports:read']],
]) {
  const c = await call('POST', '/v1/consumers', { name, planId: plan.id });
  const k = await call('POST', '/v1/keys', { consumerId: c.id, name: 'production', scopes });
  consumers[name] = { id: c.id, key: k.key, keyId: k.id };
}
await call('PUT', '/v1/rotation-policies/default', { every: '90d', gracePeriod: '7d' });

const acme = consumers['acme-billing'];
let acmeNew = '';
let rotationId = '';
for (let t = now - 24 * HOUR; t < now; t += STEP) {
  clock.advance(t - clock.now());
  if (!rotationId && t >= now - 3 * HOUR) {
    const rotated = await call('POST', `/v1/keys/${acme.keyId}/rotate`, {
      gracePeriod: '8h',
      reason: 'quarterly rotation',
    });
    acmeNew = rotated.key;
    rotationId = rotated.rotation.id;
  }
  // During the rotation the web servers move to the new key; the billing cron job has not yet.
  const moved = rotationId ? Math.min(1, (t - (now - 3 * HOUR)) / (2 * HOUR)) : 0;
  const web = wave(12);
  await traffic(acme.key, Math.round(web * (1 - moved)), '198.51.100.20', 'acme-web/5.2');
  if (acmeNew) await traffic(acmeNew, Math.round(web * moved), '198.51.100.20', 'acme-web/5.2');
  await traffic(acme.key, 1, '203.0.113.9', 'billing-cron/2.1');
  await traffic(consumers['globex-mobile'].key, wave(8), '192.0.2.44', 'globex-ios/3.0');
  await traffic(consumers['globex-mobile'].key, Math.round(Math.random() * 2), '192.0.2.44', 'globex-ios/3.0', [
    'catalog:write',
  ]);
  await traffic(consumers['initech-reports'].key, wave(4), '192.0.2.90', 'python-requests/2.32');
  await traffic('kr_live_notarealkey0000000000000000', Math.round(Math.random() * 2), '203.0.113.250', 'curl/8.5');
}
clock.advance(now - clock.now());

const address = await kr.app.listen({ host: '127.0.0.1', port: 0 });
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
});
try {
  const page = await browser.newPage({
    baseURL: address,
    viewport: { width: 1280, height: 900 },
    colorScheme: 'light',
  });
  await page.goto('/dashboard');
  await page.fill('#root-key', rootKey);
  await page.click('#sign-in button[type=submit]');
  await page.locator('.chart canvas').first().waitFor();
  await page.locator('.card', { hasText: 'Rotations in flight' }).getByText('acme-billing').waitFor();
  await page.screenshot({ path: join(IMAGES, 'dashboard-overview.png'), fullPage: true });

  await page.goto(`/dashboard#/rotations/${encodeURIComponent(rotationId)}`);
  await page.getByText('billing-cron/2.1').waitFor();
  await page.locator('.chart canvas').waitFor();
  await page.screenshot({ path: join(IMAGES, 'dashboard-rotation.png'), fullPage: true });
  process.stdout.write(`wrote ${IMAGES}dashboard-overview.png and dashboard-rotation.png\n`);
} finally {
  await browser.close();
  await kr.close();
  rmSync(dir, { recursive: true, force: true });
}
