// Checks the explorer page's own JavaScript (src/cli/explore/explore_core.js) against the library.
//
//   node tests/js/check_explore_core.js cases.json [path/to/explore_core.js]
//
// cases.json (written by tests/python/test_explore_js.py) holds {"cases": [...]}; each case is a
// page state {transposed, mode, n, k, s, pl, ph, a, d (pairs: rows, cols), x, w (flat)} with what the
// C++ library (through the Python module) computed for it:
//   accepted   whether the library accepts the configuration (error: its message when it does not);
//   outShape   the output's shape (a 1-D configuration as 1 x n);
//   W          the library's W in CSR (rows = the small side: the conv output / the transposed conv input);
//   y          the library's output (convmtx.conv / convmtx.conv_transpose);
//   relation   [small, big, tap, count]: the entries of the library's W built with a one-hot weight at each
//              tap (the tap table: which small index meets which big index through which tap).
// For every case it checks, with Core.compute(state): acceptance; the output shape; the page's matrix against
// W entry by entry (same pattern, values to 1e-12); the page's tap table (terms and spread) against the
// library's relation; the output and the gather form's output against y (1e-12 relative to max |y|); and
// that Core.compareWithLibrary (the page's green line) accepts W and rejects W with one entry changed or removed.
// Prints the first mismatch with its configuration and exits 1 if any case disagrees, else prints a summary.
'use strict';
const fs = require('fs');
const path = require('path');

if (process.argv.length < 3) {
  console.error('usage: node check_explore_core.js cases.json [explore_core.js]');
  process.exit(2);
}
const corePath = path.resolve(process.argv[3] || path.join(__dirname, '..', '..', 'src', 'cli', 'explore', 'explore_core.js'));
const Core = require(corePath);
const { cases } = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

function describe(c) {
  const dims = (v) => (c.rank === 1 ? String(v[1]) : v.join('x'));
  return (c.transposed ? 'conv_transpose' : 'conv') + c.rank + 'd n=' + dims(c.n) + ' k=' + dims(c.k) + ' s=' + dims(c.s) +
    ' d=' + dims(c.d) + ' pl=' + dims(c.pl) + ' ph=' + dims(c.ph) + (c.transposed ? ' a=' + dims(c.a) : ' mode=' + c.mode);
}

