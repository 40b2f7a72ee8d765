"""Every picture the CLI draws (issue #16): spy, overlap (with and without --weights), spectrum --plot (one
panel and two) and solve --montage, each rendered with CONVMTX_FIGURE_TEXT_BOXES set, which makes the
figure module append where every text landed (its Cairo ink box). Each text must lie inside the canvas,
no two texts may overlap, integer-valued axes (matrix indices, output positions, pixels, frequencies)
must have integer ticks, and a discrete colour bar one tick per count. The montage's SSIM equals
convmtx.plot.montage's for the same images (the new user's F10), and its panels are titled and scaled.

The CLI is found through CONVMTX_CLI (set by ctest) or <repo>/build/bin/convmtx.
"""

import os
import re
import subprocess

import numpy as np
import pytest

import convmtx
from conftest import find_tool, import_optional, needs

HERE = os.path.dirname(os.path.abspath(__file__))
CLI = os.environ.get("CONVMTX_CLI") or os.path.join(HERE, "..", "..", "build", "bin", "convmtx")
pytestmark = needs(find_tool(CLI), f"convmtx CLI not found at {CLI} (set CONVMTX_CLI)")


def draw(tmp_path, *args):
    """Runs a drawing command; returns its stdout and the text boxes of the figures it saved."""
    log = tmp_path / "boxes.tsv"
    if log.exists():
        log.unlink()
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                       env={**os.environ, "CONVMTX_FIGURE_TEXT_BOXES": str(log)})
    assert p.returncode == 0, (args, p.stdout, p.stderr)
    boxes = []
    for line in log.read_text().splitlines():
        path, role, panel, x0, y0, x1, y1, w, h, text = line.split("\t", 9)
        boxes.append(dict(path=path, role=role, panel=int(panel), x0=float(x0), y0=float(y0), x1=float(x1),
                          y1=float(y1), w=float(w), h=float(h), text=text))
    assert boxes, (args, p.stdout)
    return p.stdout, boxes


def check_layout(boxes):
    for b in boxes:
        assert b["x0"] >= -0.5 and b["y0"] >= -0.5 and b["x1"] <= b["w"] + 0.5 and b["y1"] <= b["h"] + 0.5, b
    texts = [b for b in boxes if b["role"] != "note"]
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            if a["path"] != b["path"]:
                continue
            apart = a["x1"] <= b["x0"] + 0.5 or b["x1"] <= a["x0"] + 0.5 or a["y1"] <= b["y0"] + 0.5 or b["y1"] <= a["y0"] + 0.5
            assert apart, (a, b)


def ticks(boxes, role, panel=0):
    return [b["text"] for b in boxes if b["role"] == role and b["panel"] == panel]


def integers(labels):
    return bool(labels) and all(re.fullmatch(r"[-\u2212]?\d+", t) for t in labels)


def test_spy_of_the_readme_example(tmp_path):
    """F1: the README's spy: the y label was cut at both ends, the x ticks were 0, 2.5, 5.0, ..."""
    for out in ("W.png", "W.svg"):
        stdout, boxes = draw(tmp_path, "spy", "--input", "1x4x4", "--kernel", "3x3", "--stride", "2", "--padding", "1",
                             "-o", out)
        check_layout(boxes)
        ylabel = " ".join(b["text"] for b in boxes if b["role"] == "ylabel")
        assert ylabel == "row = conv output index = channel x 4 + position"  # whole, perhaps on several lines
        assert integers(ticks(boxes, "xtick")) and integers(ticks(boxes, "ytick"))
        assert ticks(boxes, "colorbar tick") == [str(t) for t in range(9)]  # one per kernel tap
        unit = "points" if out.endswith(".svg") else "pixels"  # an SVG's sizes are points
        assert f"entries: 24 x 24 {unit} each" in stdout


def test_spy_density_and_region(tmp_path):
    _, boxes = draw(tmp_path, "spy", "--input", "1x300x300", "--kernel", "3x3", "--padding", "1", "--size", "200",
                    "-o", "D.png")
    check_layout(boxes)
    assert integers(ticks(boxes, "xtick")) and integers(ticks(boxes, "colorbar tick"))
    _, boxes = draw(tmp_path, "spy", "--input", "2x64x64", "--kernel", "3x3", "--out-channels", "2", "--padding", "1",
                    "--region", "0:64,0:128", "-o", "R.png")
    check_layout(boxes)


def test_overlap_counts_and_the_weights_levels(tmp_path):
    """F2: integer positions and counts; with --weights a second panel draws the levels."""
    stdout, boxes = draw(tmp_path, "overlap", "--input", "1x8x8", "--kernel", "3x3", "--stride", "2", "--transposed",
                         "-o", "ov.png")
    check_layout(boxes)
    assert integers(ticks(boxes, "xtick")) and integers(ticks(boxes, "ytick"))
    assert ticks(boxes, "colorbar tick") == ["1", "2", "3", "4"]
    w = np.random.default_rng(3).standard_normal((3, 2, 3, 3))
    np.save(tmp_path / "w.npy", w)
    stdout, boxes = draw(tmp_path, "overlap", "--input", "3x8x8", "--kernel", "3x3", "--stride", "2", "--transposed",
                         "--weights", "w.npy", "-o", "ovw.png")
    check_layout(boxes)
    assert {b["panel"] for b in boxes} >= {0, 1}
    bar = " ".join(b["text"] for b in boxes if b["role"] == "colorbar label" and b["panel"] == 1)
    assert "all-ones input" in bar and "w.npy" in bar
    assert "response to an all-ones input" in stdout
    assert integers(ticks(boxes, "xtick", 1)) and integers(ticks(boxes, "ytick", 1))


