// The link-sharing brake in Chromium: the order page's "Link sharing" card of a locked order
// (its networks table read back), the customer's locked email link, the Settings form, and
// "Unlock link" pressed on the card; screenshots of each page at 1280 and 390 when asked.
// Prints one JSON object; any failed step prints {"ok": false, …} and exits 1.
//
// Usage: node sharing.mjs <base_url> <email> <password> <order_id> <delivery_url> [screenshot_dir]
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, email, password, orderId, link, shots] = process.argv.slice(2);
if (!base || !link) {
  process.stderr.write('usage: node sharing.mjs <base> <email> <password> <order_id> <delivery_url> [dir]\n');
  process.exit(2);
}
const steps = [];
const seen = {};
let step = 'launch';

async function shoot(page, name) {
  if (!shots) return;
  for (const [width, height] of [[1280, 900], [390, 844]]) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: join(shots, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

// The element alone, at both widths (a section of a long page).
async function shootPart(page, selector, name) {
  if (!shots) return;
  for (const [width, height] of [[1280, 900], [390, 844]]) {
    await page.setViewportSize({ width, height });
    await page.locator(selector).screenshot({ path: join(shots, `${name}-${width}.png`) });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();

  step = 'sign in';
  await page.goto(`${base}/dashboard/sign-in`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}/dashboard`), page.click('button[type=submit]')]);
  steps.push(step);

  step = 'the networks card of a locked order';
  await page.goto(`${base}/dashboard/orders/${orderId}`);
  const card = page.locator('#sharing');
  seen.card_alert = (await card.locator('.alert-bad').textContent()).trim();
  seen.networks = await card.locator('tbody tr').evaluateAll((rows) =>
    rows.map((row) => [...row.querySelectorAll('td')].map((td) => td.textContent.trim())));
  await shoot(page, 'sharing-order-locked');
  await shootPart(page, '#sharing', 'sharing-card-locked');
  steps.push(step);

  step = 'the locked email link';
  const locked = await context.newPage();
  const response = await locked.goto(link);
  seen.locked_status = response.status();
  seen.locked_heading = (await locked.locator('h1').textContent()).trim();
  seen.locked_portal = await locked.getByRole('link', { name: 'Go to my purchases' }).getAttribute('href');
  await shoot(locked, 'sharing-locked-link');
  steps.push(step);

  step = 'the Settings form';
  await page.goto(`${base}/dashboard/settings#sharing`);
  seen.settings_mode = await page.locator('#sharing input[name=sharing_mode]:checked').getAttribute('value');
  await shootPart(page, '#sharing', 'sharing-settings');
  steps.push(step);

  step = 'unlock the link';
  await page.goto(`${base}/dashboard/orders/${orderId}`);
  await Promise.all([
    page.waitForURL(/notice=link-unlocked/),
    page.locator('#sharing').getByRole('button', { name: 'Unlock link' }).click(),
  ]);
  seen.unlock_notice = (await page.locator('.flash').textContent()).trim();
  seen.unlocked_status = (await locked.goto(link)).status();
  await shoot(page, 'sharing-order-unlocked');
  steps.push(step);

  process.stdout.write(`${JSON.stringify({ ok: true, steps, ...seen })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ ok: false, step, steps, error: String(error?.message ?? error) })}\n`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
