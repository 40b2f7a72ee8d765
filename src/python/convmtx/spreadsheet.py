"""A convolution or transposed convolution as a spreadsheet of live formulas (the spreadsheet view of the
MXNet/Excel blog post on transposed convolutions).

    convmtx.to_spreadsheet("tconv.xlsx", (1, 2, 2), np.ones((1, 1, 3, 3)), transposed=True, stride=2)

writes an .xlsx workbook with the input grid(s), the kernel grid(s) and every output cell as a formula
over them, e.g. y[0][2] is ``=B4*G6+C4*G4`` (x[0][0]*w[0][2] + x[0][1]*w[0][0]): change a kernel or input
value in Excel / LibreOffice and the outputs follow.

Which products make up an output cell is read off the library's own matrix (conv_matrix /
conv_transpose_matrix, rows = outputs, built once) and its tap lists (convmtx.tap_lists): output r
is the sum over the stored entries (r, c) of x[c] * w[t], for every kernel tap t that adds into the
entry (several where a padding mode folds taps onto one input). So the formulas are the library's W,
written out; tests/python/test_spreadsheet.py evaluates them and compares with PyTorch.

Layout: one channel in and out -> one sheet (input, kernel, output side by side). Otherwise a sheet
"input" with every input channel, and one sheet "y<o>" per output channel holding the kernel slices
that channel uses (w[o, c', :] for a conv, w[c, o', :] for a transposed conv) and its output grid.
"""

import io
import os

import numpy as np

from . import _core
from . import functional as _f
from ._checks import finite_array, strict_bool
from ._tensors import to_numpy

__all__ = ["to_spreadsheet"]

_MAX_FORMULA = 8192          # Excel's limit on the length of a formula
_MAX_OUTPUT_CELLS = 200_000  # beyond this a spreadsheet is no longer a way to look at a convolution
_MAX_COLUMNS = 16_384        # Excel's column limit


def _terms(spec, weight, transposed, conv_args):
    """For each output flat index r (all channels): the list of (input flat index, weight flat index), by
    input then tap: the stored entries of the operation's matrix (one build, every tap structural) with
    the taps of each entry from the library's tap lists."""
    build = _f.conv_transpose_matrix if transposed else _f.conv_matrix
    M = build(spec.input_shape, weight, index_dtype=np.int64, **conv_args)
    offsets, taps = _core.tap_lists(spec, transposed)
    indptr, indices = M.indptr.tolist(), M.indices.tolist()
    offsets, taps = offsets.tolist(), taps.tolist()
    return [[(indices[e], t) for e in range(indptr[r], indptr[r + 1]) for t in taps[offsets[e]:offsets[e + 1]]]
            for r in range(M.shape[0])]


def _grid2(shape):
    """(rows, cols) of a 1-D or 2-D spatial shape drawn as a grid."""
    return (1, int(shape[0])) if len(shape) == 1 else (int(shape[0]), int(shape[1]))


def _col(n):
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


def _quote(sheet):
    return sheet if sheet.replace("_", "").isalnum() else "'" + sheet.replace("'", "''") + "'"


