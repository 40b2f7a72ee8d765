"""MXNet's Deconvolution convention (pad, adj, target_shape) in Python, the CLI and JSON, against MXNet's
documented rule (total = s(m-1) + d(k-1) + 1 - target, adj = total mod 2, pad = ceil(total/2)) and a
reference built from PyTorch: the unpadded transposed conv (F.conv_transpose*d, padding 0) cropped to
[pad, pad + n), n = s(m-1) + d(k-1) + 1 - 2 pad + adj."""

import json
import os
import subprocess

import numpy as np
import pytest
import scipy.io

import convmtx
from conftest import find_tool, needs

HERE = os.path.dirname(os.path.abspath(__file__))
CLI = os.environ.get("CONVMTX_CLI") or os.path.join(os.path.dirname(os.path.dirname(HERE)), "build", "bin", "convmtx")


def mxnet_reference(torch, x, w, stride, pad, adj, dilation=1):
    """MXNet's Deconvolution output from PyTorch: the full transposed conv, cropped."""
    F = torch.nn.functional
    full = F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), stride=stride, dilation=dilation).numpy()
    out = []
    for j, m in enumerate(x.shape[-2:]):
        k = w.shape[2 + j]
        out.append(stride * (m - 1) + dilation * (k - 1) + 1 - 2 * pad[j] + adj[j])
    return full[..., pad[0]:pad[0] + out[0], pad[1]:pad[1] + out[1]]


def test_issue_example_target_shape(torch, rng):
    # input 4x4, kernel 3, stride 2, target_shape 8x8: total = 2*3 + 2 + 1 - 8 = 1, adj 1, pad 1
    x, w = rng.standard_normal((1, 2, 4, 4)), rng.standard_normal((2, 3, 3, 3))
    y = convmtx.conv_transpose(x, w, stride=2, convention="mxnet", target_shape=(8, 8))
    assert y.shape == (1, 3, 8, 8)
    ref = torch.nn.functional.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), stride=2, padding=1,
                                               output_padding=1).numpy()
    np.testing.assert_allclose(y, ref, atol=1e-12)
    np.testing.assert_allclose(y, mxnet_reference(torch, x, w, 2, (1, 1), (1, 1)), atol=1e-12)
    spec = convmtx.conv_transpose_spec((2, 4, 4), w.shape, stride=2, convention="mxnet", target_shape=(8, 8))
    assert tuple(spec.padding_lo) == (1, 1) and tuple(spec.output_padding) == (1, 1)


@pytest.mark.parametrize("stride,pad,adj,dilation", [(2, (1, 0), (1, 0), 1), (1, (2, 1), (2, 1), 1),
                                                     (3, (2, 2), (0, 2), 1), (2, (1, 2), (0, 1), 2)])
def test_pad_and_adj_against_cropped_full_output(torch, rng, stride, pad, adj, dilation):
    x, w = rng.standard_normal((2, 2, 3, 4)), rng.standard_normal((2, 1, 3, 3))
    y = convmtx.conv_transpose(x, w, stride=stride, dilation=dilation, convention="mxnet", pad=pad, adj=adj)
    np.testing.assert_allclose(y, mxnet_reference(torch, x, w, stride, pad, adj, dilation), atol=1e-12)
    T = convmtx.conv_transpose_matrix((2, 3, 4), w, stride=stride, dilation=dilation, convention="mxnet",
                                      pad=pad, adj=adj)
    np.testing.assert_allclose(T @ x[0].ravel(), y[0].ravel(), atol=1e-12)


@pytest.mark.parametrize("target", [(5, 7), (6, 8), (7, 9), (3, 4)])
def test_target_shape_gives_that_shape(torch, rng, target):
    x, w = rng.standard_normal((1, 1, 3, 4)), rng.standard_normal((1, 2, 3, 3))
    y = convmtx.conv_transpose(x, w, stride=2, convention="mxnet", target_shape=target)
    assert y.shape[-2:] == target
    total = [2 * (m - 1) + 3 - t for m, t in zip((3, 4), target)]
    np.testing.assert_allclose(y, mxnet_reference(torch, x, w, 2, [(t + 1) // 2 for t in total],
                                                  [t % 2 for t in total]), atol=1e-12)


def test_mxnet_errors():
    w = np.ones((1, 1, 3, 3))
    with pytest.raises(ValueError, match="MXNet's names: pass convention='mxnet'"):
        convmtx.conv_transpose_matrix((1, 4, 4), w, pad=1, adj=1)
    with pytest.raises(ValueError, match=r"target_shape\[0\]=10 must be at most .* = 9 \(MXNet: too big target"):
        convmtx.conv_transpose_matrix((1, 4, 4), w, stride=2, convention="mxnet", target_shape=(10, 8))
    with pytest.raises(ValueError, match="replaces pad and adj"):
        convmtx.conv_transpose_matrix((1, 4, 4), w, stride=2, convention="mxnet", target_shape=(8, 8), pad=1)
    with pytest.raises(ValueError, match="pad=1 and padding=2 name the same thing"):
        convmtx.conv_transpose_matrix((1, 4, 4), w, padding=2, convention="mxnet", pad=1)
    with pytest.raises(ValueError, match="symmetric"):
        convmtx.conv_transpose_matrix((1, 4, 4), w, padding=((1, 2), (1, 1)), convention="mxnet")


@needs(find_tool(CLI), f"convmtx CLI not found at {CLI} (set CONVMTX_CLI)")
def test_cli_flags_and_json(torch, tmp_path):
    def build(*args):
        out = tmp_path / "M.mtx"
        p = subprocess.run([CLI, "build", *map(str, args), "-o", out], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        return scipy.io.mmread(str(out)).toarray()

    w = np.arange(9, dtype=np.float64).reshape(1, 1, 3, 3)
    np.save(tmp_path / "w.npy", w)
    M = build("--input", "1x4x4", "--transposed", "--stride", "2", "--convention", "mxnet", "--target-shape", "8x8",
              "--weights", tmp_path / "w.npy")
    ref = convmtx.conv_transpose_matrix((1, 4, 4), w, stride=2, padding=1, output_padding=1).toarray()
    np.testing.assert_array_equal(M, ref)
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"input": [1, 4, 4], "transposed": True, "stride": 2, "convention": "mxnet",
                               "pad": [1, 1], "adj": [1, 1], "weights": str(tmp_path / "w.npy")}))
    np.testing.assert_array_equal(build("--config", cfg), ref)
    p = subprocess.run([CLI, "build", "--input", "1x4x4", "--kernel", "3x3", "--transposed", "--adj", "1", "-o",
                        tmp_path / "x.mtx"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--adj 1: adj is MXNet's name: add --convention mxnet" in p.stderr
    assert len(p.stderr.splitlines()) == 1
    p = subprocess.run([CLI, "build", "--input", "1x4x4", "--kernel", "3x3", "--transposed", "--convention", "mxnet",
                        "--stride", "2", "--target-shape", "10x8", "-o", tmp_path / "x.mtx"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--target-shape 10x8" in p.stderr and "too big target shape" in p.stderr
