"""The inspection commands of the convmtx CLI (build, inspect, spy, explain, overlap), checked
against matrices computed independently here with PyTorch (W column by column from unit inputs),
scipy's readers (scipy.io.mmread, scipy.sparse.load_npz) and a small PNG decoder.

The CLI is found through CONVMTX_CLI (set by ctest) or <repo>/build/bin/convmtx.
"""

import json
import os
import re
import signal
import stat
import struct
import subprocess
import time
import zlib

import numpy as np
import pytest
import scipy.io
import scipy.sparse

from conftest import find_tool, needs

HERE = os.path.dirname(os.path.abspath(__file__))
CLI = os.environ.get("CONVMTX_CLI") or os.path.join(HERE, "..", "..", "build", "bin", "convmtx")

pytestmark = needs(find_tool(CLI), f"convmtx CLI not found at {CLI} (set CONVMTX_CLI)")

def run(*args, check=True):
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"convmtx {' '.join(map(str, args))} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


# ---------------------------------------------------------------- references

CONFIGS = {
    # name: (flags, description for the torch reference)
    "conv2d_s2_p1": dict(input=(1, 4, 4), kernel=(3, 3), stride=2, padding=1),
    "conv2d_channels": dict(input=(2, 5, 4), kernel=(3, 2), out_channels=3, padding=1),
    "conv2d_groups_dilation": dict(input=(4, 6, 6), kernel=(2, 2), out_channels=2, groups=2, dilation=2, stride=(1, 2)),
    "conv1d_reflect": dict(input=(2, 7), kernel=(3,), padding=2, padding_mode="reflect", out_channels=1),
    "conv2d_circular": dict(input=(1, 4, 5), kernel=(3, 3), padding=1, padding_mode="circular"),
    "conv3d": dict(input=(1, 3, 4, 3), kernel=(2, 2, 2), stride=(1, 2, 1), padding=1),
    "tconv2d_k3s2": dict(input=(1, 2, 2), kernel=(3, 3), stride=2, transposed=True),
    "tconv2d_outpad": dict(input=(2, 3, 3), kernel=(3, 3), stride=2, padding=1, output_padding=1, transposed=True,
                           out_channels=1),
    "tconv1d_groups": dict(input=(4, 5), kernel=(4,), stride=3, groups=2, out_channels=2, dilation=2, transposed=True),
}


def dims(v, r):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * r


