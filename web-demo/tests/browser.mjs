// Drives the built demo in a real Chromium (playwright-core with the system browser) the way a user does,
// and writes down what the page showed, for tests/tests/all/web_demo.rs to compare with `tamis run`.
//
//   node web-demo/tests/browser.mjs PARAMS.json
//
// PARAMS: {dist, chromium, artifacts, document: {id, text}, bad_change: {path, value},
//          steps_off: [step], changes: [{path, value}], file, bench: {jsonl, configs: [{name, config}]},
//          models: {language, quality (model files), documents: [{id, text}], file (the documents as JSONL)}}
// Writes ARTIFACTS/result.json and screenshots; exits non-zero with a message on any failure.

import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openChromium } from './chromium.mjs';

const params = JSON.parse(await readFile(process.argv[2], 'utf8'));
await mkdir(params.artifacts, { recursive: true });
const result = { console_errors: [] };
const { browser, server, url } = await openChromium(params.dist, params.chromium);

const inputId = (path) => '#opt-' + path.replace(/[^a-z0-9]+/gi, '-');

try {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1366, height: 860 } });
  const page = await context.newPage();
  page.on('console', (m) => m.type() === 'error' && result.console_errors.push(m.text()));
  page.on('pageerror', (e) => result.console_errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });
  result.browser = browser.version();

  // Every control can be reached and named by assistive technology.
  result.unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea, button')]
      .filter((e) => e.type !== 'hidden')
      .filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || (e.tagName === 'BUTTON' && e.textContent.trim())))
      .map((e) => e.id || e.outerHTML.slice(0, 80)),
  );
  const tabbed = [];
  await page.locator('body').focus();
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    tabbed.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName));
  }
  result.tab_order = tabbed;

  // Paste the document.
  const raw = () => page.locator('#raw-json').textContent();
  await page.fill('#doc-input', params.document.text);
  await page.waitForFunction(() => document.querySelector('#raw-json').textContent.length > 0);
  result.before = { raw: await raw(), reason: await page.textContent('#reason') };
  await page.screenshot({ path: join(params.artifacts, '1-pasted.png'), fullPage: true });

  // A value of the wrong type is refused by the core, naming the key, and the previous result stays.
  const openOptions = async (path) => {
    const input = page.locator(inputId(path));
    const details = input.locator('xpath=ancestor::details[1]');
    if (!(await details.evaluate((d) => d.open))) {
      await details.locator('summary').focus();
      await page.keyboard.press('Enter');
    }
    return input;
  };
  const bad = await openOptions(params.bad_change.path);
  await bad.fill(params.bad_change.value);
  await page.waitForSelector('#config-error:not([hidden])');
  result.bad_change = {
    error: await page.textContent('#config-error'),
    invalid: await bad.getAttribute('aria-invalid'),
    raw_unchanged: (await raw()) === result.before.raw,
  };

  // The steps switched off and the thresholds changed; the page re-judges on its own.
  for (const step of params.steps_off) {
    await page.locator('#step-' + step).focus();
    await page.keyboard.press('Space');
  }
  for (const change of params.changes) {
    const input = await openOptions(change.path);
    await input.fill(String(change.value));
  }
  await page.waitForFunction(
    (before) => document.querySelector('#raw-json').textContent !== before && document.querySelector('#config-error').hidden,
    result.before.raw,
  );
  await page.waitForTimeout(400); // the debounce: make sure the last change has been applied
  result.after = await page.evaluate(() => {
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
      failed_checks: document.querySelectorAll('#checks tr.fail').length,
    };
  });
  await page.locator('#result').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(params.artifacts, '2-threshold-changed.png'), fullPage: true });
  await page.evaluate(() => window.scrollTo(0, document.querySelector('#result').offsetTop - 8));
  await page.screenshot({ path: join(params.artifacts, 'readme.png') });

  // Export the config, then import it back: the page must judge the same way.
  for (const format of ['toml', 'yaml']) {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(`#export-${format}`)]);
    const path = join(params.artifacts, `exported.${format}`);
    await download.saveAs(path);
    result[`exported_${format}`] = path;
  }
  await page.click('#reset-config');
  await page.waitForFunction((after) => document.querySelector('#raw-json').textContent !== after, result.after.raw);
  await page.setInputFiles('#import-config', result.exported_yaml);
  await page.waitForFunction((after) => document.querySelector('#raw-json').textContent === after, result.after.raw, {
    timeout: 10000,
  });
  result.import_round_trip = true;

  // A whole file, gzipped, through DecompressionStream.
  await page.click('#tab-file');
  await page.setInputFiles('#file-input', params.file);
  await page.waitForSelector('#file-results:not([hidden])', { timeout: 60000 });
  await page.waitForFunction(() => document.querySelector('#file-summary').textContent.length > 0);
  result.file = await page.evaluate(() => ({
    summary: document.querySelector('#file-summary').textContent,
    totals: Object.fromEntries(
      ['documents', 'kept', 'dropped', 'errors'].map((k) => [k, Number(document.querySelector('.total-' + k).textContent)]),
    ),
    chart: document.querySelector('#reason-chart svg')?.getAttribute('aria-label') ?? '',
    rows: document.querySelectorAll('#doc-table tbody tr').length,
  }));
  await page.selectOption('#doc-filter', 'drop');
  result.file.dropped_rows = await page.locator('#doc-table tbody tr').count();
  const firstRow = page.locator('#doc-table tbody tr').first();
  const firstId = await firstRow.locator('td').nth(1).textContent();
  await firstRow.focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction((id) => document.querySelector('#result-id').textContent === id, firstId);
  result.file.opened = { id: firstId, verdict: await page.textContent('#verdict') };
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(params.artifacts, '3-file.png'), fullPage: true });

  // Model files: a fastText language-ID model and a quality classifier, picked in their steps' options,
  // then documents pasted (judged by the page's core) and a file dropped (judged by the worker's core).
  if (params.models) {
    const pick = async (step, path) => {
      const input = page.locator(`li[data-step="${step}"] input[type="file"]`);
      const details = input.locator('xpath=ancestor::details[1]');
      if (!(await details.evaluate((d) => d.open))) await details.locator('summary').click();
      await input.setInputFiles(path);
    };
    await pick('language', params.models.language);
    await pick('quality_classifier', params.models.quality);
    if (!(await page.isChecked('#step-quality_classifier'))) await page.click('#step-quality_classifier');
    await page.waitForTimeout(400); // the debounce
    await page.waitForFunction(() => document.querySelector('#config-error').hidden);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-toml')]);
    const config = join(params.artifacts, 'models.toml');
    await download.saveAs(config);
    result.models = { config, pasted: [] };
    await page.click('#tab-paste');
    for (const doc of params.models.documents) {
      const before = await raw();
      await page.fill('#doc-input', doc.text);
      await page.waitForFunction((b) => document.querySelector('#raw-json').textContent !== b, before);
      const shown = await page.evaluate(() => {
        const facts = [...document.querySelectorAll('#facts dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent]);
        const scores = [...document.querySelectorAll('#scores tr')].map((tr) => [...tr.cells].map((c) => c.textContent));
        return { facts: Object.fromEntries(facts), scores };
      });
      result.models.pasted.push({ text: doc.text, raw: await raw(), ...shown });
    }
    await page.screenshot({ path: join(params.artifacts, '4-models.png'), fullPage: true });
    await page.click('#tab-file');
    await page.setInputFiles('#file-input', params.models.file);
    await page.waitForFunction(() => /^models/.test(document.querySelector('#file-summary').textContent), null, {
      timeout: 60000,
    });
    await page.selectOption('#doc-filter', 'all'); // the filter was left on `drop` above
    result.models.rows = await page.evaluate(() =>
      [...document.querySelectorAll('#doc-table tbody tr')].map((tr) => {
        const td = [...tr.cells].map((c) => c.textContent);
        return { id: td[1], verdict: td[2], reason: td[3], language: td[4] };
      }),
    );
  }

  // Speed: about 1 MB of real text through the wasm core, per config, median of 5 after a warm-up.
  const jsonl = await readFile(params.bench.jsonl, 'utf8');
  result.bench = await page.evaluate(
    async ({ jsonl, configs }) => {
      const m = await import('./pkg/tamis_web.js');
      const demo = new m.Demo();
      const out = [];
      for (const { name, config } of configs) {
        demo.configure(config, 'json');
        demo.judgeJsonl(jsonl, 'bench', 1);
        const times = [];
        let steps = null;
        for (let i = 0; i < 5; i++) {
          const t0 = performance.now();
          const judged = demo.judgeJsonl(jsonl, 'bench', 1);
          times.push(performance.now() - t0);
          if (!judged.startsWith('{"records"')) throw new Error(judged.slice(0, 200));
          if (i === 0) {
            const piece = JSON.parse(judged);
            steps = Object.fromEntries(piece.steps.map((s, k) => [s, Math.round(piece.step_nanos[k] / 1e6)]));
          }
        }
        times.sort((a, b) => a - b);
        const bytes = new TextEncoder().encode(jsonl).length;
        out.push({ name, median_ms: times[2], min_ms: times[0], max_ms: times[4], bytes, step_ms: steps });
      }
      return out;
    },
    { jsonl, configs: params.bench.configs },
  );
  result.wasm_bytes = (await (await fetch(url + 'pkg/tamis_web_bg.wasm')).arrayBuffer()).byteLength;
} finally {
  await browser.close();
  server.close();
}
await writeFile(join(params.artifacts, 'result.json'), JSON.stringify(result, null, 2));
console.log(JSON.stringify({ bench: result.bench, file: result.file?.summary }, null, 2));
