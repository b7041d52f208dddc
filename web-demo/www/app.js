// The tamis browser demo. The page only translates DOM events into calls on the core (pkg/tamis_web.js)
// and draws what comes back; every judgment, every config check and every config file is the core's.

import init, { Demo, stepSections } from './pkg/tamis_web.js';

const $ = (id) => document.getElementById(id);

// Values the core accepts for a few string options, offered as suggestions (the core still validates).
const SUGGESTIONS = {
  mode: ['tag', 'hash', 'mask', 'detect'],
  form: ['nfc', 'nfkc'],
  favor: ['precision', 'balanced', 'recall'],
};
const FILE_CHUNK_BYTES = 256 * 1024;

const state = {
  demo: null,
  steps: [], // [{step, section}] from the core, in its order
  order: [], // step names in the order shown
  config: null, // the config as a JS object (from the core's JSON)
  file: null, // {name, text}
  results: null, // judged records of the file: [{judged, raw}]
  fileTiming: null,
  stepNanos: null, // time per step over the file
  current: null, // the document on show: {judged, raw}
  files: {}, // bytes of the files the user picked, by the config key naming them, for the file worker
  filesVersion: 0, // bumped whenever `files` changes, so the worker knows when to hand them over again
};

// The steps that read a file, the key that names it and what the file is.
const FILE_OPTIONS = {
  tokens: { key: 'tokens.tokenizer', label: 'tokenizer.json file', accept: '.json' },
  language: { key: 'language.model', label: 'fastText language model (.bin, .ftz)', accept: '.bin,.ftz' },
  quality_classifier: { key: 'quality_classifier.model', label: 'fastText classifier (.bin, .ftz)', accept: '.bin,.ftz' },
};

// ---------- numbers and reasons, as the core writes them ----------

/** At most four decimals, no trailing zeros (core/src/outcome.rs `format_number`). */
function formatNumber(x) {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const s = x.toFixed(4).replace(/0+$/, '').replace(/\.$/, '');
  return s === '-0' ? '0' : s;
}
const PASSING = { at_least: '>=', at_most: '<=', above: '>', below: '<' };

// ---------- the config panel, generated from the core's default config ----------

function getPath(obj, path) {
  return path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
}
function setPath(obj, path, value) {
  const keys = path.split('.');
  const last = keys.pop();
  const parent = keys.reduce((o, k) => o[k], obj);
  parent[last] = value;
}
const inputId = (path) => 'opt-' + path.replace(/[^a-z0-9]+/gi, '-');

function buildStepList() {
  const list = $('steps');
  list.replaceChildren();
  for (const name of state.order) {
    const info = state.steps.find((s) => s.step === name);
    const li = document.createElement('li');
    li.className = 'step';
    li.dataset.step = name;
    const head = document.createElement('div');
    head.className = 'step-head';
    const toggle = document.createElement('input');
    toggle.type = 'checkbox';
    toggle.id = 'step-' + name;
    toggle.checked = state.config.steps.includes(name);
    toggle.addEventListener('change', () => {
      applyStepToggles();
      li.classList.toggle('off', !toggle.checked);
    });
    const label = document.createElement('label');
    label.htmlFor = toggle.id;
    label.textContent = name;
    const up = moveButton(name, -1, '↑', `Move ${name} up`);
    const down = moveButton(name, 1, '↓', `Move ${name} down`);
    head.append(toggle, label, up, down);
    li.append(head);
    li.classList.toggle('off', !toggle.checked);
    const section = getPath(state.config, info.section);
    if (section && typeof section === 'object') {
      const details = document.createElement('details');
      const summary = document.createElement('summary');
      summary.textContent = `options (${info.section})`;
      details.append(summary);
      renderOptions(section, info.section, details);
      if (FILE_OPTIONS[name]) details.append(fileInput(FILE_OPTIONS[name]));
      li.append(details);
    }
    list.append(li);
  }
}

function moveButton(name, delta, text, label) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'move';
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', () => {
    const i = state.order.indexOf(name);
    const j = i + delta;
    if (j < 0 || j >= state.order.length) return;
    [state.order[i], state.order[j]] = [state.order[j], state.order[i]];
    applyStepToggles();
    buildStepList();
    $('step-' + name).parentElement.querySelector(delta < 0 ? '.move' : '.move:last-of-type').focus();
  });
  return b;
}

