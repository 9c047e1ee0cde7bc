// Screenshots of the merchant dashboard's pages in Debian's Chromium (never downloads a browser).
//
// Usage: node screenshot-dashboard.mjs <base url> <email> <password> <out dir> <name>=<path>…
// Signs in through the form, then saves <out dir>/<name>-1280.png and <name>-390.png for each page.
import { chromium } from 'playwright-core';

const [base, email, password, out, ...pages] = process.argv.slice(2);
if (!base || !email || !password || !out || pages.length === 0) {
  process.stderr.write('usage: node screenshot-dashboard.mjs <base> <email> <password> <out dir> <name>=<path>…\n');
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
    for (const spec of pages) {
      const [name, path] = spec.split('=');
      await page.goto(`${base}${path}`);
      await page.screenshot({ path: `${out}/${name}-${width}.png`, fullPage: true });
    }
    await context.close();
  }
} finally {
  await browser.close();
}
