// The page written by `convmtx explore`: one self-contained HTML file (inline CSS, SVG and
// JavaScript; no network). The command replaces the token /*CONVMTX_DATA*/null with a JSON
// object holding the configuration, the input and kernel values, the library's output and the
// library's W (CSR). The page recomputes the convolution itself whenever a control changes:
//   transposed: y[i*s - pl + t*d] += x[i] * w[t]          (n = (m-1)s - pl - ph + d(k-1) + a + 1)
//   conv:       y[q] = sum_t w[t] * xpad[q*s - pl + t*d]   (m = floor((n + pl + ph - d(k-1) - 1)/s) + 1)
// and compares its own matrix with the library's W for the configuration it was written for.
// JavaScript API (window.convmtxExplorer) for tests and scripting: set({n, k, s, p, pl, ph, a, d,
// transposed, mode, x, w}), state(), output(), outputShape(), error(), terms(r, c), hoverText(r, c),
// spreadText(r, c), matrix(), checkLibrary(), hover(kind, r, c), reset().
#pragma once

namespace convmtx::cli {

inline const char* explore_page_template() {
    return R"CONVMTX_HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>convmtx explore</title>
<style>
  :root { --in: #e8590c; --k: #2f9e44; --out: #1971c2; --bg: #f8f9fa; --line: #ced4da; }
  body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 16px 24px; color: #212529; }
  h1 { font-size: 20px; margin: 0 0 4px 0; }
  h2 { font-size: 15px; margin: 14px 0 6px 0; }
  #describe { color: #495057; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; margin: 0 0 10px 0; }
  #top { display: flex; gap: 28px; flex-wrap: wrap; align-items: flex-start; }
  #controls table { border-collapse: collapse; }
  #controls td, #controls th { padding: 2px 6px; text-align: left; }
  #controls th { font-weight: 600; color: #495057; font-size: 12px; }
  #controls input[type=number] { width: 52px; }
  #controls input:disabled { background: #e9ecef; color: #adb5bd; }
  #switches { display: flex; flex-direction: column; gap: 6px; }
  #formulas { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; background: var(--bg);
              border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; white-space: pre; }
  #error { color: #c92a2a; font-weight: 600; min-height: 1.4em; margin: 8px 0; }
  #grids { display: flex; gap: 30px; flex-wrap: wrap; align-items: flex-start; }
  .panel h3 { font-size: 13px; margin: 0 0 4px 0; font-weight: 600; }
  .panel.in h3 { color: var(--in); } .panel.k h3 { color: var(--k); } .panel.out h3 { color: var(--out); }
  svg { display: block; }
  svg text { pointer-events: none; font-family: ui-monospace, Menlo, Consolas, monospace; }
  rect.cell { stroke: #868e96; stroke-width: 1; }
  g.cell:hover rect.cell, rect.cell.focus { stroke: #000; stroke-width: 2.5; }
  rect.cell.hl-in { fill: #ffd8a8 !important; stroke: var(--in); stroke-width: 2; }
  rect.cell.hl-k { fill: #b2f2bb !important; stroke: var(--k); stroke-width: 2; }
  rect.cell.hl-out { fill: #a5d8ff !important; stroke: var(--out); stroke-width: 2; }
  rect.cell.focus.in { fill: #ff922b !important; } rect.cell.focus.k { fill: #51cf66 !important; }
  rect.cell.focus.out { fill: #4dabf7 !important; }
  #info { min-height: 3.2em; background: #fff9db; border: 1px solid #ffe066; border-radius: 6px; padding: 8px 10px;
          margin: 12px 0; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; white-space: pre-wrap; }
  #agree { font-size: 13px; margin: 6px 0; }
  #agree.ok { color: #2b8a3e; } #agree.bad { color: #c92a2a; font-weight: 600; } #agree.na { color: #868e96; }
  .band { fill: #fff3bf; }
  rect.entry { stroke: none; }
  rect.entry.hl { stroke: #000; stroke-width: 1; }
  #matrix-note { color: #495057; font-size: 12px; margin: 0 0 4px 0; max-width: 420px; }
  .panel.m h3 { max-width: 420px; }
  text.tap { font-size: 9px; fill: #2b8a3e; font-weight: 600; }
  .panel.g h3 { color: #5f3dc4; margin-top: 10px; }
  #gather-note { color: #495057; font-size: 12px; margin: 0 0 4px 0; }
  rect.gcell { stroke: #ced4da; stroke-width: 1; }
  rect.gcell.win { stroke: var(--k); stroke-width: 2.5; }
  rect.gcell.win.hit { fill: #ffd8a8 !important; stroke: var(--in); }
  footer { color: #868e96; font-size: 12px; margin-top: 18px; }
  button { font: inherit; }
</style>
</head>
<body>
<h1>convmtx explore: <span id="title"></span></h1>
<p id="describe"></p>
<div id="top">
  <div id="controls">
    <table>
      <tr><th></th><th>rows</th><th>cols</th></tr>
      <tr><td>input size</td><td><input type="number" id="n0" min="1" max="64"></td><td><input type="number" id="n1" min="1" max="64"></td></tr>
      <tr><td>kernel size k</td><td><input type="number" id="k0" min="1" max="16"></td><td><input type="number" id="k1" min="1" max="16"></td></tr>
      <tr><td>stride s</td><td><input type="number" id="s0" min="1" max="16"></td><td><input type="number" id="s1" min="1" max="16"></td></tr>
      <tr><td>padding (start) p<sub>lo</sub></td><td><input type="number" id="pl0" min="0" max="32"></td><td><input type="number" id="pl1" min="0" max="32"></td></tr>
      <tr><td>padding (end) p<sub>hi</sub></td><td><input type="number" id="ph0" min="0" max="32"></td><td><input type="number" id="ph1" min="0" max="32"></td></tr>
      <tr><td>output padding a</td><td><input type="number" id="a0" min="0" max="16"></td><td><input type="number" id="a1" min="0" max="16"></td></tr>
      <tr><td>dilation d</td><td><input type="number" id="d0" min="1" max="16"></td><td><input type="number" id="d1" min="1" max="16"></td></tr>
    </table>
  </div>
  <div id="switches">
    <label><input type="checkbox" id="transposed"> transposed convolution (y = W<sup>T</sup>x)</label>
    <label>padding mode (conv) <select id="mode">
      <option value="zeros">zeros</option><option value="circular">circular</option>
      <option value="reflect">reflect</option><option value="replicate">replicate</option></select></label>
    <label><input type="checkbox" id="link"> same value for rows and cols</label>
    <label><input type="checkbox" id="symmetric"> symmetric padding (p<sub>hi</sub> = p<sub>lo</sub>)</label>
    <div><button id="reset" type="button">reset to the command's configuration</button></div>
    <div style="color:#868e96;font-size:12px">click an input or kernel cell to change its value</div>
  </div>
  <div id="formulas"></div>
</div>
<div id="error"></div>
<div id="grids">
  <div class="panel in"><h3 id="h-in"></h3><svg id="svg-in"></svg></div>
  <div class="panel k"><h3 id="h-k"></h3><svg id="svg-k"></svg></div>
  <div class="panel out"><h3 id="h-out"></h3><svg id="svg-out"></svg></div>
  <div class="panel m"><h3 id="h-m"></h3><p id="matrix-note"></p><svg id="svg-m"></svg></div>
</div>
<div id="info"></div>
<p id="agree"></p>
<div class="panel g"><h3 id="h-g"></h3><p id="gather-note"></p><svg id="svg-g"></svg></div>
<footer>Written by <code>convmtx explore</code>; self-contained (no network). The page computes the
convolution itself from the formulas above; the C++ library's W for the command's configuration is embedded
and compared with the page's own matrix.</footer>
<script>
(function () {
'use strict';
const DATA = /*CONVMTX_DATA*/null;
const SVGNS = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);
const PARAMS = ['n', 'k', 's', 'pl', 'ph', 'a', 'd'];
const MAX_N = 64;

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
    n: DATA.input.slice(), k: DATA.kernel.slice(), s: DATA.stride.slice(), pl: DATA.pad_lo.slice(),
    ph: DATA.pad_hi.slice(), a: DATA.output_padding.slice(), d: DATA.dilation.slice(),
    x: DATA.x.slice(), w: DATA.w.slice(), xSource: DATA.x_source, wSource: DATA.w_source,
  };
}
let S = initialState();
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

// ---- the computation (independent of the library; formulas of SEMANTICS.md) ----
function isInt(v) { return Number.isInteger(v); }
function compute(st) {
  const names = { n: 'input size', k: 'kernel_size', s: 'stride', pl: 'padding (start)', ph: 'padding (end)',
                  a: 'output_padding', d: 'dilation' };
  const err = (msg) => ({ ok: false, error: msg });
  for (const p of PARAMS) {
    for (let j = 0; j < 2; ++j) {
      const v = st[p][j];
      if (!isInt(v)) return err(names[p] + '[' + j + ']=' + v + ' must be an integer');
      const min = (p === 'pl' || p === 'ph' || p === 'a') ? 0 : 1;
      if (v < min) return err(names[p] + '[' + j + ']=' + v + ' must be at least ' + min);
    }
    if (p === 'n') for (let j = 0; j < 2; ++j)
      if (st.n[j] > MAX_N) return err('input size[' + j + ']=' + st.n[j] + ' must be at most ' + MAX_N + ' (every cell is drawn)');
  }
  const n = st.n, k = st.k, s = st.s, pl = st.pl, ph = st.ph, a = st.a, d = st.d;
  const out = [0, 0];
  for (let j = 0; j < 2; ++j) {
    if (st.transposed) {
      if (!(a[j] < s[j] || a[j] < d[j]))
        return err('output_padding[' + j + ']=' + a[j] + ' must be smaller than stride[' + j + ']=' + s[j] +
                   ' or dilation[' + j + ']=' + d[j]);
      out[j] = (n[j] - 1) * s[j] - pl[j] - ph[j] + d[j] * (k[j] - 1) + a[j] + 1;
      if (out[j] < 1)
        return err('output size[' + j + '] = (' + n[j] + '-1)*' + s[j] + ' - ' + pl[j] + ' - ' + ph[j] + ' + ' + d[j] +
                   '*(' + k[j] + '-1) + ' + a[j] + ' + 1 = ' + out[j] + ' must be at least 1 (padding too large)');
    } else {
      if (a[j] !== 0) return err('output_padding[' + j + ']=' + a[j] + ' applies only to the transposed convolution');
      if (st.mode === 'reflect' && (pl[j] >= n[j] || ph[j] >= n[j]))
        return err('reflect padding (' + pl[j] + ', ' + ph[j] + ')[' + j + '] must be smaller than the input size ' + n[j]);
      if (st.mode === 'circular' && (pl[j] > n[j] || ph[j] > n[j]))
        return err('circular padding (' + pl[j] + ', ' + ph[j] + ')[' + j + '] must be at most the input size ' + n[j]);
      const span = d[j] * (k[j] - 1) + 1;
      if (n[j] + pl[j] + ph[j] < span)
        return err('kernel extent d*(k-1)+1 = ' + span + ' along [' + j + '] exceeds the padded input ' + n[j] + '+' + pl[j] +
                   '+' + ph[j] + ' = ' + (n[j] + pl[j] + ph[j]));
      out[j] = Math.floor((n[j] + pl[j] + ph[j] - span) / s[j]) + 1;
    }
  }
  if (out[0] > 4 * MAX_N || out[1] > 4 * MAX_N) return err('output ' + out[0] + 'x' + out[1] + ' is too large to draw');
  if (st.x.length !== n[0] * n[1]) return err('input values: ' + st.x.length + ' values for a ' + n[0] + 'x' + n[1] + ' input');
  if (st.w.length !== k[0] * k[1]) return err('kernel values: ' + st.w.length + ' values for a ' + k[0] + 'x' + k[1] + ' kernel');
  const nOut = out[0] * out[1];
  const terms = Array.from({ length: nOut }, () => []);   // per output cell: [input flat index, tap flat index]
  if (st.transposed) {
    // distribute: every input i and tap t adds x[i]*w[t] to y[i*s - pl + t*d]
    for (let i0 = 0; i0 < n[0]; ++i0) for (let i1 = 0; i1 < n[1]; ++i1)
      for (let t0 = 0; t0 < k[0]; ++t0) {
        const o0 = i0 * s[0] - pl[0] + t0 * d[0];
        if (o0 < 0 || o0 >= out[0]) continue;
        for (let t1 = 0; t1 < k[1]; ++t1) {
          const o1 = i1 * s[1] - pl[1] + t1 * d[1];
          if (o1 < 0 || o1 >= out[1]) continue;
          terms[o0 * out[1] + o1].push([i0 * n[1] + i1, t0 * k[1] + t1]);
        }
      }
  } else {
    // gather: y[q] = sum_t w[t] * xpad[q*s - pl + t*d], xpad given by the padding mode
    const map = (pos, len) => {
      if (pos >= 0 && pos < len) return pos;
      switch (st.mode) {
        case 'circular': return ((pos % len) + len) % len;
        case 'reflect': return pos < 0 ? -pos : 2 * (len - 1) - pos;
        case 'replicate': return pos < 0 ? 0 : len - 1;
        default: return -1;
      }
    };
    for (let q0 = 0; q0 < out[0]; ++q0) for (let q1 = 0; q1 < out[1]; ++q1) {
      const list = terms[q0 * out[1] + q1];
      for (let t0 = 0; t0 < k[0]; ++t0) {
        const p0 = map(q0 * s[0] - pl[0] + t0 * d[0], n[0]);
        if (p0 < 0) continue;
        for (let t1 = 0; t1 < k[1]; ++t1) {
          const p1 = map(q1 * s[1] - pl[1] + t1 * d[1], n[1]);
          if (p1 < 0) continue;
          list.push([p0 * n[1] + p1, t0 * k[1] + t1]);
        }
      }
      list.sort((u, v) => u[0] - v[0] || u[1] - v[1]);
    }
  }
  const y = new Array(nOut);
  const rows = [];                       // operator matrix M (rows = outputs, cols = inputs): M[o][i] += w[t]
  for (let o = 0; o < nOut; ++o) {
    let acc = 0;
    const row = new Map();
    for (const [i, t] of terms[o]) {
      acc += st.x[i] * st.w[t];
      row.set(i, (row.has(i) ? row.get(i) : 0) + st.w[t]);
    }
    y[o] = acc;
    rows.push(row);
  }
  const spread = Array.from({ length: n[0] * n[1] }, () => []);   // per input: [output index, tap]
  for (let o = 0; o < nOut; ++o) for (const [i, t] of terms[o]) spread[i].push([o, t]);
  const result = { ok: true, error: '', inShape: n.slice(), kShape: k.slice(), outShape: out, terms, y, rows, spread };
  result.gather = gatherForm(st, result);
  return result;
}

// ---- the gather form (seed 003's recipe), a second computation of the same output ----
// transposed: insert s-1 zeros between the inputs, pad d(k-1)-pl at the start and d(k-1)-ph+a at the end
// (negative: crop), flip the kernel and run a stride-1 convolution with dilation d:
//   grid[g] = x[i] if g = i*s + d(k-1) - pl, else 0;   y[o] = sum_t' grid[o + t'*d] * w[k-1-t']
// conv: the padded input (by the padding mode) and the kernel window: y[q] = sum_t grid[q*s + t*d] * w[t].
function gatherForm(st, g) {
  const L = [0, 0], lo = [0, 0];
  for (let j = 0; j < 2; ++j) {
    if (st.transposed) { lo[j] = st.d[j] * (st.k[j] - 1) - st.pl[j]; L[j] = g.outShape[j] + st.d[j] * (st.k[j] - 1); }
    else { lo[j] = st.pl[j]; L[j] = st.n[j] + st.pl[j] + st.ph[j]; }
  }
  const src = (gpos, j) => {   // input index along j at grid position gpos, or -1 (an inserted or padded zero)
    const u = gpos - lo[j];
    if (st.transposed) return (u >= 0 && u % st.s[j] === 0 && u / st.s[j] < st.n[j]) ? u / st.s[j] : -1;
    if (u >= 0 && u < st.n[j]) return u;
    const len = st.n[j];
    switch (st.mode) {
      case 'circular': return ((u % len) + len) % len;
      case 'reflect': return u < 0 ? -u : 2 * (len - 1) - u;
      case 'replicate': return u < 0 ? 0 : len - 1;
      default: return -1;
    }
  };
  const cell = new Array(L[0] * L[1]);
  for (let a = 0; a < L[0]; ++a) for (let b = 0; b < L[1]; ++b) {
    const i0 = src(a, 0), i1 = src(b, 1);
    cell[a * L[1] + b] = (i0 < 0 || i1 < 0) ? -1 : i0 * st.n[1] + i1;
  }
  const step = st.transposed ? [1, 1] : st.s;
  const window = (o0, o1) => {   // [grid flat index, tap flat index] of output (o0, o1)
    const list = [];
    for (let t0 = 0; t0 < st.k[0]; ++t0) for (let t1 = 0; t1 < st.k[1]; ++t1) {
      const g0 = o0 * step[0] + t0 * st.d[0], g1 = o1 * step[1] + t1 * st.d[1];
      const tap = st.transposed ? (st.k[0] - 1 - t0) * st.k[1] + (st.k[1] - 1 - t1) : t0 * st.k[1] + t1;
      list.push([g0 * L[1] + g1, tap]);
    }
    return list;
  };
  const y = new Array(g.outShape[0] * g.outShape[1]);
  for (let o0 = 0; o0 < g.outShape[0]; ++o0) for (let o1 = 0; o1 < g.outShape[1]; ++o1) {
    let acc = 0;
    for (const [gi, t] of window(o0, o1)) if (cell[gi] >= 0) acc += st.x[cell[gi]] * st.w[t];
    y[o0 * g.outShape[1] + o1] = acc;
  }
  return { shape: L, lo, cell, window, y };
}

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
  setText('h-g', tr ? 'gather form (seed 003): zeros inserted between the inputs, padded, flipped kernel, stride 1 (' +
                      L[0] + '×' + L[1] + ')'
                    : 'padded input (' + S.mode + ' padding, ' + L[0] + '×' + L[1] + ') and the kernel window');
  const crop = tr && (Q.lo[0] < 0 || Q.lo[1] < 0 || S.pl.some((p, j) => p > S.d[j] * (S.k[j] - 1)));
  let maxDiff = 0;
  for (let o = 0; o < G.y.length; ++o) maxDiff = Math.max(maxDiff, Math.abs(Q.y[o] - G.y[o]));
  setText('gather-note', (tr
    ? 'padding d(k−1)−p_lo = (' + Q.lo.join(', ') + ') at the start and d(k−1)−p_hi+a at the end' +
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
  G = compute(S);
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
  const L = DATA.W;
  // the page's W (rows = small side): conv: W = M; transposed: W = M^T
  const tr = S.transposed;
  const nSmall = tr ? G.inShape[0] * G.inShape[1] : G.outShape[0] * G.outShape[1];
  const nBig = tr ? G.outShape[0] * G.outShape[1] : G.inShape[0] * G.inShape[1];
  if (L.rows !== nSmall || L.cols !== nBig)
    return { applicable: true, patternEqual: false, maxWDiff: Infinity, maxOutDiff: Infinity,
             reason: 'library W is ' + L.rows + '×' + L.cols + ', the page expects ' + nSmall + '×' + nBig };
  let pageNnz = 0;
  for (const row of G.rows) pageNnz += row.size;
  let patternEqual = pageNnz === L.indices.length, maxWDiff = 0;
  for (let r = 0; r < L.rows; ++r) for (let e = L.indptr[r]; e < L.indptr[r + 1]; ++e) {
    const c = L.indices[e];
    const row = tr ? G.rows[c] : G.rows[r];
    const key = tr ? r : c;
    if (!row.has(key)) { patternEqual = false; maxWDiff = Math.max(maxWDiff, Math.abs(L.data[e])); continue; }
    maxWDiff = Math.max(maxWDiff, Math.abs(row.get(key) - L.data[e]));
  }
  let maxOutDiff = 0;
  for (let o = 0; o < G.y.length; ++o) maxOutDiff = Math.max(maxOutDiff, Math.abs(G.y[o] - DATA.y[o]));
  return { applicable: true, patternEqual, maxWDiff, maxOutDiff, nnz: L.indices.length, rows: L.rows, cols: L.cols };
}
function updateAgreement() {
  const a = checkLibrary(), p = $('agree');
  if (!a.applicable) {
    p.className = 'na';
    p.textContent = 'The page computed this configuration itself; the C++ library\'s W embedded in the page is for the ' +
      'command\'s configuration (' + a.reason + '; press reset to compare).';
    return;
  }
  const ok = a.patternEqual && a.maxWDiff <= 1e-12 && a.maxOutDiff <= 1e-9 * (1 + Math.max(...G.y.map(Math.abs)));
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
    const entries = [];
    G.rows.forEach((row, r) => { for (const [c, v] of row) entries.push([r, c, v]); });
    return { rows: G.rows.length, cols: G.inShape[0] * G.inShape[1], entries };
  },
  checkLibrary,
  hover,
  gather() {
    if (!G || !G.ok) return null;
    const Q = G.gather;
    return { shape: Q.shape.slice(), lo: Q.lo.slice(), y: nested(Q.y, G.outShape),
             grid: nested(Q.cell.map((c) => (c >= 0 ? S.x[c] : 0)), Q.shape) };
  },
  window(r, c) {
    if (!G || !G.ok) return null;
    return G.gather.window(r, c).map(([gi, t]) => idx2(gi, G.gather.shape).concat(idx2(t, G.kShape)));
  },
};
init();
})();
</script>
</body>
</html>
)CONVMTX_HTML";
}

}  // namespace convmtx::cli
