"""The explorer page's own JavaScript (src/cli/explore/explore_core.js) against the library, under Node.

The page computes the convolution itself (it runs offline, without the library). This test draws seeded
random configurations of everything the page offers (convolution and transposed convolution, 1-D and 2-D,
stride, dilation, per-side padding, output_padding, the padding modes zeros/circular/reflect/replicate),
computes with the Python module what the C++ library makes of each one (W, the tap table, the output, or
the rejection), and runs tests/js/check_explore_core.js, which require()s the DOM-free core and compares
entry by entry (see that file for the list of checks).

Node is Debian's `nodejs` (/usr/bin/node). Without it the tests skip, unless CONVMTX_REQUIRE_ALL=1, in
which case they fail (conftest.require_tool).
"""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

import convmtx
from conftest import require_tool

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECKER = os.path.join(ROOT, "tests", "js", "check_explore_core.js")
CORE = os.path.join(ROOT, "src", "cli", "explore", "explore_core.js")
MODES = ["zeros", "circular", "reflect", "replicate"]   # the page's padding-mode menu (conv only)
DRAWS = 1000


@pytest.fixture(scope="module")
def node():
    return require_tool(shutil.which("node") or "nodejs",
                        "Node.js is not installed (Debian: nodejs); the explorer's JavaScript is not checked")


def random_case(rng, rank, transposed):
    """A page state (pairs: rows, cols; a 1-D configuration is 1 x n) drawn from the page's controls."""
    def pair(lo, hi, one=1):  # rows = `one` for a 1-D configuration
        v = [int(e) for e in rng.integers(lo, hi + 1, 2)]
        return [one, v[1]] if rank == 1 else v

    n = pair(1, 7) if rank == 2 else [1, int(rng.integers(1, 13))]
    k = pair(1, 4) if rank == 2 else [1, int(rng.integers(1, 6))]
    case = {
        "rank": rank, "transposed": transposed, "n": n, "k": k,
        "s": pair(1, 3), "d": pair(1, 3), "pl": pair(0, 3, 0), "ph": pair(0, 3, 0),
        "a": pair(0, 2, 0) if transposed else [0, 0],
        "mode": "zeros" if transposed else MODES[int(rng.integers(len(MODES)))],
    }
    if rng.random() < 0.3:  # symmetric padding, as PyTorch's single `padding`
        case["ph"] = list(case["pl"])
    case["x"] = rng.uniform(-1, 1, n[0] * n[1]).tolist()
    w = rng.uniform(-1, 1, k[0] * k[1])
    w[rng.random(w.size) < 0.1] = 0.0  # zero taps stay structural entries of W
    case["w"] = w.tolist()
    return case


def library_view(c):
    """What the library computes for a page state: acceptance, W (rows = the conv's output side), the output and the
    tap relation [output-side index, input-side index, tap, count], from convmtx.conv_matrix / conv_transpose_matrix / conv / conv_transpose."""
    dims = slice(1, 2) if c["rank"] == 1 else slice(0, 2)
    n, k = tuple(c["n"][dims]), tuple(c["k"][dims])
    args = {"stride": tuple(c["s"][dims]), "dilation": tuple(c["d"][dims]),
            "padding": tuple(zip(c["pl"][dims], c["ph"][dims]))}
    x = np.array(c["x"]).reshape((1,) + n)
    w = np.array(c["w"]).reshape((1, 1) + k)
    if c["transposed"]:
        args["output_padding"] = tuple(c["a"][dims])

        def matrix(weight, **kw):  # W = the adjoint of T (rows = the transposed conv's input)
            return convmtx.conv_transpose_matrix((1,) + n, weight, adjoint=True, **args, **kw)
        output = lambda: convmtx.conv_transpose(x, w, **args)  # noqa: E731
    else:
        args["padding_mode"] = c["mode"]

        def matrix(weight, **kw):
            return convmtx.conv_matrix((1,) + n, weight, **args, **kw)
        output = lambda: convmtx.conv(x, w, **args)  # noqa: E731
    try:
        W = matrix(w)
    except ValueError as e:
        return {"accepted": False, "error": str(e)}
    y = output()
    relation = []
    for t in range(w.size):
        onehot = np.zeros(w.size)
        onehot[t] = 1.0
        Wt = matrix(onehot.reshape(w.shape), drop_zeros=True).tocoo()
        relation += [[int(r), int(col), t, int(round(v))] for r, col, v in zip(Wt.row, Wt.col, Wt.data)]
    out = list(y.shape[1:]) if c["rank"] == 2 else [1, y.shape[1]]
    return {"accepted": True, "outShape": out, "y": y.ravel().tolist(), "relation": relation,
            "W": {"rows": W.shape[0], "cols": W.shape[1], "indptr": W.indptr.tolist(), "indices": W.indices.tolist(),
                  "data": W.data.tolist()}}


