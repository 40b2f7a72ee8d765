"""convmtx spectrum and convmtx overlap --weights: the printed sigma_max, sigma_min, condition number
and reshaped-weight norm against numpy's SVDs of W (from convmtx.conv_matrix) and of the reshaped
weight; the rank-deficiency line; --k values; --plot pictures (size, PNG and SVG); the checkerboard
levels against convmtx.checkerboard; exit status 2 with one line for bad values.
The CLI is found through CONVMTX_CLI (set by ctest) or <repo>/build/bin/convmtx."""

import json
import os
import re
import struct
import subprocess

import numpy as np
import pytest

import convmtx
from conftest import find_tool, needs

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLI = os.environ.get("CONVMTX_CLI") or os.path.join(ROOT, "build", "bin", "convmtx")
pytestmark = needs(find_tool(CLI), f"convmtx CLI not found at {CLI} (set CONVMTX_CLI)")


def run(*args):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=300)


def ok(*args):
    p = run(*args)
    assert p.returncode == 0, (args, p.returncode, p.stdout, p.stderr)
    return p.stdout


def value(text, label):
    m = re.search(re.escape(label) + r"[^:\n]*: ([-0-9.e+inf]+)", text)
    assert m, (label, text)
    return float(m.group(1))


@pytest.mark.parametrize("mode, method", [("zeros", "lanczos"), ("circular", "fft"), ("reflect", "dense")])
def test_printed_numbers_match_numpy(tmp_path, mode, method):
    rng = np.random.default_rng(1)
    size = 12 if mode == "reflect" else 16
    w = rng.standard_normal((4, 3, 3, 3))
    np.save(tmp_path / "w.npy", w)
    out = ok("spectrum", "--input", f"3x{size}x{size}", "--padding", 1, "--padding-mode", mode, "--weights",
             tmp_path / "w.npy")
    s = np.linalg.svd(convmtx.conv_matrix((3, size, size), w, padding=1, padding_mode=mode).toarray(), compute_uv=False)
    reshaped = np.linalg.norm(w.reshape(4, -1), 2)
    assert f"method: {method}" in out, out
    assert abs(value(out, "sigma_max") - s[0]) <= 1e-8 * s[0]
    assert abs(value(out, "sigma_min") - s[-1]) <= 1e-6 * s[0]
    assert abs(value(out, "condition number") - s[0] / s[-1]) <= 1e-4 * s[0] / s[-1]
    assert abs(value(out, "reshaped-weight norm") - reshaped) <= 1e-8 * reshaped
    assert abs(value(out, "ratio sigma_max / reshaped-weight norm") - s[0] / reshaped) <= 1e-7


def test_rank_deficiency_and_k_values(tmp_path):
    out = ok("spectrum", "--input", "1x8", "--kernel", 2, "--padding", "1:0", "--padding-mode", "circular", "--weights",
             "ones", "--k", 3, "--which", "smallest")
    assert "sigma_min: 0, W is rank-deficient: nullity 1" in out
    assert "condition number sigma_max / sigma_min: inf" in out
    # 2 |cos(pi f / 8)| for f = 0..7: the three smallest are 0 and 2 sin(pi/8) twice.
    listed = [float(v) for v in re.findall(r"^  ([0-9.e+-]+)$", out, re.M)]
    np.testing.assert_allclose(sorted(listed), [0, 2 * np.sin(np.pi / 8), 2 * np.sin(np.pi / 8)], atol=1e-12)


def test_json_and_transposed(tmp_path):
    rng = np.random.default_rng(2)
    w = rng.standard_normal((3, 2, 4, 4))
    np.save(tmp_path / "t.npy", w)
    j = json.loads(ok("spectrum", "--input", "3x5x5", "--stride", 2, "--padding", 1, "--transposed", "--weights",
                      tmp_path / "t.npy", "--json", "--k", 4))
    T = convmtx.conv_transpose_matrix((3, 5, 5), w, stride=2, padding=1).toarray()
    s = np.linalg.svd(T, compute_uv=False)
    assert abs(j["sigma_max"] - s[0]) <= 1e-10 * s[0]
    np.testing.assert_allclose(j["values"], s[:4], rtol=0, atol=1e-10 * s[0])
    # a transposed conv's spectral_norm reshapes along dim 1 (C_out/groups)
    assert abs(j["reshaped_weight_norm"] - np.linalg.norm(np.moveaxis(w, 1, 0).reshape(2, -1), 2)) < 1e-12 * s[0]


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_plot_writes_png_and_svg(tmp_path):
    args = ["spectrum", "--input", "2x8x8", "--kernel", "3x3", "--out-channels", 2, "--padding", 1, "--weights",
            "random:3"]
    ok(*args, "--padding-mode", "circular", "--plot", tmp_path / "s.png")
    assert png_size(tmp_path / "s.png") == (1000, 420)  # distribution and the frequency heat map
    ok(*args, "--plot", tmp_path / "z.png")
    assert png_size(tmp_path / "z.png") == (560, 420)  # zeros padding: the distribution only
    ok(*args, "--padding-mode", "circular", "--plot", tmp_path / "s.svg")
    svg = (tmp_path / "s.svg").read_text()
    assert svg.count("<image") == 1 and "</svg>" in svg


@pytest.mark.parametrize("args, needle", [
    (["--k", "0"], "--k"),
    (["--k", "100"], "--k 100"),
    (["--which", "middle"], "--which"),
    (["--method", "svd"], "--method"),
    (["--method", "fft"], "block-circulant"),
    (["--tol", "nan"], "--tol"),
    (["--plot", "s.jpg"], "--plot"),
])
def test_bad_values_exit_2_with_one_line(tmp_path, args, needle):
    p = run("spectrum", "--input", "1x8", "--kernel", 3, *args)
    assert p.returncode == 2, (args, p.stdout, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("convmtx spectrum: ") and needle in lines[0], p.stderr


def test_overlap_with_weights_prints_the_levels(tmp_path):
    rng = np.random.default_rng(5)
    w = rng.standard_normal((2, 3, 4, 4))
    np.save(tmp_path / "up.npy", w)
    base = ["overlap", "--input", "2x6x6", "--stride", 2, "--padding", 1, "--transposed"]
    j = json.loads(ok(*base, "--weights", tmp_path / "up.npy", "--json"))
    ref = convmtx.checkerboard(w, 2, padding=1)
    np.testing.assert_allclose(j["levels"]["levels"], ref["levels"].ravel(), atol=1e-12)
    assert j["levels"]["spread"] == pytest.approx(ref["spread"], abs=1e-12) and not j["levels"]["free"]
    text = ok(*base, "--weights", tmp_path / "up.npy")
    assert "relative spread" in text and "checkerboard from the weights" in text
    # all-ones weights: the level verdict agrees with the structural one (k = 4 divisible by s = 2: even)
    ones = json.loads(ok(*base, "--kernel", "4x4", "--out-channels", 3, "--weights", "ones", "--json"))
    assert ones["levels"]["free"] == ones["even"] == True
    odd = json.loads(ok(*base, "--kernel", "3x3", "--out-channels", 3, "--weights", "ones", "--json"))
    assert odd["levels"]["free"] == odd["even"] == False
    # without --weights: no levels
    assert "levels" not in json.loads(ok(*base, "--kernel", "3x3", "--json"))
