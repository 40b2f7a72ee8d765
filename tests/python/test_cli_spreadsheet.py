"""convmtx spreadsheet (the C++ .xlsx writer): the workbook read back by openpyxl has, cell for cell, the layout,
numbers and formulas of convmtx.to_spreadsheet (tested against PyTorch and LibreOffice in test_spreadsheet.py);
its formulas, computed by that file's independent evaluator, give PyTorch's outputs; LibreOffice opens the
C++ file and computes the same values itself; bad configurations are usage errors that write nothing."""

import csv
import os
import shutil
import subprocess

import numpy as np
import pytest

import convmtx
from conftest import find_tool, import_optional, needs, require_tool
from test_spreadsheet import Evaluator, evaluate_outputs, torch_reference

openpyxl = import_optional("openpyxl")
HERE = os.path.dirname(os.path.abspath(__file__))
CLI = os.environ.get("CONVMTX_CLI") or os.path.join(HERE, "..", "..", "build", "bin", "convmtx")
pytestmark = [needs(openpyxl, "reading .xlsx needs openpyxl (Debian: python3-openpyxl)"),
              needs(find_tool(CLI), f"convmtx CLI not found at {CLI} (set CONVMTX_CLI)")]

CASES = {
    "d2l": dict(x=np.arange(9.0).reshape(1, 3, 3), w=np.array([[[[0.0, 1], [2, 3]]]]), transposed=False, stride=1,
                padding=0, dilation=1, groups=1, output_padding=0, padding_mode="zeros"),
    "tconv_groups": dict(x=np.arange(-8.0, 28).reshape(4, 3, 3) / 4, w=np.arange(24.0).reshape(4, 1, 3, 2) - 7,
                         transposed=True, stride=2, padding=1, dilation=1, groups=2, output_padding=1,
                         padding_mode="zeros"),
    "conv1d_circular": dict(x=np.arange(14.0).reshape(2, 7) - 5, w=np.arange(18.0).reshape(3, 2, 3) - 9,
                            transposed=False, stride=2, padding=2, dilation=2, groups=1, output_padding=0,
                            padding_mode="circular"),
    "conv2d_reflect": dict(x=np.arange(30.0).reshape(1, 5, 6) % 7, w=np.arange(9.0).reshape(1, 1, 3, 3) - 4,
                           transposed=False, stride=1, padding=2, dilation=1, groups=1, output_padding=0,
                           padding_mode="reflect"),
}


def cli_flags(case):
    x, w = case["x"], case["w"]
    r = w.ndim - 2
    k = "x".join(map(str, w.shape[2:]))
    out_ch = w.shape[1] * case["groups"] if case["transposed"] else w.shape[0]
    f = ["--input", "x".join(map(str, x.shape)), "--kernel", k, "--out-channels", out_ch, "--groups", case["groups"],
         "--stride", "x".join([str(case["stride"])] * r), "--padding", "x".join([str(case["padding"])] * r),
         "--dilation", "x".join([str(case["dilation"])] * r)]
    if case["transposed"]:
        f += ["--transposed", "--output-padding", "x".join([str(case["output_padding"])] * r)]
    else:
        f += ["--padding-mode", case["padding_mode"]]
    return f


def run(*args, check=True):
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"convmtx {' '.join(map(str, args))} exited {p.returncode}: {p.stderr}")
    return p


def write_cli(tmp_path, name, case):
    np.save(tmp_path / f"{name}_w.npy", case["w"])
    np.save(tmp_path / f"{name}_x.npy", case["x"])
    path = tmp_path / f"{name}.xlsx"
    out = run("spreadsheet", *cli_flags(case), "--weights", tmp_path / f"{name}_w.npy",
              "--input-values", tmp_path / f"{name}_x.npy", "-o", path).stdout
    return path, out


