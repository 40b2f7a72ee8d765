"""Parity of convmtx's functional API and matrices with PyTorch (the ground truth).

Each seeded random configuration is checked for every method ('matrix'/'direct' for conv,
'matrix'/'scatter'/'gather' for conv_transpose) and for both matrices (the operation's own
and, through adjoint=True, the other one), batched or unbatched, in float64 to 1e-10 and
(every third configuration) in float32 to 1e-5. Tests that need torch request the `torch`
fixture and skip themselves with the reason when it is missing.
"""

import math

import numpy as np
import pytest
import scipy.sparse as sp

import convmtx

pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel lengths")

N_CONV = 300
N_TRANSPOSED = 300
MODES = ["zeros", "circular", "reflect", "replicate"]


# ---- random configurations (only the rules of SEMANTICS.md, no convmtx code) -------------------

def _maybe_tuple(rng, values):
    """An int when all values agree and the coin says so, else a tuple."""
    if len(set(values)) == 1 and rng.random() < 0.5:
        return int(values[0])
    return tuple(int(v) for v in values)


def random_conv_config(seed):
    rng = np.random.default_rng(seed)
    while True:
        r = int(rng.integers(1, 4))
        nmax = {1: 12, 2: 7, 3: 5}[r]
        G = int(rng.choice([1, 1, 2, 3]))
        cin, cout = G * int(rng.integers(1, 3)), G * int(rng.integers(1, 3))
        n = [int(rng.integers(1, nmax + 1)) for _ in range(r)]
        k = [int(rng.integers(1, 4 if r == 3 else 5)) for _ in range(r)]
        s = [int(rng.integers(1, 4)) for _ in range(r)]
        d = [int(rng.integers(1, 4)) for _ in range(r)]
        mode = MODES[int(rng.integers(0, 4))] if rng.random() < 0.6 else "zeros"
        kind = rng.choice(["int", "tuple", "pairs", "same", "valid"])
        if kind == "same":
            s = [1] * r  # PyTorch's 'same' needs stride 1
            lo = [d[j] * (k[j] - 1) // 2 for j in range(r)]
            hi = [d[j] * (k[j] - 1) - lo[j] for j in range(r)]
            padding = "same"
        elif kind == "valid":
            lo = hi = [0] * r
            padding = "valid"
        elif kind == "int":
            p = int(rng.integers(0, 3))
            lo = hi = [p] * r
            padding = p
        elif kind == "tuple":
            lo = hi = [int(rng.integers(0, 3)) for _ in range(r)]
            padding = tuple(lo)
        else:
            lo = [int(rng.integers(0, 3)) for _ in range(r)]
            hi = [int(rng.integers(0, 3)) for _ in range(r)]
            padding = tuple(zip(lo, hi))
        m = [(n[j] + lo[j] + hi[j] - d[j] * (k[j] - 1) - 1) // s[j] + 1 for j in range(r)]
        if min(m) < 1:
            continue
        if mode == "reflect" and any(lo[j] >= n[j] or hi[j] >= n[j] for j in range(r)):
            continue
        if mode == "circular" and any(lo[j] > n[j] or hi[j] > n[j] for j in range(r)):
            continue
        return dict(rank=r, groups=G, cin=cin, cout=cout, n=n, k=k, m=m, lo=lo, hi=hi,
                    kwargs=dict(stride=_maybe_tuple(rng, s), padding=padding, dilation=_maybe_tuple(rng, d),
                                groups=G, padding_mode=mode),
                    batch=int(rng.integers(1, 4)) if rng.random() < 0.7 else None,
                    bias=bool(rng.random() < 0.5), seed=seed)


def random_transposed_config(seed):
    rng = np.random.default_rng(seed)
    while True:
        r = int(rng.integers(1, 4))
        mmax = {1: 10, 2: 6, 3: 4}[r]
        G = int(rng.choice([1, 1, 2, 3]))
        cin, cout = G * int(rng.integers(1, 3)), G * int(rng.integers(1, 3))
        m = [int(rng.integers(1, mmax + 1)) for _ in range(r)]
        k = [int(rng.integers(1, 4 if r == 3 else 5)) for _ in range(r)]
        s = [int(rng.integers(1, 4)) for _ in range(r)]
        d = [int(rng.integers(1, 4)) for _ in range(r)]
        a = [int(rng.integers(0, max(s[j], d[j]))) for j in range(r)]
        kind = rng.choice(["int", "tuple", "pairs", "valid"])
        if kind == "valid":
            lo = hi = [0] * r
            padding = "valid"
        elif kind == "int":
            p = int(rng.integers(0, 3))
            lo = hi = [p] * r
            padding = p
        elif kind == "tuple":
            lo = hi = [int(rng.integers(0, 3)) for _ in range(r)]
            padding = tuple(lo)
        else:
            lo = [int(rng.integers(0, 3)) for _ in range(r)]
            hi = [int(rng.integers(0, 3)) for _ in range(r)]
            padding = tuple(zip(lo, hi))
        n = [(m[j] - 1) * s[j] - lo[j] - hi[j] + d[j] * (k[j] - 1) + a[j] + 1 for j in range(r)]
        if min(n) < 1:
            continue
        kwargs = dict(stride=_maybe_tuple(rng, s), padding=padding, groups=G, dilation=_maybe_tuple(rng, d))
        use_size = kind != "pairs" and all(a[j] < s[j] for j in range(r)) and rng.random() < 0.3
        if use_size:
            size = tuple(n)
            if rng.random() < 0.5:
                size = (1, cout) + size  # PyTorch also accepts (N, C, *spatial)
            kwargs["output_size"] = size
        else:
            kwargs["output_padding"] = _maybe_tuple(rng, a)
        return dict(rank=r, groups=G, cin=cin, cout=cout, m=m, k=k, n=n, s=s, d=d, lo=lo, hi=hi, a=a,
                    kwargs=kwargs, batch=int(rng.integers(1, 4)) if rng.random() < 0.7 else None,
                    bias=bool(rng.random() < 0.5), seed=seed)


def make_arrays(cfg, dtype, transposed):
    rng = np.random.default_rng(cfg["seed"] + 10_000)
    cin, cout, G, r = cfg["cin"], cfg["cout"], cfg["groups"], cfg["rank"]
    spatial = cfg["m"] if transposed else cfg["n"]
    wshape = (cin, cout // G, *cfg["k"]) if transposed else (cout, cin // G, *cfg["k"])
    lead = () if cfg["batch"] is None else (cfg["batch"],)
    x = rng.standard_normal(lead + (cin, *spatial)).astype(dtype)
    w = rng.standard_normal(wshape).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype) if cfg["bias"] else None
    return x, w, b


# ---- PyTorch references ---------------------------------------------------------------------------

def _torch_pad(lo, hi):
    """F.pad's argument: (lo, hi) pairs starting from the last dimension."""
    out = []
    for l, h in zip(reversed(lo), reversed(hi)):
        out += [l, h]
    return out


def torch_conv(torch, cfg, x, w, b):
    F = torch.nn.functional
    r = cfg["rank"]
    kw = cfg["kwargs"]
    X = torch.from_numpy(x if cfg["batch"] is not None else x[None])
    W, B = torch.from_numpy(w), None if b is None else torch.from_numpy(b)
    convf = getattr(F, f"conv{r}d")
    if isinstance(kw["padding"], tuple) and kw["padding"] and isinstance(kw["padding"][0], tuple):
        mode = "constant" if kw["padding_mode"] == "zeros" else kw["padding_mode"]
        X = F.pad(X, _torch_pad(cfg["lo"], cfg["hi"]), mode=mode)
        Y = convf(X, W, B, stride=kw["stride"], padding=0, dilation=kw["dilation"], groups=kw["groups"])
    else:
        # The nn module applies padding (int, tuple, 'same', 'valid') and padding_mode itself.
        mod = getattr(torch.nn, f"Conv{r}d")(cfg["cin"], cfg["cout"], tuple(cfg["k"]), stride=kw["stride"],
                                             padding=kw["padding"], dilation=kw["dilation"], groups=kw["groups"],
                                             bias=b is not None, padding_mode=kw["padding_mode"],
                                             dtype=W.dtype)
        with torch.no_grad():
            mod.weight.copy_(W)
            if b is not None:
                mod.bias.copy_(B)
            Y = mod(X)
    y = Y.detach().numpy()
    return y if cfg["batch"] is not None else y[0]


def torch_conv_transpose(torch, cfg, x, w, b):
    F = torch.nn.functional
    r = cfg["rank"]
    kw = cfg["kwargs"]
    X = torch.from_numpy(x if cfg["batch"] is not None else x[None])
    W, B = torch.from_numpy(w), None if b is None else torch.from_numpy(b)
    if "output_size" in kw:
        mod = getattr(torch.nn, f"ConvTranspose{r}d")(cfg["cin"], cfg["cout"], tuple(cfg["k"]), stride=kw["stride"],
                                                      padding=0 if kw["padding"] == "valid" else kw["padding"],
                                                      dilation=kw["dilation"], groups=kw["groups"],
                                                      bias=b is not None, dtype=W.dtype)
        with torch.no_grad():
            mod.weight.copy_(W)
            if b is not None:
                mod.bias.copy_(B)
            Y = mod(X, output_size=list(kw["output_size"]))
    elif isinstance(kw["padding"], tuple) and kw["padding"] and isinstance(kw["padding"][0], tuple):
        # Asymmetric padding: the full (unpadded) result, extended by zeros, cropped lo/hi.
        full = getattr(F, f"conv_transpose{r}d")(X, W, None, stride=kw["stride"], padding=0, output_padding=0,
                                                 groups=kw["groups"], dilation=kw["dilation"])
        ext = [max(cfg["lo"][j] + cfg["n"][j] - full.shape[2 + j], 0) for j in range(r)]
        full = F.pad(full, _torch_pad([0] * r, ext))
        idx = (slice(None), slice(None)) + tuple(slice(cfg["lo"][j], cfg["lo"][j] + cfg["n"][j]) for j in range(r))
        Y = full[idx]
        if B is not None:
            Y = Y + B.reshape((1, -1) + (1,) * r)
    else:
        Y = getattr(F, f"conv_transpose{r}d")(X, W, B, stride=kw["stride"],
                                              padding=0 if kw["padding"] == "valid" else kw["padding"],
                                              output_padding=kw["output_padding"], groups=kw["groups"],
                                              dilation=kw["dilation"])
    y = Y.detach().numpy()
    return y if cfg["batch"] is not None else y[0]


# ---- checks -----------------------------------------------------------------------------------------

def _tol(dtype, ref):
    scale = max(1.0, float(np.abs(ref).max()) if ref.size else 1.0)
    return (1e-10, 1e-10 * scale) if dtype == np.float64 else (1e-5, 1e-5 * scale)


def _check(got, ref, dtype, what):
    assert got.dtype == dtype, f"{what}: dtype {got.dtype}, expected {dtype}"
    assert got.shape == ref.shape, f"{what}: shape {got.shape}, expected {ref.shape}"
    rtol, atol = _tol(dtype, ref)
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol, err_msg=what)


def _check_matrix(M, x, ref, b, cfg, dtype, what):
    assert sp.issparse(M) and M.dtype == dtype, what
    xs = x if cfg["batch"] is not None else x[None]
    refs = ref if cfg["batch"] is not None else ref[None]
    assert M.shape == (refs[0].size, xs[0].size), f"{what}: shape {M.shape}"
    for xb, yb in zip(xs, refs):
        got = M @ xb.ravel()
        if b is not None:
            got = got + np.repeat(b, yb.size // b.size)
        rtol, atol = _tol(dtype, yb)
        np.testing.assert_allclose(got, yb.ravel(), rtol=rtol, atol=atol, err_msg=what)


def _same_matrix(A, B):
    assert A.shape == B.shape
    diff = (A - B).tocoo()
    assert diff.nnz == 0 or np.abs(diff.data).max() == 0


def _matrix_options(seed):
    rng = np.random.default_rng(seed + 20_000)
    return dict(index_dtype=[np.int32, np.int64][int(rng.integers(0, 2))], format=["csr", "csc"][int(rng.integers(0, 2))])


def _dtypes(seed):
    return [np.float64, np.float32] if seed % 3 == 0 else [np.float64]


@pytest.mark.parametrize("seed", range(N_CONV))
def test_conv_parity(torch, seed):
    cfg = random_conv_config(seed)
    for dtype in _dtypes(seed):
        x, w, b = make_arrays(cfg, dtype, transposed=False)
        ref = torch_conv(torch, cfg, x, w, b)
        for method in ["matrix", "direct"]:
            _check(convmtx.conv(x, w, b, method=method, **cfg["kwargs"]), ref, dtype, f"conv {method} {cfg}")
        opts = _matrix_options(seed)
        W = convmtx.conv_matrix(x.shape[-cfg["rank"] - 1:], w, **cfg["kwargs"], **opts)
        assert W.format == opts["format"] and W.indices.dtype == np.dtype(opts["index_dtype"])
        _check_matrix(W, x, ref, b, cfg, dtype, f"conv_matrix {cfg}")
        if cfg["kwargs"]["padding_mode"] == "zeros" or dtype == np.float64:
            WT = convmtx.conv_matrix(x.shape[-cfg["rank"] - 1:], w, **cfg["kwargs"], adjoint=True)
            _same_matrix(WT, W.T)


@pytest.mark.parametrize("seed", range(N_TRANSPOSED))
def test_conv_transpose_parity(torch, seed):
    cfg = random_transposed_config(seed)
    for dtype in _dtypes(seed):
        x, w, b = make_arrays(cfg, dtype, transposed=True)
        ref = torch_conv_transpose(torch, cfg, x, w, b)
        for method in ["matrix", "scatter", "gather"]:
            _check(convmtx.conv_transpose(x, w, b, method=method, **cfg["kwargs"]), ref, dtype,
                   f"conv_transpose {method} {cfg}")
        opts = _matrix_options(seed)
        T = convmtx.conv_transpose_matrix(x.shape[-cfg["rank"] - 1:], w, **cfg["kwargs"], **opts)
        assert T.format == opts["format"] and T.indices.dtype == np.dtype(opts["index_dtype"])
        _check_matrix(T, x, ref, b, cfg, dtype, f"conv_transpose_matrix {cfg}")
        W = convmtx.conv_transpose_matrix(x.shape[-cfg["rank"] - 1:], w, **cfg["kwargs"], adjoint=True)
        _same_matrix(W, T.T)
        # W is the conv matrix of the same tensor read as a conv weight, restricted to the first m
        # outputs per dimension (more only when output_padding >= stride).
        if all(cfg["a"][j] < cfg["s"][j] for j in range(cfg["rank"])):
            Wc = convmtx.conv_matrix((cfg["cout"], *cfg["n"]), w, stride=cfg["kwargs"]["stride"],
                                     padding=tuple(zip(cfg["lo"], cfg["hi"])), dilation=cfg["kwargs"]["dilation"],
                                     groups=cfg["groups"])
            _same_matrix(Wc, W)


def test_configuration_coverage():
    """The random configurations cover every feature the parity tests claim to."""
    convs = [random_conv_config(s) for s in range(N_CONV)]
    trans = [random_transposed_config(s) for s in range(N_TRANSPOSED)]
    assert N_CONV + N_TRANSPOSED >= 500
    for cfgs in (convs, trans):
        assert {c["rank"] for c in cfgs} == {1, 2, 3}
        assert {c["groups"] for c in cfgs} >= {1, 2, 3}
        assert any(c["batch"] is None for c in cfgs) and any(c["batch"] for c in cfgs)
        kinds = {type(c["kwargs"]["padding"]).__name__ if not isinstance(c["kwargs"]["padding"], str)
                 else c["kwargs"]["padding"] for c in cfgs}
        assert {"int", "tuple", "valid"} <= kinds
        assert any(isinstance(c["kwargs"]["padding"], tuple) and c["kwargs"]["padding"]
                   and isinstance(c["kwargs"]["padding"][0], tuple) for c in cfgs)
        assert any(max(c["kwargs"]["stride"] if isinstance(c["kwargs"]["stride"], tuple) else (c["kwargs"]["stride"],)) > 1
                   for c in cfgs)
    assert {c["kwargs"]["padding_mode"] for c in convs} == set(MODES)
    assert any(c["kwargs"]["padding"] == "same" for c in convs)
    assert sum("output_size" in c["kwargs"] for c in trans) >= 20
    assert sum(any(c["a"][j] >= c["s"][j] for j in range(c["rank"])) for c in trans) >= 5
    assert sum(max(c["a"]) > 0 for c in trans) >= 50


# ---- the example and the documented quick start -----------------------------------------

def test_drop_in_conv_transpose2d(torch):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 5, 6))
    w = rng.standard_normal((3, 4, 3, 3))
    ref = torch.nn.functional.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), stride=2, padding=1,
                                               output_padding=1).numpy()
    y = convmtx.conv_transpose(x, w, stride=2, padding=1, output_padding=1)
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    assert y.shape == (2, 4, 10, 12)
    T = convmtx.conv_transpose_matrix(x.shape[1:], w, stride=2, padding=1, output_padding=1)
    for b in range(2):
        np.testing.assert_allclose(T @ x[b].ravel(), ref[b].ravel(), rtol=1e-12, atol=1e-12)


