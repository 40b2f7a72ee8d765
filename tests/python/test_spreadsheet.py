"""convmtx.to_spreadsheet: every output cell is a live formula over the input and kernel cells.

The workbook is read back with openpyxl and every formula is computed by the small evaluator below
(cell references across sheets, numbers, + and *, parentheses), written independently of the writer.
The values are compared with PyTorch (float64) and with convmtx.conv / conv_transpose; then kernel
and input cells are changed in the file and the recomputed outputs follow.
"""

import os
import re

import numpy as np
import pytest

import convmtx
from conftest import import_optional, needs, require_tool

openpyxl = import_optional("openpyxl")
pytestmark = needs(openpyxl, "to_spreadsheet needs openpyxl (Debian: python3-openpyxl)")


# ---- a formula evaluator -------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<ref>(?:(?:'(?:[^']|'')+'|[A-Za-z_][A-Za-z0-9_]*)!)?\$?[A-Z]{1,3}\$?[0-9]+)"
                    r"|(?P<num>[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)|(?P<op>[-+*()]))")


class Evaluator:
    """Values of a workbook's cells; a formula is '=' expr, expr := term (('+'|'-') term)*,
    term := factor ('*' factor)*, factor := number | reference | '(' expr ')' | '-' factor."""

    def __init__(self, wb):
        self.wb = wb
        self.cache = {}

    def value(self, sheet, addr):
        key = (sheet, addr.replace("$", ""))
        if key not in self.cache:
            v = self.wb[sheet][key[1]].value
            if isinstance(v, str) and v.startswith("="):
                v = self.formula(v[1:], sheet)
            elif v is None:
                v = 0.0
            elif not isinstance(v, (int, float)):
                raise AssertionError(f"{sheet}!{addr} holds {v!r}, not a number or a formula")
            self.cache[key] = float(v)
        return self.cache[key]

    def formula(self, text, sheet):
        tokens, pos = [], 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise AssertionError(f"cannot parse formula {text!r} at {text[pos:]!r}")
            tokens.append((m.lastgroup, m.group(m.lastgroup)))
            pos = m.end()
        self.tokens, self.i, self.sheet = tokens, 0, sheet
        v = self.expr()
        assert self.i == len(tokens), f"trailing tokens in {text!r}"
        return v

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def expr(self):
        v = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.tokens[self.i][1]
            self.i += 1
            v = v + self.term() if op == "+" else v - self.term()
        return v

    def term(self):
        v = self.factor()
        while self.peek() == ("op", "*"):
            self.i += 1
            v = v * self.factor()
        return v

    def factor(self):
        kind, text = self.peek()
        self.i += 1
        if kind == "num":
            return float(text)
        if kind == "ref":
            sheet = self.sheet
            if "!" in text:
                sheet, text = text.rsplit("!", 1)
                if sheet.startswith("'"):
                    sheet = sheet[1:-1].replace("''", "'")
            saved = (self.tokens, self.i, self.sheet)
            v = self.value(sheet, text)
            self.tokens, self.i, self.sheet = saved
            return v
        if (kind, text) == ("op", "("):
            v = self.expr()
            assert self.peek() == ("op", ")")
            self.i += 1
            return v
        if (kind, text) == ("op", "-"):
            return -self.factor()
        raise AssertionError(f"unexpected token {text!r}")


def evaluate_outputs(path, layout, out_shape):
    wb = openpyxl.load_workbook(path)
    ev = Evaluator(wb)
    y = np.zeros(out_shape)
    for (o, i, j), (sheet, addr) in layout["y"].items():
        cell = wb[sheet][addr].value
        assert isinstance(cell, str) and cell.startswith("="), f"{sheet}!{addr} is not a formula: {cell!r}"
        y[(o, j) if len(out_shape) == 2 else (o, i, j)] = ev.value(sheet, addr)
    return y


# ---- references --------------------------------------------------------------------------------

def torch_reference(torch, x, w, transposed, stride, padding, dilation, groups, output_padding, padding_mode):
    F = torch.nn.functional
    xt, wt = torch.tensor(x)[None], torch.tensor(w)
    rank = w.ndim - 2
    if transposed:
        fn = F.conv_transpose1d if rank == 1 else F.conv_transpose2d
        y = fn(xt, wt, stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation)
    else:
        fn = F.conv1d if rank == 1 else F.conv2d
        if padding_mode != "zeros":
            xt = F.pad(xt, (padding,) * (2 * rank), mode=padding_mode)
            padding = 0
        y = fn(xt, wt, stride=stride, padding=padding, groups=groups, dilation=dilation)
    return y[0].numpy()


