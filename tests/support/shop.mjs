// The shop profile and API keys in Chromium, then what customers see.
//
// `profile` mode: signs in, draws a logo (a PNG made by the browser itself), fills the Shop
// profile form and uploads the logo, then creates an API key: the page lands on the key at its
// top, and a reload shows no key and makes none.
// `customer` mode: opens the delivery page, the portal and the purchase email's HTML (a file)
// and reports what shows of the brand.
// Prints one JSON object; any failed step prints {"ok": false, …} and exits 1.
//
// Usage: node shop.mjs profile <base_url> <email> <password> [screenshot_dir]
//        node shop.mjs customer <delivery_url> <portal_url> <email_html_file> [screenshot_dir]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [mode, ...args] = process.argv.slice(2);
const steps = [];
const seen = {};
let step = 'launch';
let shots;

async function shoot(page, name, widths = [1280, 390], fullPage = true) {
  if (!shots) return;
  for (const width of widths) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
    await page.screenshot({ path: join(shots, `${name}-${width}.png`), fullPage });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

async function profile(page, [base, email, password, dir]) {
  shots = dir;
  step = 'draw a logo';
  await page.setContent(`<div id="logo" style="display:inline-flex;align-items:center;gap:10px;padding:6px 10px;
    font:700 30px Georgia,serif;color:#7a2e14;background:#fff"><span style="display:inline-block;width:40px;height:40px;
    border-radius:50%;background:#aa3311"></span>Pine &amp; Press</div>`);
  const logo = await page.locator('#logo').screenshot({ type: 'png' });
  steps.push(step);

  step = 'sign in';
  await page.goto(`${base}/dashboard/sign-in`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/dashboard`);
  steps.push(step);

  step = 'save the shop profile';
  await page.goto(`${base}/dashboard/settings`);
  await page.getByLabel('Shop name').fill('Pine & Press');
  await page.getByLabel('Support email').fill('help@pinepress.example');
  await page.getByLabel('Accent colour').fill('#aa3311');
  await page.getByLabel('Logo', { exact: true }).setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: logo });
  await page.getByRole('button', { name: 'Save shop profile' }).click();
  await page.waitForURL(/notice=profile/);
  seen.profile_notice = (await page.locator('.flash').textContent()).trim();
  seen.logo_shown = await page.locator('.logo-preview img').evaluate((img) => img.complete && img.naturalWidth > 0);
  await shoot(page, 'settings-profile');
  steps.push(step);

  step = 'create an API key';
  await page.getByLabel("New key's name").fill('Shop backend');
  await page.getByRole('button', { name: 'Create API key' }).click();
  await page.waitForURL(/new_key=/);
  seen.key_url_has_key = page.url().includes('sk_');
  seen.key = (await page.locator('code#new-key').textContent()).trim();
  // Where the page lands: the key below the sticky header, inside the window.
  const box = await page.locator('code#new-key').boundingBox();
  const header = await page.locator('.dash-top').boundingBox();
  seen.key_in_view = box.y >= header.y + header.height && box.y + box.height < 900;
  seen.copy_button = await page.locator('.new-key button[data-copy]').isVisible();
  await shoot(page, 'settings-new-key', [1280], false);
  steps.push(step);

  step = 'reload the key page';
  await page.reload();
  seen.after_reload_has_key = (await page.content()).includes(seen.key);
  seen.after_reload = (await page.locator('#new-key').textContent()).trim();
  steps.push(step);
}

async function customer(page, [delivery, portal, emailFile, dir]) {
  shots = dir;
  const brand = async () => ({
    logo: await page.locator('.shop-brand-logo').evaluate((img) => img.complete && img.naturalWidth > 0),
    alt: await page.locator('.shop-brand-logo').getAttribute('alt'),
    button: await page.locator('.button').first().evaluate((b) => getComputedStyle(b).backgroundColor),
  });
  step = 'the delivery page';
  await page.goto(delivery);
  seen.delivery = await brand();
  await shoot(page, 'customer-delivery');
  steps.push(step);

  step = 'the portal';
  await page.goto(portal);
  seen.portal = await brand();
  await shoot(page, 'customer-portal');
  steps.push(step);

  step = 'the email';
  await page.goto(pathToFileURL(emailFile).href);
  seen.email_logo = await page.locator('img').first().evaluate((img) => img.complete && img.naturalWidth > 0);
  await shoot(page, 'customer-email');
  steps.push(step);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(30_000);
  const dir = args[mode === 'profile' ? 3 : 3];
  if (dir) mkdirSync(dir, { recursive: true });
  if (mode === 'profile') await profile(page, args);
  else if (mode === 'customer') await customer(page, args);
  else throw new Error(`unknown mode ${mode}`);
  process.stdout.write(`${JSON.stringify({ ok: true, steps, ...seen })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ ok: false, step, steps, error: String(error?.message ?? error) })}\n`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