def _quick_start(path, required):
    import os
    import re

    if not os.path.exists(path):
        pytest.skip(f"{path} is not in this tree")
    block = re.search(r"<!-- quick-start -->\s*```python\n(.*?)```", open(path).read(), re.S)
    if not block and not required:
        return None
    assert block, f"{path} has no quick-start block"
    return block.group(1)


def test_quick_start_runs():
    """The five lines of docs/python.md's quick start (and the README's, if marked), as written there."""
    import os

    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    for name, required in (("docs/python.md", True), ("README.md", False)):
        code = _quick_start(os.path.join(root, name), required)
        if code is None:
            continue
        assert len(code.strip().splitlines()) == 5, name
        exec(compile(code, name, "exec"), {})


# ---- properties that need no torch ---------------------------------------------------------------

def test_unbatched_equals_batched(rng):
    x = rng.standard_normal((3, 7, 6))
    w = rng.standard_normal((4, 3, 2, 3))
    b = rng.standard_normal(4)
    for method in ["matrix", "direct"]:
        y1 = convmtx.conv(x, w, b, stride=(2, 1), padding=1, method=method)
        y2 = convmtx.conv(x[None], w, b, stride=(2, 1), padding=1, method=method)
        assert y1.shape == (4, 4, 6) and y2.shape == (1, 4, 4, 6)
        np.testing.assert_array_equal(y1, y2[0])
    wt = rng.standard_normal((3, 2, 3, 3))
    for method in ["matrix", "scatter", "gather"]:
        y1 = convmtx.conv_transpose(x, wt, stride=2, method=method)
        y2 = convmtx.conv_transpose(x[None], wt, stride=2, method=method)
        np.testing.assert_array_equal(y1, y2[0])