def to_spreadsheet(path, input_shape, weight, transposed=False, x=None, **conv_args):
    """Write an .xlsx workbook whose output cells are live formulas of the input and kernel cells.

    path: the .xlsx file, written by the library's atomic writer (docs/reliability.md: a new temporary
        file, synced, then renamed; a FIFO or device written directly; the old file kept on failure).
    input_shape: one sample (C_in, n) or (C_in, h, w) (1-D or 2-D).
    weight: the weight tensor, (C_out, C_in/groups, *k) for a conv, (C_in, C_out/groups, *k) for a
        transposed conv; its values fill the kernel grids.
    transposed: False for convmtx.conv, True for convmtx.conv_transpose.
    x: the input values, shape input_shape (default 1, 2, 3, ... in C order).
    conv_args: the options of conv / conv_transpose (stride, padding, dilation, groups, padding_mode,
        output_padding, output_size, convention).
    Output cell y[o][i][j] holds "=" + sum of x[c][...]*w[...] over the taps that reach it (per the
    library's matrix), or "=0" when none does. Returns a dict with the sheet names and, for each
    tensor element, its (sheet, cell): {"sheets", "x", "w", "y"} keyed by index tuples.
    ValueError: a path not ending in .xlsx, a NaN or infinite weight or x value (naming its index), a
    transposed that is not a bool, the configuration errors of conv_spec / conv_transpose_spec.
    """
    try:
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font, PatternFill
    except ImportError as e:  # pragma: no cover - Debian: python3-openpyxl
        raise ImportError("to_spreadsheet needs openpyxl (Debian: python3-openpyxl)") from e

    if not str(path).lower().endswith(".xlsx"):
        raise ValueError(f"path={str(path)!r} must end in .xlsx: to_spreadsheet writes an Excel workbook")
    transposed = strict_bool(transposed, "transposed")
    w = to_numpy(weight, "weight")
    if w.dtype.kind not in "fiu":
        raise ValueError(f"weight has dtype {w.dtype}; its values must be real numbers")
    w = np.asarray(w, dtype=np.float64)
    finite_array(w, "weight", "must be finite: a formula of NaN or Inf computes nothing")
    shape = tuple(int(v) for v in input_shape)
    if w.ndim not in (3, 4):
        raise ValueError(f"weight has {w.ndim} dimensions {tuple(w.shape)}: to_spreadsheet draws 1-D and 2-D "
                         f"convolutions (weight (C, C/groups, k) or (C, C/groups, kh, kw))")
    if transposed:
        spec = _f.conv_transpose_spec(shape, w.shape, **conv_args)
    else:
        spec = _f.conv_spec(shape, w.shape, **conv_args)
    in_shape, out_shape = tuple(spec.input_shape), tuple(spec.output_shape)
    if x is None:
        xv = np.arange(1, int(np.prod(in_shape)) + 1, dtype=np.float64).reshape(in_shape)
    else:
        xv = to_numpy(x, "x")
        if xv.dtype.kind not in "fiu":
            raise ValueError(f"x has dtype {xv.dtype}; its values must be real numbers")
        xv = np.asarray(xv, dtype=np.float64)
        if xv.shape != in_shape:
            raise ValueError(f"x has shape {xv.shape}; input_shape is {in_shape}")
        finite_array(xv, "x", "must be finite: a formula of NaN or Inf computes nothing")
    n_out = int(np.prod(out_shape))
    if n_out > _MAX_OUTPUT_CELLS:
        raise ValueError(f"the output has {n_out} cells (shape {out_shape}); to_spreadsheet writes at most "
                         f"{_MAX_OUTPUT_CELLS} formulas")

    c_in, c_out = in_shape[0], out_shape[0]
    ig, og, kg = _grid2(in_shape[1:]), _grid2(out_shape[1:]), _grid2(w.shape[2:])
    for name, g in (("input", ig), ("output", og)):
        if g[1] + 2 * kg[1] + 8 > _MAX_COLUMNS:
            raise ValueError(f"the {name} is {g[1]} cells wide: more than a spreadsheet's {_MAX_COLUMNS} columns")
    terms = _terms(spec, w, transposed, conv_args)

    # ---- layout: (sheet, row, col) of every element ----
    single = c_in == 1 and c_out == 1
    title = spec.describe()
    op_sheet = lambda o: ("conv_transpose" if transposed else "conv") if single else f"y{o}"  # noqa: E731
    in_sheet = op_sheet(0) if single else "input"
    top = 4  # rows 1-2: description; a block is a label row followed by its grid
    pos_x, pos_w, pos_y = {}, {}, {}
    blocks = []  # (sheet, label, row0, col0, kind, grid shape)
    col0 = 2
    row = top
    for c in range(c_in):
        blocks.append((in_sheet, f"input x[{c}]" if c_in > 1 else "input x", row, col0, "x", ig))
        for i in range(ig[0]):
            for j in range(ig[1]):
                pos_x[(c, i, j)] = (in_sheet, row + 1 + i, col0 + j)
        row += ig[0] + 2
    # which kernel slices each output channel uses: (a, b) of w[a, b, ...]
    per_group_out = c_out // spec.groups
    in_per_group = spec.weight_shape[0] // spec.groups
    slices = {o: [] for o in range(c_out)}
    if transposed:  # weight (C_in, C_out/G, k): output channel g*C_out/G + o' uses w[c, o'] for c of group g
        for c in range(w.shape[0]):
            g = c // in_per_group
            for op in range(w.shape[1]):
                slices[g * per_group_out + op].append((c, op))
    else:  # weight (C_out, C_in/G, k): output channel o uses w[o, c'] for every c'
        for o in range(c_out):
            slices[o] = [(o, cp) for cp in range(w.shape[1])]
    k_col = col0 + ig[1] + 2 if single else col0
    y_col = k_col + kg[1] + 2
    for o in range(c_out):
        sheet = op_sheet(o)
        row = top
        for a, b in slices[o]:
            label = "kernel w" if single else f"kernel w[{a}][{b}]"
            blocks.append((sheet, label, row, k_col, "w", kg))
            for i in range(kg[0]):
                for j in range(kg[1]):
                    pos_w[(a, b, i, j)] = (sheet, row + 1 + i, k_col + j)
            row += kg[0] + 2
        blocks.append((sheet, ("output y" if single else f"output y[{o}]") + (" = Wᵀx" if transposed else " = W x"),
                       top, y_col, "y", og))
        for i in range(og[0]):
            for j in range(og[1]):
                pos_y[(o, i, j)] = (sheet, top + 1 + i, y_col + j)

    def grid_index(flat_spatial, g):
        return divmod(flat_spatial, g[1])

    def ref(pos, from_sheet):
        sheet, r, c = pos
        a = f"{_col(c)}{r}"
        return a if sheet == from_sheet else f"{_quote(sheet)}!{a}"

    # ---- workbook ----
    wb = Workbook()
    wb.remove(wb.active)
    sheets = {}
    for name in ([in_sheet] if not single else []) + [op_sheet(o) for o in range(c_out)]:
        ws = wb.create_sheet(name)
        sheets[name] = ws
        ws["A1"] = "convmtx.to_spreadsheet: " + title
        ws["A1"].font = Font(bold=True)
        ws["A2"] = ("Every output cell is a live formula over the input and kernel cells (the library's matrix "
                    "W written out): change a value and the outputs follow.")
    fills = {"x": PatternFill("solid", fgColor="FFE8CC"), "w": PatternFill("solid", fgColor="D3F9D8"),
             "y": PatternFill("solid", fgColor="D0EBFF")}
    for sheet, label, r0, c0, kind, g in blocks:
        ws = sheets[sheet]
        ws.cell(row=r0, column=c0, value=label).font = Font(bold=True)
        for i in range(g[0]):
            for j in range(g[1]):
                cell = ws.cell(row=r0 + 1 + i, column=c0 + j)
                cell.fill = fills[kind]
                cell.alignment = Alignment(horizontal="center")
    for (c, i, j), pos in pos_x.items():
        sheets[pos[0]].cell(row=pos[1], column=pos[2], value=float(xv[(c,) + ((j,) if len(in_shape) == 2 else (i, j))]))
    for (a, b, i, j), pos in pos_w.items():
        sheets[pos[0]].cell(row=pos[1], column=pos[2], value=float(w[(a, b) + ((j,) if w.ndim == 3 else (i, j))]))

    in_sp, out_sp, k_sp = int(np.prod(in_shape[1:])), int(np.prod(out_shape[1:])), int(np.prod(w.shape[2:]))
    wslice = int(w.shape[1]) * k_sp
    n_formulas = 0
    for r in range(n_out):
        o, q = divmod(r, out_sp)
        qi, qj = grid_index(q, og)
        pos = pos_y[(o, qi, qj)]
        parts = []
        for c_flat, t in terms[r]:
            c, p = divmod(c_flat, in_sp)
            pi, pj = grid_index(p, ig)
            a, rest = divmod(t, wslice)
            b, tk = divmod(rest, k_sp)
            ti, tj = grid_index(tk, kg)
            parts.append(ref(pos_x[(c, pi, pj)], pos[0]) + "*" + ref(pos_w[(a, b, ti, tj)], pos[0]))
        formula = "=" + ("+".join(parts) if parts else "0")
        if len(formula) > _MAX_FORMULA:
            raise ValueError(f"the formula of output {(o, qi, qj)} has {len(parts)} products "
                             f"({len(formula)} characters): more than a spreadsheet's {_MAX_FORMULA}")
        sheets[pos[0]].cell(row=pos[1], column=pos[2], value=formula)
        n_formulas += 1

    wb.calculation.fullCalcOnLoad = True  # Excel / LibreOffice compute every formula when the file opens
    data = io.BytesIO()
    wb.save(data)
    _core.write_file_atomic(os.fspath(path), data.getvalue())  # the library's atomic writer, as every file

    def addr(table):
        return {k: (s, f"{_col(c)}{r}") for k, (s, r, c) in table.items()}

    return {"sheets": list(sheets), "x": addr(pos_x), "w": addr(pos_w), "y": addr(pos_y), "formulas": n_formulas}
