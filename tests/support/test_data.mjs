// Test data kept apart, in Chromium: with test mode on, the merchant sees the orange test-mode
// bar, buys a product through its test checkout, finds the order marked "Test" next to a real
// one and filters it, sees it left out of revenue, then deletes test data through the confirm
// page: the test order's link stops (404), the real order stays and still counts.
// Prints one JSON object; any failed step prints {"ok": false, …} and exits 1.
//
// Usage: node test_data.mjs <base_url> <email> <password> <product_id> [screenshot_dir]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, email, password, productId, shots] = process.argv.slice(2);
if (!base || !password || !productId) {
  process.stderr.write('usage: node test_data.mjs <base_url> <email> <password> <product_id> [screenshot_dir]\n');
  process.exit(2);
}
const steps = [];
const seen = {};
let step = 'launch';

async function shoot(page, name) {
  if (!shots) return;
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: join(shots, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

const text = async (locator) => (await locator.textContent()).replace(/\s+/g, ' ').trim();

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(30_000);
  if (shots) mkdirSync(shots, { recursive: true });

  step = 'sign in';
  await page.goto(`${base}/dashboard`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/dashboard`);
  seen.banner = await text(page.locator('.test-banner'));
  steps.push(step);

  step = 'buy through the test checkout';
  await page.goto(`${base}/buy/${productId}`);
  await page.getByLabel('Name').fill('Tess Tester');
  await page.getByLabel('Email').fill('tess@customer.example');
  await page.getByRole('button', { name: 'Pay (test mode)' }).click();
  await page.waitForURL(/\/d\//);
  const testDelivery = page.url();
  steps.push(step);

  step = 'see the test order marked and filtered';
  await page.goto(`${base}/dashboard/orders`);
  seen.test_row = await text(page.locator('tr', { hasText: 'tess@customer.example' }).locator('.badge-test'));
  seen.rows = await page.locator('a.row-link').count();
  await page.getByLabel('Kind').selectOption('live');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/mode=live/);
  seen.live_rows = await page.locator('a.row-link').count();
  steps.push(step);
  await shoot(page, 'test-data-orders');

  step = 'see it left out of revenue';
  await page.goto(`${base}/dashboard`);
  seen.revenue = await text(page.locator('.stats.revenue .stat-value').first());
  seen.revenue_label = await text(page.locator('.stats.revenue .stat .muted').first());
  seen.left_out = await text(page.locator('section[aria-labelledby="revenue-title"] p'));
  steps.push(step);
  await shoot(page, 'test-data-overview');

  step = 'delete test data';
  await page.getByRole('link', { name: 'Delete test data' }).click();
  await page.waitForURL(/\/dashboard\/test-data$/);
  seen.confirm = await text(page.locator('h1'));
  await shoot(page, 'test-data-confirm');
  await page.getByRole('button', { name: 'Delete test data' }).click();
  await page.waitForURL(/notice=test-data-deleted/);
  seen.flash = await text(page.locator('.flash'));
  seen.rows_after = await page.locator('a.row-link').count();
  seen.test_link_after = (await page.request.get(testDelivery)).status();
  steps.push(step);

  process.stdout.write(`${JSON.stringify({ ok: true, steps, ...seen })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ ok: false, step, steps, error: String(error?.message ?? error) })}\n`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