def weight_shape(cfg):
    c_in = cfg["input"][0]
    c_out = cfg.get("out_channels", c_in)
    g = cfg.get("groups", 1)
    k = tuple(cfg["kernel"])
    return (c_in, c_out // g) + k if cfg.get("transposed") else (c_out, c_in // g) + k


def flags(cfg, weights):
    f = ["--input", "x".join(map(str, cfg["input"])), "--kernel", "x".join(map(str, cfg["kernel"]))]
    for key in ("stride", "padding", "dilation", "output_padding"):
        if key in cfg:
            f += ["--" + key.replace("_", "-"), "x".join(map(str, dims(cfg[key], len(cfg["kernel"]))))]
    for key in ("groups", "out_channels", "padding_mode"):
        if key in cfg:
            f += ["--" + key.replace("_", "-"), str(cfg[key])]
    if cfg.get("transposed"):
        f.append("--transposed")
    return f + ["--weights", weights]


def operator_matrix(torch, cfg, weight):
    """The operation's matrix M (y = M x) computed by PyTorch from unit inputs: W for a conv, T for a transposed conv."""
    F = torch.nn.functional
    r = len(cfg["kernel"])
    shape = tuple(cfg["input"])
    n = int(np.prod(shape))
    eye = torch.eye(n, dtype=torch.float64).reshape((n,) + shape)
    w = torch.from_numpy(np.asarray(weight, dtype=np.float64))
    stride, dil = dims(cfg.get("stride", 1), r), dims(cfg.get("dilation", 1), r)
    pad, groups = dims(cfg.get("padding", 0), r), cfg.get("groups", 1)
    if cfg.get("transposed"):
        op = [F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d][r - 1]
        out = op(eye, w, stride=stride, padding=pad, output_padding=dims(cfg.get("output_padding", 0), r),
                 groups=groups, dilation=dil)
    else:
        conv = [F.conv1d, F.conv2d, F.conv3d][r - 1]
        mode = cfg.get("padding_mode", "zeros")
        if mode != "zeros":
            p = []
            for j in reversed(range(r)):
                p += [pad[j], pad[j]]
            eye = F.pad(eye, p, mode=mode)
            pad = (0,) * r
        out = conv(eye, w, stride=stride, padding=pad, groups=groups, dilation=dil)
    return out.reshape(n, -1).numpy().T.copy()


def arange_weight(cfg):
    shape = weight_shape(cfg)
    return np.arange(np.prod(shape), dtype=np.float64).reshape(shape)


# ---------------------------------------------------------------- PNG decoding


def decode_png(path):
    """A minimal PNG decoder (8-bit RGB or RGBA, no interlace): returns (width, height, pixels[y][x] -> (r, g, b))."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = ihdr
    assert depth == 8 and color in (2, 6) and interlace == 0
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])
        prev = line
    return width, height, rows


# ---------------------------------------------------------------- build


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_build_files_equal_the_torch_matrix(torch, tmp_path, rng, name):
    cfg = CONFIGS[name]
    weight = rng.uniform(-1, 1, size=weight_shape(cfg))
    np.save(tmp_path / "w.npy", weight)
    M = operator_matrix(torch, cfg, weight)
    f = flags(cfg, str(tmp_path / "w.npy"))
    out = run("build", *f, "-o", tmp_path / "M.mtx").stdout
    assert f"{M.shape[0]} x {M.shape[1]}" in out
    run("build", *f, "--output", tmp_path / "M.npz")
    A = scipy.io.mmread(str(tmp_path / "M.mtx"))
    B = scipy.sparse.load_npz(str(tmp_path / "M.npz"))
    assert A.shape == M.shape and B.shape == M.shape
    np.testing.assert_allclose(A.toarray(), M, rtol=0, atol=1e-12)
    np.testing.assert_allclose(B.toarray(), M, rtol=0, atol=1e-12)
    assert B.format == "csr" and B.dtype == np.float64 and B.has_sorted_indices
    assert (A.toarray() == B.toarray()).all()  # %.17g: the text file holds the same doubles
    # The other matrix (--which) is the transpose; float32 keeps float32 values.
    other = "W" if cfg.get("transposed") else "T"
    run("build", *f, "--which", other, "--dtype", "float32", "-o", tmp_path / "O.npz")
    C = scipy.sparse.load_npz(str(tmp_path / "O.npz"))
    assert C.dtype == np.float32
    np.testing.assert_allclose(C.toarray(), M.T, rtol=1e-6, atol=1e-6)


def test_build_from_a_json_config_with_initializers(torch, tmp_path):
    cfg = CONFIGS["tconv2d_outpad"]
    (tmp_path / "c.json").write_text(json.dumps({
        "input": list(cfg["input"]), "kernel": list(cfg["kernel"]), "stride": 2, "padding": 1,
        "output_padding": 1, "transposed": True, "out_channels": 1, "weights": "arange"}))
    run("build", "--config", tmp_path / "c.json", "-o", tmp_path / "T.mtx")
    T = scipy.io.mmread(str(tmp_path / "T.mtx")).toarray()
    np.testing.assert_array_equal(T, operator_matrix(torch, cfg, arange_weight(cfg)))
    # ones: every stored value is 1 (the pattern of T)
    run("build", "--config", tmp_path / "c.json", "--weights", "ones", "-o", tmp_path / "P.npz")
    P = scipy.sparse.load_npz(str(tmp_path / "P.npz"))
    assert set(np.unique(P.data)) == {1.0}
    np.testing.assert_array_equal(P.toarray(), operator_matrix(torch, cfg, np.ones(weight_shape(cfg))) != 0)


# ---------------------------------------------------------------- inspect


def test_inspect_prints_d2l_kernel2matrix():
    # d2l §12.10 "Transposed Convolution": kernel2matrix for K = [[0, 1], [2, 3]] on a 3x3 input.
    out = run("inspect", "--input", "1x3x3", "--kernel", "2x2", "--weights", "arange").stdout
    assert ("[[0., 1., 0., 2., 3., 0., 0., 0., 0.],\n"
            " [0., 0., 1., 0., 2., 3., 0., 0., 0.],\n"
            " [0., 0., 0., 0., 1., 0., 2., 3., 0.],\n"
            " [0., 0., 0., 0., 0., 1., 0., 2., 3.]]") in out
    assert "structure:     OK" in out
    assert "doubly block Toeplitz (stride 1)" in out


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_inspect_checks_files_and_names_a_perturbed_entry(torch, tmp_path, name):
    cfg = CONFIGS[name]
    f = flags(cfg, "arange")
    M = operator_matrix(torch, cfg, arange_weight(cfg))
    rep = json.loads(run("inspect", *f, "--json").stdout)
    assert rep["structure_ok"] and rep["weights_ok"] and rep["ok"]
    assert (rep["rows"], rep["cols"]) == M.shape
    assert rep["nnz"] >= np.count_nonzero(M)  # zero taps (arange's w[0]) stay stored
    assert rep["row_max"] >= np.count_nonzero(M, axis=1).max()
    assert rep["upper_bandwidth"] >= max(c - r for r, c in zip(*np.nonzero(M)))

    # A file alone: statistics only, equal to scipy's view of it.
    S = scipy.sparse.csr_matrix(M)
    scipy.io.mmwrite(str(tmp_path / "M.mtx"), S)
    alone = json.loads(run("inspect", "--matrix", tmp_path / "M.mtx", "--json").stdout)
    assert (alone["rows"], alone["cols"], alone["nnz"]) == (S.shape[0], S.shape[1], S.nnz)
    assert alone["distinct_values"] == len(np.unique(S.data))
    assert "structure_ok" not in alone
    out = run("inspect", "--matrix", tmp_path / "M.mtx").stdout
    assert "the structure check needs the configuration flags" in out

    # The scipy-written file against the configuration passes; one perturbed entry fails, named.
    assert run("inspect", "--matrix", tmp_path / "M.mtx", *f, "--json").returncode == 0
    rows, cols = S.nonzero()
    k = len(rows) // 2
    P = S.tolil()
    P[rows[k], cols[k]] += 0.5
    scipy.io.mmwrite(str(tmp_path / "P.mtx"), P.tocsr())
    p = run("inspect", "--matrix", tmp_path / "P.mtx", *f, "--json", check=False)
    assert p.returncode == 1
    bad = json.loads(p.stdout)
    assert not bad["ok"] and not bad["weights_ok"]
    assert (bad["weight_violation_row"], bad["weight_violation_col"]) == (rows[k], cols[k])
    assert f"[{rows[k]}, {cols[k]}]" in bad["weight_violation"]
    if not bad["structure_ok"]:
        assert (bad["violation_row"], bad["violation_col"]) == (rows[k], cols[k])


def test_inspect_toeplitz_fails_without_weights_for_a_perturbed_entry(tmp_path):
    f = ["--input", "1x6x6", "--kernel", "3x3", "--stride", "2", "--padding", "1", "--weights", "random:4"]
    run("build", *f, "-o", tmp_path / "W.mtx")
    S = scipy.io.mmread(str(tmp_path / "W.mtx")).tocsr()
    S[4, 8] = S[4, 8] * 2 + 1  # an entry on a diagonal that occurs in other rows
    scipy.io.mmwrite(str(tmp_path / "P.mtx"), S)
    g = ["--input", "1x6x6", "--kernel", "3x3", "--stride", "2", "--padding", "1"]  # no --weights
    p = run("inspect", "--matrix", tmp_path / "P.mtx", *g, check=False)
    assert p.returncode == 1
    assert "structure:     FAILED" in p.stdout
    assert "first violation: W[4, 8]" in p.stdout
    assert run("inspect", "--matrix", tmp_path / "W.mtx", *g).returncode == 0


# ---------------------------------------------------------------- spy


def svg_heat_map(path):
    """The heat map of a figure written as SVG: Cairo embeds it as a PNG at one pixel per cell
    (data:image/png;base64,...). Returns (width, height, pixels[y][x])."""
    import base64

    svg = open(path, encoding="utf-8").read()
    images = re.findall(r'data:image/png;base64,([A-Za-z0-9+/=\s]+)"', svg)
    assert len(images) == 1, f"{len(images)} embedded images"
    png = path.with_suffix(".heat.png")
    png.write_bytes(base64.b64decode("".join(images[0].split())))
    return decode_png(png)


def check_tap_classes(px, M, K):
    """Entries of the same tap share a colour and different taps differ; the cells without a stored entry share one
    colour that no tap has. M (PyTorch's, weights 0, 1, 2, ...) is 0 both where nothing is stored and at the stored
    entries of weight 0 (tap 0 of the first channel pair): those may have tap 0's colour."""
    from collections import Counter

    tap_colour, zeros = {}, Counter()
    for r in range(M.shape[0]):
        for c in range(M.shape[1]):
            v, got = M[r, c], tuple(px[r][c][:3])
            if v != 0:
                assert tap_colour.setdefault(int(v) % K, got) == got, (r, c, v)
            else:
                zeros[got] += 1
    assert len(set(tap_colour.values())) == len(tap_colour)
    empty = zeros.most_common(1)[0][0]
    assert empty not in tap_colour.values()
    others = set(zeros) - {empty}
    assert len(others) <= 1 and (not others or 0 not in tap_colour or others == {tap_colour[0]}), others


@pytest.mark.parametrize("name", ["conv2d_s2_p1", "conv2d_channels", "tconv2d_outpad", "conv3d"])
def test_spy_draws_every_entry_in_its_tap_colour(torch, tmp_path, name):
    cfg = CONFIGS[name]
    M = operator_matrix(torch, cfg, arange_weight(cfg))
    K = int(np.prod(cfg["kernel"]))
    out = run("spy", *flags(cfg, "arange"), "--cell", "5", "-o", tmp_path / "W.png").stdout
    w, h = map(int, re.search(r"(\d+) x (\d+) pixels", out).groups())
    # The margins are measured from the texts: the plot holds 5 pixels per entry, the figure at least 360 x 240.
    assert decode_png(tmp_path / "W.png")[:2] == (w, h)
    assert w >= max(M.shape[1] * 5 + 60, 360) and h >= max(M.shape[0] * 5 + 60, 240)
    assert f"taps: t = 0 .. {K - 1}" in out
    out = run("spy", *flags(cfg, "arange"), "-o", tmp_path / "W.svg").stdout
    assert re.search(r"W\.svg: \d+ x \d+ points", out)
    width, height, px = svg_heat_map(tmp_path / "W.svg")
    assert (width, height) == (M.shape[1], M.shape[0])
    check_tap_classes(px, M, K)


def test_spy_region_keeps_the_indices(torch, tmp_path):
    cfg = CONFIGS["conv2d_channels"]
    M = operator_matrix(torch, cfg, arange_weight(cfg))
    r0, r1, c0, c1 = 3, min(M.shape[0], 20), 5, min(M.shape[1], 40)
    out = run("spy", *flags(cfg, "arange"), "--region", f"{r0}:{r1},{c0}:{c1}", "-o", tmp_path / "R.svg").stdout
    assert f"region: rows {r0} to {r1 - 1}, columns {c0} to {c1 - 1} (" in out
    width, height, px = svg_heat_map(tmp_path / "R.svg")
    assert (width, height) == (c1 - c0, r1 - r0)
    check_tap_classes(px, M[r0:r1, c0:c1], int(np.prod(cfg["kernel"])))


@pytest.mark.parametrize("region", ["0:0,0:4", "0:4", "4:2,0:4", "0:999,0:4", "a:b,c:d", "0:4,0:4x"])
def test_spy_bad_region_is_a_usage_error(tmp_path, region):
    p = run("spy", "--input", "1x4x4", "--kernel", "3x3", "--region", region, "-o", tmp_path / "R.png", check=False)
    assert p.returncode == 2 and p.stdout == ""
    assert f"--region {region}" in p.stderr and "R0:R1,C0:C1" in p.stderr
    assert not (tmp_path / "R.png").exists()


def test_spy_density_for_large_matrices(tmp_path):
    out = run("spy", "--input", "1x300x300", "--kernel", "3x3", "--padding", "1", "--size", "200",
              "-o", tmp_path / "D.svg").stdout
    assert "density: each cell of the picture counts the entries of a block of 450 x 450" in out
    width, height, px = svg_heat_map(tmp_path / "D.svg")
    assert (width, height) == (200, 200)
    # W is banded around the diagonal: diagonal cells are coloured, far corners have the empty colour.
    empty = tuple(px[0][199][:3])
    assert all(tuple(px[i][i][:3]) != empty for i in range(200))
    assert tuple(px[199][0][:3]) == empty


def test_spy_matrix_file_colours_by_value(tmp_path):
    S = scipy.sparse.csr_matrix(np.array([[1.0, 0, -2], [0, 3, 0]]))
    scipy.io.mmwrite(str(tmp_path / "S.mtx"), S)
    out = run("spy", "--matrix", tmp_path / "S.mtx", "-o", tmp_path / "S.svg").stdout
    assert "colour = value" in out
    width, height, px = svg_heat_map(tmp_path / "S.svg")
    assert (width, height) == (3, 2)
    c = {(r, k): tuple(px[r][k][:3]) for r in range(2) for k in range(3)}
    assert c[0, 1] == c[1, 0] == c[1, 2]                               # no entry
    assert len({c[0, 0], c[0, 2], c[1, 1], c[0, 1]}) == 4              # 1, -2, 3 and empty all differ


# ---------------------------------------------------------------- explain


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_explain_lists_exactly_the_row_and_column(torch, rng, name):
    cfg = CONFIGS[name]
    weight = arange_weight(cfg)
    M = operator_matrix(torch, cfg, weight)
    x = np.arange(1, M.shape[1] + 1, dtype=np.float64)  # the default --input-values count: 1, 2, 3, ...
    for _ in range(3):
        row = int(rng.integers(M.shape[0]))
        rep = json.loads(run("explain", *flags(cfg, "arange"), "--at", row, "--json").stdout)
        assert rep["matrix_agrees"]
        coeff = {}
        for t in rep["terms"]:
            assert t["output_flat"] == row
            assert t["weight"] == weight.flat[t["weight_flat"]]
            assert t["x"] == x[t["input_flat"]]
            coeff[t["input_flat"]] = coeff.get(t["input_flat"], 0.0) + t["weight"]
        # Exactly the entries of that row (arange weight 0 is a stored zero, so compare the pattern via coefficients).
        nz = {int(c) for c in np.nonzero(M[row])[0]}
        assert nz <= set(coeff) and all(coeff[c] == M[row, c] for c in coeff)
        assert rep["total"] == pytest.approx(M[row] @ x, rel=1e-12, abs=1e-9)
        col = int(rng.integers(M.shape[1]))
        rev = json.loads(run("explain", *flags(cfg, "arange"), "--from", col, "--json").stdout)
        dist = {}
        for t in rev["terms"]:
            assert t["input_flat"] == col
            dist[t["output_flat"]] = dist.get(t["output_flat"], 0.0) + t["weight"]
        assert {int(r) for r in np.nonzero(M[:, col])[0]} <= set(dist)
        assert all(dist[r] == M[r, col] for r in dist)


def test_explain_text_with_multi_index():
    out = run("explain", "--input", "1x2x2", "--kernel", "3x3", "--stride", "2", "--transposed", "--input-values", "ones",
              "--at", "0,2,2").stdout
    assert "y[0,2,2] = w[0,0,2,2]·x[0,0,0] + w[0,0,2,0]·x[0,0,1] + w[0,0,0,2]·x[0,1,0] + w[0,0,0,0]·x[0,1,1]" in out
    assert "= 4\n" in out
    assert "check: these are exactly the 4 stored entries of row 12 of T" in out


# ---------------------------------------------------------------- overlap


@pytest.mark.parametrize("name", ["tconv2d_k3s2", "tconv2d_outpad", "tconv1d_groups"])
def test_overlap_grid_equals_row_sums_of_T_pattern(torch, name):
    cfg = CONFIGS[name]
    T = operator_matrix(torch, cfg, np.ones(weight_shape(cfg)))
    rep = json.loads(run("overlap", *flags(cfg, "ones"), "--json").stdout)
    counts = np.array(rep["counts"])
    row_sums = (T != 0).sum(axis=1)
    c_out = T.shape[0] // counts.size
    np.testing.assert_array_equal(row_sums, np.tile(counts, c_out) * rep["channels_per_output"])


def test_overlap_text_grid_and_verdict():
    out = run("overlap", "--input", "1x2x2", "--kernel", "3x3", "--stride", "2", "--transposed").stdout
    assert "  1 1 2 1 1\n  1 1 2 1 1\n  2 2 4 2 2\n  1 1 2 1 1\n  1 1 2 1 1\n" in out
    assert "kernel size 3 is not divisible by stride 2" in out and "kernel size 2 or 4 would be even" in out
    even = run("overlap", "--input", "1x3x3", "--kernel", "4x4", "--stride", "2", "--padding", "1",
               "--transposed").stdout
    assert "even overlap" in even and "max/min over the interior = 4/4 = 1" in even


def test_overlap_heat_map_for_a_large_output(tmp_path):
    out = run("overlap", "--input", "8x64x64", "--kernel", "5x5", "--stride", "2", "--padding", "2",
              "--output-padding", "1", "--transposed", "-o", tmp_path / "o.png").stdout
    assert "too large for a text grid" in out
    assert "interior tile" in out
    w, h = map(int, re.search(r"o\.png: (\d+) x (\d+) pixels", out).groups())
    width, height, px = decode_png(tmp_path / "o.png")
    assert (width, height) == (w, h) == (128 * 4 + 190, 128 * 4 + 110)
    # The colour bar runs from the smallest count to the largest (k=5, s=2: 1 to 9 with the borders).
    rep = json.loads(run("overlap", "--input", "8x64x64", "--kernel", "5x5", "--stride", "2", "--padding", "2",
                         "--output-padding", "1", "--transposed", "--json").stdout)
    lo, hi = min(rep["counts"]), max(rep["counts"])
    assert f"one colour per count from the smallest ({lo}, dark) to the largest ({hi}, yellow)" in out
    # Interior counts alternate 9, 6 / 6, 4 (k=5, s=2: 3 or 2 taps per dimension): a window in the middle of the
    # plot holds the three colours, two of them alternating along a row.
    colours = {tuple(px[y][x]) for y in range(height // 2, height // 2 + 12) for x in range(width // 4, width // 2)}
    assert len(colours) == 3
    assert len({tuple(px[height // 2][x]) for x in range(width // 4, width // 2)}) == 2


def test_overlap_svg_has_axes_labels_and_colour_bar(tmp_path):
    out = run("overlap", "--input", "1x4x4", "--kernel", "3x3", "--stride", "2", "--transposed",
              "-o", tmp_path / "o.svg").stdout
    w, h = map(int, re.search(r"o\.svg: (\d+) x (\d+) points", out).groups())
    svg = (tmp_path / "o.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and f'width="{w}pt"' in svg and f'height="{h}pt"' in svg
    # Cairo writes text as glyphs: the SVG holds one glyph use per character; the labels are in the PNG test of
    # the figure module. Here: a picture was drawn (an embedded image for the heat map) and the size is stated.
    assert "<image" in svg


# ---------------------------------------------------------------- every command: --help and bad flags


def commands():
    out = run("--help").stdout
    return re.findall(r"^  (\S+)\s", out.split("\ncommands:\n")[1].split("\n\n")[0], flags=re.M)


def test_command_list_has_the_inspection_commands():
    assert {"build", "inspect", "spy", "explain", "overlap"} <= set(commands())


@pytest.mark.parametrize("command", ["build", "inspect", "spy", "explain", "overlap", "*"])
def test_help_and_bad_flag(command):
    for cmd in (commands() if command == "*" else [command]):
        h = run(cmd, "--help")
        assert h.stdout.startswith(f"usage: convmtx {cmd}"), cmd
        p = run(cmd, "--no-such-flag", "1", check=False)
        assert p.returncode == 2, cmd
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and "--no-such-flag" in lines[0], (cmd, p.stderr)


@pytest.mark.parametrize("args, needle", [
    (["build", "--input", "1x4x4", "--kernel", "3x3", "-o", "W.txt"], "must end in .mtx"),
    (["build", "--input", "1x4x4", "--kernel", "3x3"], "--output"),
    (["inspect", "--input", "1x4x4", "--kernel", "3x3", "--which", "Q"], "--which"),
    (["spy", "--input", "1x4x4", "--kernel", "3x3", "-o", "W.jpg"], "must end in .png or .svg"),
    (["explain", "--input", "1x4x4", "--kernel", "3x3", "--at", "0,5,0"], "--at"),
    (["explain", "--input", "1x4x4", "--kernel", "3x3"], "--at"),
    (["overlap", "--kernel", "3x3"], "--input"),
    (["inspect", "--input", "1x4x4", "--kernel", "5x5"], "kernel"),
])
def test_bad_values_exit_2_with_one_line(tmp_path, args, needle):
    p = subprocess.run([CLI, *args], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], p.stderr


# ---------------------------------------------------------------- files written by scipy and numpy


def cli_matrix(path):
    """The matrix the CLI reads from `path`, as a dense array: shape from inspect, rows from explain."""
    rep = json.loads(run("inspect", "--matrix", path, "--json").stdout)
    M = np.zeros((rep["rows"], rep["cols"]))
    for row in range(rep["rows"]):
        for c, v in json.loads(run("explain", "--matrix", path, "--at", row, "--json").stdout)["entries"]:
            M[row, c] += v
    return M, rep["nnz"]


def local_extras(path):
    """{member: extra field bytes of its local header} of a zip file."""
    import zipfile
    data = open(path, "rb").read()
    out = {}
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            nlen, xlen = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
            out[info.filename] = data[info.header_offset + 30 + nlen:info.header_offset + 30 + nlen + xlen]
    return out


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("compressed", [True, False])
def test_scipy_npz_files_are_read(tmp_path, rng, fmt, compressed):
    A = scipy.sparse.random(7, 11, density=0.3, random_state=int(rng.integers(1 << 30)), format=fmt)
    scipy.sparse.save_npz(str(tmp_path / "A.npz"), A, compressed=compressed)
    # What numpy writes: every member with a zip64 extra field (id 1) in its local header, deflated or stored.
    import zipfile
    with zipfile.ZipFile(tmp_path / "A.npz") as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED}
    assert all(x[:2] == b"\x01\x00" for x in local_extras(tmp_path / "A.npz").values())
    M, nnz = cli_matrix(tmp_path / "A.npz")
    assert nnz == A.tocsr().nnz
    np.testing.assert_array_equal(M, A.toarray())


@pytest.mark.parametrize("kind", ["general", "symmetric", "skew-symmetric", "pattern", "integer", "array"])
def test_scipy_matrix_market_files_are_read(tmp_path, rng, kind):
    A = scipy.sparse.random(6, 6, density=0.4, random_state=int(rng.integers(1 << 30))).tocsr()
    kw = {}
    if kind == "symmetric":
        A = A + A.T
    elif kind == "skew-symmetric":
        A = A - A.T
    elif kind == "pattern":
        kw = dict(field="pattern")
    elif kind == "integer":
        A = (A * 100).astype(np.int64)
    elif kind == "array":
        A = A.toarray()
    scipy.io.mmwrite(str(tmp_path / "A.mtx"), A, **kw)
    head = open(tmp_path / "A.mtx").readline()
    assert (kind in head) or kind == "general", head
    ref = scipy.io.mmread(str(tmp_path / "A.mtx"))
    ref = ref.toarray() if scipy.sparse.issparse(ref) else np.asarray(ref)
    M, _ = cli_matrix(tmp_path / "A.mtx")
    np.testing.assert_array_equal(M, ref)


def test_our_npz_is_a_plain_stored_zip_that_scipy_reads(tmp_path):
    import zipfile
    f = ["--input", "2x5x5", "--kernel", "3x3", "--out-channels", "3", "--weights", "random:3"]
    run("build", *f, "-o", tmp_path / "W.npz")
    run("build", *f, "-o", tmp_path / "W.mtx")
    with zipfile.ZipFile(tmp_path / "W.npz") as z:
        assert z.testzip() is None  # every CRC-32
        assert [i.filename for i in z.infolist()] == ["indices.npy", "indptr.npy", "format.npy", "shape.npy", "data.npy"]
        assert all(i.compress_type == zipfile.ZIP_STORED and i.date_time == (1980, 1, 1, 0, 0, 0) for i in z.infolist())
    assert not any(local_extras(tmp_path / "W.npz").values())  # no zip64 records below 4 GiB
    W = scipy.sparse.load_npz(str(tmp_path / "W.npz"))
    assert W.indices.dtype == np.int32 and W.indptr.dtype == np.int32 and W.format == "csr"
    assert (W != scipy.io.mmread(str(tmp_path / "W.mtx")).tocsr()).nnz == 0
    # Equal matrices give equal files.
    run("build", *f, "-o", tmp_path / "W2.npz")
    assert open(tmp_path / "W.npz", "rb").read() == open(tmp_path / "W2.npz", "rb").read()


def zip_with_leading_hole(path, members, hole):
    """Writes a zip archive whose first member, pad.bin, is `hole` zero bytes left as a hole in a
    sparse file, followed by `members` ([(name, bytes, deflate)]): their offsets are past 4 GiB, so
    the central directory needs zip64 records (written as APPNOTE 4.5 describes)."""
    crc, left, zeros = 0, hole, memoryview(bytes(1 << 26))
    while left:
        n = min(left, len(zeros))
        crc = zlib.crc32(zeros[:n], crc)
        left -= n
    dos = (0, (1 << 5) | 1)
    central = []
    with open(path, "wb") as f:
        name = b"pad.bin"
        f.write(struct.pack("<IHHHHHIIIHH", 0x04034b50, 45, 0, 0, *dos, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(name), 20))
        f.write(name + struct.pack("<HHQQ", 1, 16, hole, hole))
        f.seek(hole, os.SEEK_CUR)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 45, 45, 0, 0, *dos, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                                   len(name), 20, 0, 0, 0, 0, 0) + name + struct.pack("<HHQQ", 1, 16, hole, hole))
        for name, data, deflate in members:
            name = name.encode()
            body = data
            if deflate:
                c = zlib.compressobj(9, zlib.DEFLATED, -15)
                body = c.compress(data) + c.flush()
            offset, dcrc = f.tell(), zlib.crc32(data)
            f.write(struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 8 if deflate else 0, *dos, dcrc, len(body), len(data),
                                len(name), 0) + name + body)
            central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 45, 45, 0, 8 if deflate else 0, *dos, dcrc,
                                       len(body), len(data), len(name), 12, 0, 0, 0, 0, 0xFFFFFFFF) + name +
                           struct.pack("<HHQ", 1, 8, offset))
        cd_offset = f.tell()
        cd = b"".join(central)
        f.write(cd)
        eocd64 = f.tell()
        n = len(central)
        f.write(struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0, n, n, len(cd), cd_offset))
        f.write(struct.pack("<IIQI", 0x07064b50, 0, eocd64, 1))
        f.write(struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, n, n, len(cd), 0xFFFFFFFF, 0))


def test_npz_archive_over_4_gib_is_read(tmp_path, rng):
    import zipfile
    A = scipy.sparse.random(9, 13, density=0.3, random_state=int(rng.integers(1 << 30)), format="csr")
    scipy.sparse.save_npz(str(tmp_path / "small.npz"), A, compressed=False)
    with zipfile.ZipFile(tmp_path / "small.npz") as z:
        members = [(n, z.read(n), n == "data.npy") for n in z.namelist()]
    big = tmp_path / "big.npz"
    zip_with_leading_hole(big, members, (4 << 30) + 12345)
    st = os.stat(big)
    assert st.st_size > 4 << 30
    if st.st_blocks * 512 > 1 << 30:
        pytest.skip("the file system does not keep holes in sparse files")
    # The reference readers accept it ...
    with zipfile.ZipFile(big) as z:
        assert z.getinfo("data.npy").header_offset > 4 << 30
    B = scipy.sparse.load_npz(str(big))
    assert (B != A).nnz == 0
    # ... and so does the CLI, without reading the 4 GiB member.
    M, nnz = cli_matrix(big)
    assert nnz == A.nnz
    np.testing.assert_array_equal(M, A.toarray())


# ---------------------------------------------------------------- malformed files: one line, exit 2


def refused(path, *needles, command=("inspect", "--matrix"), limit=None):
    """Runs the CLI on `path` (`limit`: a preexec_fn setting resource limits): exit 2, one printable
    line naming the file and every needle."""
    p = subprocess.run([CLI, *command, str(path)], capture_output=True, text=True, timeout=60,
                       errors="backslashreplace", preexec_fn=limit)
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert str(path) in lines[0], lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert lines[0].isprintable(), lines[0]
    return lines[0]


def test_matrix_market_headers_that_would_allocate_are_refused(tmp_path):
    (tmp_path / "h.mtx").write_text("%%MatrixMarket matrix coordinate real general\n"
                                    "4611686018427387904 4611686018427387904 0\n")
    refused(tmp_path / "h.mtx", "4611686018427387904 rows", "max(2^24, 64 x entries)")
    (tmp_path / "r.mtx").write_text("%%MatrixMarket matrix coordinate real general\n200000000 1 1\n1 1 1\n")
    assert os.path.getsize(tmp_path / "r.mtx") == 66
    # scipy reads it (a valid file): refusing it is the documented rule, quickly and without memory.
    assert scipy.io.mminfo(str(tmp_path / "r.mtx"))[:3] == (200000000, 1, 1)
    # Under a 512 MiB address-space limit: a 1.5 GiB row index would end in std::bad_alloc, not this message.
    import resource
    refused(tmp_path / "r.mtx", "200000000 rows for 1 stored entries",
            limit=lambda: resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20)))
    (tmp_path / "e.mtx").write_text("%%MatrixMarket matrix coordinate real general\n5 5 1000000\n1 1 1\n")
    refused(tmp_path / "e.mtx", "declares 1000000 entries", "hold at most 1")
    (tmp_path / "x.mtx").write_bytes(b"%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 \x1b[31m\n")
    assert "\\x1b[31m" in refused(tmp_path / "x.mtx", "is not a number")


