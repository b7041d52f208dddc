// Opens a `tamis report` page from disk (file://) in a real Chromium (playwright-core with the system
// browser), as a user double-clicking report.html would, and writes down what it loaded and showed, for
// host/tests/all/report.rs to check: no request beyond the file, no failed request, no console error,
// and every chart (its title, its one SVG, its drawn size and bars).
//
//   node web-demo/tests/report.mjs PARAMS.json
//
// PARAMS: {chromium, page, artifacts}. Writes ARTIFACTS/result.json, ARTIFACTS/report-top.png (the first
// screen) and ARTIFACTS/report-full.png (the whole page).

import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const params = JSON.parse(await readFile(process.argv[2], 'utf8'));
await mkdir(params.artifacts, { recursive: true });
const url = pathToFileURL(params.page).href;
const result = { console_errors: [], failed_requests: [], outside_requests: [] };
const browser = await chromium.launch({
  executablePath: params.chromium,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1500 } });
  const page = await context.newPage();
  page.on('console', (m) => m.type() === 'error' && result.console_errors.push(m.text()));
  page.on('pageerror', (e) => result.console_errors.push(String(e)));
  page.on('requestfailed', (r) => result.failed_requests.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on('request', (r) => r.url() !== url && result.outside_requests.push(r.url()));
  const response = await page.goto(url, { waitUntil: 'load' });
  result.browser = browser.version();
  result.status = response ? response.status() : null;
  result.title = await page.title();
  result.figures = await page.evaluate(() =>
    [...document.querySelectorAll('figure[data-chart]')].map((f) => {
      const svg = f.querySelector('svg');
      const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
      const colours = new Set(['#377EB8', '#FF7F00', '#8C8C8C']);
      return {
        id: f.dataset.chart,
        title: f.querySelector('figcaption')?.textContent ?? '',
        label: f.getAttribute('aria-label'),
        svgs: f.querySelectorAll('svg').length,
        width: box.width,
        height: box.height,
        bars: svg ? [...svg.querySelectorAll('rect')].filter((r) => colours.has((r.getAttribute('fill') || '').toUpperCase())).length : 0,
      };
    }),
  );
  await page.screenshot({ path: join(params.artifacts, 'report-top.png') });
  await page.screenshot({ path: join(params.artifacts, 'report-full.png'), fullPage: true });
  await writeFile(join(params.artifacts, 'result.json'), JSON.stringify(result, null, 2));
} finally {
  await browser.close();
}