function applyStepToggles() {
  state.config.steps = state.order.filter((s) => $('step-' + s)?.checked ?? state.config.steps.includes(s));
  configChanged();
}

/** One input per option: checkboxes for booleans, number fields, text for strings, JSON for lists. */
function renderOptions(obj, path, container) {
  const grid = document.createElement('div');
  grid.className = 'options';
  container.append(grid);
  for (const [key, value] of Object.entries(obj)) {
    const p = `${path}.${key}`;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const fs = document.createElement('fieldset');
      const legend = document.createElement('legend');
      legend.textContent = key;
      fs.append(legend);
      renderOptions(value, p, fs);
      container.append(fs);
      continue;
    }
    const row = document.createElement('div');
    row.className = 'option';
    const label = document.createElement('label');
    label.htmlFor = inputId(p);
    label.textContent = key;
    const input = document.createElement('input');
    input.id = inputId(p);
    input.dataset.path = p;
    if (typeof value === 'boolean') {
      input.type = 'checkbox';
      input.checked = value;
      row.classList.add('bool');
      input.addEventListener('change', () => setOption(p, input.checked));
      row.append(input, label);
    } else {
      if (typeof value === 'number') {
        input.type = 'number';
        input.step = 'any';
        input.value = String(value);
      } else if (Array.isArray(value)) {
        input.type = 'text';
        input.value = JSON.stringify(value);
        input.dataset.kind = 'json';
      } else {
        input.type = 'text';
        input.value = value ?? '';
        input.dataset.kind = value === null ? 'nullable' : 'string';
        if (SUGGESTIONS[key]) {
          const list = document.createElement('datalist');
          list.id = input.id + '-values';
          for (const v of SUGGESTIONS[key]) list.append(new Option(v));
          input.setAttribute('list', list.id);
          row.append(list);
        }
      }
      input.addEventListener('input', () => {
        const parsed = readInput(input);
        if (parsed.ok) setOption(p, parsed.value);
        else showConfigError({ path: p, message: parsed.message });
      });
      row.append(label, input);
    }
    grid.append(row);
  }
}

function readInput(input) {
  const raw = input.value.trim();
  if (input.type === 'number') {
    if (raw === '') return { ok: false, message: 'expected a number' };
    return { ok: true, value: Number(raw) };
  }
  if (input.dataset.kind === 'json') {
    try {
      return { ok: true, value: JSON.parse(raw) };
    } catch {
      return { ok: false, message: 'expected a JSON list, e.g. ["eng", "fra"]' };
    }
  }
  if (input.dataset.kind === 'nullable') {
    // No default to tell the type by: a number, a JSON list, or else a string; the core checks it.
    if (raw === '') return { ok: true, value: null };
    if (/^-?\d+(\.\d+)?$/.test(raw)) return { ok: true, value: Number(raw) };
    if (raw.startsWith('[')) {
      try {
        return { ok: true, value: JSON.parse(raw) };
      } catch {
        return { ok: false, message: 'expected a JSON list, e.g. ["the", "and"]' };
      }
    }
    return { ok: true, value: raw };
  }
  return { ok: true, value: input.value };
}

function setOption(path, value) {
  setPath(state.config, path, value);
  configChanged();
}

/** A file picker for an option that names a file: the bytes go to the core, the file's name into the
 * config (exported configs name the file, which `tamis run` finds beside the config). */
function fileInput({ key, label: text, accept }) {
  const row = document.createElement('div');
  row.className = 'option';
  const id = 'file-' + key.replace(/[^a-z0-9]+/gi, '-');
  const label = document.createElement('label');
  label.htmlFor = id;
  label.textContent = text;
  const input = document.createElement('input');
  input.type = 'file';
  input.id = id;
  input.accept = accept;
  input.addEventListener('change', async () => {
    const file = input.files[0];
    try {
      const bytes = file ? new Uint8Array(await file.arrayBuffer()) : undefined;
      state.demo.setFile(key, bytes);
      if (bytes) state.files[key] = bytes; // for the file worker, which holds a core of its own
      else delete state.files[key];
      state.filesVersion++;
      const path = $(inputId(key));
      if (path) path.value = file ? file.name : '';
      setOption(key, file ? file.name : null);
    } catch (e) {
      showConfigError(parseError(e));
    }
  });
  row.append(label, input);
  return row;
}