@pytest.fixture(scope="module")
def cases():
    rng = np.random.default_rng(20261130)
    out = []
    for i in range(DRAWS):
        c = random_case(rng, rank=1 if i % 4 >= 2 else 2, transposed=bool(i % 2))
        c["id"] = i
        c.update(library_view(c))
        out.append(c)
    return out


def run_checker(node, cases, tmp_path, name="cases.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"cases": cases}))
    return subprocess.run([node, CHECKER, str(path), CORE], capture_output=True, text=True, timeout=600)


def test_cases_cover_every_mode(cases):
    """The drawn configurations exercise everything the page offers, so the check below covers it."""
    valid = [c for c in cases if c["accepted"]]
    assert len(valid) >= 600 and len(cases) - len(valid) >= 100  # both paths: computed and rejected
    for rank in (1, 2):
        for tr in (False, True):
            assert sum(c["rank"] == rank and c["transposed"] == tr for c in valid) >= 100, (rank, tr)
        for mode in MODES:
            assert sum(c["rank"] == rank and not c["transposed"] and c["mode"] == mode for c in valid) >= 20, (rank, mode)
    for tr in (False, True):
        sub = [c for c in valid if c["transposed"] == tr]
        assert sum(max(c["s"]) > 1 for c in sub) >= 150 and sum(max(c["d"]) > 1 for c in sub) >= 150
        assert sum(c["pl"] != c["ph"] for c in sub) >= 150
        assert sum(0.0 in c["w"] for c in sub) >= 50
    tr = [c for c in valid if c["transposed"]]
    assert sum(max(c["a"]) > 0 for c in tr) >= 150
    # output_padding >= stride (allowed when smaller than the dilation), and padding that crops the gather grid
    assert sum(any(c["a"][j] >= c["s"][j] for j in (0, 1)) for c in tr) >= 30
    assert sum(any(c["pl"][j] > c["d"][j] * (c["k"][j] - 1) for j in (0, 1)) for c in tr) >= 30


def test_core_matches_library(node, cases, tmp_path):
    r = run_checker(node, cases, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"agrees with the library on {len(cases)} configurations" in r.stdout, r.stdout


def test_checker_reports_a_wrong_entry(node, cases, tmp_path):
    """The checker fails, naming the configuration, when the library's side disagrees with the page."""
    c = json.loads(json.dumps(next(c for c in cases if c["accepted"] and c["rank"] == 2 and len(c["W"]["data"]) > 3)))
    c["W"]["data"][2] += 1e-9
    r = run_checker(node, [c], tmp_path, "wrong.json")
    assert r.returncode == 1 and "DISAGREES" in r.stdout and f"case {c['id']} (" in r.stdout, r.stdout + r.stderr
    assert "W[" in r.stdout and ("mode=" in r.stdout or "a=" in r.stdout), r.stdout
    # a tap moved to another position of the tap table
    c = json.loads(json.dumps(next(c for c in cases if c["accepted"] and len(c["relation"]) > 1)))
    c["relation"][0][2] = (c["relation"][0][2] + 1) % (c["k"][0] * c["k"][1] + 1)
    r = run_checker(node, [c], tmp_path, "tap.json")
    assert r.returncode == 1 and "tap table" in r.stdout, r.stdout + r.stderr
    # a configuration the library rejects must be rejected by the page
    c = json.loads(json.dumps(next(c for c in cases if c["accepted"])))
    c["accepted"], c["error"] = False, "a rule the page does not know"
    r = run_checker(node, [c], tmp_path, "reject.json")
    assert r.returncode == 1 and "the library rejects it" in r.stdout, r.stdout + r.stderr