def savez(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("case, needles", [
    (dict(indptr=[0, 3, 1, 3]), ["indptr.npy", "decreases at 2 (3 then 1)"]),
    (dict(indptr=[1, 1, 2, 3]), ["indptr[0] = 1 must be 0"]),
    (dict(indptr=[0, 1, 2, 4]), ["ends at 4 but there are 3 entries"]),
    (dict(indptr=[0, 1, 3]), ["indptr.npy", "holds 3 values", "needs 4"]),
    (dict(indices=[0, 3, 2]), ["index 3 of entry 1 is outside [0, 3)"]),
    (dict(indices=[0, -1, 2]), ["index -1 of entry 1"]),
    (dict(indices=np.array([0.0, 1.0, 2.0])), ["'<f8' must be an integer dtype"]),
    (dict(shape=[-3, 3]), ["shape (-3, 3) must be non-negative"]),
    (dict(shape=np.array([np.nan, 3.0])), ["rows = nan must be a finite non-negative integer"]),
    (dict(shape=[3, 3, 3]), ["shape.npy", "must hold 2 numbers"]),
    (dict(data=np.array([1 + 1j, 2, 3])), ["data.npy", "'<c16'"]),
    (dict(data=np.array(["a", "b", "c"])), ["data.npy", "'<U1'"]),
    (dict(format=b"dia"), ["sparse format 'dia'"]),
    (dict(format=None), ["no format.npy"]),
    (dict(shape=[2 ** 40, 3]), ["1099511627776 rows for 3 stored entries"]),
])
def test_npz_that_is_not_a_matrix_is_refused(tmp_path, case, needles):
    arrays = dict(format=b"csr", shape=[3, 3], indptr=[0, 1, 2, 3], indices=[0, 1, 2], data=[1.0, 2.0, 3.0])
    arrays.update(case)
    arrays = {k: np.asarray(v) for k, v in arrays.items() if v is not None}
    refused(savez(tmp_path / "m.npz", **arrays), *needles)


def test_npz_zip_problems_are_refused(tmp_path):
    import warnings
    import zipfile
    A = scipy.sparse.random(5, 6, density=0.5, random_state=3, format="csr")
    scipy.sparse.save_npz(str(tmp_path / "A.npz"), A, compressed=True)
    good = open(tmp_path / "A.npz", "rb").read()
    # Truncated, or bytes changed inside a deflated member.
    (tmp_path / "cut.npz").write_bytes(good[:len(good) // 2])
    refused(tmp_path / "cut.npz", "not a readable zip archive")
    with zipfile.ZipFile(tmp_path / "A.npz") as z:
        info = z.getinfo("data.npy")
    flipped = bytearray(good)
    flipped[info.header_offset + 30 + len("data.npy") + 20 + info.compress_size // 2] ^= 0x55
    (tmp_path / "flip.npz").write_bytes(bytes(flipped))
    refused(tmp_path / "flip.npz", "member data.npy")
    # A member declaring more bytes than deflate can expand to: the uncompressed size patched in the
    # local header, its zip64 extra field and the central directory.
    lied = bytearray(good)
    usize = 2000 * info.compress_size
    lied[info.header_offset + 22:info.header_offset + 26] = struct.pack("<I", usize)
    lied[info.header_offset + 30 + 8 + 4:info.header_offset + 30 + 8 + 12] = struct.pack("<Q", usize)
    cd = good.rindex(b"PK\x01\x02")  # data.npy is the last member
    assert good[cd + 46:cd + 54] == b"data.npy"
    lied[cd + 24:cd + 28] = struct.pack("<I", usize)
    (tmp_path / "lie.npz").write_bytes(bytes(lied))
    refused(tmp_path / "lie.npz", "data.npy", "1032:1")
    # The same member name twice.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(tmp_path / "A.npz") as src, zipfile.ZipFile(tmp_path / "dup.npz", "w") as dst:
            for n in src.namelist():
                dst.writestr(n, src.read(n))
            dst.writestr("data.npy", src.read("data.npy"))
    refused(tmp_path / "dup.npz", "same name")


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory"])
@pytest.mark.parametrize("ext", [".mtx", ".npz"])
def test_only_regular_files_are_read(tmp_path, kind, ext):
    path = tmp_path / ("m" + ext)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        os.symlink("/dev/zero", path)
    else:
        os.mkdir(path)
    what = {"fifo": "a FIFO", "dev-zero": "a character device (through a symbolic link)", "directory": "a directory"}
    refused(path, what[kind], "not a regular file")  # within the timeout: never blocks nor reads forever


def test_image_headers_that_would_allocate_are_refused(tmp_path):
    (tmp_path / "huge.pgm").write_bytes(b"P5\n4294967296 4294967296\n255\n\x00\x01")
    refused(tmp_path / "huge.pgm", "4294967296 x 4294967296", "2^20 pixels per side", command=("solve", "--image"))
    (tmp_path / "zero").symlink_to("/dev/zero")
    refused(tmp_path / "zero", "character device", command=("solve", "--image"))


# ---------------------------------------------------------------- writing


def test_fifo_and_device_destinations_are_refused(tmp_path):
    """A FIFO, a device (/dev/null, /dev/full) or a socket is refused without being opened: opening a FIFO
    for writing waited for a reader forever (break_hostile F34); nothing is written, the FIFO stays."""
    f = ["--input", "1x6x6", "--kernel", "3x3", "--weights", "random:2"]
    for name in ("p.npz", "p.mtx"):
        fifo = tmp_path / name
        os.mkfifo(fifo)
        p = run("build", *f, "-o", fifo, check=False)
        assert p.returncode == 2 and "is a FIFO, not a regular file" in p.stderr, p.stderr
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    for device in ("/dev/null", "/dev/full"):
        os.symlink(device, tmp_path / "dev.npz")
        p = run("build", *f, "-o", tmp_path / "dev.npz", check=False)
        assert p.returncode == 2 and "is a character device (through a symbolic link)" in p.stderr, p.stderr
        assert stat.S_ISCHR(os.stat(device).st_mode)
        os.unlink(tmp_path / "dev.npz")


def leftovers(directory):
    return [n for n in os.listdir(directory) if n.startswith(".")]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    import resource
    import signal as sig
    (tmp_path / "W.mtx").write_text("old contents\n")
    os.symlink(tmp_path / "victim", tmp_path / "W.mtx.tmp-convmtx")  # the old fixed temporary name

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
        sig.signal(sig.SIGXFSZ, sig.SIG_IGN)

    p = subprocess.run([CLI, "build", "--input", "1x200x200", "--kernel", "5x5", "-o", str(tmp_path / "W.mtx")],
                       capture_output=True, text=True, preexec_fn=small_files, timeout=120)
    assert p.returncode == 2, p.stderr
    assert "File too large" in p.stderr and "W.mtx" in p.stderr
    assert (tmp_path / "W.mtx").read_text() == "old contents\n"
    assert leftovers(tmp_path) == [] and not (tmp_path / "victim").exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_large_write_leaves_no_temporary_file(tmp_path, signum):
    (tmp_path / "W.mtx").write_text("old contents\n")
    p = subprocess.Popen([CLI, "build", "--input", "1x600x600", "--kernel", "7x7", "-o", str(tmp_path / "W.mtx")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    temp = []
    while time.time() < deadline and p.poll() is None:
        temp = [n for n in leftovers(tmp_path) if os.path.getsize(tmp_path / n) > 0]
        if temp:
            break
        time.sleep(0.002)
    assert temp, "the build finished (or never started writing) before the signal"
    p.send_signal(signum)
    assert p.wait(60) == -signum  # ended by the signal, as it would be without the handler
    assert leftovers(tmp_path) == []
    assert (tmp_path / "W.mtx").read_text() == "old contents\n"