// ---------- applying the config ----------

let debounce = null;
function configChanged() {
  clearTimeout(debounce);
  debounce = setTimeout(applyConfig, 120);
}

function parseError(e) {
  try {
    return JSON.parse(String(e));
  } catch {
    return { path: '.', message: String(e) };
  }
}

function showConfigError(err) {
  for (const el of document.querySelectorAll('[aria-invalid="true"]')) el.removeAttribute('aria-invalid');
  const box = $('config-error');
  if (!err) {
    box.hidden = true;
    box.textContent = '';
    return;
  }
  box.hidden = false;
  box.textContent = `${err.path}: ${err.message}`;
  const input = document.querySelector(`[data-path="${CSS.escape(err.path)}"]`);
  if (input) input.setAttribute('aria-invalid', 'true');
}

/** Hands the config to the core; on success re-judges whatever is on show. */
function applyConfig() {
  try {
    state.demo.configure(JSON.stringify(state.config), 'json');
  } catch (e) {
    showConfigError(parseError(e));
    return false;
  }
  showConfigError(null);
  rejudge();
  return true;
}

/** Takes a config the core has accepted (import, reset) as the page's state, rebuilding the panel. */
function adoptConfig() {
  state.config = JSON.parse(state.demo.pageConfig());
  const chosen = state.config.steps;
  state.order = [...chosen, ...state.steps.map((s) => s.step).filter((s) => !chosen.includes(s))];
  $('evaluate-all').checked = state.config.evaluate_all;
  buildStepList();
  showConfigError(null);
  rejudge();
}

function rejudge() {
  if (!$('panel-file').hidden && state.file) judgeFile();
  else judgePasted();
}

// ---------- export and import ----------

function exportConfig(format, download) {
  let text;
  try {
    text = state.demo.renderConfig(format);
  } catch (e) {
    showConfigError(parseError(e));
    return;
  }
  if (download) {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    a.download = `tamis.${format}`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    setStatus(`Config downloaded as tamis.${format}.`);
  } else {
    navigator.clipboard.writeText(text).then(
      () => setStatus(`Config copied as ${format.toUpperCase()}.`),
      () => setStatus('The browser refused clipboard access; use Download instead.'),
    );
  }
}

async function importConfig(file) {
  const name = file.name.toLowerCase();
  const format = name.endsWith('.json') ? 'json' : name.endsWith('.yaml') || name.endsWith('.yml') ? 'yaml' : 'toml';
  try {
    state.demo.configure(await file.text(), format);
  } catch (e) {
    const err = parseError(e);
    showConfigError({ path: err.path, message: `${file.name}: ${err.message}` });
    return;
  }
  adoptConfig();
  setStatus(`Config imported from ${file.name}.`);
}

// ---------- one document ----------

function judgePasted() {
  const input = $('doc-input').value;
  if (!input.trim()) {
    $('result').hidden = true;
    return;
  }
  let kind = document.querySelector('input[name="doc-kind"]:checked').value;
  if (kind === 'auto') kind = /^\s*</.test(input) ? 'html' : 'text';
  const raw = state.demo.judgeText('pasted', input, kind === 'html');
  showDocument({ judged: JSON.parse(raw), raw });
}

