"""convmtx.dot_test, convmtx.check_kernel and convmtx.to_sparse on Python callables: correct
kernels (ours, PyTorch's) pass, injected bugs in numpy/PyTorch kernels are detected and named, the
recovered matrices equal W exactly, and the probe counts respect the stated bound."""

import numpy as np
import pytest
import scipy.sparse as sp

import convmtx
from convmtx import _core
from conftest import missing, require_tool


# ---- dot_test ------------------------------------------------------------------------------------

def test_dot_test_passes_for_adjoint_pairs_and_fails_otherwise(rng):
    w = rng.standard_normal((3, 2, 3, 3))
    fwd = lambda x: convmtx.conv(x, w, stride=2, padding=1)            # (2, 7, 7) -> (3, 4, 4)
    adj = lambda y: convmtx.conv_transpose(y, w, stride=2, padding=1)  # (3, 4, 4) -> (2, 7, 7)
    r = convmtx.dot_test(fwd, adj, (2, 7, 7), (3, 4, 4), trials=4, seed=1)
    assert r.passed and r.error <= r.rtol and len(r.trials) == 4
    assert r.rtol == pytest.approx(10 * np.finfo(np.float64).eps * np.sqrt(98 + 48))
    f, a, e = r.trials[0]
    assert f == pytest.approx(a, rel=1e-12) and e <= r.rtol
    assert "PASSED" in str(r) and "trial 0" in str(r)
    bad = convmtx.dot_test(fwd, lambda y: convmtx.conv_transpose(y, w[:, :, ::-1, ::-1].copy(), stride=2, padding=1),
                           (2, 7, 7), (3, 4, 4))
    assert not bad.passed and bad.error > 1e-3 and "FAILED" in str(bad)


def test_dot_test_float32_tolerance_and_complex_conjugation(rng):
    w = rng.standard_normal((1, 1, 3)).astype(np.float32)
    r = convmtx.dot_test(lambda x: convmtx.conv(x.astype(np.float32), w), lambda y: convmtx.conv_transpose(
        y.astype(np.float32), w), (1, 9), (1, 7))
    assert r.passed and r.rtol == pytest.approx(10 * np.finfo(np.float32).eps * 4)
    A = rng.standard_normal((5, 4)) + 1j * rng.standard_normal((5, 4))
    good = convmtx.dot_test(lambda x: A @ x, lambda y: A.conj().T @ y, (4,), (5,))
    assert good.passed and isinstance(good.trials[0][0], complex)
    bad = convmtx.dot_test(lambda x: A @ x, lambda y: A.T @ y, (4,), (5,))
    assert not bad.passed


@pytest.mark.parametrize("bad_trial,side,value", [(2, "forward", np.nan), (4, "adjoint", np.inf),
                                                   (1, "forward", -np.inf), (0, "adjoint", np.nan)])
def test_dot_test_fails_on_a_non_finite_trial(rng, bad_trial, side, value):
    """Regression (issue #10): a NaN or infinite result in any trial, not only the first, fails the test."""
    w = rng.standard_normal((3, 2, 3, 3))
    calls = {"forward": 0, "adjoint": 0}

    def poisoned(name, f):
        def g(v):
            out = f(v)
            if name == side and calls[name] == bad_trial:
                out = out.copy()
                out[1, 2, 2] = value
            calls[name] += 1
            return out
        return g

    fwd = poisoned("forward", lambda x: convmtx.conv(x, w, stride=2, padding=1))
    adj = poisoned("adjoint", lambda y: convmtx.conv_transpose(y, w, stride=2, padding=1))
    r = convmtx.dot_test(fwd, adj, (2, 7, 7), (3, 4, 4), trials=6, seed=3)
    result = "the forward result A x" if side == "forward" else "the adjoint result A^H y"
    assert not r.passed and r.error == np.inf and len(r.trials) == 6
    assert r.failure == f"trial {bad_trial}: {result} holds {value} at index (1, 2, 2)"
    assert "FAILED" in str(r) and r.failure in str(r)
    assert r.trials[bad_trial][2] == np.inf


def test_dot_test_fails_when_a_norm_overflows():
    r = convmtx.dot_test(lambda x: x * 1e200, lambda y: y * 1e200, (5,), (5,), trials=2)
    assert not r.passed and r.failure == "trial 0: ||Ax|| is inf"


# ---- check_kernel --------------------------------------------------------------------------------

