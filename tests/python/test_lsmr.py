"""convmtx.lsmr against scipy.sparse.linalg.lsmr: the same iterates after a few iterations, the
same converged solutions, istop codes and estimates, damping as the stacked system [A; damp I],
non-finite input, LSMR's monotone ||A^T r|| on an ill-conditioned deblurring (where it needs
fewer iterations than LSQR), deconvolve(method='lsmr') and `convmtx solve --method lsmr`."""

import doctest
import os
import subprocess

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla

import convmtx
from conftest import needs

CLI = os.environ.get("CONVMTX_CLI") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin", "convmtx")
needs_cli = needs(os.path.exists(CLI), f"convmtx CLI not found at {CLI} (set CONVMTX_CLI)")


def rel(a, b):
    return np.abs(a - b).max() / max(1.0, np.abs(b).max())


@pytest.fixture
def problem(rng):
    """An overdetermined multi-channel conv W (2 output channels: 220 x 110) and a random b."""
    w = rng.standard_normal((2, 1, 3, 3))
    W = convmtx.conv_matrix((1, 11, 10), w, padding=1)
    return W, rng.standard_normal(W.shape[0])


def deblurring(n=32, noise=0.01):
    """The n x n phantom blurred by a 9 x 9 Gaussian (sigma 2, zero boundaries) plus noise (seed 0)."""
    W = convmtx.conv_matrix((1, n, n), convmtx.gaussian_kernel(9, 2.0)[None, None], padding=4)
    x = convmtx.shepp_logan(n).astype(np.float64).ravel()
    return W, W @ x + noise * np.random.default_rng(0).standard_normal(W.shape[0])


@pytest.mark.parametrize("damp", [0.0, 0.3])
@pytest.mark.parametrize("maxiter", [1, 5, None])
def test_lsmr_is_scipys_lsmr(problem, damp, maxiter):
    W, b = problem
    # A few iterations: the same iterate and estimates to rounding. To convergence: both run to
    # tight tolerances (rounding differences between scipy's and the library's products move a
    # loosely converged iterate by the tolerance).
    tols = {} if maxiter else {"atol": 1e-12, "btol": 1e-12}
    ref = sla.lsmr(W, b, damp=damp, maxiter=maxiter, **tols)
    r = convmtx.lsmr(W, b, damp=damp, maxiter=maxiter, **tols)
    assert r.method == "lsmr"
    assert rel(r.x, ref[0]) <= 1e-8
    assert r.istop == ref[1]
    assert abs(r.itn - ref[2]) <= (0 if maxiter else 1)
    names = ["r2norm", "arnorm", "anorm", "acond", "xnorm"]  # scipy's normr, normar, norma, conda, normx
    for name, want in zip(names, ref[3:8]):
        if name in ("anorm", "acond") and not maxiter:
            continue  # running estimates over every iteration, including those past convergence
        assert getattr(r, name) == pytest.approx(want, rel=1e-8 if maxiter else 1e-6,
                                                 abs=(1e-9 if maxiter else 1e-6) * np.linalg.norm(b)), name
    assert r.reason.startswith("The iteration limit" if maxiter else "The least-squares solution")
    # Unpacks like scipy's lsmr tuple.
    x, istop, itn, normr, normar, norma, conda, normx = r
    assert x is r.x and istop == r.istop and itn == r.itn and normr == r.r2norm and normar == r.arnorm
    assert len(r) == 8
    # r1norm is ||b - W x|| of the returned x.
    assert r.r1norm == pytest.approx(np.linalg.norm(b - W @ r.x), rel=1e-8 if maxiter else 1e-6)


def test_default_iteration_limit_is_scipys():
    W, b = deblurring(16)  # ill-conditioned: no test but the limit stops it
    ref = sla.lsmr(W, b, atol=0, btol=0, conlim=0)
    r = convmtx.lsmr(W, b, atol=0, btol=0, conlim=0)
    assert r.istop == ref[1] == 7
    assert r.itn == ref[2] == min(W.shape)