def random_case(rng):
    rank = int(rng.integers(1, 3))
    transposed = bool(rng.integers(2))
    groups = int(rng.choice([1, 1, 2]))
    c_in = groups * int(rng.integers(1, 3))
    c_out = groups * int(rng.integers(1, 3))
    k = int(rng.integers(1, 4))
    s = int(rng.integers(1, 4))
    d = int(rng.integers(1, 3))
    n = [int(v) for v in rng.integers(3, 7, rank)]
    p = int(rng.integers(0, 3))
    a = int(rng.integers(0, max(s, d))) if transposed else 0
    mode = "zeros" if transposed else str(rng.choice(["zeros", "zeros", "circular", "reflect", "replicate"]))
    if mode == "reflect":
        p = min(p, min(n) - 1)
    wshape = (c_in, c_out // groups) if transposed else (c_out, c_in // groups)
    w = rng.integers(-3, 4, wshape + (k,) * rank).astype(np.float64)
    x = rng.integers(-4, 5, (c_in, *n)).astype(np.float64)
    return dict(x=x, w=w, transposed=transposed, stride=s, padding=p, dilation=d, groups=groups,
                output_padding=a, padding_mode=mode)


def write(tmp_path, name, case):
    args = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"], groups=case["groups"])
    if case["transposed"]:
        args["output_padding"] = case["output_padding"]
    else:
        args["padding_mode"] = case["padding_mode"]
    path = os.path.join(tmp_path, name + ".xlsx")
    layout = convmtx.to_spreadsheet(path, case["x"].shape, case["w"], transposed=case["transposed"], x=case["x"],
                                    **args)
    lib = (convmtx.conv_transpose if case["transposed"] else convmtx.conv)(case["x"], case["w"], **args)
    return path, layout, lib


# ---- tests ---------------------------------------------------------------------------------------

def test_blog_post_ones_example(tmp_path):
    """The MXNet/Excel blog post's example: 4x4 ones, 3x3 kernel of ones, Conv2DTranspose -> the 6x6 output."""
    path = os.path.join(tmp_path, "ones.xlsx")
    layout = convmtx.to_spreadsheet(path, (1, 4, 4), np.ones((1, 1, 3, 3)), transposed=True, x=np.ones((1, 4, 4)))
    assert layout["sheets"] == ["conv_transpose"] and layout["formulas"] == 36
    y = evaluate_outputs(path, layout, (1, 6, 6))
    assert y[0].tolist() == [[1, 2, 3, 3, 2, 1], [2, 4, 6, 6, 4, 2], [3, 6, 9, 9, 6, 3],
                             [3, 6, 9, 9, 6, 3], [2, 4, 6, 6, 4, 2], [1, 2, 3, 3, 2, 1]]
    # the top-left output collects one product: x[0][0] * w[0][0]; the corner of a padding-2 conv ...
    wb = openpyxl.load_workbook(path)
    sheet, addr = layout["y"][(0, 0, 0)]
    assert wb[sheet][addr].value == f"={layout['x'][(0, 0, 0)][1]}*{layout['w'][(0, 0, 0, 0)][1]}"
    # ... and y[0][1] = x[0][0]*w[0][1] + x[0][1]*w[0][0] (input order), all on one sheet
    X, W = (lambda i, j: layout["x"][(0, i, j)][1]), (lambda i, j: layout["w"][(0, 0, i, j)][1])
    assert wb[sheet][layout["y"][(0, 0, 1)][1]].value == f"={X(0, 0)}*{W(0, 1)}+{X(0, 1)}*{W(0, 0)}"


def test_d2l_example_and_formula_text(tmp_path, torch):
    """d2l's trans_conv: [[0,1],[2,3]] and kernel [[0,1],[2,3]] -> [[0,0,1],[0,4,6],[4,12,9]]."""
    path = os.path.join(tmp_path, "d2l.xlsx")
    x = np.array([[[0.0, 1], [2, 3]]])
    layout = convmtx.to_spreadsheet(path, (1, 2, 2), x.reshape(1, 1, 2, 2), transposed=True, x=x)
    y = evaluate_outputs(path, layout, (1, 3, 3))
    assert y[0].tolist() == [[0, 0, 1], [0, 4, 6], [4, 12, 9]]
    wb = openpyxl.load_workbook(path)
    X, W = (lambda i, j: layout["x"][(0, i, j)][1]), (lambda i, j: layout["w"][(0, 0, i, j)][1])
    centre = wb["conv_transpose"][layout["y"][(0, 1, 1)][1]].value
    assert centre == f"={X(0, 0)}*{W(1, 1)}+{X(0, 1)}*{W(1, 0)}+{X(1, 0)}*{W(0, 1)}+{X(1, 1)}*{W(0, 0)}"


def test_many_configurations_against_torch(tmp_path, torch, rng):
    checked = 0
    for case_no in range(40):
        case = random_case(rng)
        try:
            path, layout, lib = write(tmp_path, f"case{case_no}", case)
        except ValueError:
            # the library rejects the configuration (e.g. the output would be empty): so must torch
            with pytest.raises(RuntimeError):
                torch_reference(torch, **case)
            continue
        ref = torch_reference(torch, **case)
        y = evaluate_outputs(path, layout, ref.shape)
        np.testing.assert_allclose(y, ref, rtol=0, atol=1e-9, err_msg=str({k: v for k, v in case.items() if k != "x"}))
        np.testing.assert_allclose(y, lib, rtol=0, atol=1e-9)
        c_out = ref.shape[0]
        assert layout["sheets"] == ([("conv_transpose" if case["transposed"] else "conv")]
                                    if case["x"].shape[0] == 1 and c_out == 1 else
                                    ["input"] + [f"y{o}" for o in range(c_out)])
        checked += 1
    assert checked >= 30


@pytest.mark.parametrize("padding,transposed", [(((0, 2), (1, 0)), True), (((2, 1), (0, 2)), False)])
def test_asymmetric_padding(tmp_path, rng, padding, transposed):
    w = rng.integers(-3, 4, (2, 2, 3, 2)).astype(np.float64)
    x = rng.integers(-4, 5, (2, 4, 5)).astype(np.float64)
    path = os.path.join(tmp_path, "asym.xlsx")
    fn = convmtx.conv_transpose if transposed else convmtx.conv
    lib = fn(x, w, stride=2, padding=padding, dilation=(1, 2))
    layout = convmtx.to_spreadsheet(path, x.shape, w, transposed=transposed, x=x, stride=2, padding=padding,
                                    dilation=(1, 2))
    np.testing.assert_allclose(evaluate_outputs(path, layout, lib.shape), lib, rtol=0, atol=1e-12)


def test_outputs_follow_kernel_and_input_edits(tmp_path, torch, rng):
    case = dict(x=rng.integers(-4, 5, (2, 4, 4)).astype(np.float64),
                w=rng.integers(-3, 4, (2, 3, 3, 3)).astype(np.float64), transposed=True, stride=2, padding=1,
                dilation=1, groups=1, output_padding=1, padding_mode="zeros")
    path, layout, _ = write(tmp_path, "edit", case)
    wb = openpyxl.load_workbook(path)
    # change two kernel cells and one input cell in the file, as a user would in Excel
    edits_w = {(1, 2, 0, 1): 7.5, (0, 0, 2, 2): -2.25}
    for key, v in edits_w.items():
        sheet, addr = layout["w"][key]
        assert wb[sheet][addr].value == case["w"][key]
        wb[sheet][addr].value = v
        case["w"][key] = v
    sheet, addr = layout["x"][(1, 3, 0)]
    assert wb[sheet][addr].value == case["x"][1, 3, 0]
    wb[sheet][addr].value = 10.0
    case["x"][1, 3, 0] = 10.0
    edited = os.path.join(tmp_path, "edited.xlsx")
    wb.save(edited)
    ref = torch_reference(torch, **case)
    y = evaluate_outputs(edited, layout, ref.shape)
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-12)
    # the untouched file still gives the old result (the edit, not a rewrite, changed the outputs)
    assert not np.allclose(evaluate_outputs(path, layout, ref.shape), ref)