def test_empty_batch(rng):
    w = rng.standard_normal((2, 1, 3))
    y = convmtx.conv(np.zeros((0, 1, 5)), w, padding=1)
    assert y.shape == (0, 2, 5) and y.dtype == np.float64


def test_non_contiguous_inputs(rng):
    big = rng.standard_normal((2, 6, 9, 10))
    x = big[:, ::2, 1::2, ::-1]  # strided and reversed view, shape (2, 3, 4, 10)
    wbig = rng.standard_normal((3, 3, 4, 2))
    w = np.transpose(wbig, (1, 0, 3, 2))[:, :, :, ::-1]  # (3, 3, 2, 4), not contiguous
    b = rng.standard_normal(6)[::2]
    assert not x.flags.c_contiguous and not w.flags.c_contiguous and not b.flags.c_contiguous
    xc, wc, bc = np.ascontiguousarray(x), np.ascontiguousarray(w), np.ascontiguousarray(b)
    for method in ["matrix", "direct"]:
        np.testing.assert_array_equal(convmtx.conv(x, w, b, padding=(1, 2), method=method),
                                      convmtx.conv(xc, wc, bc, padding=(1, 2), method=method))
    xf = np.asfortranarray(xc)
    np.testing.assert_array_equal(convmtx.conv_transpose(xf, w, b, stride=2), convmtx.conv_transpose(xc, wc, bc, stride=2))
    _same_matrix(convmtx.conv_matrix(x.shape[1:], w), convmtx.conv_matrix(x.shape[1:], wc))