def test_damping_is_the_stacked_system(problem):
    # Damped LSMR on W is undamped LSMR on [W; damp I] with [b; 0]: the same iterates (after 4
    # iterations and converged), and normr is the residual of the stacked system.
    W, b = problem
    damp = 0.7
    S = sp.vstack([W, damp * sp.identity(W.shape[1])]).tocsr()
    c = np.concatenate([b, np.zeros(W.shape[1])])
    for kw in ({"maxiter": 4}, {"atol": 1e-12, "btol": 1e-12}):
        r = convmtx.lsmr(W, b, damp=damp, **kw)
        s = sla.lsmr(S, c, **kw)
        assert rel(r.x, s[0]) <= 1e-8, kw
        assert r.r2norm == pytest.approx(np.linalg.norm(c - S @ r.x), rel=1e-8), kw
        assert r.arnorm == pytest.approx(np.linalg.norm(S.T @ (c - S @ r.x)), rel=1e-6, abs=1e-10), kw
    # The gradient penalty likewise: scipy's lsmr on [W; mu D].
    mu = 0.4
    D = convmtx.gradient_matrix((11, 10))
    S = sp.vstack([W, mu * D]).tocsr()
    c = np.concatenate([b, np.zeros(D.shape[0])])
    r = convmtx.lsmr(W, b, gradient_weight=mu, shape=(11, 10), maxiter=6)
    assert rel(r.x, sla.lsmr(S, c, maxiter=6)[0]) <= 1e-8


def test_callables_and_linear_operators_give_the_same_iterates(problem):
    W, b = problem
    ref = convmtx.lsmr(W, b, damp=0.1, maxiter=12).x
    for A in ((lambda v: W @ v, lambda u: W.T @ u), sla.aslinearoperator(W), W.toarray()):
        assert rel(convmtx.lsmr(A, b, damp=0.1, maxiter=12).x, ref) <= 1e-12


def test_callback_sees_every_iteration_and_can_stop(problem):
    W, b = problem
    seen = []

    def cb(info):
        seen.append(info)
        return info.iteration < 4

    r = convmtx.lsmr(W, b, callback=cb)
    assert r.istop == 8 and r.itn == 4
    assert [i.iteration for i in seen] == [1, 2, 3, 4]
    assert {i.method for i in seen} == {"lsmr"}
    assert [i.normal_residual for i in seen] == list(r.normal_residual_history[1:])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_b_is_a_value_error_naming_its_index(problem, bad):
    W, b = problem
    b = b.copy()
    b[5] = bad
    with pytest.raises(ValueError, match=r"lsmr: b\[5\] = -?(nan|inf).*finite"):
        convmtx.lsmr(W, b)


def test_bad_arguments_are_value_errors(problem):
    W, b = problem
    for kwargs, word in ((dict(damp=-1), "damp"), (dict(atol=-1), "atol"), (dict(maxiter=-2), "maxiter"),
                         (dict(damp="gcv"), "damp")):
        with pytest.raises(ValueError, match=word):
            convmtx.lsmr(W, b, **kwargs)
    with pytest.raises(ValueError, match="b has 3 entries"):
        convmtx.lsmr(W, b[:3])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_an_operator_returning_nan_raises_naming_the_product(problem, bad):
    """As lsqr and cgls: a non-finite product is a ValueError naming the callable and the index, never
    a result (the C++ solver's istop 9 keeps the last finite iterate: test_solvers.cpp)."""
    W, b = problem
    calls = [0]

    def matvec(v):
        y = W @ v
        calls[0] += 1
        if calls[0] == 4:
            y[1] = bad
        return y

    with pytest.raises(ValueError, match=r"matvec\) returned (nan|inf) at index 1"):
        convmtx.lsmr((matvec, lambda u: W.T @ u, W.shape[1]), b)