def test_one_dimensional_and_default_values(tmp_path):
    path = os.path.join(tmp_path, "oned.xlsx")
    w = np.array([[[1.0, -1.0, 2.0]]])
    layout = convmtx.to_spreadsheet(path, (1, 5), w, stride=2)  # x defaults to 1, 2, 3, ...
    y = evaluate_outputs(path, layout, (1, 2))
    x = np.arange(1, 6.0)
    assert y[0].tolist() == [x[0] - x[1] + 2 * x[2], x[2] - x[3] + 2 * x[4]]
    assert sorted(layout["x"]) == [(0, 0, j) for j in range(5)]


def test_errors(tmp_path):
    p = os.path.join(tmp_path, "e.xlsx")
    with pytest.raises(ValueError, match="1-D and 2-D"):
        convmtx.to_spreadsheet(p, (1, 3, 3, 3), np.ones((1, 1, 2, 2, 2)))
    with pytest.raises(ValueError, match="x has shape"):
        convmtx.to_spreadsheet(p, (1, 3, 3), np.ones((1, 1, 2, 2)), x=np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"output_padding\[0\]=2 must be smaller than stride\[0\]=2"):
        convmtx.to_spreadsheet(p, (1, 3, 3), np.ones((1, 1, 2, 2)), transposed=True, stride=2, output_padding=2)
    assert not os.path.exists(p)
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".convmtx-")]  # no temporary file left behind