function showDocument(doc) {
  state.current = doc;
  const { judged, raw } = doc;
  // The core's wire annotation (tamis_core::wire::Annotation): the same bytes `tamis run` writes under
  // `tamis`. Empty findings are left out of it, so lists default to empty here.
  const o = judged.tamis;
  $('result').hidden = false;
  $('result-id').textContent = judged.id ?? '';
  $('raw-json').textContent = raw;
  const verdict = $('verdict');
  const err = $('doc-error');
  if (!o) {
    verdict.textContent = 'error';
    verdict.className = 'verdict error';
    $('reason').textContent = '';
    err.hidden = false;
    err.textContent = judged.error;
    for (const id of ['facts', 'pii-legend', 'clean-text']) $(id).replaceChildren();
    $('checks').tBodies[0].replaceChildren();
    $('scores').tBodies[0].replaceChildren();
    return;
  }
  err.hidden = true;
  verdict.textContent = o.verdict === 'keep' ? 'kept' : 'dropped';
  verdict.className = 'verdict ' + o.verdict;
  $('reason').textContent = o.reason ?? '';

  const facts = [
    ['language', o.language ? `${o.language.code} (confidence ${formatNumber(o.language.confidence)})` : '—'],
    ['tokens', o.tokens ?? '— (no tokens step)'],
    ['title', o.title ?? '—'],
    // What the page declares about itself (the html step), only when it declares something.
    ...[['author', 'author'], ['published', 'date'], ['site', 'site_name'], ['declared language', 'language']]
      .filter(([, key]) => o.page?.[key])
      .map(([label, key]) => [label, o.page[key]]),
    ['personal data', `${(o.pii ?? []).length} span${(o.pii ?? []).length === 1 ? '' : 's'}`],
    ['exact hash', o.hashes ? o.hashes.exact : '—'],
  ];
  $('facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', k), el('dd', String(v))]));

  drawText(judged.text, o.pii ?? [], judged.pii_utf16 ?? []);

  const rows = o.checks.map((c) => {
    const tr = document.createElement('tr');
    tr.className = c.passed ? 'pass' : 'fail';
    tr.append(
      el('td', c.step),
      el('td', c.rule),
      el('td', formatNumber(c.value), 'num'),
      el('td', PASSING[c.bound] ?? c.bound),
      el('td', formatNumber(c.threshold), 'num'),
      el('td', c.passed ? '✓ pass' : '✗ fail'),
    );
    return tr;
  });
  $('checks').tBodies[0].replaceChildren(...rows);
  $('scores').tBodies[0].replaceChildren(
    ...(o.scores ?? []).map((s) => {
      const tr = document.createElement('tr');
      tr.append(el('th', s.name), el('td', formatNumber(s.value), 'num'));
      return tr;
    }),
  );
}

/** The cleaned text with each personal-data span in a <mark> of its kind (UTF-16 ranges from the core). */
function drawText(text, spans, ranges) {
  const pre = $('clean-text');
  const parts = [];
  let at = 0;
  const order = ranges.map((r, i) => i).sort((a, b) => ranges[a][0] - ranges[b][0]);
  const counts = new Map();
  for (const i of order) {
    const [start, end] = ranges[i];
    if (start < at) continue;
    parts.push(document.createTextNode(text.slice(at, start)));
    const mark = document.createElement('mark');
    mark.className = 'pii pii-' + spans[i].kind;
    mark.dataset.kind = spans[i].kind;
    mark.title = spans[i].kind;
    mark.textContent = text.slice(start, end);
    parts.push(mark);
    at = end;
    counts.set(spans[i].kind, (counts.get(spans[i].kind) ?? 0) + 1);
  }
  parts.push(document.createTextNode(text.slice(at)));
  pre.replaceChildren(...parts);
  $('pii-legend').replaceChildren(
    ...[...counts].map(([kind, n]) => {
      const li = document.createElement('li');
      const swatch = el('mark', kind, 'pii pii-' + kind);
      li.append(swatch, document.createTextNode(` × ${n}`));
      return li;
    }),
  );
  if (!counts.size) $('pii-legend').append(el('li', 'no personal data found'));
}

function el(tag, text, className) {
  const e = document.createElement(tag);
  e.textContent = text;
  if (className) e.className = className;
  return e;
}

// ---------- a file ----------

async function readFile(file) {
  setStatus(`Reading ${file.name}…`);
  let text;
  if (file.name.endsWith('.gz')) {
    const stream = file.stream().pipeThrough(new DecompressionStream('gzip'));
    text = await new Response(stream).text();
  } else {
    text = await file.text();
  }
  state.file = { name: file.name, text };
  await judgeFile();
}

let fileRun = 0;
let fileWorker = null;
let workerBusy = false;

/** Judges the file in a Web Worker (web-demo/www/worker.js), piece by piece, off the page's thread. A newer
 *  config or file replaces a worker that is still busy with an older one. */