def python_workbook(tmp_path, name, case):
    args = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    if case["transposed"]:
        args["output_padding"] = case["output_padding"]
    else:
        args["padding_mode"] = case["padding_mode"]
    path = tmp_path / f"{name}_py.xlsx"
    layout = convmtx.to_spreadsheet(str(path), case["x"].shape, case["w"], transposed=case["transposed"], x=case["x"],
                                    **args)
    return path, layout


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_workbook_as_python(tmp_path, name):
    case = CASES[name]
    cli_path, out = write_cli(tmp_path, name, case)
    py_path, layout = python_workbook(tmp_path, name, case)
    a, b = openpyxl.load_workbook(cli_path), openpyxl.load_workbook(py_path)
    assert a.sheetnames == b.sheetnames == layout["sheets"]
    n_formulas = 0
    for sheet in a.sheetnames:
        ca = {c.coordinate: c.value for row in a[sheet].iter_rows() for c in row if c.value is not None}
        cb = {c.coordinate: c.value for row in b[sheet].iter_rows() for c in row if c.value is not None}
        assert ca.pop("A1").startswith("convmtx spreadsheet: ") and cb.pop("A1").startswith("convmtx.to_spreadsheet: ")
        assert ca == cb, sheet
        n_formulas += sum(isinstance(v, str) and v.startswith("=") for v in ca.values())
        assert a[sheet]["B5"].fill.fgColor.rgb[-6:] == b[sheet]["B5"].fill.fgColor.rgb[-6:]  # RGB (alpha aside)
    assert f"{n_formulas} output formulas" in out and n_formulas == len(layout["y"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_formulas_compute_pytorch(tmp_path, torch, name):
    case = CASES[name]
    cli_path, _ = write_cli(tmp_path, name, case)
    _, layout = python_workbook(tmp_path, name, case)
    ref = torch_reference(torch, **case)
    np.testing.assert_allclose(evaluate_outputs(cli_path, layout, ref.shape), ref, rtol=1e-12, atol=1e-12)


def test_default_values_are_explains(tmp_path):
    path = tmp_path / "t.xlsx"
    out = run("spreadsheet", "--input", "1x2x2", "--kernel", "3x3", "--stride", "2", "--transposed", "--weights", "ones",
              "-o", path).stdout
    assert out.startswith(f"wrote {path}: 1 sheet, 25 output formulas; conv_transpose2d")
    ws = openpyxl.load_workbook(path)["conv_transpose"]
    assert [[ws.cell(5 + i, 2 + j).value for j in range(2)] for i in range(2)] == [[1, 2], [3, 4]]  # count: 1, 2, 3, ...
    # d2l's example: [[1, 2], [3, 4]] with a 3x3 kernel of ones at stride 2 -> PyTorch's 5x5 ConvTranspose2d result.
    # The output grid starts right of the kernel: column 2 + 2 (input) + 2 + 3 (kernel) + 2 = 11 (K), row 5.
    ev = Evaluator(openpyxl.load_workbook(path))
    y = [[ev.value("conv_transpose", openpyxl.utils.get_column_letter(11 + j) + str(5 + i)) for j in range(5)]
         for i in range(5)]
    assert y == [[1, 1, 3, 2, 2], [1, 1, 3, 2, 2], [4, 4, 10, 6, 6], [3, 3, 7, 4, 4], [3, 3, 7, 4, 4]]


@pytest.mark.parametrize("args, message", [
    (["--input", "1x3x3x3", "--kernel", "2x2x2"], "--kernel 2x2x2: a spreadsheet draws 1-D and 2-D"),
    (["--input", "1x600x600", "--kernel", "1x1"], "a spreadsheet holds at most 200000 formulas"),
    (["--kernel", "3x3"], "--input"),
])
def test_errors_write_nothing(tmp_path, args, message):
    p = run("spreadsheet", *args, "-o", tmp_path / "e.xlsx", check=False)
    assert p.returncode == 2 and message in p.stderr and p.stdout == ""
    assert not (tmp_path / "e.xlsx").exists()
    p = run("spreadsheet", "--input", "1x3x3", "--kernel", "2x2", "-o", tmp_path / "e.xls", check=False)
    assert p.returncode == 2 and "must end in .xlsx" in p.stderr


SOFFICE = "/usr/bin/soffice"


def test_libreoffice_computes_the_cli_workbook(tmp_path, torch):
    require_tool(SOFFICE, f"{SOFFICE} is missing (Debian: libreoffice-calc-nogui)")
    case = CASES["tconv_groups"]
    path, _ = write_cli(tmp_path, "lo", case)
    _, layout = python_workbook(tmp_path, "lo", case)
    out = tmp_path / "csv"
    r = subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo-profile",
                        "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                        "--outdir", out, path], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    ref = torch_reference(torch, **case)
    grids = {}
    for sheet in layout["sheets"]:
        with open(out / f"lo-{sheet}.csv", newline="") as fh:
            grids[sheet] = list(csv.reader(fh))
    y = np.zeros(ref.shape)
    for (o, i, j), (sheet, addr) in layout["y"].items():
        col, row = openpyxl.utils.cell.coordinate_from_string(addr)
        y[(o, j) if ref.ndim == 2 else (o, i, j)] = float(grids[sheet][row - 1][openpyxl.utils.column_index_from_string(col) - 1])
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-12)
    shutil.rmtree(tmp_path / "lo-profile", ignore_errors=True)