# ---- a real spreadsheet engine ---------------------------------------------------------------------

SOFFICE = "/usr/bin/soffice"


def test_libreoffice_recalculates(tmp_path, torch, rng):
    """LibreOffice (headless) opens the workbooks, computes every formula itself and exports the values."""
    import csv
    import shutil
    import subprocess

    require_tool(SOFFICE, f"{SOFFICE} is missing (Debian: libreoffice-calc-nogui)")
    cases = {
        "ones": dict(x=np.ones((1, 4, 4)), w=np.ones((1, 1, 3, 3)), transposed=True, stride=1, padding=0, dilation=1,
                     groups=1, output_padding=0, padding_mode="zeros"),
        "groups": dict(x=rng.integers(-4, 5, (4, 3, 3)).astype(float), w=rng.integers(-3, 4, (4, 1, 3, 2)).astype(float),
                       transposed=True, stride=2, padding=1, dilation=1, groups=2, output_padding=1,
                       padding_mode="zeros"),
        "circular": dict(x=rng.integers(-4, 5, (2, 7)).astype(float), w=rng.integers(-3, 4, (3, 2, 3)).astype(float),
                         transposed=False, stride=2, padding=2, dilation=2, groups=1, output_padding=0,
                         padding_mode="circular"),
        "reflect": dict(x=rng.integers(-4, 5, (1, 5, 6)).astype(float), w=rng.integers(-3, 4, (1, 1, 3, 3)).astype(float),
                        transposed=False, stride=1, padding=2, dilation=1, groups=1, output_padding=0,
                        padding_mode="reflect"),
    }
    layouts, refs = {}, {}
    for name, case in cases.items():
        _, layouts[name], _ = write(tmp_path, name, case)
        refs[name] = torch_reference(torch, **case)
    # one kernel cell changed in the file, as a user would: the engine's outputs must follow
    wb = openpyxl.load_workbook(os.path.join(tmp_path, "groups.xlsx"))
    sheet, addr = layouts["groups"]["w"][(3, 0, 1, 1)]
    wb[sheet][addr].value = 7.5
    wb.save(os.path.join(tmp_path, "edited.xlsx"))
    edited = dict(cases["groups"], w=cases["groups"]["w"].copy())
    edited["w"][3, 0, 1, 1] = 7.5
    layouts["edited"], refs["edited"] = layouts["groups"], torch_reference(torch, **edited)
    assert not np.allclose(refs["edited"], refs["groups"])

    out = os.path.join(tmp_path, "csv")
    files = [os.path.join(tmp_path, n + ".xlsx") for n in layouts]
    r = subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo-profile",
                        "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                        "--outdir", out, *files], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    for name, layout in layouts.items():
        grids = {}
        for sheet in layout["sheets"]:
            with open(os.path.join(out, f"{name}-{sheet}.csv"), encoding="utf-8") as f:
                grids[sheet] = list(csv.reader(f))
        ref = refs[name]
        y = np.zeros(ref.shape)
        for (o, i, j), (sheet, addr) in layout["y"].items():
            m = re.fullmatch(r"([A-Z]+)([0-9]+)", addr)
            col = openpyxl.utils.column_index_from_string(m.group(1))
            y[(o, j) if ref.ndim == 2 else (o, i, j)] = float(grids[sheet][int(m.group(2)) - 1][col - 1])
        np.testing.assert_allclose(y, ref, rtol=0, atol=1e-12, err_msg=name)
    shutil.rmtree(out, ignore_errors=True)
