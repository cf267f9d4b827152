import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { expectAccessible, hasChromium, launchChromium, openPage } from './chromium.js';

const sqlite = DIALECTS.find((d) => d.name === 'sqlite');
const SCREENSHOT = '/tmp/keyroll-dashboard-rotation.png';

describe.skipIf(!hasChromium || !sqlite?.available)('dashboard in Chromium (SQLite)', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!sqlite) throw new Error('no sqlite dialect');
    h = await createHarness(sqlite);
    const address = await h.kr.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
    page = await openPage(browser, address, pageErrors);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  /** The keys table row whose cells contain `text`. */
  const keyRow = (text: string) => page.locator('tbody tr', { hasText: text });

  it('signs in with the root key, keeping it in sessionStorage only', async () => {
    await page.goto('/dashboard');
    await page.fill('#root-key', 'kr_root_not-a-real-key');
    await page.click('#sign-in button[type=submit]');
    await expect.poll(() => page.locator('#sign-in-error').textContent()).toContain('UNAUTHORIZED');

    await page.fill('#root-key', h.rootKey);
    await page.click('#sign-in button[type=submit]');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('keyroll.rootKey'))).toBe(h.rootKey);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    // The chain is checked when asked for, not on every load of the overview.
    expect(await page.getByTestId('audit-chain').textContent()).toBe('');
    await page.click('button:has-text("Check chain")');
    await expect.poll(() => page.getByTestId('audit-chain').textContent()).toContain('chain ok');
    await page.locator('.chart .legend').first().waitFor();
    await expectAccessible(page, 'overview');
  });

  let consumerId = '';
  let secret = '';

  it('creates a consumer and issues a key whose secret is shown once and works', async () => {
    await page.click('nav >> text=Consumers');
    await page.fill('input[name=name]', 'acme-billing');
    await page.click('button:has-text("Create consumer")');
    await page.getByRole('heading', { name: 'acme-billing' }).waitFor();
    consumerId = decodeURIComponent(page.url().split('#/consumers/')[1] ?? '');
    expect(consumerId).not.toBe('');

    await page.click('button:has-text("Issue a key")');
    await page.fill('input[name=keyName]', 'production');
    await page.fill('input[name=scopes]', 'orders:read, orders:write');
    await page.click('button:has-text("Issue key")');
    secret = (await page.getByTestId('secret').textContent()) ?? '';
    expect(secret).toMatch(/^kr_/);
    expect(await page.locator('.secret-panel').textContent()).toContain('You will not see it again');

    const verdict = await h.json('POST', '/v1/keys/verify', { key: secret, scopes: ['orders:read'] }, 200);
    expect(verdict).toMatchObject({ valid: true, consumerId });

    await page.click('button:has-text("I have stored it")');
    expect(await page.getByTestId('secret').count()).toBe(0);
    await keyRow('production').locator('.badge-active').waitFor();
    await page.locator('.chart .legend').waitFor();
    await expectAccessible(page, 'consumer');
  });

  it('asks before an emergency rotation and does nothing when cancelled', async () => {
    await keyRow('production').locator('button:has-text("Rotate")').click();
    await page.fill('input[name=gracePeriod]', '0');
    await page.click('form button:has-text("Rotate")');
    await page.locator('dialog[open]').getByText('Emergency rotation').waitFor();
    await page.click('dialog[open] button:has-text("Cancel")');
    expect(await h.json('GET', `/v1/rotations?consumerId=${consumerId}`, undefined, 200)).toMatchObject({ data: [] });
  });

  it('rotates the key with a grace period and shows the rotation with its progress', async () => {
    await page.fill('input[name=gracePeriod]', '1h');
    await page.fill('input[name=reason]', 'quarterly');
    await page.click('form button:has-text("Rotate")');
    const newSecret = (await page.getByTestId('secret').textContent()) ?? '';
    expect(newSecret).toMatch(/^kr_/);
    expect(newSecret).not.toBe(secret);
    await keyRow('deprecated').waitFor();

    for (let i = 0; i < 3; i++)
      await h.json('POST', '/v1/keys/verify', { key: secret, ip: '203.0.113.9', userAgent: 'billing-cron/2.1' }, 200);
    await h.json('POST', '/v1/keys/verify', { key: newSecret, ip: '198.51.100.4' }, 200);

    await page.click('text=Follow the rotation');
    await page.getByRole('heading', { name: /Rotation/ }).waitFor();
    // The old key's one request from before the rotation falls in the same window: 1 new of 5.
    expect(await page.getByTestId('share').textContent()).toMatch(/20% on new key\s*1 new \/ 4 old requests/);
    await page.getByText('billing-cron/2.1').waitFor();
    await page.locator('h1 .badge-rolling').waitFor();
    // Names instead of ids: the consumer and both keys.
    await page.locator('.facts a', { hasText: 'acme-billing' }).waitFor();
    await page.locator('.facts', { hasText: 'production (' }).waitFor();
    await page.locator('.chart .legend', { hasText: 'Deadline' }).waitFor();
    await expectAccessible(page, 'rotation');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    await page.click('nav >> text=Rotations');
    await page.locator('tbody tr', { hasText: 'acme-billing' }).locator('.bar-label').waitFor();
    await expectAccessible(page, 'rotations');
  });

  it('extends and completes the rotation', async () => {
    await page.locator('tbody tr', { hasText: 'acme-billing' }).locator('a').first().click();
    await page.fill('input[name=extendBy]', '2h');
    await page.click('button:has-text("Extend")');
    await page.getByRole('heading', { name: 'Extensions' }).waitFor();
    await page.click('button:has-text("Complete now")');
    await page.click('dialog[open] button:has-text("Complete")');
    await page.locator('h1 .badge-completed').waitFor();
  });

  it('revokes a key after confirmation and shows its new status', async () => {
    await h.json('POST', '/v1/keys', { consumerId, name: 'spare' }, 201);
    await page.goto(`/dashboard#/consumers/${encodeURIComponent(consumerId)}`);
    await keyRow('spare').locator('button:has-text("Revoke")').click();
    await page.click('dialog[open] button:has-text("Revoke")');
    await keyRow('spare').locator('.badge-revoked').waitFor();
  });

  it('shows problems with their code and detail', async () => {
    await page.click('button:has-text("Issue a key")');
    await page.fill('input[name=expiresIn]', 'soon');
    await page.click('button:has-text("Issue key")');
    const problem = page.locator('.problem');
    await problem.waitFor();
    expect(await problem.textContent()).toContain('VALIDATION_FAILED');
  });

  it('renders server strings as text, never as markup', async () => {
    await h.json('POST', '/v1/consumers', { name: '<img src=x id=pwned>' }, 201);
    await page.click('nav >> text=Consumers');
    await page.getByText('<img src=x id=pwned>').waitFor();
    expect(await page.locator('#pwned').count()).toBe(0);
    await expectAccessible(page, 'consumers');
  });

  it('lists open alerts and acknowledges one', async () => {
    const leaked = await h.consumerWithKey();
    await h.json('POST', `/v1/keys/${leaked.keyId}/revoke`, { reason: 'leaked' }, 200);
    h.clock.advance(10_000);
    await h.kr.monitoring.evaluator.tick();
    await h.kr.verifier.verify(leaked.key, {});
    h.clock.advance(60_000);
    expect(await h.kr.monitoring.evaluator.tick()).toBeGreaterThan(0);

    const { name } = await h.json('GET', `/v1/consumers/${leaked.consumerId}`, undefined, 200);
    await page.click('nav >> text=Alerts');
    const row = page.locator('tbody tr', { hasText: name });
    expect(await row.textContent()).toContain('retired_key_used');
    await expectAccessible(page, 'alerts');
    await row.locator('button:has-text("Acknowledge")').click();
    await row.waitFor({ state: 'detached' });
    const all = await h.json('GET', `/v1/alerts?consumerId=${leaked.consumerId}`, undefined, 200);
    expect(all.data[0]).toMatchObject({ rule: 'retired_key_used', acknowledgedBy: expect.any(String) });
  });

  it('shows the audit log with an intact chain', async () => {
    await page.click('nav >> text=Audit');
    expect(await page.getByTestId('chain').count()).toBe(0);
    await page.click('button:has-text("Check chain")');
    await expect.poll(() => page.getByTestId('chain').textContent()).toContain('chain ok');
    await page.click('button:has-text("Full check")');
    await expect.poll(() => page.getByTestId('chain').textContent()).toContain('re-hashed');
    await page.locator('tbody tr', { hasText: 'key.revoked' }).first().waitFor();
    await expectAccessible(page, 'audit');
  });

  it('signs out, forgetting the key', async () => {
    await page.click('#sign-out');
    await page.locator('#sign-in').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('keyroll.rootKey'))).toBeNull();
    expect(pageErrors).toEqual([]);
  });

  it('signs out by itself when its root key is revoked', async () => {
    const created = await h.json('POST', '/v1/keys', { consumerId: 'root', scopes: ['*'] }, 201);
    await page.fill('#root-key', created.key);
    await page.click('#sign-in button[type=submit]');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await h.json('POST', `/v1/keys/${created.id}/revoke`, {}, 200);
    await page.click('nav >> text=Consumers');
    await page.locator('#sign-in').waitFor();
    expect(await page.locator('#sign-in-error').textContent()).toContain('UNAUTHORIZED');
    expect(await page.evaluate(() => sessionStorage.getItem('keyroll.rootKey'))).toBeNull();
  });
});