def test_lsmr_needs_fewer_iterations_than_lsqr_on_an_ill_conditioned_deblurring():
    # damp 1e-3: cond([W; damp I]) ~ 1e3. LSMR's ||W^T r - damp^2 x|| falls monotonically, LSQR's
    # does not, so LSMR meets the atol test first (measured: 178 against 302 iterations; scipy 179
    # against 361). LSMR's count is scipy's to a few iterations; LSQR's is not reproducible to
    # rounding: its oscillating ||A^T r|| first crosses the test at an iteration that rounding moves.
    W, b = deblurring()
    kw = dict(damp=1e-3, atol=1e-4, btol=1e-4)
    q, m = convmtx.lsqr(W, b, iter_lim=5000, **kw), convmtx.lsmr(W, b, maxiter=5000, **kw)
    sq, sm = sla.lsqr(W, b, iter_lim=5000, **kw), sla.lsmr(W, b, maxiter=5000, **kw)
    assert q.istop == m.istop == sq[1] == sm[1] == 2
    assert abs(m.itn - sm[2]) <= 0.05 * sm[2] + 2
    assert m.itn <= q.itn and sm[2] <= sq[2]
    h = np.asarray(m.normal_residual_history)
    assert np.all(np.diff(h) <= 1e-9 * h[:-1])
    assert np.any(np.diff(q.normal_residual_history) > 0)
    # LSMR's stopping iterate is scipy's to 1e-2 after ~180 iterations (measured 2e-3).
    assert rel(m.x, sm[0]) <= 1e-2


def test_the_docstring_example_runs():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    for t in finder.find(convmtx.lsmr, "lsmr", globs={}):
        runner.run(t)
    assert runner.summarize(verbose=False).failed == 0
    assert runner.summarize(verbose=False).attempted >= 3


def test_deconvolve_with_lsmr_is_the_same_quadratic_solution():
    truth = convmtx.shepp_logan(32).astype(np.float64)
    psf = convmtx.psf("gaussian:5:1.0")
    b = convmtx.blur(truth, psf) + 0.01 * np.random.default_rng(1).standard_normal(truth.shape)
    x_m, r_m = convmtx.deconvolve(b, psf, regularizer="tikhonov", lam=0.05, method="lsmr", tol=1e-10)
    x_q, r_q = convmtx.deconvolve(b, psf, regularizer="tikhonov", lam=0.05, method="lsqr", tol=1e-10)
    assert r_m.method == "lsmr" and r_m.converged
    assert r_m.stop_reason.startswith("The least-squares solution") or r_m.stop_reason.startswith("Ax - b")
    assert rel(x_m, x_q) <= 1e-6


def psnr_lines(out):
    lines = {}
    for line in out.splitlines():
        for key in ("degraded b", "least squares", "solution"):
            if line.strip().startswith(key):
                lines[key] = float(line.split(" dB")[0].split()[-1])
    return lines


@needs_cli
def test_cli_solve_method_lsmr(tmp_path):
    base = [CLI, "solve", "--size", "32", "--lambda", "0.05", "--atol", "1e-10", "--btol", "1e-10", "-q"]
    m = subprocess.run(base + ["--method", "lsmr", "-o", str(tmp_path / "m.png")], capture_output=True, text=True,
                       check=True).stdout
    q = subprocess.run(base + ["--method", "lsqr", "-o", str(tmp_path / "q.png")], capture_output=True, text=True,
                       check=True).stdout
    assert "lsmr:" in m and "istop" in m
    assert psnr_lines(m)["least squares"] == pytest.approx(psnr_lines(q)["least squares"], abs=0.02)
    assert np.abs(convmtx.read_image(tmp_path / "m.png") - convmtx.read_image(tmp_path / "q.png")).max() <= 1.5 / 255
    # With --observed, lsmr solves the quadratic problem of the deconvolution path.
    convmtx.write_image(tmp_path / "b.png", convmtx.read_image(tmp_path / "q.png"))
    o = subprocess.run([CLI, "solve", "--observed", str(tmp_path / "b.png"), "--psf", "gaussian:5:1.0", "--lambda",
                        "0.05", "--regularizer", "tikhonov", "--bounds", "none", "--method", "lsmr", "-q"],
                       capture_output=True, text=True, check=True).stdout
    assert "lsmr:" in o
    # An unknown method is a usage error: exit 2, one line.
    bad = subprocess.run([CLI, "solve", "--method", "lsmrr"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "lsmr" in bad.stderr
