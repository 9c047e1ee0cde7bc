// The order page's support tools and the customer's delivery pages in Chromium: copy the
// payment id and the delivery link with their Copy buttons (read back from the clipboard),
// follow "Revoke access…" to its confirmation page and back; screenshots of the order page,
// the confirmation page and the delivery pages (normal, revoked, expired) when asked.
// Prints one JSON object; any failed step prints {"ok": false, …} and exits 1.
//
// Usage: node order_support.mjs <base_url> <email> <password> <order_id> <normal> <revoked> <expired>
//        <expired_order_id> [screenshot_dir]
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, email, password, orderId, normal, revoked, expired, expiredId, shots] = process.argv.slice(2);
if (!base || !expiredId) {
  process.stderr.write('usage: node order_support.mjs <base> <email> <password> <order_id> <normal> <revoked> <expired> <expired_id> [dir]\n');
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

// A copy button answers once the (asynchronous) copy is done: "Copied" or "Select and copy",
// for two seconds. Waits for that answer rather than reading the label at once.
async function answerOf(button) {
  const handle = await button.elementHandle();
  await button.page().waitForFunction((b) => b.textContent.trim() !== 'Copy', handle, { timeout: 10_000 })
    .catch(() => {});
  return (await button.textContent()).trim();
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const page = await context.newPage();

  step = 'sign in';
  await page.goto(`${base}/dashboard/sign-in`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}/dashboard`), page.click('button[type=submit]')]);
  steps.push(step);

  step = 'copy the payment id';
  await page.goto(`${base}/dashboard/orders/${orderId}`);
  const copyPayment = page.getByRole('button', { name: 'Copy the payment id' });
  await copyPayment.click();
  seen.copied_button = await answerOf(copyPayment);
  seen.copied_payment_id = await page.evaluate(() => navigator.clipboard.readText());
  steps.push(step);

  step = 'copy the delivery link';
  const copyLink = page.locator('.copy-row button[data-copy]');
  await copyLink.click();
  seen.copied_link_button = await answerOf(copyLink);
  seen.copied_link = await page.evaluate(() => navigator.clipboard.readText());
  await shoot(page, 'order-support-order');
  steps.push(step);

  step = 'open the revoke confirmation';
  await page.getByRole('link', { name: 'Revoke access…' }).click();
  await page.waitForURL(/\/revoke$/);
  seen.confirm_heading = (await page.locator('h1').textContent()).trim();
  await shoot(page, 'order-support-revoke-confirm');
  await page.getByRole('link', { name: 'Keep access' }).click();
  await page.waitForURL(new RegExp(`/dashboard/orders/${orderId}$`));
  steps.push(step);

  step = 'delivery pages';
  for (const [name, url] of [['normal', normal], ['revoked', revoked], ['expired', expired]]) {
    const response = await page.goto(url);
    seen[`status_${name}`] = response.status();
    await shoot(page, `delivery-${name}`);
  }
  steps.push(step);

  step = 'the expired order offers "Extend link"';
  await page.goto(`${base}/dashboard/orders/${expiredId}`);
  seen.extend_label = (await page.locator('.access-actions button').first().textContent()).trim();
  await shoot(page, 'order-support-expired-order');
  steps.push(step);

  process.stdout.write(`${JSON.stringify({ ok: true, steps, ...seen })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ ok: false, step, steps, error: String(error?.message ?? error) })}\n`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