def _gather_transposed(y, w, stride, flip=True):
    """Transposed conv, 2-D, by gathering (Dumoulin & Visin 2016, "A guide to convolution arithmetic for deep
    learning"): zero insertion, d(k-1) padding, flipped kernel with swapped channel axes, stride-1 conv.
    flip=False injects the classic bug."""
    n, c_in, m0, m1 = y.shape
    _, c_out, k0, k1 = w.shape
    up = np.zeros((n, c_in, (m0 - 1) * stride + 1, (m1 - 1) * stride + 1), y.dtype)
    up[:, :, ::stride, ::stride] = y
    up = np.pad(up, ((0, 0), (0, 0), (k0 - 1, k0 - 1), (k1 - 1, k1 - 1)))
    wk = w[:, :, ::-1, ::-1] if flip else w
    out = np.zeros((n, c_out, up.shape[2] - k0 + 1, up.shape[3] - k1 + 1), y.dtype)
    for t0 in range(k0):
        for t1 in range(k1):
            patch = up[:, :, t0:t0 + out.shape[2], t1:t1 + out.shape[3]]
            out += np.einsum("nchw,co->nohw", patch, wk[:, :, t0, t1])
    return out


def _numpy_conv(x, w, padding=0, dilation=1):
    """Conv (cross-correlation), 2-D, stride 1, by shifted slices."""
    n, c, h, wd = x.shape
    c_out, _, k0, k1 = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh, ow = xp.shape[2] - dilation * (k0 - 1), xp.shape[3] - dilation * (k1 - 1)
    out = np.zeros((n, c_out, oh, ow), x.dtype)
    for t0 in range(k0):
        for t1 in range(k1):
            patch = xp[:, :, t0 * dilation:t0 * dilation + oh, t1 * dilation:t1 * dilation + ow]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, t0, t1])
    return out


def test_correct_numpy_kernel_passes_with_few_probes(rng):
    w = rng.standard_normal((2, 3, 3, 3))
    r = convmtx.check_kernel(lambda y: _gather_transposed(y, w, 2), (2, 5, 5), w, transposed=True, stride=2)
    assert r.passed, str(r)
    spec = convmtx.conv_transpose_spec((2, 5, 5), w.shape, stride=2)
    assert r.probes == _core.probe_colors(spec) <= convmtx.validate.probe_bound(spec)
    assert r.probes < 2 * 5 * 5  # fewer than one probe per input element
    assert r.calls == 1
    assert "PASSED" in str(r) and not r.findings and not r.diffs


def test_unflipped_numpy_gather_kernel_is_named(rng):
    w = rng.standard_normal((2, 3, 3, 3))
    r = convmtx.check_kernel(lambda y: _gather_transposed(y, w, 2, flip=False), (2, 5, 5), w, transposed=True,
                             stride=2)
    assert not r.passed
    assert r.findings[0].name == "flipped" and r.findings[0].remaining == 0
    text = str(r)
    assert "flipped in every spatial dimension" in text and "wrong outputs" in text and "w[" in text
    assert r.wrong_weight > 0 and r.missing == 0 and r.extra == 0
    assert all(kind == "wrong_weight" for kind, *_ in r.diffs)


def test_dilation_ignored_numpy_kernel_is_named(rng):
    w = rng.standard_normal((2, 1, 3, 3))
    # The kernel computes the dilation-1 conv and keeps the first outputs (the expected output size).
    bug = lambda x: _numpy_conv(x, w, padding=2, dilation=1)[:, :, :6, :6]
    r = convmtx.check_kernel(bug, (1, 6, 6), w, padding=2, dilation=2)
    assert not r.passed and r.findings[0].name == "dilation_ignored", str(r)


def test_pytorch_kernels_pass(torch):
    F = torch.nn.functional
    g = torch.Generator().manual_seed(0)
    w = torch.randn(4, 3, 3, 2, generator=g, dtype=torch.float64)
    r = convmtx.check_kernel(lambda y: F.conv_transpose2d(torch.from_numpy(y), w, stride=(2, 1), padding=1,
                                                          output_padding=(1, 0), groups=2, dilation=(1, 2)).numpy(),
                             (4, 4, 5), w.numpy(), transposed=True, stride=(2, 1), padding=1, output_padding=(1, 0),
                             groups=2, dilation=(1, 2))
    assert r.passed, str(r)
    wf = torch.randn(4, 2, 3, 3, generator=g)  # float32
    r = convmtx.check_kernel(lambda x: F.conv2d(torch.from_numpy(x), wf, stride=2, padding=1, groups=2).numpy(),
                             (4, 7, 6), wf.numpy(), stride=2, padding=1, groups=2,
                             adjoint=lambda y: F.conv_transpose2d(torch.from_numpy(y), wf, stride=2, padding=1,
                                                                  groups=2, output_padding=(0, 1)).numpy())
    assert r.passed and r.has_adjoint and r.adjoint_passed and r.dot.passed, str(r)


