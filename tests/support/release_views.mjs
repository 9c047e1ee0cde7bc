// A customer with a release granted after purchase, in a real browser (Debian's Chromium
// driven by playwright-core; nothing is downloaded): the portal shows "New" on the latest
// release and its changelog, "Previous versions" is closed until opened, both releases'
// files download, and "New" goes once the latest release's file is downloaded. Any dialog
// (a changelog's script running) is recorded. Prints one JSON object of what it saw; exits
// non-zero if any step fails.
//
// Usage (all by environment):
//   PORTAL_URL=http://127.0.0.1:PORT/portal/shop  COOKIE=name=value  OUT_DIR=/tmp/dir  node release_views.mjs
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const { PORTAL_URL, COOKIE, OUT_DIR } = process.env;
if (!PORTAL_URL || !COOKIE || !OUT_DIR) {
  process.stderr.write('release_views.mjs: set PORTAL_URL, COOKIE and OUT_DIR\n');
  process.exit(2);
}

const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function download(page, locator, name) {
  const [file] = await Promise.all([page.waitForEvent('download'), locator.click()]);
  const path = join(OUT_DIR, name);
  await file.saveAs(path);
  return { suggested: file.suggestedFilename(), sha256: sha256(path) };
}

const result = { steps: [], dialogs: [] };
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const context = await browser.newContext({ acceptDownloads: true });
  const [name, ...value] = COOKIE.split('=');
  await context.addCookies([{ name, value: value.join('='), url: PORTAL_URL }]);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('dialog', async (dialog) => {
    result.dialogs.push(dialog.message());
    await dialog.dismiss();
  });

  await page.goto(PORTAL_URL);
  await page.getByRole('heading', { name: 'Your purchases' }).waitFor();
  result.newBadges = await page.locator('.badge-new').count();
  result.changelog = await page.locator('.release-head .changelog').first().innerText();
  const older = page.getByRole('link', { name: 'Download guide.pdf (Release 1)' });
  result.previousHiddenAtFirst = !(await older.isVisible());
  await page.getByText('Previous versions').click();
  result.previousShownWhenOpened = await older.isVisible();
  result.steps.push('opened previous versions');

  result.older = await download(page, older, 'release-1.pdf');
  result.steps.push('downloaded release 1');
  await page.reload();
  result.newAfterOlder = await page.locator('.badge-new').count();

  result.latest = await download(page, page.getByRole('link', { name: 'Download guide.pdf', exact: true }), 'release-2.pdf');
  result.steps.push('downloaded release 2');
  // The download log is written by a background batch: reload until "New" goes, or give up.
  const deadline = Date.now() + 10_000;
  for (;;) {
    await page.reload();
    result.newAfterLatest = await page.locator('.badge-new').count();
    if (result.newAfterLatest === 0 || Date.now() > deadline) break;
    await page.waitForTimeout(100);
  }
  result.steps.push('reloaded');
  await context.close();
} catch (error) {
  result.error = String(error && error.stack || error);
  process.exitCode = 1;
} finally {
  await browser.close();
  process.stdout.write(JSON.stringify(result) + '\n');
}
