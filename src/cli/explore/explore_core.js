// The computational core of the `convmtx explore` page: geometry, the convolution relation, the
// output, the page's own matrix and the gather form, for a single-channel 1-D or 2-D convolution or
// transposed convolution. No DOM: the page (explore_ui.js) draws what this file computes, and Node
// loads it with require() (it exports through module.exports there, as window.ConvmtxExploreCore in
// a browser).
//
// This JavaScript is the page's own implementation of the convolution: the page runs offline, from
// one HTML file, without the C++ library. It is checked against the library by the ctest
// python_test_explore_js (tests/python/test_explore_js.py runs tests/js/check_explore_core.js under
// Node on 1000 seeded random configurations: acceptance, W entry by entry (pattern and values), the tap
// table in both directions, and the outputs of compute() and of the gather form).
//
// Everything the page shows about "which input meets which tap in which output" comes from one
// function, axis(): per dimension, the relation of PyTorch's semantics
//     W[q][fold(q*s - pl + t*d)] += w[t]
// between the conv's output side (W's rows = the transposed conv's input, index q) and the conv's input
// side (W's columns = the transposed conv's output), with fold the padding mode's map of a padded
// position onto the input (only zeros for a transposed convolution). A 2-D configuration is the
// product of its two axes.
(function (root, factory) {
  'use strict';
  const core = factory();
  if (typeof module !== 'undefined' && module.exports) module.exports = core;
  else root.ConvmtxExploreCore = core;
})(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  const PARAMS = ['n', 'k', 's', 'pl', 'ph', 'a', 'd'];
  const MODES = ['zeros', 'circular', 'reflect', 'replicate'];
  const MAX_N = 64;        // every cell is drawn: at most 64 input cells per dimension (as the CLI)
  const MAX_OUT = 4 * MAX_N;
  const NAMES = { n: 'input size', k: 'kernel_size', s: 'stride', pl: 'padding (start)', ph: 'padding (end)',
                  a: 'output_padding', d: 'dilation' };

  // The input index a padded position `pos` reads through the padding mode, or -1 for a zero.
  // len is the input length; the modes are PyTorch's F.pad modes (reflect excludes the edge,
  // replicate repeats it, circular wraps around).
  function fold(pos, len, mode) {
    if (pos >= 0 && pos < len) return pos;
    switch (mode) {
      case 'circular': return ((pos % len) + len) % len;
      case 'reflect': return pos < 0 ? -pos : 2 * (len - 1) - pos;
      case 'replicate': return pos < 0 ? 0 : len - 1;
      default: return -1;
    }
  }

  // The message of the first rule a state breaks (naming the parameter, the dimension, the value and the
  // rule), or '' when the configuration is valid. The rules are those of the C++ validation
  // (ConvSpec::validate) for these parameters, plus the page's drawing limit of MAX_N input cells per
  // dimension; the output_padding message is the library's word for word.
  function configError(st) {
    if (!MODES.includes(st.mode)) return 'padding mode ' + JSON.stringify(st.mode) + ' must be one of ' + MODES.join(', ');
    for (const p of PARAMS) {
      for (let j = 0; j < 2; ++j) {
        const v = st[p][j];
        if (!Number.isInteger(v)) return NAMES[p] + '[' + j + ']=' + v + ' must be an integer';
        const min = (p === 'pl' || p === 'ph' || p === 'a') ? 0 : 1;
        if (v < min) return NAMES[p] + '[' + j + ']=' + v + ' must be at least ' + min;
      }
      if (p === 'n') for (let j = 0; j < 2; ++j)
        if (st.n[j] > MAX_N) return 'input size[' + j + ']=' + st.n[j] + ' must be at most ' + MAX_N + ' (every cell is drawn)';
    }
    for (let j = 0; j < 2; ++j) {
      const e = axisError(st, j);
      if (e) return e;
    }
    return '';
  }

  // The geometric rule dimension j breaks, or '' (integers and minima already checked by configError).
  function axisError(st, j) {
    const n = st.n[j], k = st.k[j], s = st.s[j], pl = st.pl[j], ph = st.ph[j], a = st.a[j], d = st.d[j];
    if (st.transposed) {
      if (!(a < s || a < d))
        return 'output_padding[' + j + ']=' + a + ' must be smaller than stride[' + j + ']=' + s + ' or dilation[' + j + ']=' + d;
      const out = (n - 1) * s - pl - ph + d * (k - 1) + a + 1;
      if (out < 1)
        return 'output size[' + j + '] = (' + n + '-1)*' + s + ' - ' + pl + ' - ' + ph + ' + ' + d + '*(' + k + '-1) + ' + a +
               ' + 1 = ' + out + ' must be at least 1 (padding too large)';
    } else {
      if (a !== 0) return 'output_padding[' + j + ']=' + a + ' applies only to the transposed convolution';
      if (st.mode === 'reflect' && (pl >= n || ph >= n))
        return 'reflect padding (' + pl + ', ' + ph + ')[' + j + '] must be smaller than the input size ' + n;
      if (st.mode === 'circular' && (pl > n || ph > n))
        return 'circular padding (' + pl + ', ' + ph + ')[' + j + '] must be at most the input size ' + n;
      const span = d * (k - 1) + 1;
      if (n + pl + ph < span)
        return 'kernel extent d*(k-1)+1 = ' + span + ' along [' + j + '] exceeds the padded input ' + n + '+' + pl + '+' + ph +
               ' = ' + (n + pl + ph);
    }
    return '';
  }

  // The convolution relation along one dimension (the only place the page derives it).
  // p = {n, k, s, pl, ph, a, d, transposed, mode}: n is the operation's input length.
  // Returns
  //   out       the operation's output length: conv floor((n + pl + ph - d(k-1) - 1)/s) + 1,
  //             transposed (n-1)s - pl - ph + d(k-1) + a + 1;
  //   gather[o] the [input i, tap t] pairs of output o (input order, then tap): y[o] = sum x[i]·w[t];
  //   scatter[i] the [output o, tap t] pairs input i contributes to (output order, then tap);
  //   the gather form's geometry (an independent second computation, gatherForm() below):
  //   lo, hi    padding at the start and end of the grid (negative: the border is cropped);
  //             conv pl and ph; transposed d(k-1) - pl and d(k-1) - ph + a;
  //   grid      the grid length: conv n + pl + ph; transposed (n-1)s + 1 + lo + hi (s-1 zeros inserted);
  //   step      the window's stride over the grid (conv s, transposed 1);
  //   flip      whether the window reads the kernel flipped (transposed);
  //   source(g) the input index grid cell g holds, or -1 (an inserted zero or a zero of the padding).
  // Assumes the configuration passed configError().
  function axis(p) {
    const { n, k, s, pl, ph, a, d, transposed } = p;
    const mode = transposed ? 'zeros' : p.mode;
    const out = transposed ? (n - 1) * s - pl - ph + d * (k - 1) + a + 1
                           : Math.floor((n + pl + ph - d * (k - 1) - 1) / s) + 1;
    const rowsW = transposed ? n : out, colsW = transposed ? out : n;
    const gather = Array.from({ length: out }, () => []);
    const scatter = Array.from({ length: n }, () => []);
    for (let q = 0; q < rowsW; ++q) {
      for (let t = 0; t < k; ++t) {
        const b = fold(q * s - pl + t * d, colsW, mode);
        if (b < 0) continue;
        if (transposed) { gather[b].push([q, t]); scatter[q].push([b, t]); }
        else { gather[q].push([b, t]); scatter[b].push([q, t]); }
      }
    }
    const order = (u, v) => u[0] - v[0] || u[1] - v[1];
    for (const list of gather) list.sort(order);
    for (const list of scatter) list.sort(order);
    const lo = transposed ? d * (k - 1) - pl : pl;
    const hi = transposed ? d * (k - 1) - ph + a : ph;
    const grid = transposed ? (n - 1) * s + 1 + lo + hi : n + pl + ph;
    const source = transposed
      ? (g) => { const u = g - lo; return (u >= 0 && u % s === 0 && u / s < n) ? u / s : -1; }
      : (g) => fold(g - lo, n, mode);
    return { n, k, d, out, gather, scatter, lo, hi, grid, step: transposed ? 1 : s, flip: transposed, source };
  }

  // The scalar parameters of dimension j of a state, as axis() takes them.
  function axisParams(st, j) {
    return { n: st.n[j], k: st.k[j], s: st.s[j], pl: st.pl[j], ph: st.ph[j], a: st.a[j], d: st.d[j],
             transposed: !!st.transposed, mode: st.mode };
  }

  // Everything the page shows for a state st = {transposed, mode, n, k, s, pl, ph, a, d (pairs: rows, cols),
  // x, w (flat, row-major)}: {ok: false, error} for a configuration the library rejects, else
  //   outShape, inShape, kShape;
  //   terms[o]  [input flat index, tap flat index] of output o (the product of the two axes' gather lists);
  //   spread[i] [output flat index, tap flat index] of input i;
  //   y         the output, sum of x[i]·w[t] over terms[o];
  //   rows[o]   Map input -> value: the operator matrix (rows = outputs; conv: W, transposed: T = Wᵀ);
  //   gather    the gather form, computed independently (gatherForm()).
  function compute(st) {
    const err = (msg) => ({ ok: false, error: msg });
    const e = configError(st);
    if (e) return err(e);
    const ax = [axis(axisParams(st, 0)), axis(axisParams(st, 1))];
    const n = st.n, k = st.k, out = [ax[0].out, ax[1].out];
    if (out[0] > MAX_OUT || out[1] > MAX_OUT) return err('output ' + out[0] + 'x' + out[1] + ' is too large to draw');
    if (st.x.length !== n[0] * n[1]) return err('input values: ' + st.x.length + ' values for a ' + n[0] + 'x' + n[1] + ' input');
    if (st.w.length !== k[0] * k[1]) return err('kernel values: ' + st.w.length + ' values for a ' + k[0] + 'x' + k[1] + ' kernel');
    const order = (u, v) => u[0] - v[0] || u[1] - v[1];
    const product = (list0, list1) => {   // pairs of two axes -> [flat index, flat tap]
      const r = [];
      for (const [i0, t0] of list0) for (const [i1, t1] of list1) r.push([i0 * n[1] + i1, t0 * k[1] + t1]);
      return r.sort(order);
    };
    const nOut = out[0] * out[1];
    const terms = new Array(nOut);
    for (let o0 = 0; o0 < out[0]; ++o0) for (let o1 = 0; o1 < out[1]; ++o1)
      terms[o0 * out[1] + o1] = product(ax[0].gather[o0], ax[1].gather[o1]);
    const spread = new Array(n[0] * n[1]);
    for (let i0 = 0; i0 < n[0]; ++i0) for (let i1 = 0; i1 < n[1]; ++i1) {
      const r = [];
      for (const [o0, t0] of ax[0].scatter[i0]) for (const [o1, t1] of ax[1].scatter[i1])
        r.push([o0 * out[1] + o1, t0 * k[1] + t1]);
      spread[i0 * n[1] + i1] = r.sort(order);
    }
    const y = new Array(nOut);
    const rows = new Array(nOut);
    for (let o = 0; o < nOut; ++o) {
      let acc = 0;
      const row = new Map();
      for (const [i, t] of terms[o]) {
        acc += st.x[i] * st.w[t];
        row.set(i, (row.has(i) ? row.get(i) : 0) + st.w[t]);
      }
      y[o] = acc;
      rows[o] = row;
    }
    const result = { ok: true, error: '', inShape: n.slice(), kShape: k.slice(), outShape: out, axes: ax, terms, spread, y, rows };
    result.gather = gatherForm(st, ax, out);
    return result;
  }

  // The gather form, a second computation of the same output from the axes' grid geometry:
  // transposed (the recipe of Dumoulin & Visin 2016, "A guide to convolution arithmetic for deep learning",
  // of the "Interactive Transposed Convolution Tool" blog post, and PyTorch's ConvTranspose2d documentation
  // for the d(k-1) - p padding):
  //   insert s-1 zeros between the inputs, pad d(k-1)-pl at the start and d(k-1)-ph+a at the end
  //   (negative: crop), flip the kernel and run a stride-1 convolution with dilation d:
  //   y[o] = sum_t' grid[o + t'·d] · w[k-1-t'];
  // conv: the input padded by the padding mode and the kernel window: y[q] = sum_t grid[q·s + t·d] · w[t].
  // Returns {shape, lo, hi, cell (grid flat index -> input flat index or -1), window(o0, o1), y}.
  function gatherForm(st, ax, out) {
    const L = [ax[0].grid, ax[1].grid];
    const cell = new Array(L[0] * L[1]);
    for (let g0 = 0; g0 < L[0]; ++g0) {
      const i0 = ax[0].source(g0);
      for (let g1 = 0; g1 < L[1]; ++g1) {
        const i1 = ax[1].source(g1);
        cell[g0 * L[1] + g1] = (i0 < 0 || i1 < 0) ? -1 : i0 * st.n[1] + i1;
      }
    }
    const k = st.k;
    // [grid flat index, tap flat index] under the kernel window of output (o0, o1)
    const window = (o0, o1) => {
      const list = [];
      for (let u0 = 0; u0 < k[0]; ++u0) for (let u1 = 0; u1 < k[1]; ++u1) {
        const g0 = o0 * ax[0].step + u0 * ax[0].d, g1 = o1 * ax[1].step + u1 * ax[1].d;
        const t0 = ax[0].flip ? k[0] - 1 - u0 : u0, t1 = ax[1].flip ? k[1] - 1 - u1 : u1;
        list.push([g0 * L[1] + g1, t0 * k[1] + t1]);
      }
      return list;
    };
    const y = new Array(out[0] * out[1]);
    for (let o0 = 0; o0 < out[0]; ++o0) for (let o1 = 0; o1 < out[1]; ++o1) {
      let acc = 0;
      for (const [gi, t] of window(o0, o1)) if (cell[gi] >= 0) acc += st.x[cell[gi]] * st.w[t];
      y[o0 * out[1] + o1] = acc;
    }
    return { shape: L, lo: [ax[0].lo, ax[1].lo], hi: [ax[0].hi, ax[1].hi], cell, window, y };
  }

  // The page's operator matrix as entries [row, col, value], rows = outputs (conv: W; transposed: T = Wᵀ).
  function matrixEntries(G) {
    const entries = [];
    G.rows.forEach((row, r) => { for (const [c, v] of row) entries.push([r, c, v]); });
    return entries;
  }

  // Compares the page's computation G (transposed or not) with the library's W (CSR {rows, cols, indptr,
  // indices, data}, rows = the conv's output side, as `convmtx explore` embeds it) and the library's output y.
  // Returns {ok, patternEqual, maxWDiff, maxOutDiff, nnz, rows, cols} (and a reason when the shapes differ);
  // ok: same pattern, |ΔW| <= 1e-12 and |Δy| <= 1e-9·(1 + max |y|), the page's green line.
  function compareWithLibrary(G, transposed, L, yLib) {
    const nIn = G.inShape[0] * G.inShape[1], nOut = G.outShape[0] * G.outShape[1];
    const nSmall = transposed ? nIn : nOut, nBig = transposed ? nOut : nIn;
    if (L.rows !== nSmall || L.cols !== nBig)
      return { ok: false, patternEqual: false, maxWDiff: Infinity, maxOutDiff: Infinity, nnz: L.indices.length, rows: L.rows, cols: L.cols,
               reason: 'library W is ' + L.rows + '×' + L.cols + ', the page expects ' + nSmall + '×' + nBig };
    let pageNnz = 0;
    for (const row of G.rows) pageNnz += row.size;
    let patternEqual = pageNnz === L.indices.length, maxWDiff = 0;
    for (let r = 0; r < L.rows; ++r) for (let e = L.indptr[r]; e < L.indptr[r + 1]; ++e) {
      const c = L.indices[e];
      const row = transposed ? G.rows[c] : G.rows[r];   // W[r][c] is T[c][r]
      const key = transposed ? r : c;
      if (!row.has(key)) { patternEqual = false; maxWDiff = Math.max(maxWDiff, Math.abs(L.data[e])); continue; }
      maxWDiff = Math.max(maxWDiff, Math.abs(row.get(key) - L.data[e]));
    }
    let maxOutDiff = yLib.length === G.y.length ? 0 : Infinity;
    for (let o = 0; o < Math.min(G.y.length, yLib.length); ++o) maxOutDiff = Math.max(maxOutDiff, Math.abs(G.y[o] - yLib[o]));
    let maxAbsY = 0;
    for (const v of G.y) maxAbsY = Math.max(maxAbsY, Math.abs(v));
    const ok = patternEqual && maxWDiff <= 1e-12 && maxOutDiff <= 1e-9 * (1 + maxAbsY);
    return { ok, patternEqual, maxWDiff, maxOutDiff, nnz: L.indices.length, rows: L.rows, cols: L.cols };
  }

  return { PARAMS, MODES, MAX_N, MAX_OUT, fold, configError, axis, compute, gatherForm, matrixEntries, compareWithLibrary };
});
