import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's Chromium, which the dashboard suites drive. */
export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) process.stderr.write(`dashboard browser suites skipped: ${CHROMIUM} does not exist\n`);

/** Starts headless Chromium. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page on `baseURL` that records page errors and console errors (CSP violations among them) in `errors`. */
export async function openPage(browser: Browser, baseURL: string, errors: string[]): Promise<Page> {
  const page = await browser.newPage({ baseURL, viewport: { width: 1280, height: 860 } });
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    // Expected 4xx answers (a wrong key, a validation failure) are logged by Chromium too; CSP violations are not.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) errors.push(msg.text());
  });
  return page;
}

/** Signs in with `rootKey` and waits for the overview. */
export async function signIn(page: Page, rootKey: string): Promise<void> {
  await page.goto('/dashboard');
  await page.fill('#root-key', rootKey);
  await page.click('#sign-in button[type=submit]');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core in the page (evaluated through the DevTools protocol, which the page's CSP does not govern)
 * and expects no serious or critical violation.
 */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document) => Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document);
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  expect(violations, screen).toEqual([]);
}

/** The part of an axe violation the suites report. */
interface AxeViolation {
  id: string;
  impact: string | null;
  nodes: { target: string[] }[];
}
