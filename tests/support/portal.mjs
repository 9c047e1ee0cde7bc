// The customer portal's whole journey in a real browser (Debian's Chromium driven by
// playwright-core; nothing is downloaded): ask for a code, read it from the real SMTP server
// (maildev's REST API), sign in, count the purchases, download a file and "download all",
// sign out. Prints one JSON object of what it saw; exits non-zero if any step fails.
//
// Usage (all by environment):
//   PORTAL_URL=http://127.0.0.1:PORT/portal/shop  EMAIL=ada@example.com
//   MAILDEV_URL=http://127.0.0.1:PORT  OUT_DIR=/tmp/dir  node portal.mjs
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const { PORTAL_URL, EMAIL, MAILDEV_URL, OUT_DIR } = process.env;
if (!PORTAL_URL || !EMAIL || !MAILDEV_URL || !OUT_DIR) {
  process.stderr.write('portal.mjs: set PORTAL_URL, EMAIL, MAILDEV_URL and OUT_DIR\n');
  process.exit(2);
}

const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

// The sign-in email for EMAIL, once it reaches maildev (the outbox sends it within a second).
async function signInEmail() {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const response = await fetch(`${MAILDEV_URL}/api/email`);
    if (response.ok) {
      const emails = await response.json();
      const found = emails.find((e) => e.to.some((t) => t.address === EMAIL) && /code/.test(e.subject));
      if (found) return found;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no sign-in email reached ${EMAIL} within 30 s`);
}

async function download(page, locator, name) {
  const [file] = await Promise.all([page.waitForEvent('download'), locator.click()]);
  const path = join(OUT_DIR, name);
  await file.saveAs(path);
  return { path, suggested: file.suggestedFilename(), sha256: sha256(path) };
}

const result = { steps: [] };
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);

  await page.goto(PORTAL_URL);
  await page.getByLabel('Email address').fill(EMAIL);
  await page.getByRole('button', { name: 'Email me a code' }).click();
  await page.getByRole('heading', { name: 'Check your email' }).waitFor();
  result.steps.push('asked for a code');

  const email = await signInEmail();
  const code = email.text.match(/^\s+(\d{6})\s*$/m)?.[1];
  if (!code) throw new Error(`no code in the email text: ${email.text}`);
  result.email = { subject: email.subject, text: email.text, html: email.html };
  await page.getByLabel('6-digit code').fill(code);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Your purchases' }).waitFor();
  result.steps.push('signed in');

  result.purchases = await page.locator('article.purchase').count();
  result.pageText = await page.locator('main').innerText();
  result.file = await download(page, page.getByRole('link', { name: 'Download guide.pdf' }).first(), 'guide.pdf');
  result.steps.push('downloaded a file');
  result.zip = await download(page, page.getByRole('link', { name: /Download all/ }).first(), 'all.zip');
  result.steps.push('downloaded all');

  result.cookie = (await context.cookies()).find((c) => c.name === 'satchel_portal');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Email me a code' }).waitFor();
  await page.reload();
  result.signedOut = await page.getByRole('button', { name: 'Email me a code' }).isVisible();
  result.steps.push('signed out');
} catch (error) {
  result.error = String(error && error.stack ? error.stack : error);
} finally {
  await browser.close();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(result.error ? 1 : 0);