def test_pytorch_bugs_are_named(torch):
    F = torch.nn.functional
    g = torch.Generator().manual_seed(1)
    w = torch.randn(3, 2, 3, 3, generator=g, dtype=torch.float64)
    # Padding off by one: F.pad with (1, 3) instead of (2, 2).
    r = convmtx.check_kernel(lambda x: F.conv2d(F.pad(torch.from_numpy(x), (1, 3, 1, 3)), w).numpy(), (2, 6, 6),
                             w.numpy(), padding=2)
    assert r.findings[0].name == "shift" and "padding off by one" in str(r)
    # Weight layout transposed: the flat weight read as (C_in, C_out, k, k).
    wb = w.reshape(2, 3, 3, 3).transpose(0, 1).contiguous()
    r = convmtx.check_kernel(lambda x: F.conv2d(torch.from_numpy(x), wb).numpy(), (2, 6, 6), w.numpy())
    assert r.findings[0].name == "swapped_layout" and "channel axes swapped" in str(r)
    # output_padding on the wrong side: computed without it, then padded at the low end.
    wt = torch.randn(1, 1, 3, 3, generator=g, dtype=torch.float64)
    r = convmtx.check_kernel(lambda y: F.pad(F.conv_transpose2d(torch.from_numpy(y), wt, stride=3), (2, 0, 2, 0)).numpy(),
                             (1, 3, 3), wt.numpy(), transposed=True, stride=3, output_padding=2)
    assert r.findings[0].name == "shift" and "applied at the low end" in str(r), str(r)
    # Groups mixed: each output channel uses the other group's inputs.
    wg = torch.randn(4, 1, 3, 3, generator=g, dtype=torch.float64)
    perm = [2, 3, 0, 1]
    r = convmtx.check_kernel(lambda x: F.conv2d(torch.from_numpy(x)[:, perm], wg, groups=4).numpy(), (4, 5, 5),
                             wg.numpy(), groups=4)
    assert not r.passed and any(f.name == "cross_group" for f in r.findings), str(r)


@pytest.mark.parametrize("args, bug, text", [
    (dict(padding=1), dict(padding=0), "is the output of padding=0 (the configuration has padding=1): padding forgotten?"),
    (dict(padding=1, dilation=2), dict(padding=1, dilation=1), "dilation=1 (the configuration has dilation=2): dilation ignored?"),
    (dict(padding=1, stride=2), dict(padding=1, stride=1), "stride=1 (the configuration has stride=2): stride ignored?"),
])
def test_a_kernel_of_the_wrong_output_shape_is_told_which_mistake_gives_it(torch, rng, args, bug, text):
    """The commonest bugs change the output's shape: the ShapeError names the parameter value that gives
    the returned shape (checked against what PyTorch returns with that value)."""
    F = torch.nn.functional
    w = rng.standard_normal((4, 2, 3, 3))
    kernel = lambda x: F.conv2d(torch.from_numpy(x), torch.from_numpy(w), **bug).numpy()
    with pytest.raises(convmtx.ShapeError) as e:
        convmtx.check_kernel(kernel, (2, 16, 16), w, **args)
    assert text in str(e.value), str(e.value)
    got = tuple(kernel(np.zeros((1, 2, 16, 16))).shape[1:])
    assert str(got).replace(" ", "") in str(e.value).replace(" ", "")