async function judgeFile() {
  const run = ++fileRun;
  const { name, text } = state.file;
  if (workerBusy && fileWorker) {
    fileWorker.terminate();
    fileWorker = null;
  }
  fileWorker ??= new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  const worker = fileWorker;
  workerBusy = true;
  const results = [];
  let spent = 0;
  const stepNanos = new Map();
  try {
    await new Promise((resolve, reject) => {
      worker.onmessage = ({ data }) => {
        if (data.run !== run) return;
        if (data.error) return reject(new Error(data.error));
        if (data.done) return resolve();
        spent += data.ms;
        const judgedPiece = JSON.parse(data.raw);
        for (const judged of judgedPiece.records) results.push({ judged, raw: JSON.stringify(judged) });
        judgedPiece.steps.forEach((step, i) => stepNanos.set(step, (stepNanos.get(step) ?? 0) + judgedPiece.step_nanos[i]));
        setStatus(`Judging ${name}: ${results.length} documents…`);
      };
      worker.onerror = (e) => reject(new Error(e.message ?? 'the worker failed'));
      worker.postMessage({
        run,
        config: JSON.stringify(state.config),
        files: state.files,
        filesVersion: state.filesVersion,
        name,
        text,
        chunk: FILE_CHUNK_BYTES,
      });
    });
  } catch (e) {
    if (run === fileRun) setStatus(`Judging ${name} failed: ${e.message}`);
    return;
  } finally {
    if (run === fileRun) workerBusy = false;
  }
  if (run !== fileRun) return; // a newer config or file took over
  state.results = results;
  state.fileTiming = spent;
  state.stepNanos = stepNanos;
  showFile();
}

function showFile() {
  const results = state.results;
  const counts = { keep: 0, drop: 0, error: 0 };
  const reasons = new Map();
  let bytes = 0;
  for (const { judged } of results) {
    bytes += judged.bytes;
    const kind = judged.tamis ? judged.tamis.verdict : 'error';
    counts[kind]++;
    if (kind === 'drop') {
      const r = judged.tamis.reason_check;
      const key = `${r.step} / ${r.rule}`;
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
    }
  }
  $('file-results').hidden = false;
  const mb = bytes / 1e6;
  $('file-summary').textContent =
    `${state.file.name}: ${results.length} documents, ${mb.toFixed(2)} MB of text, judged in ` +
    `${state.fileTiming.toFixed(0)} ms (${(mb / (state.fileTiming / 1000)).toFixed(1)} MB/s).`;
  $('totals').replaceChildren(
    ...[
      ['documents', results.length],
      ['kept', counts.keep],
      ['dropped', counts.drop],
      ['errors', counts.error],
    ].flatMap(([k, v]) => [el('dt', k), el('dd', String(v), 'total-' + k)]),
  );
  $('step-times').replaceChildren(
    ...[...state.stepNanos].map(([step, ns]) => el('li', `${step} ${(ns / 1e6).toFixed(0)} ms`)),
  );
  drawChart([...reasons].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
  drawTable();
  setStatus(`Judged ${results.length} documents of ${state.file.name}.`);
}

/** Horizontal bars, one per drop reason, as inline SVG. */
function drawChart(entries) {
  const box = $('reason-chart');
  if (!entries.length) {
    box.replaceChildren(el('p', 'Nothing was dropped.'));
    return;
  }
  const ns = 'http://www.w3.org/2000/svg';
  const rowH = 22;
  // Room for the longest reason in the chart's 12px monospace font (about 7.3px a character).
  const labelW = Math.max(120, Math.max(...entries.map(([r]) => r.length)) * 7.4 + 12);
  const barW = 260;
  const max = Math.max(...entries.map(([, n]) => n));
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${labelW + barW + 50} ${entries.length * rowH + 4}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', entries.map(([r, n]) => `${r}: ${n}`).join('; '));
  entries.forEach(([reason, n], i) => {
    const y = i * rowH + 2;
    const label = document.createElementNS(ns, 'text');
    label.setAttribute('x', labelW - 8);
    label.setAttribute('y', y + 15);
    label.setAttribute('text-anchor', 'end');
    label.textContent = reason;
    const bar = document.createElementNS(ns, 'rect');
    bar.setAttribute('x', labelW);
    bar.setAttribute('y', y + 3);
    bar.setAttribute('height', rowH - 6);
    bar.setAttribute('width', Math.max(2, (barW * n) / max));
    bar.setAttribute('class', 'bar');
    const count = document.createElementNS(ns, 'text');
    count.setAttribute('x', labelW + Math.max(2, (barW * n) / max) + 6);
    count.setAttribute('y', y + 15);
    count.textContent = String(n);
    svg.append(label, bar, count);
  });
  box.replaceChildren(svg);
}

function drawTable() {
  const filter = $('doc-filter').value;
  const rows = [];
  for (const doc of state.results) {
    const { judged } = doc;
    const kind = judged.tamis ? judged.tamis.verdict : 'error';
    if (filter !== 'all' && filter !== kind) continue;
    const tr = document.createElement('tr');
    tr.tabIndex = 0;
    tr.className = 'row-' + kind;
    tr.append(
      el('td', String(judged.line ?? ''), 'num'),
      el('td', judged.id ?? ''),
      el('td', kind === 'keep' ? 'kept' : kind === 'drop' ? 'dropped' : 'error'),
      el('td', judged.tamis?.reason ?? judged.error ?? ''),
      el('td', judged.tamis?.language?.code ?? ''),
      el('td', String(judged.bytes), 'num'),
    );
    const open = () => {
      showDocument(doc);
      $('result').scrollIntoView({ block: 'start' });
      $('result-title').focus();
    };
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        open();
      }
    });
    rows.push(tr);
  }
  $('doc-table').tBodies[0].replaceChildren(...rows);
  $('table-count').textContent = `${rows.length} of ${state.results.length}`;
}

