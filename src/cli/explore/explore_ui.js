// The interactive part of the `convmtx explore` page: state, controls, drawing, hover texts and the
// window.convmtxExplorer API. Every number it shows comes from explore_core.js (window.ConvmtxExploreCore):
// Core.compute() derives the convolution relation once (Core.axis(), per dimension), and the page's
// output, matrix, hover and spread texts and the gather-form panel are read off its result.
// DATA is the JSON `convmtx explore` embeds (window.CONVMTX_DATA, see page.html): the command's
// configuration and values, the library's output y and the library's W (CSR, rows: the conv's output).
(function () {
'use strict';
const Core = window.ConvmtxExploreCore;
const DATA = window.CONVMTX_DATA;
const SVGNS = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);
const PARAMS = Core.PARAMS;
const MAX_N = Core.MAX_N;

// ---- numbers ----
function fmt(v) {
  if (Object.is(v, -0)) v = 0;
  if (Number.isInteger(v)) return String(v);
  const s = String(parseFloat(v.toPrecision(4)));
  return s;
}
function fmtFactor(v) { const s = fmt(v); return s.startsWith('-') ? '(' + s + ')' : s; }

// ---- state ----
function initialState() {
  return {
    transposed: !!DATA.transposed, mode: DATA.padding_mode || 'zeros',
    n: DATA.input.slice(), k: DATA.kernel.slice(), s: DATA.stride.slice(), pl: DATA.padding_lo.slice(),
    ph: DATA.padding_hi.slice(), a: DATA.output_padding.slice(), d: DATA.dilation.slice(),
    x: DATA.x.slice(), w: DATA.w.slice(), xSource: DATA.x_source, wSource: DATA.w_source,
  };
}
let S = DATA ? initialState() : null;
let G = null;       // the current computation
let seedCounter = 1;

function mulberry32(a) {
  return function () {
    a |= 0; a = a + 0x6D2B79F5 | 0;
    let t = Math.imul(a ^ a >>> 15, 1 | a);
    t = t + Math.imul(t ^ t >>> 7, 61 | t) ^ t;
    return ((t ^ t >>> 14) >>> 0) / 4294967296;
  };
}
// Values of a grid after a resize: ones / arange (0, 1, ...) / count (1, 2, ...) follow their rule;
// other sources (random, a file, edited values) keep the values that still fit and fill new cells.
function refill(source, old, oldShape, shape) {
  const cnt = shape[0] * shape[1];
  const out = new Array(cnt);
  const rnd = source.startsWith('random:') ? mulberry32(parseInt(source.slice(7), 10) * 7919 + (seedCounter++)) : null;
  for (let r = 0; r < shape[0]; ++r) {
    for (let c = 0; c < shape[1]; ++c) {
      const i = r * shape[1] + c;
      if (source === 'ones') out[i] = 1;
      else if (source === 'arange') out[i] = i;
      else if (source === 'count') out[i] = i + 1;
      else if (r < oldShape[0] && c < oldShape[1]) out[i] = old[r * oldShape[1] + c];
      else out[i] = rnd ? Math.round((rnd() * 2 - 1) * 1000) / 1000 : 0;
    }
  }
  return out;
}

// ---- the computation: explore_core.js (Core.compute: the relation, the output, the matrix, the gather form) ----

// ---- text ----
function idx2(flat, shape) { return [Math.floor(flat / shape[1]), flat % shape[1]]; }
function cellName(letter, flat, shape) { const [r, c] = idx2(flat, shape); return letter + '[' + r + '][' + c + ']'; }
function hoverText(r, c) {
  if (!G || !G.ok) return '';
  if (r < 0 || c < 0 || r >= G.outShape[0] || c >= G.outShape[1]) return '';
  const o = r * G.outShape[1] + c;
  const list = G.terms[o];
  const head = 'y[' + r + '][' + c + ']';
  if (list.length === 0) return head + ' = 0   (no product reaches this cell)';
  const sym = list.map(([i, t]) => cellName('x', i, G.inShape) + '·' + cellName('w', t, G.kShape)).join(' + ');
  const num = list.map(([i, t]) => fmtFactor(S.x[i]) + '·' + fmtFactor(S.w[t])).join(' + ');
  return head + ' = ' + sym + '\n' + ' '.repeat(head.length) + ' = ' + num + ' = ' + fmt(G.y[o]);
}
function spreadText(r, c) {
  if (!G || !G.ok) return '';
  if (r < 0 || c < 0 || r >= G.inShape[0] || c >= G.inShape[1]) return '';
  const i = r * G.inShape[1] + c;
  const head = 'x[' + r + '][' + c + '] = ' + fmt(S.x[i]);
  const list = G.spread[i];
  if (list.length === 0) return head + ' reaches no output cell';
  const verb = S.transposed ? ' spreads to ' : ' is read by ';
  return head + verb + list.length + ' output cell' + (list.length > 1 ? 's' : '') + ':\n' +
    list.map(([o, t]) => cellName('y', o, G.outShape) + ' += ' + fmtFactor(S.x[i]) + '·' + cellName('w', t, G.kShape) +
                          ' = ' + fmt(S.x[i] * S.w[t])).join('\n');
}
function kernelText(r, c) {
  if (!G || !G.ok) return '';
  const t = r * G.kShape[1] + c;
  let count = 0;
  for (const list of G.terms) for (const [, u] of list) if (u === t) ++count;
  return 'w[' + r + '][' + c + '] = ' + fmt(S.w[t]) + ' appears in ' + count + ' product' + (count === 1 ? '' : 's');
}
function defaultInfo() {
  return 'Hover an output cell to see its dot product, an input cell to see where it ' +
         (S.transposed ? 'spreads' : 'is read') + ', or an entry of the matrix.';
}

// ---- drawing ----
function el(name, attrs, parent) {
  const e = document.createElementNS(SVGNS, name);
  for (const key in attrs) e.setAttribute(key, attrs[key]);
  if (parent) parent.appendChild(e);
  return e;
}
function colour(v, maxAbs) {
  if (!(maxAbs > 0) || v === 0) return '#ffffff';
  const f = Math.min(1, Math.abs(v) / maxAbs);
  const l = Math.round(97 - 40 * f);
  return v > 0 ? 'hsl(212, 70%, ' + l + '%)' : 'hsl(0, 70%, ' + l + '%)';
}
function drawGrid(svg, kind, shape, values, cs) {
  svg.innerHTML = '';
  const pad = 18;
  svg.setAttribute('width', pad + shape[1] * cs + 2);
  svg.setAttribute('height', pad + shape[0] * cs + 2);
  let maxAbs = 0;
  for (const v of values) maxAbs = Math.max(maxAbs, Math.abs(v));
  const fs = Math.max(7, Math.min(13, Math.floor(cs / 3.2)));
  for (let c = 0; c < shape[1]; ++c)
    if (cs >= 14 || c % 5 === 0) {
      const t = el('text', { x: pad + c * cs + cs / 2, y: 12, 'text-anchor': 'middle', 'font-size': 10, fill: '#868e96' }, svg);
      t.textContent = c;
    }
  for (let r = 0; r < shape[0]; ++r) {
    if (cs >= 14 || r % 5 === 0) {
      const t = el('text', { x: pad - 4, y: pad + r * cs + cs / 2 + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#868e96' }, svg);
      t.textContent = r;
    }
    for (let c = 0; c < shape[1]; ++c) {
      const v = values[r * shape[1] + c];
      const g = el('g', { class: 'cell', 'data-kind': kind, 'data-r': r, 'data-c': c, id: kind + '-' + r + '-' + c }, svg);
      el('rect', { class: 'cell ' + kind, x: pad + c * cs + 1, y: pad + r * cs + 1, width: cs, height: cs,
                   fill: colour(v, maxAbs) }, g);
      if (cs >= 18) {
        const label = fmt(v), f = fitFont(fs, cs, label);
        const t = el('text', { x: pad + c * cs + 1 + cs / 2, y: pad + r * cs + 1 + cs / 2 + f / 3, 'text-anchor': 'middle',
                               'font-size': f, fill: '#212529' }, g);
        t.textContent = label;
      }
    }
  }
}
// a font size at which `label` fits in a cell of width cs (monospace digits are about 0.6 em wide)
function fitFont(fs, cs, label) { return Math.max(6, Math.min(fs, Math.floor((cs - 4) / (0.62 * Math.max(1, label.length))))); }
function cellSize() {
  const cols = G.inShape[1] + G.kShape[1] + G.outShape[1];
  const rows = Math.max(G.inShape[0], G.kShape[0], G.outShape[0]);
  const avail = Math.max(420, Math.min(1000, window.innerWidth - 620));
  return Math.max(8, Math.min(44, Math.floor(avail / cols), Math.floor(480 / rows)));
}
let matrixGeom = null;
function drawMatrix() {
  const svg = $('svg-m');
  svg.innerHTML = '';
  const R = G.outShape[0] * G.outShape[1], C = G.inShape[0] * G.inShape[1];
  let nnz = 0;
  for (const row of G.rows) nnz += row.size;
  const name = S.transposed ? 'T = W<sup>T</sup>' : 'W';
  $('h-m').innerHTML = 'matrix ' + name + ' (' + R + '×' + C + ', ' + nnz + ' entries)';
  if (R * C > 250000 || nnz > 30000) {
    $('matrix-note').textContent = 'The matrix is too large to draw here.';
    matrixGeom = null;
    return;
  }
  $('matrix-note').textContent = 'rows: outputs y, columns: inputs x (both flattened row by row). ' + (S.transposed
    ? 'Row r of T lists the taps output r collects; column c (row c of W) the taps input c spreads with.'
    : 'Row r of W is the kernel window of output r laid over the flattened input.');
  const cs = Math.max(2, Math.min(16, Math.floor(420 / C), Math.floor(380 / R)));
  const pad = 2;
  svg.setAttribute('width', C * cs + 2 * pad);
  svg.setAttribute('height', R * cs + 2 * pad);
  el('rect', { x: pad, y: pad, width: C * cs, height: R * cs, fill: '#ffffff', stroke: '#adb5bd' }, svg);
  const bandRow = el('rect', { class: 'band', x: pad, y: 0, width: C * cs, height: cs, visibility: 'hidden' }, svg);
  const bandCol = el('rect', { class: 'band', x: 0, y: pad, width: cs, height: R * cs, visibility: 'hidden' }, svg);
  let maxAbs = 0;
  for (const v of S.w) maxAbs = Math.max(maxAbs, Math.abs(v));
  const entries = [];
  for (let r = 0; r < R; ++r) for (const [c, v] of G.rows[r]) {
    const e = el('rect', { class: 'entry', x: pad + c * cs, y: pad + r * cs, width: cs, height: cs,
                           fill: v === 0 ? '#dee2e6' : colour(v, maxAbs), 'data-kind': 'm', 'data-r': r, 'data-c': c }, svg);
    entries.push(e);
  }
  matrixGeom = { cs, pad, bandRow, bandCol, entries };
}
function drawGather(cs) {
  const svg = $('svg-g'), Q = G.gather, L = Q.shape;
  svg.innerHTML = '';
  const tr = S.transposed;
  setText('h-g', tr ? 'gather form (Dumoulin & Visin 2016): zeros inserted between the inputs, padded, flipped kernel, stride 1 (' +
                      L[0] + '×' + L[1] + ')'
                    : 'padded input (' + S.mode + ' padding, ' + L[0] + '×' + L[1] + ') and the kernel window');
  const crop = tr && [...Q.lo, ...Q.hi].some((v) => v < 0);
  let maxDiff = 0;
  for (let o = 0; o < G.y.length; ++o) maxDiff = Math.max(maxDiff, Math.abs(Q.y[o] - G.y[o]));
  setText('gather-note', (tr
    ? 'padding d(k−1)−p_lo = (' + Q.lo.join(', ') + ') at the start and d(k−1)−p_hi+a = (' + Q.hi.join(', ') + ') at the end' +
      (crop ? ' (negative: the border is cropped)' : '') + '; hover an output to see the flipped kernel over this grid. '
    : 'hover an output to see its kernel window; grey values are read through the padding. ') +
    'Computed this way, the output differs from the ' + (tr ? 'distribution' : 'matrix') + ' form by at most ' +
    (maxDiff === 0 ? '0' : maxDiff.toExponential(1)) + '.');
  if (L[0] * L[1] > 40000) { svg.setAttribute('width', 0); svg.setAttribute('height', 0); return; }
  const c2 = Math.max(6, Math.min(cs, 34, Math.floor(1200 / L[1])));
  const pad = 2;
  svg.setAttribute('width', L[1] * c2 + 2 * pad);
  svg.setAttribute('height', L[0] * c2 + 2 * pad);
  let maxAbs = 0;
  for (const v of S.x) maxAbs = Math.max(maxAbs, Math.abs(v));
  const fs = Math.max(7, Math.min(12, Math.floor(c2 / 3.2)));
  for (let a = 0; a < L[0]; ++a) for (let b = 0; b < L[1]; ++b) {
    const src = Q.cell[a * L[1] + b];
    const inside = !tr && a >= Q.lo[0] && a < Q.lo[0] + S.n[0] && b >= Q.lo[1] && b < Q.lo[1] + S.n[1];
    const real = tr ? src >= 0 : inside;
    el('rect', { class: 'gcell', id: 'g-' + a + '-' + b, x: pad + b * c2, y: pad + a * c2, width: c2, height: c2,
                 fill: real ? colour(S.x[src], maxAbs) : '#f1f3f5' }, svg);
    if (c2 >= 16) {
      const label = src >= 0 ? fmt(S.x[src]) : '0', f = fitFont(fs, c2, label);
      const t = el('text', { x: pad + b * c2 + c2 / 2, y: pad + a * c2 + c2 / 2 + f / 3, 'text-anchor': 'middle', 'font-size': f,
                             fill: real ? '#212529' : '#adb5bd' }, svg);
      t.textContent = label;
    }
  }
  G.gather.c2 = c2;
  G.gather.pad = pad;
}
function markGather(o0, o1) {
  const Q = G.gather;
  if (!Q.c2) return;
  for (const [gi, t] of Q.window(o0, o1)) {
    const a = Math.floor(gi / Q.shape[1]), b = gi % Q.shape[1];
    const r = document.getElementById('g-' + a + '-' + b);
    if (!r) continue;
    r.classList.add('win'); marked.push([r, 'win']);
    if (Q.cell[gi] >= 0) { r.classList.add('hit'); marked.push([r, 'hit']); }
    if (Q.c2 >= 30) {
      const [t0, t1] = idx2(t, G.kShape);
      const lab = el('text', { class: 'tap', x: +r.getAttribute('x') + Q.c2 - 2, y: +r.getAttribute('y') + Q.c2 - 3,
                               'text-anchor': 'end' }, $('svg-g'));
      lab.textContent = 'w' + t0 + ',' + t1;
      tags.push(lab);
    }
  }
}
function setText(id, text) { $(id).textContent = text; }
function render() {
  G = Core.compute(S);
  syncControls();
  drawFormulas();
  if (!G.ok) {
    $('error').textContent = G.error;
    for (const id of ['svg-out', 'svg-m', 'svg-g']) { $(id).innerHTML = ''; $(id).setAttribute('width', 0); $(id).setAttribute('height', 0); }
    setText('h-out', 'output: (invalid configuration)');
    setText('h-m', ''); setText('matrix-note', ''); setText('h-g', ''); setText('gather-note', '');
    setText('info', '');
    updateAgreement();
    return;
  }
  $('error').textContent = '';
  const cs = cellSize();
  const tr = S.transposed;
  setText('title', tr ? 'transposed convolution y = Wᵀx' : 'convolution y = W x');
  setText('h-in', 'input x (' + G.inShape[0] + '×' + G.inShape[1] + ')');
  setText('h-k', 'kernel w (' + G.kShape[0] + '×' + G.kShape[1] + ')');
  setText('h-out', 'output y = ' + (tr ? 'Wᵀx' : 'W x') + ' (' + G.outShape[0] + '×' + G.outShape[1] + ')');
  drawGrid($('svg-in'), 'in', G.inShape, S.x, cs);
  drawGrid($('svg-k'), 'k', G.kShape, S.w, cs);
  drawGrid($('svg-out'), 'out', G.outShape, G.y, cs);
  drawMatrix();
  drawGather(cs);
  setText('info', defaultInfo());
  updateAgreement();
}
function drawFormulas() {
  const st = S, lines = [];
  if (st.transposed) {
    lines.push('y[i·s − pl + t·d] += x[i] · w[t]   (for every input i and tap t)');
    lines.push('n = (m − 1)·s − pl − ph + d·(k − 1) + a + 1');
    for (let j = 0; j < 2; ++j)
      lines.push((j ? 'cols: ' : 'rows: ') + '(' + st.n[j] + ' − 1)·' + st.s[j] + ' − ' + st.pl[j] + ' − ' + st.ph[j] + ' + ' +
                 st.d[j] + '·(' + st.k[j] + ' − 1) + ' + st.a[j] + ' + 1 = ' + (G && G.ok ? G.outShape[j] : '?'));
    lines.push('rule: a < s or a < d (PyTorch)');
  } else {
    lines.push('y[q] = Σ_t w[t] · xpad[q·s − pl + t·d]   (' + st.mode + ' padding)');
    lines.push('m = ⌊(n + pl + ph − d·(k − 1) − 1) / s⌋ + 1');
    for (let j = 0; j < 2; ++j)
      lines.push((j ? 'cols: ' : 'rows: ') + '⌊(' + st.n[j] + ' + ' + st.pl[j] + ' + ' + st.ph[j] + ' − ' + st.d[j] + '·(' +
                 st.k[j] + ' − 1) − 1) / ' + st.s[j] + '⌋ + 1 = ' + (G && G.ok ? G.outShape[j] : '?'));
  }
  setText('formulas', lines.join('\n'));
}

// ---- the library's W ----
function sameAsInitial() {
  const init = initialState();
  if (S.transposed !== init.transposed || (!S.transposed && S.mode !== init.mode)) return false;
  for (const p of PARAMS) for (let j = 0; j < 2; ++j) if (S[p][j] !== init[p][j]) return false;
  for (let i = 0; i < init.x.length; ++i) if (S.x[i] !== init.x[i]) return false;
  for (let i = 0; i < init.w.length; ++i) if (S.w[i] !== init.w[i]) return false;
  return true;
}
function checkLibrary() {
  if (!G || !G.ok) return { applicable: false, reason: 'invalid configuration' };
  if (!sameAsInitial()) return { applicable: false, reason: 'the configuration or the values differ from the command\'s' };
  return Object.assign({ applicable: true }, Core.compareWithLibrary(G, S.transposed, DATA.W, DATA.y));
}
function updateAgreement() {
  const a = checkLibrary(), p = $('agree');
  if (!a.applicable) {
    p.className = 'na';
    p.textContent = 'The page computed this configuration itself; the C++ library\'s W embedded in the page is for the ' +
      'command\'s configuration (' + a.reason + '; press reset to compare).';
    return;
  }
  const ok = a.ok;
  p.className = ok ? 'ok' : 'bad';
  p.textContent = (ok ? '✓ ' : '✗ ') + 'The C++ library\'s W (' + a.rows + '×' + a.cols + ', ' + a.nnz + ' entries, built by ' +
    'convmtx explore) ' + (ok ? 'equals' : 'DIFFERS FROM') + ' the page\'s own matrix: same pattern ' + (a.patternEqual ? 'yes' : 'NO') +
    ', max |ΔW| = ' + a.maxWDiff + ', max |Δy| = ' + a.maxOutDiff + '.';
}

// ---- hover ----
let marked = [];
let tags = [];
function mark(id, cls) { const g = document.getElementById(id); if (!g) return; const r = g.querySelector('rect'); r.classList.add(cls); marked.push([r, cls]); }
// a small label in the corner of an input cell: the kernel tap it is multiplied with
function tag(id, text) {
  const g = document.getElementById(id); if (!g) return;
  const r = g.querySelector('rect');
  const cs = +r.getAttribute('width');
  if (cs < 30) return;
  const t = el('text', { class: 'tap', x: +r.getAttribute('x') + cs - 2, y: +r.getAttribute('y') + cs - 3, 'text-anchor': 'end' }, g);
  t.textContent = text;
  tags.push(t);
}
function clearMarks() {
  for (const [r, cls] of marked) r.classList.remove(cls);
  marked = [];
  for (const t of tags) t.remove();
  tags = [];
  if (matrixGeom) {
    matrixGeom.bandRow.setAttribute('visibility', 'hidden');
    matrixGeom.bandCol.setAttribute('visibility', 'hidden');
  }
}
function band(which, index) {
  if (!matrixGeom) return;
  const b = which === 'row' ? matrixGeom.bandRow : matrixGeom.bandCol;
  b.setAttribute(which === 'row' ? 'y' : 'x', matrixGeom.pad + index * matrixGeom.cs);
  b.setAttribute('visibility', 'visible');
}
function hover(kind, r, c) {
  clearMarks();
  if (!G || !G.ok) return '';
  let text = '';
  if (kind === 'out') {
    const o = r * G.outShape[1] + c;
    mark('out-' + r + '-' + c, 'focus');
    for (const [i, t] of G.terms[o]) {
      const [ir, ic] = idx2(i, G.inShape), [tr_, tc] = idx2(t, G.kShape);
      mark('in-' + ir + '-' + ic, 'hl-in');
      mark('k-' + tr_ + '-' + tc, 'hl-k');
      tag('in-' + ir + '-' + ic, '·w' + tr_ + ',' + tc);
    }
    band('row', o);
    markGather(r, c);
    text = hoverText(r, c);
  } else if (kind === 'in') {
    const i = r * G.inShape[1] + c;
    mark('in-' + r + '-' + c, 'focus');
    for (const [o, t] of G.spread[i]) {
      const [or_, oc] = idx2(o, G.outShape), [tr_, tc] = idx2(t, G.kShape);
      mark('out-' + or_ + '-' + oc, 'hl-out');
      mark('k-' + tr_ + '-' + tc, 'hl-k');
      tag('out-' + or_ + '-' + oc, '·w' + tr_ + ',' + tc);
    }
    band('col', i);
    text = spreadText(r, c);
  } else if (kind === 'k') {
    const t = r * G.kShape[1] + c;
    mark('k-' + r + '-' + c, 'focus');
    for (let o = 0; o < G.terms.length; ++o) for (const [, u] of G.terms[o]) if (u === t) {
      const [or_, oc] = idx2(o, G.outShape);
      mark('out-' + or_ + '-' + oc, 'hl-out');
    }
    text = kernelText(r, c);
  } else if (kind === 'm') {
    const [or_, oc] = idx2(r, G.outShape), [ir, ic] = idx2(c, G.inShape);
    mark('out-' + or_ + '-' + oc, 'focus');
    mark('in-' + ir + '-' + ic, 'hl-in');
    const taps = G.terms[r].filter(([i]) => i === c).map(([, t]) => t);
    for (const t of taps) { const [tr_, tc] = idx2(t, G.kShape); mark('k-' + tr_ + '-' + tc, 'hl-k'); }
    band('row', r); band('col', c);
    const v = G.rows[r].get(c);
    text = (S.transposed ? 'T' : 'W') + '[' + r + '][' + c + '] = ' + taps.map((t) => cellName('w', t, G.kShape)).join(' + ') +
      ' = ' + fmt(v) + ':  ' + 'y[' + or_ + '][' + oc + '] gets x[' + ir + '][' + ic + ']·' + fmtFactor(v);
  }
  setText('info', text);
  return text;
}
function onOver(ev) {
  const g = ev.target.closest('[data-kind]');
  if (!g) return;
  hover(g.getAttribute('data-kind'), +g.getAttribute('data-r'), +g.getAttribute('data-c'));
}
function onOut(ev) {
  const g = ev.target.closest('[data-kind]');
  if (!g) return;
  const to = ev.relatedTarget && ev.relatedTarget.closest ? ev.relatedTarget.closest('[data-kind]') : null;
  if (to) return;
  clearMarks();
  if (G && G.ok) setText('info', defaultInfo());
}
function onClick(ev) {
  const g = ev.target.closest('[data-kind]');
  if (!g) return;
  const kind = g.getAttribute('data-kind');
  if (kind !== 'in' && kind !== 'k') return;
  const r = +g.getAttribute('data-r'), c = +g.getAttribute('data-c');
  const arr = kind === 'in' ? S.x : S.w, shape = kind === 'in' ? S.n : S.k;
  const i = r * shape[1] + c;
  const answer = window.prompt('new value of ' + (kind === 'in' ? 'x' : 'w') + '[' + r + '][' + c + ']', fmt(arr[i]));
  if (answer === null) return;
  const v = Number(answer);
  if (!Number.isFinite(v)) { $('error').textContent = 'value ' + JSON.stringify(answer) + ' is not a number'; return; }
  arr[i] = v;
  if (kind === 'in') S.xSource = 'edited'; else S.wSource = 'edited';
  render();
}

// ---- controls ----
const CONTROL_IDS = [];
for (const p of PARAMS) for (let j = 0; j < 2; ++j) CONTROL_IDS.push([p, j]);
function syncControls() {
  for (const [p, j] of CONTROL_IDS) {
    const e = $(p + j);
    if (String(e.value) !== String(S[p][j]) && document.activeElement !== e) e.value = S[p][j];
    if (p === 'a') e.disabled = !S.transposed;
  }
  $('transposed').checked = S.transposed;
  $('mode').value = S.mode;
  $('mode').disabled = S.transposed;
}
function resizeValues(oldN, oldK) {
  if (S.n[0] !== oldN[0] || S.n[1] !== oldN[1]) S.x = refill(S.xSource, S.x, oldN, S.n);
  if (S.k[0] !== oldK[0] || S.k[1] !== oldK[1]) S.w = refill(S.wSource, S.w, oldK, S.k);
}
function onControl(ev) {
  const id = ev.target.id;
  const p = id.slice(0, -1), j = +id.slice(-1);
  const v = Number(ev.target.value);
  if (ev.target.value === '' || !Number.isFinite(v)) return;
  const oldN = S.n.slice(), oldK = S.k.slice();
  S[p][j] = v;
  if ($('link').checked) { S[p][1 - j] = v; $(p + (1 - j)).value = v; }
  if ($('symmetric').checked && (p === 'pl' || p === 'ph')) {
    const q = p === 'pl' ? 'ph' : 'pl';
    S[q][j] = v;
    if ($('link').checked) S[q][1 - j] = v;
  }
  if (S.n[0] > MAX_N || S.n[1] > MAX_N || S.k[0] > 16 || S.k[1] > 16) { render(); return; }
  resizeValues(oldN, oldK);
  render();
}
function pair(v, name) {
  if (Array.isArray(v)) { if (v.length !== 2) throw new Error(name + ' needs 2 values (rows, cols)'); return [Number(v[0]), Number(v[1])]; }
  return [Number(v), Number(v)];
}
function grid(v, name) {
  if (!Array.isArray(v) || !v.length || !Array.isArray(v[0])) throw new Error(name + ' must be a 2-D array');
  const rows = v.length, cols = v[0].length, flat = [];
  for (const row of v) { if (row.length !== cols) throw new Error(name + ' rows differ in length'); for (const e of row) flat.push(Number(e)); }
  return { shape: [rows, cols], flat };
}
function set(p) {
  const oldN = S.n.slice(), oldK = S.k.slice();
  if ('transposed' in p) S.transposed = !!p.transposed;
  if ('mode' in p) S.mode = String(p.mode);
  if ('values' in p) S.xSource = String(p.values);
  if ('weights' in p) S.wSource = String(p.weights);
  for (const key of PARAMS) if (key in p) S[key] = pair(p[key], key);
  if ('p' in p) { S.pl = pair(p.p, 'p'); S.ph = S.pl.slice(); }
  if (!('a' in p) && !S.transposed) S.a = [0, 0];
  let xg = null, wg = null;
  if ('x' in p) { xg = grid(p.x, 'x'); S.n = xg.shape; }
  if ('w' in p) { wg = grid(p.w, 'w'); S.k = wg.shape; }
  if (S.n.every(Number.isInteger) && S.k.every(Number.isInteger) && S.n[0] <= MAX_N && S.n[1] <= MAX_N &&
      S.n[0] >= 1 && S.n[1] >= 1 && S.k[0] >= 1 && S.k[1] >= 1 && S.k[0] <= 64 && S.k[1] <= 64)
    resizeValues(oldN, oldK);
  if (xg) { S.x = xg.flat; S.xSource = 'edited'; }
  if (wg) { S.w = wg.flat; S.wSource = 'edited'; }
  if (('values' in p) && !xg) S.x = refill(S.xSource, S.x, [0, 0], S.n);
  if (('weights' in p) && !wg) S.w = refill(S.wSource, S.w, [0, 0], S.k);
  render();
  return { ok: G.ok, error: G.error, outShape: G.ok ? G.outShape.slice() : null };
}
function nested(flat, shape) {
  const out = [];
  for (let r = 0; r < shape[0]; ++r) out.push(flat.slice(r * shape[1], (r + 1) * shape[1]));
  return out;
}

function init() {
  if (!DATA) { document.body.textContent = 'This is the template of convmtx explore: no data was embedded.'; return; }
  $('describe').textContent = DATA.describe + (DATA.note ? '  —  ' + DATA.note : '');
  for (const [p, j] of CONTROL_IDS) $(p + j).addEventListener('input', onControl);
  $('transposed').addEventListener('change', (e) => { S.transposed = e.target.checked; if (!S.transposed) S.a = [0, 0]; render(); });
  $('mode').addEventListener('change', (e) => { S.mode = e.target.value; render(); });
  $('reset').addEventListener('click', () => { S = initialState(); render(); });
  const init = initialState();
  $('link').checked = PARAMS.every((p) => init[p][0] === init[p][1]);
  $('symmetric').checked = init.pl[0] === init.ph[0] && init.pl[1] === init.ph[1];
  for (const id of ['svg-in', 'svg-k', 'svg-out', 'svg-m']) {
    $(id).addEventListener('mouseover', onOver);
    $(id).addEventListener('mouseout', onOut);
    $(id).addEventListener('click', onClick);
  }
  window.addEventListener('resize', () => { if (G && G.ok) render(); });
  render();
}

window.convmtxExplorer = {
  data: DATA,
  set,
  reset() { S = initialState(); render(); return { ok: G.ok, error: G.error }; },
  state() {
    const o = {};
    for (const p of PARAMS) o[p] = S[p].slice();
    return Object.assign(o, { transposed: S.transposed, mode: S.mode, x: nested(S.x, S.n), w: nested(S.w, S.k),
                              xSource: S.xSource, wSource: S.wSource });
  },
  output() { return G && G.ok ? nested(G.y, G.outShape) : null; },
  outputShape() { return G && G.ok ? G.outShape.slice() : null; },
  error() { return G ? G.error : 'not computed'; },
  terms(r, c) {
    if (!G || !G.ok) return null;
    return G.terms[r * G.outShape[1] + c].map(([i, t]) => idx2(i, G.inShape).concat(idx2(t, G.kShape)));
  },
  hoverText, spreadText,
  matrix() {
    if (!G || !G.ok) return null;
    return { rows: G.rows.length, cols: G.inShape[0] * G.inShape[1], entries: Core.matrixEntries(G) };
  },
  checkLibrary,
  hover,
  gather() {
    if (!G || !G.ok) return null;
    const Q = G.gather;
    return { shape: Q.shape.slice(), lo: Q.lo.slice(), hi: Q.hi.slice(), y: nested(Q.y, G.outShape),
             grid: nested(Q.cell.map((c) => (c >= 0 ? S.x[c] : 0)), Q.shape) };
  },
  window(r, c) {
    if (!G || !G.ok) return null;
    return G.gather.window(r, c).map(([gi, t]) => idx2(gi, G.gather.shape).concat(idx2(t, G.kShape)));
  },
};
init();
})();