def test_spectrum_plots(tmp_path):
    """F3: the single panel's title was clipped; the frequency map had half-integer ticks."""
    base = ["spectrum", "--input", "8x16x16", "--kernel", "3x3", "--out-channels", "8", "--padding", "1",
            "--weights", "random:1", "--k", "5"]
    _, boxes = draw(tmp_path, *base, "--plot", "sp1.png")
    check_layout(boxes)
    title = " ".join(b["text"] for b in boxes if b["role"] == "figure title")
    assert title == "spectrum of W, conv 8x16x16 -> 8x16x16, kernel 3x3, zeros padding"
    assert integers(ticks(boxes, "xtick")) and "0" not in ticks(boxes, "xtick")  # the index starts at 1
    _, boxes = draw(tmp_path, *base[:-2], "--padding-mode", "circular", "--plot", "sp2.png")
    check_layout(boxes)
    assert integers(ticks(boxes, "xtick", 1)) and integers(ticks(boxes, "ytick", 1))
    assert "0" not in ticks(boxes, "xtick", 0)


def test_spectrum_transposed_names_T(tmp_path):
    """F13: a transposed conv's matrix is T = W^T, 1156 x 256 here, not "W"."""
    p = subprocess.run([CLI, "spectrum", "--input", "4x8x8", "--kernel", "3x3", "--stride", "2", "--transposed",
                        "--weights", "random:2", "--method", "dense"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "T = W^T: 1156 x 256 (256 singular values" in p.stdout and "W: 1156" not in p.stdout


def test_montage_panels_and_ssim_agree_with_python(tmp_path):
    """F6/F10: row 0 at the top, pixel axes, a grey-level bar, titles with PSNR/SSIM equal to
    convmtx.plot.montage's on the same images."""
    truth = np.clip(convmtx.solvers.shepp_logan(48, 2).astype(np.float64), 0, 1)
    convmtx.write_image(str(tmp_path / "x.png"), truth)
    blurred = convmtx.blur(truth, convmtx.psf("gaussian:5:1.0"), boundary="replicate")
    blurred += np.random.default_rng(0).normal(0, 0.02, blurred.shape)
    convmtx.write_image(str(tmp_path / "b.png"), np.clip(blurred, 0, 1))
    stdout, boxes = draw(tmp_path, "solve", "--observed", "b.png", "--psf", "gaussian:5:1.0", "--boundary", "replicate",
                         "--truth", "x.png", "--montage", "m.png")
    check_layout(boxes)
    for panel in range(4):
        y = [int(t.replace("\u2212", "-")) for t in ticks(boxes, "ytick", panel)]
        ys = [(b["y0"] + b["y1"]) / 2 for b in boxes if b["role"] == "ytick" and b["panel"] == panel]
        assert y[0] == 0 and ys[0] == min(ys)  # row 0 at the top
        assert integers(ticks(boxes, "xtick", panel))
        labels = {b["role"]: b["text"] for b in boxes if b["panel"] == panel}
        assert labels["xlabel"] == "x (pixels)" and labels["ylabel"] == "y (pixels)"
        assert "grey level" in " ".join(b["text"] for b in boxes if b["panel"] == panel and b["role"] == "colorbar label")
    cli = re.search(r"degraded b\s+(\S+) dB  SSIM (\S+)", stdout).groups()
    matplotlib = import_optional("matplotlib")
    if matplotlib is None:
        pytest.skip("matplotlib not installed: the Python montage is not drawn")
    matplotlib.use("Agg")
    from convmtx import plot

    x, b = convmtx.read_image(str(tmp_path / "x.png")), convmtx.read_image(str(tmp_path / "b.png"))
    fig = plot.montage([x, b], ["truth", "observed"], reference=x)
    assert fig.axes[1].get_title().splitlines()[1] == f"{cli[0]} dB / SSIM {cli[1]}"
    title = " ".join(b["text"] for b in boxes if b["role"] == "title" and b["panel"] == 1)
    assert f"{cli[0]} dB / SSIM {cli[1]}" in title


def test_super_resolution_montage_shows_w_t_b_scaled(tmp_path):
    """F19: W^T b of a strided model is dark; its panel is shown scaled and says by how much."""
    stdout, boxes = draw(tmp_path, "solve", "--size", "64", "--stride", "2", "--method", "lsqr", "--montage", "sr.png")
    check_layout(boxes)
    factor = float(re.search(r"best factor (\S+):", stdout).group(1))
    title = " ".join(b["text"] for b in boxes if b["role"] == "title" and b["panel"] == 2)
    assert title.startswith("W^T b") and f"shown x{factor:.3g}" in title