def test_check_kernel_errors(rng):
    w = rng.standard_normal((1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"returned an array of shape \(1, 1, 4, 4\)"):
        convmtx.check_kernel(lambda x: np.zeros((x.shape[0], 1, 4, 4)), (1, 5, 5), w)
    with pytest.raises(TypeError, match="dtype int64"):
        convmtx.check_kernel(lambda x: x, (1, 5, 5), np.ones((1, 1, 3, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="stride"):
        convmtx.check_kernel(lambda x: x, (1, 5, 5), w, stride=0)
    with pytest.raises(TypeError, match="kernel must be a callable"):
        convmtx.check_kernel(np.zeros(3), (1, 5, 5), w)
    with pytest.raises(ValueError, match="pattern has shape"):
        convmtx.to_sparse(lambda x: x, (3,), (3,), sp.eye(4))
    with pytest.raises(ValueError, match="in_shape"):
        convmtx.dot_test(lambda x: x, lambda y: y, (0,), (3,))
    with pytest.raises(ZeroDivisionError):  # the kernel's own exception propagates
        convmtx.check_kernel(lambda x: 1 / 0, (1, 5, 5), w)


def _poisoned_conv(w, where, value, trigger):
    """A correct conv (batched) that writes value at output index `where` for the samples where trigger(x) holds."""
    def kernel(x):
        y = convmtx.conv(x, w, padding=1)
        for b in range(x.shape[0]):
            if trigger(x[b]):
                y[(b,) + where] = value
        return y
    return kernel


@pytest.mark.parametrize("trigger,value,text", [
    (lambda x: not x.any(), np.nan, "kernel returned NaN at out[1, 1, 1] for the zero input"),
    (lambda x: x[0, 0, 0] not in (0.0, 1.0), np.inf, "kernel returned inf at out[1, 1, 1] for random input 0"),
    (lambda x: x[1, 2, 3] == 1.0, np.nan, "kernel returned NaN at out[1, 1, 1] for probe "),
])
def test_non_finite_kernel_results_fail_with_their_position(rng, trigger, value, text):
    w = rng.standard_normal((2, 2, 3, 3))
    r = convmtx.check_kernel(_poisoned_conv(w, (1, 1, 1), value, trigger), (2, 5, 5), w, padding=1)
    assert not r.passed
    assert r.findings[0].name == "nonfinite" and text in r.findings[0].message, str(r)
    assert "check_kernel FAILED" in str(r)


def test_non_finite_weights_are_refused(rng):
    w = rng.standard_normal((1, 1, 3, 3))
    w[0, 0, 2, 1] = np.nan
    with pytest.raises(ValueError, match=r"weight\[0, 0, 2, 1\] is NaN; every weight must be finite"):
        convmtx.check_kernel(lambda x: x, (1, 5, 5), w)
    w[0, 0, 2, 1] = -np.inf
    with pytest.raises(ValueError, match=r"weight\[0, 0, 2, 1\] is -inf"):
        convmtx.check_kernel(lambda x: x, (1, 5, 5), w.astype(np.float32))


def test_to_sparse_refuses_a_non_finite_operator(rng):
    w = rng.standard_normal((1, 1, 3, 3))
    spec = convmtx.conv_spec((1, 6, 6), w.shape, padding=1)
    f = lambda x: np.where(np.arange(36).reshape(1, 6, 6) == 7, np.nan if x[0, 3, 2] else 0.0,
                           convmtx.conv(x, w, padding=1))
    for pattern in (None, spec, convmtx.conv_matrix((1, 6, 6), w, padding=1)):
        with pytest.raises(ValueError, match=r"^forward returned NaN at out\[0, 1, 1\] for probe \d+ of level 0 \("):
            convmtx.to_sparse(f, (1, 6, 6), (1, 6, 6), pattern)


# ---- to_sparse -----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", range(6))
def test_to_sparse_of_direct_kernels_equals_W(case, rng):
    transposed = case % 2 == 1
    stride, padding, groups = 1 + case % 3, case % 2, 1 + (case // 3)
    if transposed:
        w = rng.standard_normal((2 * groups, 2, 3, 2))
        spec = convmtx.conv_transpose_spec((2 * groups, 4, 5), w.shape, stride=stride, padding=padding, groups=groups)
        fwd = lambda y: convmtx.conv_transpose(y, w, stride=stride, padding=padding, groups=groups, method="gather")
        W = convmtx.conv_transpose_matrix((2 * groups, 4, 5), w, stride=stride, padding=padding, groups=groups)
    else:
        w = rng.standard_normal((3 * groups, 2, 3, 2))
        spec = convmtx.conv_spec((2 * groups, 7, 6), w.shape, stride=stride, padding=padding, groups=groups)
        fwd = lambda x: convmtx.conv(x, w, stride=stride, padding=padding, groups=groups, method="direct")
        W = convmtx.conv_matrix((2 * groups, 7, 6), w, stride=stride, padding=padding, groups=groups)
    ins, outs = tuple(spec.input_shape), tuple(spec.output_shape)
    for pattern in (None, spec, W, W.toarray() != 0):
        M, stats = convmtx.to_sparse(fwd, ins, outs, pattern, return_stats=True)
        assert isinstance(M, sp.csr_matrix) and M.shape == W.shape
        assert abs(M - W).max() == 0.0
        assert stats.verified
        if pattern is None:
            assert stats.probes == spec.input_numel
        elif isinstance(pattern, _core.ConvSpec):
            assert stats.probes == _core.probe_colors(spec) <= convmtx.validate.probe_bound(spec)
            assert stats.levels == 1
    # Batched forward: one call for all probes.
    M, stats = convmtx.to_sparse(lambda xb: np.stack([fwd(x) for x in xb]), ins, outs, spec, batched=True,
                                 return_stats=True)
    assert abs(M - W).max() == 0.0 and stats.calls == 1


def test_to_sparse_of_a_pytorch_module_and_the_adjoint_hint(torch):
    F = torch.nn.functional
    w = torch.randn(2, 3, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    spec = convmtx.conv_transpose_spec((2, 4, 4), tuple(w.shape), stride=2, padding=1, output_padding=1)
    W = convmtx.conv_matrix((3, 8, 8), w.numpy(), stride=2, padding=1)  # the conv whose W^T it is
    T = convmtx.to_sparse(lambda y: F.conv_transpose2d(torch.from_numpy(y)[None], w, stride=2, padding=1,
                                                       output_padding=1)[0].numpy(), (2, 4, 4), (3, 8, 8), spec)
    assert abs(T - W.T).max() < 1e-14
    # The conv direction with the transposed spec as hint (its adjoint).
    M = convmtx.to_sparse(lambda x: F.conv2d(torch.from_numpy(x)[None], w, stride=2, padding=1)[0].numpy(),
                          (3, 8, 8), (2, 4, 4), spec)
    assert abs(M - W).max() < 1e-14


def test_to_sparse_finds_entries_outside_the_hint(rng):
    # An operator with one entry far from the convolution's pattern: the colored probes flag it and the
    # finer levels make the result exact anyway.
    w = rng.standard_normal((1, 1, 3))
    spec = convmtx.conv_spec((1, 20), w.shape, padding=1)

    def fwd(x):
        y = convmtx.conv(x, w, padding=1)
        y[0, 19] += 5.0 * x[0, 0]
        return y

    M, stats = convmtx.to_sparse(fwd, (1, 20), (1, 20), spec, return_stats=True)
    W = convmtx.conv_matrix((1, 20), w, padding=1).tolil()
    W[19, 0] += 5.0
    assert abs(M - W.tocsr()).max() < 1e-15 and stats.verified and stats.levels > 1


# ---- convmtx adjoint-test (the CLI, when ctest provides it) -------------------------------------

def _cli():
    import os

    path = os.environ.get("CONVMTX_CLI")
    if not path:
        missing("CONVMTX_CLI is not set (ctest sets it to the built convmtx tool)")
    return require_tool(path, f"CONVMTX_CLI={path} is not an executable")


def test_cli_adjoint_test_sweep_and_json(tmp_path):
    import json
    import subprocess

    out = tmp_path / "report.json"
    p = subprocess.run([_cli(), "adjoint-test", "--count", "200", "--seed", "5", "--json", str(out)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "PASSED" in p.stdout and "dot test gather" in p.stdout
    assert p.stderr == ""  # no progress bar when stderr is not a terminal
    report = json.loads(out.read_text())
    assert report["passed"] and report["configurations"] == 200 and report["failures"] == []
    runs = {(c["check"], c["scalar"]): c["run"] for c in report["checks"]}
    assert runs[("W^T y = T y", "float")] == 200 and runs[("colored probes = M", "double")] == 200
    assert runs[("W x = conv_direct x", "double")] + runs[("T y = gather y", "double")] == 200


def test_cli_adjoint_test_one_configuration_and_usage_errors(tmp_path):
    import subprocess

    cfg = tmp_path / "c.json"
    cfg.write_text('{"input": "2x5x5", "kernel": "3x3", "stride": 2, "transposed": true, "out_channels": 3}')
    p = subprocess.run([_cli(), "adjoint-test", "--config", str(cfg)], capture_output=True, text=True)
    assert p.returncode == 0 and "T y = scatter y" in p.stdout and "16 of 16 checks passed" in p.stdout
    p = subprocess.run([_cli(), "adjoint-test", "--count", "0"], capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr.strip() == "convmtx adjoint-test: --count: value 0 not in range [1, 10000000]"