// The checks of one case; returns the first disagreement as text, or '' when the page agrees with the library.
function check(c) {
  const G = Core.compute(c);
  if (!c.accepted) return G.ok ? 'the library rejects it (' + c.error + ') but the page computes it' : '';
  if (!G.ok) return 'the library accepts it but the page rejects it: ' + G.error;
  if (G.outShape[0] !== c.outShape[0] || G.outShape[1] !== c.outShape[1])
    return 'output shape ' + G.outShape.join('x') + ', library ' + c.outShape.join('x');

  // W, rows = small side: conv W = the page's operator matrix, transposed W = its transpose
  const nIn = c.n[0] * c.n[1], nOut = G.outShape[0] * G.outShape[1];
  const [rows, cols] = c.transposed ? [nIn, nOut] : [nOut, nIn];
  if (c.W.rows !== rows || c.W.cols !== cols) return 'library W is ' + c.W.rows + 'x' + c.W.cols + ', page ' + rows + 'x' + cols;
  const page = new Map();
  for (const [r, col, v] of Core.matrixEntries(G)) {
    const key = c.transposed ? col * cols + r : r * cols + col;
    if (page.has(key)) return 'the page lists W entry ' + key + ' twice';
    page.set(key, v);
  }
  let libNnz = 0;
  for (let r = 0; r < c.W.rows; ++r) for (let e = c.W.indptr[r]; e < c.W.indptr[r + 1]; ++e, ++libNnz) {
    const col = c.W.indices[e], key = r * cols + col;
    if (!page.has(key)) return 'W[' + r + '][' + col + '] = ' + c.W.data[e] + ' in the library, absent from the page';
    if (!(Math.abs(page.get(key) - c.W.data[e]) <= 1e-12))
      return 'W[' + r + '][' + col + ']: page ' + page.get(key) + ', library ' + c.W.data[e];
  }
  if (page.size !== libNnz) {
    for (const key of page.keys()) {
      const r = Math.floor(key / cols), col = key % cols;
      const found = c.W.indices.slice(c.W.indptr[r], c.W.indptr[r + 1]).includes(col);
      if (!found) return 'W[' + r + '][' + col + '] = ' + page.get(key) + ' on the page, absent from the library';
    }
  }

  // the tap table: terms (output -> [input, tap]) and spread (input -> [output, tap]) against the library's
  const count = new Map();   // "small,big,tap" -> multiplicity
  const bump = (m, key) => m.set(key, (m.get(key) || 0) + 1);
  const sb = (o, i) => (c.transposed ? [i, o] : [o, i]);
  G.terms.forEach((list, o) => { for (const [i, t] of list) bump(count, sb(o, i).concat(t).join(',')); });
  const lib = new Map();
  for (const [q, b, t, m] of c.relation) lib.set([q, b, t].join(','), m);
  for (const [key, m] of lib) if (count.get(key) !== m)
    return 'tap table: (small, big, tap) = (' + key + ') occurs ' + m + ' time(s) in the library, ' + (count.get(key) || 0) + ' on the page';
  for (const [key, m] of count) if (!lib.has(key)) return 'tap table: (small, big, tap) = (' + key + ') on the page (' + m + 'x), not in the library';
  const spread = new Map();
  G.spread.forEach((list, i) => { for (const [o, t] of list) bump(spread, sb(o, i).concat(t).join(',')); });
  for (const [key, m] of count) if (spread.get(key) !== m) return 'spread and terms disagree on (small, big, tap) = (' + key + ')';
  if (spread.size !== count.size) return 'spread lists ' + spread.size + ' (small, big, tap) triples, terms ' + count.size;

  // outputs: the relation's y and the gather form's y against the library's
  let scale = 1;
  for (const v of c.y) scale = Math.max(scale, Math.abs(v));
  if (G.y.length !== c.y.length || G.gather.y.length !== c.y.length) return 'output length differs from the library\'s ' + c.y.length;
  for (let o = 0; o < c.y.length; ++o) {
    if (!(Math.abs(G.y[o] - c.y[o]) <= 1e-12 * scale)) return 'y[' + o + ']: page ' + G.y[o] + ', library ' + c.y[o];
    if (!(Math.abs(G.gather.y[o] - c.y[o]) <= 1e-12 * scale)) return 'gather form y[' + o + ']: page ' + G.gather.y[o] + ', library ' + c.y[o];
  }

  // the page's own comparison (the green line): the library's W passes, a changed or a missing entry does not
  const cmp = Core.compareWithLibrary(G, c.transposed, c.W, c.y);
  if (!cmp.ok) return 'compareWithLibrary rejects the library\'s own W: ' + JSON.stringify(cmp);
  if (libNnz > 0) {
    const changed = Object.assign({}, c.W, { data: c.W.data.slice() });
    changed.data[libNnz - 1] += 1e-6;
    if (Core.compareWithLibrary(G, c.transposed, changed, c.y).ok) return 'compareWithLibrary accepts a W with an entry changed by 1e-6';
    const missing = { rows: c.W.rows, cols: c.W.cols, indptr: c.W.indptr.map((p) => Math.min(p, libNnz - 1)),
                      indices: c.W.indices.slice(0, -1), data: c.W.data.slice(0, -1) };   // the last entry removed
    if (Core.compareWithLibrary(G, c.transposed, missing, c.y).patternEqual) return 'compareWithLibrary misses a removed entry';
  }
  return '';
}

let failures = 0, first = '';
const seen = { conv: 0, transposed: 0, rejected: 0 };
for (const c of cases) {
  let msg;
  try {
    msg = check(c);
  } catch (e) {
    msg = 'exception: ' + (e && e.stack ? e.stack : e);
  }
  if (msg) {
    if (!failures) first = 'case ' + c.id + ' (' + describe(c) + '): ' + msg;
    ++failures;
  } else if (!c.accepted) ++seen.rejected;
  else ++seen[c.transposed ? 'transposed' : 'conv'];
}
if (failures) {
  console.log('explore_core.js DISAGREES with the library on ' + failures + ' of ' + cases.length + ' configurations; first: ' + first);
  process.exit(1);
}
console.log('explore_core.js agrees with the library on ' + cases.length + ' configurations (' + seen.conv + ' conv, ' +
            seen.transposed + ' transposed computed; ' + seen.rejected + ' rejected by both)');
