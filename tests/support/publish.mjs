// The merchant publishes an update with an email from the product page, in Debian's Chromium
// (playwright-core; never downloads a browser): fills the "Publish update" card, reads the
// preview (counts, subject, plain text), then publishes. Prints JSON: what the preview showed.
//
// Usage: node publish.mjs <base> <email> <password> <product id> [screenshots dir]
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, email, password, product, shots] = process.argv.slice(2);
if (!base || !product) {
  process.stderr.write('usage: node publish.mjs <base> <email> <password> <product id> [dir]\n');
  process.exit(2);
}
const seen = {};
let step = 'launch';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  step = 'sign in';
  await page.goto(`${base}/dashboard/sign-in`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}/dashboard`), page.click('button[type=submit]')]);

  step = 'fill the Publish update card';
  await page.goto(`${base}/dashboard/products/${product}`);
  seen.card_heading = (await page.locator('#publish-heading').textContent()).trim();
  await page.fill('#publish-label', '2.0');
  await page.fill('#publish-changelog', '## New\n- Polar maps');
  await page.getByLabel('Also every past buyer').check();
  await page.fill('#publish-subject', 'Atlas 2.0 is out');
  await page.fill('#publish-message', 'Hello,\nthe polar maps are in.');
  if (shots) await page.locator('#publish').screenshot({ path: join(shots, 'publish-card-browser.png') });

  step = 'preview';
  await Promise.all([page.waitForSelector('[data-orders]'), page.getByRole('button', { name: 'Preview' }).click()]);
  seen.orders = (await page.locator('[data-orders]').textContent()).trim();
  seen.emails = (await page.locator('[data-emails]').textContent()).trim();
  seen.subject = (await page.locator('[data-preview-subject]').textContent()).trim();
  seen.text = await page.locator('[data-preview-text]').textContent();
  if (shots) await page.screenshot({ path: join(shots, 'publish-preview-browser.png'), fullPage: true });

  step = 'publish';
  await Promise.all([page.waitForURL(/notice=published/), page.getByRole('button', { name: 'Publish', exact: true }).click()]);
  seen.card_after = await page.locator('#publish').count();
  process.stdout.write(`${JSON.stringify({ ok: true, ...seen })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ ok: false, step, error: String(error?.message ?? error) })}\n`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