def test_float32_stays_float32(rng):
    x = rng.standard_normal((1, 2, 6)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3)).astype(np.float32)
    assert convmtx.conv(x, w).dtype == np.float32
    assert convmtx.conv(x, w, method="direct").dtype == np.float32
    wt = rng.standard_normal((2, 3, 3)).astype(np.float32)
    for method in ["matrix", "scatter", "gather"]:
        assert convmtx.conv_transpose(x, wt, method=method).dtype == np.float32
    assert convmtx.conv_matrix((2, 6), w).dtype == np.float32
    assert convmtx.conv_transpose_matrix((2, 6), wt).dtype == np.float32


def test_adjoint_dot_product(rng):
    """<W x, y> == <x, T y> with W from conv_matrix and T from conv_transpose on the adjoint configuration."""
    n, k, s, p, d = (9, 8), (3, 2), (2, 3), ((1, 2), (0, 1)), (2, 1)
    w = rng.standard_normal((4, 3, *k))
    W = convmtx.conv_matrix((3, *n), w, stride=s, padding=p, dilation=d)
    m = convmtx.conv_spec((3, *n), w.shape, stride=s, padding=p, dilation=d).output_size
    y = rng.standard_normal((4, *m))
    x = rng.standard_normal((3, *n))
    spec = convmtx.conv_spec((3, *n), w.shape, stride=s, padding=p, dilation=d).adjoint()
    t = convmtx.conv_transpose(y, w, stride=s, padding=p, dilation=d, output_padding=tuple(spec.output_padding))
    assert t.shape == x.shape
    assert abs((W @ x.ravel()) @ y.ravel() - x.ravel() @ t.ravel()) < 1e-10 * np.abs(t).sum()


