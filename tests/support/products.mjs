// Drives the dashboard's products pages in Chromium the way a merchant does: sign in, create a
// product, upload three files at once (progress bars to "Uploaded"), rename one, move one up,
// drag a file by its number to the end, "Update product"; then upload a fourth (large) file on a
// slow connection, read the progress text (bytes, speed, time left) and click "Cancel upload".
// Prints one JSON object; the Rust test (tests/api/dashboard/products_browser.rs)
// checks the result through the API. Any failed step prints {"ok": false, …} and exits 1.
//
// Usage: node products.mjs <base_url> <email> <password> <file> <file> <file> <big file> [screenshot_dir]
// With a screenshot_dir it also saves the list, the edit page (mid-upload, throttled, and after)
// and the external-link error state at 1280 and 390 pixels wide.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, email, password, ...rest] = process.argv.slice(2);
const files = rest.slice(0, 3);
const big = rest[3];
const shots = rest[4];
if (!base || !password || files.length !== 3 || !big) {
  process.stderr.write('usage: node products.mjs <base_url> <email> <password> <file> <file> <file> <big file> [screenshot_dir]\n');
  process.exit(2);
}
const WIDE = { width: 1280, height: 900 };
const steps = [];
let step = 'launch';

// A viewport as tall as the page (rather than a full-page capture of a short one), so the
// sticky top bar and "Update product" bar sit where a person would see them.
async function fullHeight(page, width) {
  await page.setViewportSize({ width, height: 600 });
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width, height });
}

async function shoot(page, name) {
  if (!shots) return;
  for (const width of [1280, 390]) {
    await fullHeight(page, width);
    await page.screenshot({ path: join(shots, `${name}-${width}.png`) });
  }
  await page.setViewportSize(WIDE);
}

