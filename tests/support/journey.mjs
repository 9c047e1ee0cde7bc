// The second half of the merchant's journey in Chromium, after products.mjs made a product with
// three uploaded files: switch its delivery to an external link and back to the files (which
// were kept), turn on test mode, see that a new draft product cannot be bought, buy the first
// through the test checkout, find the order, read the email in the Mailbox,
// resend it, revoke access through its confirmation page (the customer's link must give 404)
// and restore it (200 again).
// Prints one JSON object; any failed step prints {"ok": false, …} and exits 1.
//
// Usage: node journey.mjs <base_url> <email> <password> <product_id> [screenshot_dir]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, email, password, productId, shots] = process.argv.slice(2);
if (!base || !password || !productId) {
  process.stderr.write('usage: node journey.mjs <base_url> <email> <password> <product_id> [screenshot_dir]\n');
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

async function update(page) {
  await page.getByRole('button', { name: 'Update product', exact: true }).click();
  await page.waitForURL(/notice=saved/);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(30_000);
  if (shots) mkdirSync(shots, { recursive: true });
  const productPage = `${base}/dashboard/products/${productId}`;

  step = 'sign in';
  await page.goto(productPage);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(productPage);
  steps.push(step);

  step = 'switch to an external link';
  await page.getByRole('radio', { name: 'External download link' }).check();
  await page.getByLabel('Download URL').fill('https://downloads.example.com/keeper');
  await update(page);
  seen.link_saved = await page.getByLabel('Download URL').inputValue();
  steps.push(step);

  step = 'switch back to the uploaded files';
  // The product kept its file list while it delivered the link: nothing to add again.
  await page.getByRole('radio', { name: 'Upload file(s)' }).check();
  seen.kept_count = (await page.locator('[data-file-count]').textContent()).trim();
  await update(page);
  seen.file_count = (await page.locator('[data-file-count]').textContent()).trim();
  seen.kept_link = await page.getByLabel('Download URL').inputValue();
  steps.push(step);

  step = 'turn on test mode';
  await page.goto(`${base}/dashboard/settings`);
  await page.getByRole('button', { name: 'Turn test mode on' }).click();
  await page.waitForURL(/notice=test-mode-on/);
  steps.push(step);

  step = 'a draft cannot be bought';
  await page.goto(`${base}/dashboard/products/new`);
  await page.getByLabel('Name', { exact: true }).fill('Unfinished Draft');
  await page.getByLabel('Price').fill('5.00');
  await page.getByLabel('Currency').fill('EUR');
  await page.getByRole('button', { name: 'Create product' }).click();
  await page.waitForURL(/notice=created/);
  const draftId = new URL(page.url()).pathname.split('/').pop();
  seen.draft_badge = (await page.locator('.dash-head h1 .badge').textContent()).trim();
  seen.draft_note = (await page.locator('#draft-note').textContent()).trim();
  seen.draft_checkout_links = await page.getByRole('link', { name: 'Open test checkout' }).count();
  await shoot(page, 'journey-draft');
  const draftCheckout = await page.goto(`${base}/buy/${draftId}`);
  seen.draft_checkout_status = draftCheckout.status();
  seen.draft_checkout_error = (await page.getByRole('alert').textContent()).trim();
  seen.draft_pay_buttons = await page.getByRole('button', { name: 'Pay (test mode)' }).count();
  await shoot(page, 'journey-draft-checkout');
  steps.push(step);

  step = 'buy through the test checkout';
  await page.goto(productPage);
  await page.getByRole('link', { name: 'Open test checkout' }).click();
  await page.getByLabel('Name').fill('Grace Hopper');
  await page.getByLabel('Email').fill('grace@customer.example');
  await page.getByRole('button', { name: 'Pay (test mode)' }).click();
  await page.waitForURL(/\/d\//);
  const deliveryUrl = page.url();
  seen.delivery_files = await page.locator('.files li').count();
  steps.push(step);

  step = 'find the order';
  await page.goto(`${base}/dashboard/orders?q=grace%40customer.example`);
  await page.locator('a.row-link').first().click();
  await page.waitForURL(/\/dashboard\/orders\/[^/?]+$/);
  const orderPage = page.url();
  seen.order_link = await page.locator('a.delivery-link').getAttribute('href');
  steps.push(step);
  await shoot(page, 'journey-order');

  step = 'read the email in the mailbox';
  // The outbox worker writes the email moments after the payment.
  for (let i = 0; i < 100; i += 1) {
    await page.goto(`${base}/dashboard/mailbox`);
    if (await page.getByRole('link', { name: /Your purchase from/ }).count()) break;
    await page.waitForTimeout(200);
  }
  await page.getByRole('link', { name: /Your purchase from/ }).first().click();
  seen.mail_has_link = (await page.content()).includes(new URL(deliveryUrl).pathname);
  steps.push(step);
  await shoot(page, 'journey-mail');

  step = 'resend the email';
  await page.goto(orderPage);
  await page.getByRole('button', { name: 'Resend email' }).click();
  await page.waitForURL(/notice=resent/);
  seen.resent = (await page.locator('.flash').textContent()).trim();
  steps.push(step);

  step = 'revoke access';
  await page.getByRole('link', { name: 'Revoke access…' }).click();
  await page.waitForURL(/\/revoke$/);
  await shoot(page, 'journey-revoke-confirm');
  await page.getByRole('button', { name: 'Revoke access' }).click();
  await page.waitForURL(/notice=revoked/);
  seen.after_revoke = (await page.request.get(deliveryUrl)).status();
  steps.push(step);

  step = 'restore access';
  await page.getByRole('button', { name: 'Restore access' }).click();
  await page.waitForURL(/notice=restored/);
  seen.after_restore = (await page.request.get(deliveryUrl)).status();
  steps.push(step);

  process.stdout.write(`${JSON.stringify({ ok: true, steps, delivery_url: deliveryUrl, ...seen })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ ok: false, step, steps, error: String(error?.message ?? error) })}\n`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
