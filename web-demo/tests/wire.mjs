// Judges a JSONL file with the browser build of the core, in a real Chromium, and writes the exact JSON the
// page receives, for the cross-runtime test in tests/tests/all/web_demo.rs to compare byte for byte with
// `tamis run`, `tamis run --engine native` and the edge.
//
//   node web-demo/tests/wire.mjs PARAMS.json
//
// PARAMS: {dist, chromium, config_toml, jsonl (the file's text), out (where to write the page's JSON)}

import { readFile, writeFile } from 'node:fs/promises';
import { openChromium } from './chromium.mjs';

const params = JSON.parse(await readFile(process.argv[2], 'utf8'));
const { browser, server, url } = await openChromium(params.dist, params.chromium);
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });
  // The page's own module, loaded again in the page: the same wasm the page judges with.
  const raw = await page.evaluate(
    async ({ config, jsonl }) => {
      const module = await import(new URL('pkg/tamis_web.js', location.href).href);
      await module.default();
      const demo = new module.Demo();
      demo.configure(config, 'toml');
      return demo.judgeJsonl(jsonl, 'wire.jsonl', 1);
    },
    { config: params.config_toml, jsonl: params.jsonl },
  );
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  await writeFile(params.out, raw);
} finally {
  await browser.close();
  server.close();
}