async function allUploaded(page, count) {
  await page.waitForFunction(
    (n) => {
      const rows = document.querySelectorAll('[data-file-list] [data-file-row]');
      return rows.length === n && Array.from(rows).every((row) =>
        row.querySelector('[data-status]').textContent.trim() === 'Uploaded' &&
        row.querySelector('progress').value === 100);
    },
    count,
    { timeout: 120_000, polling: 100 },
  );
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: WIDE });
  page.setDefaultTimeout(30_000);
  if (shots) mkdirSync(shots, { recursive: true });

  step = 'sign in';
  await page.goto(`${base}/dashboard/products`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/dashboard\/products$/);
  steps.push(step);
  await shoot(page, 'products-empty');

  step = 'create a product';
  await page.getByRole('link', { name: 'Create your first product' }).click();
  await page.getByLabel('Name', { exact: true }).fill('The Lighthouse Keeper');
  await page.getByLabel('Price').fill('24.00');
  await page.getByLabel('Currency').fill('EUR');
  await page.getByRole('button', { name: 'Create product' }).click();
  await page.waitForURL(/notice=created/);
  const productId = new URL(page.url()).pathname.split('/').pop();
  steps.push(step);

  step = 'choose "Upload file(s)"';
  await page.getByRole('radio', { name: 'Upload file(s)' }).check();
  await page.getByRole('heading', { name: 'Files' }).waitFor();
  steps.push(step);

  step = 'upload three files';
  let cdp;
  if (shots) {
    // Slow the uploads down so a screenshot can catch the progress bars moving.
    cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 4 * 1024 * 1024,
    });
  }
  await page.getByLabel('Choose files').setInputFiles(files);
  const counter = await page.locator('[data-file-count]').textContent();
  if (shots) {
    await page.waitForFunction(() => {
      const bars = Array.from(document.querySelectorAll('[data-file-list] progress'));
      return bars.some((bar) => bar.value > 5 && bar.value < 90);
    }, null, { timeout: 30_000, polling: 50 });
    await shoot(page, 'product-uploading');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
    });
  }
  await allUploaded(page, 3);
  steps.push(step);

  step = 'rename file 2 (typed without its extension, which is kept)';
  await page.getByLabel('Display name for file 2').fill('Chapter 2 (revised)');
  await page.getByLabel('Display name for file 2').press('Tab');
  const renamed = await page.getByLabel('Display name for file 2').inputValue();
  steps.push(step);

  step = 'move file 3 up';
  await page.getByRole('button', { name: 'Move up file 3' }).click();
  const order = await page.locator('[data-file-list] [data-name-input]').evaluateAll((inputs) => inputs.map((i) => i.value));
  const focused = await page.evaluate(() => document.activeElement?.textContent?.trim());
  steps.push(step);

  step = 'drag file 1 to the end';
  const handle = page.locator('[data-file-list] [data-file-row]').nth(0).locator('[data-pos]');
  const last = page.locator('[data-file-list] [data-file-row]').nth(2);
  const box = await last.boundingBox();
  await handle.dragTo(last, { targetPosition: { x: 20, y: box.height - 6 } });
  const dragged = await page.locator('[data-file-list] [data-name-input]').evaluateAll((inputs) => inputs.map((i) => i.value));
  const positions = await page.locator('[data-file-list] [data-pos]').allTextContents();
  steps.push(step);
  await shoot(page, 'product-files');

  step = 'update product';
  await page.getByRole('button', { name: 'Update product', exact: true }).click();
  await page.waitForURL(/notice=saved/);
  const flash = (await page.locator('.flash').textContent()).trim();
  steps.push(step);

  step = 'upload a large file slowly and cancel it';
  cdp = cdp || await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 2 * 1024 * 1024,
  });
  await page.getByLabel('Choose files').setInputFiles([big]);
  const bigRow = page.locator('[data-file-list] [data-file-row]').nth(3);
  await page.waitForFunction(() => {
    const text = document.querySelectorAll('[data-file-list] [data-progress-text]')[3];
    return text && / left$/.test(text.textContent) && !/^0 bytes/.test(text.textContent);
  }, null, { timeout: 30_000, polling: 50 });
  const progressText = (await bigRow.locator('[data-progress-text]').textContent()).trim();
  const uploadingCount = await page.locator('[data-file-count]').textContent();
  await shoot(page, 'product-uploading-big');
  await bigRow.getByRole('button', { name: 'Cancel upload file 4' }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-file-list] [data-file-row]').length === 3);
  const afterCancel = await page.locator('[data-file-count]').textContent();
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
  });
  steps.push(step);

  if (shots) {
    step = 'screenshots';
    await shoot(page, 'product-saved');
    await page.getByRole('radio', { name: 'External download link' }).check();
    await page.getByLabel('Download URL').fill('javascript:alert(1)');
    await page.getByRole('button', { name: 'Update product', exact: true }).click();
    await page.locator('#external_url-error').waitFor();
    await shoot(page, 'product-link-error');
    await page.goto(`${base}/dashboard/products`);
    await shoot(page, 'products-list');
    // An upload never added to a product: the library offers to delete it.
    const spare = join(shots, 'Spare notes.txt');
    writeFileSync(spare, `Notes kept aside ${Date.now()}\n`);
    await page.goto(`${base}/dashboard/products/${productId}`);
    await page.getByRole('radio', { name: 'Upload file(s)' }).check();
    await page.getByLabel('Choose files').setInputFiles([spare]);
    await page.locator('[data-file-list] [data-file-row]').nth(3).locator('[data-status]', { hasText: 'Uploaded' }).waitFor();
    await page.goto(`${base}/dashboard/files`);
    await shoot(page, 'files-library');
    await page.getByRole('link', { name: 'Delete… Spare notes.txt' }).click();
    await shoot(page, 'file-delete');
    await page.goto(`${base}/dashboard/files`);
    await page.locator('tr', { hasText: 'Audiobook.zip' }).locator('a', { hasText: 'In use' }).click();
    await shoot(page, 'file-kept');
    await page.goto(`${base}/dashboard`);
    await shoot(page, 'overview');
    await page.getByRole('button', { name: 'Close getting started' }).click();
    await page.waitForURL(/notice=steps-closed/);
    await shoot(page, 'overview-closed');
    await page.getByRole('button', { name: 'Show it again' }).click();
    await page.locator('#getting-started').waitFor();
    steps.push(step);
  }

  process.stdout.write(`${JSON.stringify({
    ok: true, product_id: productId, steps, counter, order, focused, renamed, flash, dragged, positions,
    progress_text: progressText, uploading_count: uploadingCount, after_cancel: afterCancel,
    uploaded: files.map((f) => basename(f)),
  })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ ok: false, step, steps, error: String(error?.message ?? error) })}\n`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
