// The merchant's account and webhooks in Chromium: "Send test event" on the Webhook
// deliveries page shows the delivery, then sign out, "Forgot password?", follow the emailed
// link (read from the file mailbox), choose a new password, sign in with it, and find the
// link refused a second time.
// Prints one JSON object; any failed step prints {"ok": false, …} and exits 1.
//
// Usage: node accounts.mjs <base_url> <email> <password> <mailbox_dir> <new_password> [screenshot_dir]
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, email, password, mailbox, newPassword, shots] = process.argv.slice(2);
if (!base || !password || !mailbox || !newPassword) {
  process.stderr.write('usage: node accounts.mjs <base_url> <email> <password> <mailbox_dir> <new_password> [screenshot_dir]\n');
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

async function signIn(page, secret) {
  await page.goto(`${base}/dashboard/sign-in`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState();
}

// The reset link in the newest .eml of the mailbox (quoted-printable soft breaks undone).
function resetLink() {
  const files = readdirSync(mailbox).filter((f) => f.endsWith('.eml'));
  for (const file of files) {
    const raw = readFileSync(join(mailbox, file), 'utf8').replace(/=\r?\n/g, '');
    const found = raw.match(/https?:\/\/[^\s"<>]+\/dashboard\/reset-password\/[A-Za-z0-9_-]{43}/);
    if (found) return found[0];
  }
  return null;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(30_000);
  if (shots) mkdirSync(shots, { recursive: true });

  step = 'sign in';
  await signIn(page, password);
  await page.waitForURL(`${base}/dashboard`);
  steps.push(step);

  step = 'send a test event';
  await page.goto(`${base}/dashboard/settings`);
  await page.getByRole('link', { name: 'See every delivery, or send a test event' }).click();
  await page.waitForURL(`${base}/dashboard/webhooks`);
  await page.getByRole('button', { name: 'Send test event', exact: true }).click();
  await page.waitForURL(/notice=test-sent/);
  seen.test_notice = (await page.locator('.flash').textContent()).trim();
  const first = page.locator('table.deliveries tbody tr').first();
  seen.test_row = (await first.innerText()).replace(/\s+/g, ' ').trim();
  seen.last_webhook = (await page.locator('#last-webhook').innerText()).replace(/\s+/g, ' ').trim();
  steps.push(step);
  await shoot(page, 'accounts-deliveries');

  step = 'sign out and ask for a reset link';
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/signed_out/);
  await page.getByRole('link', { name: 'Forgot password?' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Email me a reset link' }).click();
  seen.asked = (await page.locator('.flash').textContent()).replace(/\s+/g, ' ').trim();
  steps.push(step);
  await shoot(page, 'accounts-forgot');

  step = 'read the reset email';
  let link = null;
  for (let i = 0; i < 150 && !link; i += 1) {
    link = resetLink();
    if (!link) await page.waitForTimeout(200);
  }
  if (!link) throw new Error('no reset email in the mailbox');
  steps.push(step);

  step = 'choose a new password';
  await page.goto(link);
  await page.getByLabel('New password', { exact: true }).fill(newPassword);
  await page.getByLabel('New password, again').fill(newPassword);
  await shoot(page, 'accounts-reset');
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.waitForURL(/password_reset=1/);
  seen.reset_notice = (await page.locator('.flash').textContent()).trim();
  steps.push(step);

  step = 'sign in with the new password';
  await signIn(page, newPassword);
  await page.waitForURL(`${base}/dashboard`);
  seen.signed_in = page.url();
  steps.push(step);

  step = 'the link a second time';
  await page.goto(link);
  seen.second_time = (await page.locator('h1').textContent()).trim();
  steps.push(step);

  process.stdout.write(`${JSON.stringify({ ok: true, steps, ...seen })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ ok: false, step, steps, error: String(error?.message ?? error) })}\n`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
