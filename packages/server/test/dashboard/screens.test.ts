import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { type Receiver, startReceiver } from '../webhooks/receiver.js';
import { expectAccessible, hasChromium, launchChromium, openPage, signIn } from './chromium.js';

const sqlite = DIALECTS.find((d) => d.name === 'sqlite');

describe.skipIf(!hasChromium || !sqlite?.available)('dashboard screens in Chromium (SQLite)', () => {
  let h: Harness;
  let rx: Receiver;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!sqlite) throw new Error('no sqlite dialect');
    h = await createHarness(sqlite, { KEYROLL_WEBHOOK_ALLOW_PRIVATE: '1', KEYROLL_WEBHOOK_MAX_ATTEMPTS: '1' });
    rx = await startReceiver();
    const address = await h.kr.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
    page = await openPage(browser, address, pageErrors);
    // The page's timers run when the test says so: polling is tested without waiting for real.
    await page.clock.install();
    await signIn(page, h.rootKey);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await rx?.close();
    await h?.close();
  });

  /** Creates a consumer named `name` with one key; returns their ids and the secret. */
  async function consumer(name: string, keyBody: Record<string, unknown> = {}) {
    const c = await h.json('POST', '/v1/consumers', { name }, 201);
    const k = await h.json('POST', '/v1/keys', { consumerId: c.id, ...keyBody }, 201);
    return { consumerId: c.id as string, keyId: k.id as string, key: k.key as string, hint: k.hint as string };
  }

  it('charts a consumer’s requests by outcome, the codes as text', async () => {
    const c = await consumer('chart-co', { name: 'primary', scopes: ['orders:read'] });
    for (let i = 0; i < 3; i++) await h.json('POST', '/v1/keys/verify', { key: c.key }, 200);
    await h.json('POST', '/v1/keys/verify', { key: c.key, scopes: ['orders:write'] }, 200);
    await page.goto(`/dashboard#/consumers/${c.consumerId}`);
    const legend = page.locator('.chart .legend');
    await legend.getByText('refused: INSUFFICIENT_SCOPE').waitFor();
    expect(await legend.textContent()).toMatch(/valid\s*3.*refused: INSUFFICIENT_SCOPE\s*1/);
    await page.locator('.chart canvas').first().waitFor();
    // One key on its own, chosen by name.
    await page.selectOption('select[name=usageSubject]', { label: `key primary (${c.hint})` });
    await page.locator('figcaption', { hasText: 'key primary' }).waitFor();
    await expectAccessible(page, 'consumer usage');
  });

  it('creates a plan and shows its quota use on a consumer on it', async () => {
    await page.click('nav >> text=Plans');
    await page.fill('input[name=planName]', 'pro');
    await page.fill('input[name=quotaLimit]', '1000');
    await page.click('button:has-text("Create plan")');
    await page.getByRole('heading', { name: 'pro' }).waitFor();
    const planId = decodeURIComponent(page.url().split('#/plans/')[1] ?? '');
    await expectAccessible(page, 'plan');

    const c = await consumer('quota-co', { name: 'metered' });
    await h.json('PATCH', `/v1/consumers/${c.consumerId}`, { planId }, 200);
    for (let i = 0; i < 2; i++) await h.json('POST', '/v1/keys/verify', { key: c.key }, 200);
    await page.fill('input[name=quotaConsumer]', 'quota-co');
    await page.click('button:has-text("Show quota use")');
    // The plan's quota is the consumer's: one counter for all its keys.
    await page.getByText('quota-co (all keys): 998 of 1000 credits left (100%); 2 valid requests this day.').waitFor();

    await page.goto(`/dashboard#/consumers/${c.consumerId}`);
    await page.locator('.facts a', { hasText: 'pro' }).waitFor();
    await page.getByRole('heading', { name: 'Quota use (plan pro)' }).waitFor();
    await page.click('nav >> text=Plans');
    await page.locator('tbody tr', { hasText: 'pro' }).getByText('1000 / day').waitFor();
    await expectAccessible(page, 'plans');
  });

  it('charts the credits left of a quota that refills, as the server counts them', async () => {
    // 10 credits, 4 back at each UTC midnight; 13 requests admitted over two days.
    const plan = await h.json(
      'POST',
      '/v1/plans',
      { name: 'credits', quota: { limit: 10, refill: { amount: 4, every: 'day' } } },
      201,
    );
    const c = await consumer('refill-co', { name: 'prepaid' });
    await h.json('PATCH', `/v1/consumers/${c.consumerId}`, { planId: plan.id }, 200);
    await h.kr.cluster.feed.catchUp();
    h.clock.set(Date.UTC(2026, 0, 5, 20));
    for (let i = 0; i < 10; i++)
      expect((await h.json('POST', '/v1/keys/verify', { key: c.key }, 200)).valid).toBe(true);
    expect((await h.json('POST', '/v1/keys/verify', { key: c.key }, 200)).code).toBe('QUOTA_EXCEEDED');
    h.clock.set(Date.UTC(2026, 0, 6, 9));
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await h.json('POST', '/v1/keys/verify', { key: c.key }, 200));
    expect(answers.map((a) => a.valid)).toEqual([true, true, true]);
    // The server's own count after the last request; nothing comes back before the next midnight.
    expect(answers[2].quota).toMatchObject({ limit: 10, remaining: 1, resetsAt: '2026-01-07T00:00:00.000Z' });
    h.clock.set(Date.UTC(2026, 0, 6, 12));

    await page.goto(`/dashboard#/consumers/${c.consumerId}`);
    await page.getByRole('heading', { name: 'Quota use (plan credits)' }).waitFor();
    await page.getByText(/^refill-co \(all keys\): 1 of 10 credits left \(10%\); 13 valid requests since /).waitFor();
    await page.getByText(/Refills \+4 every day, never above 10\./).waitFor();
    await page.locator('.legend', { hasText: 'credits left of refill-co (all keys)' }).waitFor();
    await page.getByRole('img', { name: 'Credits left of the quota of refill-co (all keys)' }).waitFor();
    await expectAccessible(page, 'refilling quota');
  });

  it('searches consumers and keys by name and by the end of a key hint', async () => {
    const zeta = await consumer('Zeta-Shop', { name: 'nightly-export' });
    await page.click('nav >> text=Consumers');
    await page.getByLabel('Search consumers and keys').fill('zeta');
    await page.getByLabel('Search consumers and keys').press('Enter');
    await page.getByRole('heading', { name: 'Keys matching' }).waitFor();
    await page.locator('tbody tr', { hasText: 'nightly-export' }).waitFor();
    expect(await page.locator('tbody tr', { hasText: 'chart-co' }).count()).toBe(0);

    await page.getByLabel('Search consumers and keys').fill(zeta.hint.slice(-4));
    await page.click('button:has-text("Search")');
    await page.locator('tbody tr', { hasText: 'nightly-export' }).getByText('Zeta-Shop').waitFor();
    await expectAccessible(page, 'search');
  });

  it('follows a rotation live, without reload, and stops polling once left', async () => {
    const c = await consumer('live-co', { name: 'edge' });
    const { rotation } = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '2h' }, 201);
    await page.goto(`/dashboard#/rotations/${rotation.id}`);
    await page.locator('.facts a', { hasText: 'live-co' }).waitFor();
    await page.getByText('No client has used the old key in this window.').waitFor();
    await page.locator('.legend', { hasText: 'Deadline' }).waitFor();
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 1;
    });

    await h.json('POST', '/v1/keys/verify', { key: c.key, ip: '203.0.113.77', userAgent: 'poller-ua/1' }, 200);
    await page.clock.runFor(5000);
    await page.getByText('poller-ua/1').waitFor();
    expect(await page.getByTestId('share').textContent()).toContain('0 new / 1 old requests');
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
    await expectAccessible(page, 'live rotation');

    const polls: string[] = [];
    page.on('request', (req) => {
      if (req.url().includes(`/v1/rotations/${rotation.id}`)) polls.push(req.url());
    });
    await page.click('nav >> text=Overview');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.clock.runFor(60_000);
    await page.locator('.card', { hasText: 'Rotations in flight' }).getByText('live-co').waitFor();
    expect(polls).toEqual([]);
  });

  it('rolls a rotation back from its live view', async () => {
    const c = await consumer('rollback-co');
    const { rotation } = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1h' }, 201);
    await page.goto(`/dashboard#/rotations/${rotation.id}`);
    await page.click('button:has-text("Roll back")');
    await page.click('dialog[open] button:has-text("Roll back")');
    await page.locator('h1 .badge-rolled_back').waitFor();
    expect(await page.locator('.toolbar').isHidden()).toBe(true);
  });

  it('lists webhooks and redelivers a dead delivery', async () => {
    rx.respond = () => 500;
    await page.click('nav >> text=Webhooks');
    await page.fill('input[name=webhookUrl]', rx.url);
    await page.fill('input[name=events]', 'key.created');
    await page.click('button:has-text("Create webhook")');
    expect(await page.getByTestId('secret').textContent()).toMatch(/^whsec_/);
    await page.click('button:has-text("I have stored it")');
    const [hook] = (await h.json('GET', '/v1/webhooks', undefined, 200)).data;
    await consumer('hooked-co');
    await h.kr.monitoring.dispatcher.tick();
    await h.kr.monitoring.deliveries.tick();
    await rx.waitFor(1);

    await page.click(`a:has-text("${rx.url}")`);
    const row = page.locator('tbody tr', { hasText: 'key.created' });
    await row.locator('.badge', { hasText: 'dead' }).waitFor();
    expect(await row.textContent()).toContain('500');
    await expectAccessible(page, 'webhook');
    await row.getByRole('button', { name: /Redeliver key.created/ }).click();
    await row.locator('.badge', { hasText: 'pending' }).waitFor();
    const [d] = (await h.json('GET', `/v1/webhooks/${hook.id}/deliveries`, undefined, 200)).data;
    expect(d).toMatchObject({ status: 'pending', attempts: 0 });
    await page.click('button:has-text("Disable")');
    await page.click('button:has-text("Enable")');
    expect(await h.json('GET', `/v1/webhooks/${hook.id}`, undefined, 200)).toMatchObject({ enabled: true });
    await page.click('nav >> text=Webhooks');
    await page.locator('tbody tr', { hasText: rx.url }).getByText('enabled').waitFor();
    await expectAccessible(page, 'webhooks');
  });

  it('sets, shows and removes rotation policies, consumers by name', async () => {
    await consumer('policy-co');
    await h.json('PUT', '/v1/rotation-policies/default', { every: '90d', gracePeriod: '7d' }, 200);
    await page.click('nav >> text=Policies');
    await page.locator('tbody tr', { hasText: 'default (every consumer)' }).getByText('90d').waitFor();

    await page.fill('input[name=policyConsumer]', 'nobody-here');
    await page.click('button:has-text("Set policy")');
    await page.locator('.problem', { hasText: 'no consumer is named' }).waitFor();
    await page.fill('input[name=policyConsumer]', 'POLICY-CO');
    await page.fill('input[name=every]', '30d');
    await page.fill('input[name=policyGrace]', '1d');
    await page.click('button:has-text("Set policy")');
    await page.locator('tbody tr', { hasText: 'policy-co' }).getByText('30d').waitFor();
    await expectAccessible(page, 'policies');

    await page
      .locator('tbody tr', { hasText: 'default (every consumer)' })
      .getByRole('button', { name: /Remove/ })
      .click();
    await page.click('dialog[open] button:has-text("Remove")');
    await page.locator('tbody tr', { hasText: 'default (every consumer)' }).waitFor({ state: 'detached' });
    expect((await h.json('GET', '/v1/rotation-policies', undefined, 200)).data).toHaveLength(1);
  });

  it('shows the cluster nodes with their lag', async () => {
    await page.click('nav >> text=Cluster');
    await page.getByTestId('cluster').getByText('Change feed').waitFor();
    await expectAccessible(page, 'cluster');
  });

  it('shows incidents', async () => {
    await page.click('nav >> text=Incidents');
    await page.getByRole('heading', { name: 'Incidents' }).waitFor();
    await page.locator('.paged').waitFor();
    await expectAccessible(page, 'incidents');
  });

  it('lists the audit newest first, filtered by actor and time', async () => {
    await page.click('nav >> text=Audit');
    const seqs = async () =>
      (await page.locator('tbody tr td:first-child').allTextContents()).map((s) => Number.parseInt(s, 10));
    await page.locator('tbody tr').first().waitFor();
    const first = await seqs();
    expect(first.length).toBeGreaterThan(5);
    expect([...first].sort((a, b) => b - a)).toEqual(first);
    // Actors by their key: the harness's root key, by its name and hint, not its id.
    const actor = page.locator('tbody tr').first().locator('td').nth(2);
    await expect.poll(() => actor.textContent()).toMatch(/^root key .*\(kr_/);
    // Targets by name: the newest consumer.created is the policy test's consumer.
    await page
      .locator('tbody tr', { hasText: 'consumer.created' })
      .first()
      .getByRole('link', { name: 'policy-co' })
      .waitFor();
    await expectAccessible(page, 'audit');

    await page.getByLabel('Actor').fill('nobody:here');
    await page.click('button:has-text("Apply")');
    await page.getByText('No audit events match.').waitFor();
    await page.getByLabel('Actor').fill('');
    await page.getByLabel('From').fill('2099-01-01T00:00:00');
    await page.click('button:has-text("Apply")');
    await page.getByText('No audit events match.').waitFor();
  });

  it('follows the system’s dark setting, still accessible', async () => {
    const background = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    await page.goto('/dashboard#/overview');
    await page.locator('.chart .legend').first().waitFor();
    const light = await background();
    await page.locator('.chart canvas').evaluate((c) => c.classList.add('drawn-light'));
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await background()).not.toBe(light);
    // The chart is drawn anew in the dark theme's colours.
    await page.locator('.chart canvas:not(.drawn-light)').waitFor();
    await expectAccessible(page, 'overview (dark)');
    await page.click('nav >> text=Rotations');
    await page.locator('tbody tr .bar').first().waitFor();
    await expectAccessible(page, 'rotations (dark)');
    await page.emulateMedia({ colorScheme: 'light' });
    expect(await background()).toBe(light);
  });

  it('is driven by the keyboard alone: tab to a link and follow it with Enter', async () => {
    await page.goto('/dashboard#/overview');
    await page.reload();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.keyboard.press('Tab');
    for (let i = 0; i < 10 && !(await page.evaluate(() => document.activeElement?.textContent === 'Plans')); i++)
      await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Plans' }).waitFor();
    expect(await page.locator('nav a[aria-current=page]').textContent()).toBe('Plans');
    // The focus moved to the new view's heading, and Tab goes on from there into the view.
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H1');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('planName');
    expect(pageErrors).toEqual([]);
  });
});