def test_matrices_share_memory_with_core(rng):
    """No copy: data, indices and indptr all have the C++ matrix (a capsule) as their base."""
    w = rng.standard_normal((4, 3, 3, 3))

    def root(a):
        while isinstance(a, np.ndarray) and a.base is not None:
            a = a.base
        return a

    for fmt in ["csr", "csc"]:
        for idx in [np.int32, np.int64]:
            M = convmtx.conv_matrix((3, 10, 10), w, padding=1, index_dtype=idx, format=fmt)
            assert M.indices.dtype == idx and M.indptr.dtype == idx and M.data.dtype == np.float64
            owners = {id(root(M.data)), id(root(M.indices)), id(root(M.indptr))}
            assert len(owners) == 1 and type(root(M.data)).__name__ == "PyCapsule"
            assert M.has_canonical_format
            x = rng.standard_normal(M.shape[1])
            np.testing.assert_allclose(M @ x, convmtx.conv(x.reshape(3, 10, 10), w, padding=1).ravel(),
                                       rtol=1e-12, atol=1e-12)
            # scipy keeps the requested index dtype through ordinary operations
            assert (M @ np.eye(M.shape[1], 3)).shape == (M.shape[0], 3)
            assert M.indices.dtype == idx


def test_threads_build_concurrently(rng):
    """The GIL is released during builds: concurrent builds give the same matrices."""
    import threading

    w = rng.standard_normal((8, 8, 3, 3))
    expected = convmtx.conv_matrix((8, 40, 40), w, padding=1)
    results = [None] * 4

    def work(i):
        results[i] = convmtx.conv_matrix((8, 40, 40), w, padding=1)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for M in results:
        _same_matrix(M, expected)


