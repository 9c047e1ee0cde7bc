// Screenshots of customer pages (the delivery page, the portal) in Debian's Chromium (never
// downloads a browser), with every <details> opened so "Previous versions" shows too.
//
// Usage: node screenshot-customer.mjs <base url> <out dir> <cookie name=value or -> <name>=<path>…
// Saves <out dir>/<name>-1280.png and <name>-390.png for each page; the cookie (a portal
// session) is sent to the base URL's host when given.
import { chromium } from 'playwright-core';

const [base, out, cookie, ...pages] = process.argv.slice(2);
if (!base || !out || !cookie || pages.length === 0) {
  process.stderr.write('usage: node screenshot-customer.mjs <base> <out dir> <cookie|-> <name>=<path>…\n');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  for (const width of [1280, 390]) {
    const context = await browser.newContext({ viewport: { width, height: 900 }, deviceScaleFactor: 1 });
    if (cookie !== '-') {
      const [name, ...rest] = cookie.split('=');
      await context.addCookies([{ name, value: rest.join('='), url: base }]);
    }
    const page = await context.newPage();
    for (const spec of pages) {
      const [name, path] = spec.split('=');
      const response = await page.goto(`${base}${path}`);
      if (!response || response.status() !== 200) throw new Error(`${path}: ${response && response.status()}`);
      await page.evaluate(() => document.querySelectorAll('details').forEach((d) => { d.open = true; }));
      await page.screenshot({ path: `${out}/${name}-${width}.png`, fullPage: true });
    }
    await context.close();
  }
} finally {
  await browser.close();
}
