"""Deconvolution of observed images from Python and the CLI: SSIM against scikit-image, the
forward model against scipy.ndimage.convolve for every boundary, the FFT solve against the dense
normal equations, the result object, the observed path (never blurred again), errors, and
`convmtx solve --observed` end to end."""

import os
import subprocess

import numpy as np
import pytest
import scipy.ndimage as ndi

import convmtx

CLI = os.environ.get("CONVMTX_CLI") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin", "convmtx")
needs_cli = pytest.mark.skipif(not os.path.exists(CLI), reason=f"convmtx CLI not found at {CLI} (set CONVMTX_CLI)")
MODES = {"zeros": "constant", "periodic": "wrap", "reflect": "mirror", "replicate": "nearest"}


def smooth_image(h, w):
    r, c = np.mgrid[0:h, 0:w]
    return 0.5 + 0.3 * np.sin(0.4 * r) * np.cos(0.3 * c) + 0.15 * ((r > h // 3) & (c > w // 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ssim_is_scikit_images(rng, dtype):
    from skimage.metrics import structural_similarity

    a = smooth_image(40, 52)
    for b in (a + 0.05 * rng.standard_normal(a.shape), np.clip(a + 0.2 * rng.standard_normal(a.shape), 0, 1),
              np.roll(a, 3, axis=1)):
        a_, b_ = a.astype(dtype), b.astype(dtype)
        ref = structural_similarity(a_, b_, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False)
        assert convmtx.ssim(a_, b_) == pytest.approx(ref, abs=1e-6 if dtype == np.float32 else 1e-12)
    with pytest.raises(ValueError, match="11x11"):
        convmtx.ssim(np.zeros((8, 30)), np.zeros((8, 30)))


@pytest.mark.parametrize("spec", ["gaussian:5:1.2", "motion:7:30", "disk:2.5"])
def test_blur_is_scipys_convolution_for_every_boundary_and_its_adjoint_is_exact(rng, spec):
    psf = convmtx.psf(spec)
    assert psf.sum() == pytest.approx(1.0, abs=1e-12)
    x = rng.random((23, 19))
    y = rng.random((23, 19))
    for boundary, mode in MODES.items():
        assert np.abs(convmtx.blur(x, psf, boundary) - ndi.convolve(x, psf, mode=mode)).max() < 1e-13
        lhs = np.vdot(convmtx.blur(x, psf, boundary), y)
        rhs = np.vdot(x, convmtx.blur(y, psf, boundary, adjoint=True))
        assert lhs == pytest.approx(rhs, rel=1e-13)


def dense(f, h, w):
    cols = []
    for j in range(h * w):
        e = np.zeros(h * w)
        e[j] = 1
        cols.append(f(e.reshape(h, w)).ravel())
    return np.array(cols).T


@pytest.mark.parametrize("regularizer", ["tikhonov", "gradient"])
def test_fft_solve_equals_the_dense_normal_equations(rng, regularizer):
    h, w, lam = 10, 12, 0.05
    psf = convmtx.psf("motion:5:60")
    A = dense(lambda v: ndi.convolve(v, psf, mode="wrap"), h, w)
    if regularizer == "tikhonov":
        L = np.eye(h * w)
    else:  # periodic forward differences along rows and columns
        L = np.vstack([dense(lambda v: np.roll(v, -1, axis=0) - v, h, w), dense(lambda v: np.roll(v, -1, axis=1) - v, h, w)])
    b = A @ smooth_image(h, w).ravel() + 0.01 * rng.standard_normal(h * w)
    ref = np.linalg.solve(A.T @ A + lam**2 * L.T @ L, A.T @ b)
    x, res = convmtx.deconvolve(b.reshape(h, w), psf, boundary="periodic", regularizer=regularizer, lam=lam)
    assert res.method == "fft" and res.lambda_rule == "given"
    assert np.abs(x.ravel() - ref).max() < 1e-10


def test_result_history_lambda_and_stop_reason(rng):
    truth = smooth_image(32, 32)
    psf = convmtx.psf("gaussian:7:1.5")
    b = convmtx.blur(truth, psf) + 0.02 * rng.standard_normal(truth.shape)
    seen = []
    x, res = convmtx.deconvolve(b, psf, regularizer="tv", bounds=(0, 1), noise=0.02, callback=seen.append)
    assert x.shape == b.shape and x.dtype == np.float64
    assert 0 <= x.min() and x.max() <= 1
    assert res.lambda_rule == "discrepancy with degrees of freedom (noise given)" and res.lam > 0
    assert res.lambda_trials >= 2 and res.lambda_trials % 2 == 0  # two solves per lambda examined
    assert res.target == pytest.approx(0.02 * 32)
    assert 0 < res.degrees_of_freedom < 32 * 32 / 2
    assert np.hypot(res.residual_norm, 0.02 * np.sqrt(res.degrees_of_freedom)) == pytest.approx(res.target, rel=0.05)
    assert res.method == "primal-dual" and len(res.history) == res.iterations == len(seen)
    assert res.stop_reason.startswith("relative change") and res.converged
    assert convmtx.psnr(np.clip(x, 0, 1).astype(np.float32), truth.astype(np.float32)) > \
        convmtx.psnr(np.clip(b, 0, 1).astype(np.float32), truth.astype(np.float32)) + 3
    _, res = convmtx.deconvolve(b, psf, regularizer="tv", lam=0.01, callback=lambda info: info.iteration < 5)
    assert res.stop_reason == "stopped by the callback" and res.iterations == 5 and not res.converged
    # The noise estimate (no noise given) is close to the truth on a blurred image: on 64 x 64 pixels the
    # MAD estimate is within 0.9-1.2 of sigma for every seed tried (on 32 x 32 it spreads over 0.93-1.24).
    b64 = convmtx.blur(smooth_image(64, 64), psf) + 0.02 * rng.standard_normal((64, 64))
    assert convmtx.estimate_noise(b64) == pytest.approx(0.02, rel=0.2)
    _, res = convmtx.deconvolve(b64, psf, iter_lim=50)
    assert res.lambda_rule == "discrepancy (noise estimated by MAD)" and res.noise == pytest.approx(0.02, rel=0.2)
    assert res.noise == convmtx.estimate_noise(b64)
    _, res = convmtx.deconvolve(b64, psf, regularizer="tv", iter_lim=50)
    assert res.lambda_rule == "discrepancy with degrees of freedom (noise estimated by MAD)"


@pytest.mark.parametrize("boundary", list(MODES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_observed_image_is_not_blurred_again(rng, boundary, dtype):
    truth = smooth_image(24, 20)
    psf = convmtx.psf("gaussian:5:1.0")
    sigma = 1e-6 if dtype == np.float64 else 1e-4
    b = (convmtx.blur(truth, psf, boundary) + sigma * rng.standard_normal(truth.shape)).astype(dtype)
    x, res = convmtx.deconvolve(b, psf, boundary=boundary, noise=sigma, tol=1e-10 if dtype == np.float64 else 1e-6)
    assert x.dtype == dtype
    assert np.linalg.norm(x - truth) < 0.3 * np.linalg.norm(b - truth)
    assert np.linalg.norm(x - truth) / np.linalg.norm(truth) < (5e-3 if dtype == np.float64 else 2e-2)


def test_bad_arguments_are_value_errors_naming_them():
    b = np.full((16, 16), 0.5)
    cases = [(dict(boundary="mirror"), "boundary"), (dict(regularizer="l1"), "regularizer"), (dict(lam=-1), "lam"),
             (dict(lam="gcv"), "lam"), (dict(noise=0), "noise"), (dict(bounds=(1, 0)), "bounds"),
             (dict(method="fft"), "periodic"), (dict(regularizer="tv", method="pcgls"), "primal-dual"),
             (dict(iter_lim=0), "iter_lim"), (dict(bounds=(0, 1), method="lsqr"), "bounds")]
    for kwargs, word in cases:
        with pytest.raises(ValueError, match=word):
            convmtx.deconvolve(b, "gaussian:5:1.0", **kwargs)
    bad = b.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match=r"b\[3, 4\]"):
        convmtx.deconvolve(bad, "gaussian:5:1.0")
    with pytest.raises(ValueError, match="PSF"):
        convmtx.deconvolve(b, "gaussian:5")
    with pytest.raises(ValueError, match="sum to 0"):
        convmtx.deconvolve(b, np.array([[1.0, -1.0]]))
    with pytest.raises(ValueError, match="larger than the image"):
        convmtx.deconvolve(np.zeros((4, 4)), "gaussian:9:2.0", boundary="periodic")


@needs_cli
def test_cli_deconvolves_an_observed_image_with_truth_and_montage(tmp_path, rng):
    truth = convmtx.shepp_logan(64)
    b = convmtx.blur(truth.astype(np.float64), convmtx.psf("gaussian:7:1.5")) + 0.01 * rng.standard_normal(truth.shape)
    convmtx.write_image(tmp_path / "b.png", np.clip(b, 0, 1).astype(np.float32))
    convmtx.write_image(tmp_path / "x.png", truth)
    out = subprocess.run([CLI, "solve", "--observed", str(tmp_path / "b.png"), "--psf", "gaussian:7:1.5", "--truth",
                          str(tmp_path / "x.png"), "-o", str(tmp_path / "r.png"), "--montage", str(tmp_path / "m.png")],
                         capture_output=True, text=True, check=True).stdout
    assert "observed" in out and "noise estimated by MAD" in out
    vals = {}
    for line in out.splitlines():
        for key in ("degraded b", "solution"):
            if line.strip().startswith(key):
                vals[key] = float(line.split(" dB")[0].split()[-1])
    assert vals["solution"] > vals["degraded b"] + 2, out
    r = convmtx.read_image(tmp_path / "r.png")
    assert r.shape == (64, 64)
    # The written solution is the library's deconvolution of the same (8-bit) observed image.
    b8 = convmtx.read_image(tmp_path / "b.png").astype(np.float64)
    x, _ = convmtx.deconvolve(b8, "gaussian:7:1.5", regularizer="tv", bounds=(0, 1))
    assert np.abs(r - np.clip(x, 0, 1)).max() <= 0.5 / 255 + 1e-6
    assert convmtx.read_image(tmp_path / "m.png").shape[1] > 3 * 64
    # Without --truth: no PSNR; a known noise level is used as given.
    out = subprocess.run([CLI, "solve", "--observed", str(tmp_path / "b.png"), "--psf", "disk:2", "--noise", "0.01",
                          "--regularizer", "tikhonov", "--boundary", "periodic", "--bounds", "none"],
                         capture_output=True, text=True, check=True).stdout
    assert "noise given" in out and "fft" in out and "PSNR" not in out


@needs_cli
def test_cli_observed_errors_exit_2_with_one_line(tmp_path):
    convmtx.write_image(tmp_path / "b.png", np.zeros((20, 20), np.float32))
    convmtx.write_image(tmp_path / "t.png", np.zeros((10, 20), np.float32))
    np.save(tmp_path / "k3.npy", np.ones((2, 2, 2)))
    cases = [(["--observed", str(tmp_path / "b.png")], "--psf"),
             (["--observed", str(tmp_path / "b.png"), "--psf", "gauss:9"], "--psf"),
             (["--observed", str(tmp_path / "b.png"), "--psf", "disk:2", "--truth", str(tmp_path / "t.png")], "--truth"),
             (["--observed", str(tmp_path / "b.png"), "--psf", str(tmp_path / "k3.npy")], "--psf"),
             (["--observed", str(tmp_path / "b.png"), "--psf", "disk:2", "--method", "spqr"], "--method"),
             (["--observed", str(tmp_path / "b.png"), "--psf", "disk:2", "--stride", "2"], "--stride"),
             (["--psf", "disk:2", "--method", "lsqr"], "--psf"),
             (["--regularizer", "tv", "--method", "cgls"], "--regularizer"),
             (["--observed", str(tmp_path / "b.png"), "--psf", "gaussian:25:3", "--boundary", "periodic"], "larger"),
             (["--observed", str(tmp_path / "b.png"), "--psf", "disk:2"], "give lambda or the noise level")]
    for args, word in cases:
        r = subprocess.run([CLI, "solve"] + args, capture_output=True, text=True)
        assert r.returncode == 2, (args, r.stderr)
        assert word in r.stderr and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)


@pytest.mark.parametrize("boundary", list(MODES))
def test_primal_dual_steps_come_from_a_bound_of_the_stacked_operator(rng, boundary):
    # tau sigma ||K||^2 < 1 needs an upper bound of ||K||, K = [W; D]: the reported one is at least
    # numpy's sigma_max of K (W from the blur of each basis image; D the forward differences, whose
    # periodic form for 'periodic' has the same norm bound 2 sqrt(2)).
    h, w = 12, 10
    psf = convmtx.psf("gaussian:5:1.0")
    b = convmtx.blur(smooth_image(h, w), psf, boundary=boundary) + 0.01 * rng.standard_normal((h, w))
    _, res = convmtx.deconvolve(b, psf, boundary=boundary, regularizer="tv", lam=0.01, iter_lim=5)
    n = res.step_norm
    assert n is not None and n.certified and "closed form" in n.method, n
    cols = []
    for i in range(h * w):
        e = np.zeros(h * w)
        e[i] = 1
        cols.append(convmtx.blur(e.reshape(h, w), psf, boundary=boundary).ravel())
    Wd = np.array(cols).T
    s_w = np.linalg.svd(Wd, compute_uv=False)[0]
    D = convmtx.gradient_matrix((h, w)).toarray()
    s_k = np.linalg.svd(np.vstack([Wd, D]), compute_uv=False)[0]
    assert n.upper >= s_k
    # ||W|| within 2% of its bound (the certified one is tight for these blurs), ||D|| <= 2 sqrt(2).
    assert n.upper <= np.sqrt((1.02 * s_w) ** 2 + 8)
    # The quadratic methods take no step: no norm.
    _, res = convmtx.deconvolve(b, psf, boundary=boundary, regularizer="tikhonov", lam=0.01, method="cgls")
    assert res.step_norm is None