def test_drop_zeros(rng):
    w = rng.standard_normal((2, 1, 3))
    w[0, 0, 1] = 0
    full = convmtx.conv_matrix((1, 6), w, padding=1)
    dropped = convmtx.conv_matrix((1, 6), w, padding=1, drop_zeros=True)
    assert dropped.nnz == full.nnz - 6
    _same_matrix(full, dropped)


# ---- Keras convention and weight layouts ---------------------------------------------------------

def _tf_same(n, k, s, d):
    """TensorFlow's 'same' padding (documented formula): output ceil(n/s), odd pixel at the end."""
    m = -(-n // s)
    total = max((m - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


@pytest.mark.parametrize("seed", range(12))
def test_keras_same_conv_and_transpose(seed):
    rng = np.random.default_rng(seed)
    r = 1 + seed % 2
    n = tuple(int(v) for v in rng.integers(3, 9, r))
    k = tuple(int(v) for v in rng.integers(1, 5, r))
    s = tuple(int(v) for v in rng.integers(1, 4, r))
    d = tuple(int(v) for v in rng.integers(1, 3, r))
    w = rng.standard_normal((3, 2, *k))
    x = rng.standard_normal((2, *n))
    y = convmtx.conv(x, w, stride=s, dilation=d, padding="same", convention="keras")
    assert y.shape[1:] == tuple(-(-n[j] // s[j]) for j in range(r))
    pads = tuple(_tf_same(n[j], k[j], s[j], d[j]) for j in range(r))
    np.testing.assert_allclose(y, convmtx.conv(x, w, stride=s, dilation=d, padding=pads), rtol=1e-12, atol=1e-12)
    # The Keras 'same' transposed conv on y's shape has output m*s and is the adjoint of that conv
    # whenever n is a multiple of the stride.
    m = y.shape[1:]
    t = convmtx.conv_transpose(y, w, stride=s, dilation=d, padding="same", convention="keras")
    assert t.shape[1:] == tuple(m[j] * s[j] for j in range(r))
    if all(n[j] % s[j] == 0 for j in range(r)):
        W = convmtx.conv_matrix((2, *n), w, stride=s, dilation=d, padding="same", convention="keras")
        T = convmtx.conv_transpose_matrix(y.shape, w, stride=s, dilation=d, padding="same", convention="keras")
        _same_matrix(T, W.T)
        np.testing.assert_allclose(t.ravel(), W.T @ y.ravel(), rtol=1e-12, atol=1e-12)


def test_keras_valid_transpose_length():
    w = np.ones((1, 1, 5))
    y = np.ones((1, 4))
    assert convmtx.conv_transpose(y, w, stride=2, padding="valid", convention="keras").shape == (1, 4 * 2 + 3)
    assert convmtx.conv_transpose(y, w, stride=7, padding="valid", convention="keras").shape == (1, 28)
    # explicit output_padding follows Keras' formula (m-1)s + k + a for 'valid'
    assert convmtx.conv_transpose(y, w, stride=2, padding="valid", output_padding=1,
                                  convention="keras").shape == (1, 3 * 2 + 5 + 1)
    # the torch convention's default output_padding is 0: (m-1)s + k
    assert convmtx.conv_transpose(y, w, stride=2, padding="valid").shape == (1, 3 * 2 + 5)


def test_keras_layouts(rng):
    """A Keras conv kernel (*k, C_in, C_out) applied channels-last equals conv with from_keras_conv."""
    K = rng.standard_normal((3, 2, 4, 5))  # kh, kw, C_in, C_out
    xl = rng.standard_normal((7, 6, 4))  # channels-last input
    ref = np.zeros((5, 5, 5))
    for i in range(5):
        for j in range(5):
            ref[i, j] = np.einsum("abc,abco->o", xl[i:i + 3, j:j + 2], K)
    w = convmtx.from_keras_conv(K)
    assert w.shape == (5, 4, 3, 2) and w.flags.c_contiguous
    got = convmtx.conv(np.moveaxis(xl, -1, 0), w)
    np.testing.assert_allclose(np.moveaxis(got, 0, -1), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(convmtx.to_keras_conv(w), K)
    # Keras Conv2DTranspose kernel (*k, C_out, C_in): scatter x[i, c] * K[t, o, c] to out[i*s + t, o].
    Kt = rng.standard_normal((3, 2, 6))  # k, C_out, C_in (1-D)
    yl = rng.standard_normal((4, 6))
    out = np.zeros(((4 - 1) * 2 + 3, 2))
    for i in range(4):
        for t in range(3):
            out[i * 2 + t] += Kt[t] @ yl[i]
    wt = convmtx.from_keras_conv_transpose(Kt)
    assert wt.shape == (6, 2, 3)
    got = convmtx.conv_transpose(yl.T, wt, stride=2)
    np.testing.assert_allclose(got.T, out, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(convmtx.to_keras_conv_transpose(wt), Kt)
    np.testing.assert_array_equal(convmtx.convert_weight(K, "keras_conv", "keras_conv"), K)


def test_spec_introspection():
    spec = convmtx.conv_transpose_spec((3, 5, 6), (3, 4, 3, 3), stride=2, padding=1, output_padding=1)
    assert spec.transposed and spec.output_shape == [4, 10, 12] and spec.output_padding == [1, 1]
    assert spec.weight_shape == [3, 4, 3, 3]
    assert "conv_transpose2d" in repr(spec)
    spec = convmtx.conv_transpose_spec((3, 5, 6), (3, 4, 3, 3), stride=2, padding=1, output_size=(10, 11))
    assert spec.output_padding == [1, 0]
