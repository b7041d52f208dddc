// Judges a dropped file off the page's thread, so the page stays responsive however large the file.
//
// The page sends {run, config (JSON), files ({config key: bytes}), filesVersion, name, text, chunk}; the
// worker judges the text piece by piece (whole lines, about `chunk` bytes each) with the same wasm core
// the page uses, and answers each piece with {run, raw, ms} (raw: the core's JSON for the piece), then
// {run, done: true}, or {run, error}. A newer run is started by the page on a fresh worker, so there is
// no cancelling here.

import init, { Demo } from './pkg/tamis_web.js';

const ready = init();
let demo = null;
let heldConfig = null;
let heldFilesVersion = null;

function countLines(s) {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

self.onmessage = async ({ data }) => {
  const { run, config, files, filesVersion, name, text, chunk } = data;
  try {
    await ready;
    if (!demo || heldConfig !== config || heldFilesVersion !== filesVersion) {
      demo?.free();
      demo = new Demo();
      // The files first: a config that names a file is refused without it.
      for (const [key, bytes] of Object.entries(files ?? {})) demo.setFile(key, bytes);
      demo.configure(config, 'json');
      heldConfig = config;
      heldFilesVersion = filesVersion;
    }
    let line = 1;
    let at = 0;
    while (at < text.length) {
      let end = Math.min(text.length, at + chunk);
      if (end < text.length) {
        const nl = text.indexOf('\n', end);
        end = nl === -1 ? text.length : nl + 1;
      }
      const piece = text.slice(at, end);
      const t0 = performance.now();
      const raw = demo.judgeJsonl(piece, name, line);
      self.postMessage({ run, raw, ms: performance.now() - t0 });
      line += countLines(piece);
      at = end;
    }
    self.postMessage({ run, done: true });
  } catch (e) {
    self.postMessage({ run, error: String(e?.message ?? e) });
  }
};
