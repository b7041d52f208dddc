// Drives the built demo in a real Firefox and writes down what the page showed, for
// tests/tests/all/web_demo.rs to compare with `tamis run`. browser.mjs covers the whole page in Chromium; this
// one checks that the core and the page's rendering of its result behave the same in Gecko.
//
//   node web-demo/tests/firefox.mjs PARAMS.json
//
// PARAMS: {dist, firefox, artifacts, document: {id, text}, steps_off: [step], changes: [{path, value}]}
// Writes ARTIFACTS/result.json and screenshots; exits non-zero with a message on any failure.
//
// playwright-core can only drive its own patched Firefox, which is a download; puppeteer-core drives the
// stock (Debian) Firefox over WebDriver BiDi, so nothing beyond the package registries is needed.

import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { serve } from '../tools/serve.mjs';

const params = JSON.parse(await readFile(process.argv[2], 'utf8'));
await mkdir(params.artifacts, { recursive: true });
const result = { console_errors: [] };
const server = await serve(params.dist);
const url = `http://127.0.0.1:${server.address().port}/`;
// A fresh profile each run: a reused one carries state (caches, a crashed session) between runs.
const profile = await mkdtemp(join(tmpdir(), 'tamis-firefox-'));
const started = performance.now();
const browser = await puppeteer.launch({
  browser: 'firefox',
  executablePath: params.firefox,
  headless: true,
  userDataDir: profile,
  defaultViewport: { width: 1366, height: 860 },
  protocolTimeout: 60000,
  // Firefox phones home at startup (updates, telemetry, remote settings, captive-portal and connectivity
  // probes). With no network these can stall startup or the first page load, so all of them are off.
  extraPrefsFirefox: {
    'app.update.enabled': false,
    'app.update.auto': false,
    'app.update.checkInstallTime': false,
    'app.normandy.enabled': false,
    'browser.aboutHomeSnippets.updateUrl': '',
    'browser.discovery.enabled': false,
    'browser.newtabpage.enabled': false,
    'browser.ping-centre.telemetry': false,
    'browser.safebrowsing.downloads.remote.enabled': false,
    'browser.safebrowsing.malware.enabled': false,
    'browser.safebrowsing.phishing.enabled': false,
    'browser.safebrowsing.provider.mozilla.updateURL': '',
    'browser.search.update': false,
    'browser.shell.checkDefaultBrowser': false,
    'browser.startup.homepage_override.mstone': 'ignore',
    'datareporting.healthreport.uploadEnabled': false,
    'datareporting.policy.dataSubmissionEnabled': false,
    'extensions.getAddons.cache.enabled': false,
    'extensions.update.enabled': false,
    'extensions.blocklist.enabled': false,
    'network.captive-portal-service.enabled': false,
    'network.connectivity-service.enabled': false,
    'network.dns.disablePrefetch': true,
    'network.prefetch-next': false,
    'services.settings.server': 'http://127.0.0.1:1/',
    'toolkit.telemetry.enabled': false,
    'toolkit.telemetry.unified': false,
    'toolkit.telemetry.server': '',
  },
});

/** What the page shows for the current document: the raw result, the verdict line, marks and checks. */
const shown = () =>
  page.evaluate(() => {
    const pre = document.querySelector('#clean-text');
    const marks = [];
    let at = 0;
    for (const node of pre.childNodes) {
      const len = node.textContent.length;
      if (node.nodeName === 'MARK') marks.push({ kind: node.dataset.kind, text: node.textContent, start: at, end: at + len });
      at += len;
    }
    return {
      raw: document.querySelector('#raw-json').textContent,
      verdict: document.querySelector('#verdict').textContent,
      reason: document.querySelector('#reason').textContent,
      text: pre.textContent,
      marks,
      legend: [...document.querySelectorAll('#pii-legend li')].map((li) => li.textContent),
      checks: [...document.querySelectorAll('#checks tbody tr')].map((tr) => {
        const cells = [...tr.cells].map((td) => td.textContent);
        return { step: cells[0], rule: cells[1], passed: tr.classList.contains('pass'), shown: cells };
      }),
      failed_checks: document.querySelectorAll('#checks tr.fail').length,
    };
  });

/** Sets a field's value and fires `input`, as a paste or playwright's `fill` does. */
const fill = (selector, value) =>
  page.$eval(
    selector,
    (e, value) => {
      e.focus();
      e.value = value;
      e.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertFromPaste', data: value }));
    },
    value,
  );

const inputId = (path) => '#opt-' + path.replace(/[^a-z0-9]+/gi, '-');

let page;
try {
  page = await browser.newPage();
  page.on('console', (m) => m.type() === 'error' && result.console_errors.push(m.text()));
  page.on('pageerror', (e) => result.console_errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });
  result.browser = await browser.version();
  result.startup_ms = Math.round(performance.now() - started);

  // Paste the document: the page judges it with its defaults.
  await fill('#doc-input', params.document.text);
  await page.waitForFunction(() => document.querySelector('#raw-json').textContent.length > 0, { timeout: 30000 });
  result.before = await shown();
  await page.screenshot({ path: join(params.artifacts, 'firefox-1-pasted.png'), fullPage: true });

  // The steps switched off and the thresholds changed, from the keyboard as in browser.mjs; the page
  // re-judges on its own.
  for (const step of params.steps_off) {
    await page.focus('#step-' + step);
    await page.keyboard.press(' '); // Space: puppeteer's BiDi keyboard names it by its character
  }
  for (const change of params.changes) {
    const sel = inputId(change.path);
    const open = await page.$eval(sel, (e) => e.closest('details').open);
    if (!open) {
      await page.$eval(sel, (e) => e.closest('details').querySelector('summary').focus());
      await page.keyboard.press('Enter');
      await page.waitForFunction((s) => document.querySelector(s).closest('details').open, {}, sel);
    }
    await fill(sel, String(change.value));
  }
  await page.waitForFunction(
    (before) => document.querySelector('#raw-json').textContent !== before && document.querySelector('#config-error').hidden,
    { timeout: 30000 },
    result.before.raw,
  );
  await new Promise((ok) => setTimeout(ok, 400)); // the debounce: make sure the last change has been applied
  result.after = await shown();
  result.config_error = await page.$eval('#config-error', (e) => (e.hidden ? '' : e.textContent));
  await page.$eval('#result', (e) => e.scrollIntoView());
  await page.screenshot({ path: join(params.artifacts, 'firefox-2-threshold-changed.png'), fullPage: true });
  result.total_ms = Math.round(performance.now() - started);
} finally {
  await browser.close();
  server.close();
  await rm(profile, { recursive: true, force: true });
}
await writeFile(join(params.artifacts, 'firefox-result.json'), JSON.stringify(result, null, 2));
console.log(
  JSON.stringify({ browser: result.browser, before: result.before.reason, after: result.after.reason, total_ms: result.total_ms }),
);