// ---------- page wiring ----------

function setStatus(text) {
  $('status').textContent = text;
}

function selectTab(which) {
  for (const name of ['paste', 'file']) {
    const on = name === which;
    $('tab-' + name).setAttribute('aria-selected', String(on));
    $('tab-' + name).tabIndex = on ? 0 : -1;
    $('panel-' + name).hidden = !on;
  }
  $('file-results').hidden = which !== 'file' || !state.results;
  if (which === 'file' && state.file) judgeFile();
  if (which === 'paste') judgePasted();
}

function wire() {
  $('evaluate-all').addEventListener('change', (e) => setOption('evaluate_all', e.target.checked));
  $('export-toml').addEventListener('click', () => exportConfig('toml', true));
  $('export-yaml').addEventListener('click', () => exportConfig('yaml', true));
  $('copy-toml').addEventListener('click', () => exportConfig('toml', false));
  $('copy-yaml').addEventListener('click', () => exportConfig('yaml', false));
  $('reset-config').addEventListener('click', () => {
    state.demo.free();
    state.demo = new Demo();
    adoptConfig();
    setStatus('Config reset to the defaults.');
  });
  $('import-config').addEventListener('change', (e) => {
    if (e.target.files[0]) importConfig(e.target.files[0]);
    e.target.value = '';
  });
  let typing = null;
  $('doc-input').addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(judgePasted, 120);
  });
  for (const radio of document.querySelectorAll('input[name="doc-kind"]')) {
    radio.addEventListener('change', judgePasted);
  }
  $('tab-paste').addEventListener('click', () => selectTab('paste'));
  $('tab-file').addEventListener('click', () => selectTab('file'));
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
        const next = tab.id === 'tab-paste' ? 'file' : 'paste';
        selectTab(next);
        $('tab-' + next).focus();
      }
    });
  }
  $('file-input').addEventListener('change', (e) => {
    if (e.target.files[0]) readFile(e.target.files[0]);
  });
  const zone = $('drop-zone');
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    if (e.dataTransfer.files[0]) readFile(e.dataTransfer.files[0]);
  });
  $('doc-filter').addEventListener('change', drawTable);
  $('result-title').tabIndex = -1;
}

async function main() {
  await init();
  state.demo = new Demo();
  state.steps = JSON.parse(stepSections());
  wire();
  adoptConfig();
  setStatus('Ready: paste a document or open a file.');
  document.body.dataset.ready = 'true';
}

main().catch((e) => {
  setStatus(`The core could not be loaded: ${e}`);
  console.error(e);
});
