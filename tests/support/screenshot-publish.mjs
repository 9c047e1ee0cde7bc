// Screenshots of the product page's "Publish update" card and its preview, in Debian's
// Chromium (never downloads a browser).
//
// Usage: node screenshot-publish.mjs <base url> <email> <password> <out dir> <product id>
// Signs in, saves <out dir>/publish-card-{1280,390}.png (the card filled in) and
// publish-preview-{1280,390}.png (after "Preview"); publishes nothing.
import { chromium } from 'playwright-core';

const [base, email, password, out, product] = process.argv.slice(2);
if (!base || !email || !password || !out || !product) {
  process.stderr.write('usage: node screenshot-publish.mjs <base> <email> <password> <out dir> <product id>\n');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  for (const width of [1280, 390]) {
    const context = await browser.newContext({ viewport: { width, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto(`${base}/dashboard/sign-in`);
    await page.fill('#email', email);
    await page.fill('#password', password);
    await Promise.all([page.waitForURL(`${base}/dashboard`), page.click('button[type=submit]')]);
    await page.goto(`${base}/dashboard/products/${product}`);
    await page.fill('#publish-label', '2.0');
    await page.fill('#publish-changelog', '## New\n- Polar maps\n- A *faster* index');
    await page.check('input[name=audience][value=all]');
    await page.fill('#publish-subject', 'Field Atlas 2.0 is out');
    await page.fill('#publish-message', 'Hello,\nthe polar maps you asked for are in. Enjoy!');
    await page.locator('#publish').screenshot({ path: `${out}/publish-card-${width}.png` });
    await Promise.all([page.waitForLoadState('load'), page.click('#publish button[value=preview]')]);
    await page.waitForSelector('[data-orders]');
    await page.screenshot({ path: `${out}/publish-preview-${width}.png`, fullPage: true });
    await context.close();
  }
} finally {
  await browser.close();
}
