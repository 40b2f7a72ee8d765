"""Deconvolution of your own blurred image with a known PSF.

    import numpy as np, convmtx
    x, res = convmtx.deconvolve(b, "gaussian:9:2.0", regularizer="tv", bounds=(0, 1))
    print(res.lam, res.lambda_rule, res.method, res.stop_reason, convmtx.ssim(x, truth))

The forward model is W x = psf * x (true convolution, output the size of x) with the boundary
condition of a padding mode: 'zeros' (black outside), 'periodic' (the scene repeats), 'reflect'
(mirrored without repeating the edge pixel) or 'replicate' (edge pixels extended). The solution
minimises 1/2 ||W x - b||^2 + R(x) subject to the bounds, R = lam TV(x) ('tv', isotropic;
'tv-anisotropic'), or 1/2 lam^2 ||x||^2 ('tikhonov') or 1/2 lam^2 ||D x||^2 ('gradient').
lam='auto' applies the discrepancy principle ||W x - b|| = sigma sqrt(m), sigma = noise if given,
otherwise estimated from b (median absolute finest Haar coefficient / 0.6745).

Reference: docs/solvers.md.
"""

import numpy as np

from . import _core
from ._checks import finite_array, real_number, strict_bool, strict_int
from ._tensors import to_numpy

__all__ = ["deconvolve", "DeconvolveResult", "psf", "blur", "ssim", "estimate_noise"]

_BOUNDARIES = ("zeros", "periodic", "circular", "reflect", "replicate")
_REGULARIZERS = ("tikhonov", "gradient", "tv", "tv-anisotropic")
_METHODS = (None, "fft", "pcgls", "cgls", "lsqr", "lsmr", "primal-dual")


class DeconvolveResult:
    """What deconvolve did: lam (the weight used), lambda_rule ('given', 'discrepancy (noise given)'
    or 'discrepancy (noise estimated by MAD)'; for TV 'discrepancy with degrees of freedom (...)':
    ||W x - b||^2 + noise^2 df = (tau noise)^2 m), noise (sigma used by the rule), target (tau
    noise sqrt(m)), degrees_of_freedom (TV with lam='auto': the Monte-Carlo estimate of df at the
    chosen lam; else 0), lambda_trials (solves made by the search), lambda_note ('' or, when the
    target was unreachable because the model does not fit b, what was done instead), method,
    iterations, converged, stop_reason (why the iteration stopped), history (||W x_k - b|| per
    iteration), residual_norm (of the result), seconds and step_norm (primal-dual: the NormBound of
    ||[W; D]|| behind its steps, with sigma_max, upper, method and certified; None for the other
    methods)."""

    def __init__(self, d):
        self.__dict__.update(d)

    def __repr__(self):
        return (f"DeconvolveResult(lam={self.lam:.4g}, rule={self.lambda_rule!r}, method={self.method!r}, "
                f"iterations={self.iterations}, stop_reason={self.stop_reason!r})")


def psf(spec):
    """A PSF as a 2-D float64 array from 'gaussian:SIZE:SIGMA', 'motion:LENGTH:ANGLE' (degrees,
    counter-clockwise from horizontal) or 'disk:RADIUS'; each sums to 1."""
    return _core.parse_psf(spec)


_PSF_SCALE = 1e150


def _psf_array(p):
    if isinstance(p, str):
        return _core.parse_psf(p)
    a = to_numpy(p, "psf")
    if a.dtype.kind not in "fiu":
        raise ValueError(f"psf has dtype {a.dtype}; a PSF holds real numbers (a complex PSF would lose its "
                         f"imaginary part)")
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"psf must be a 2-D array or a spec such as 'gaussian:9:2.0', got shape {a.shape}")
    finite_array(a, "psf")
    with np.errstate(over="ignore"):
        total = float(np.sum(np.abs(a)))
    if not np.isfinite(total) or total > _PSF_SCALE or 0 < total < 1 / _PSF_SCALE:
        raise ValueError(f"psf's |entries| sum to {total:.3g}: the solvers square the blur, so its scale must lie "
                         f"within [1e-150, 1e150] for float64; normalise the PSF to sum 1 (psf / psf.sum())")
    return a


def _image(b, name):
    a = to_numpy(b, name)
    if a.dtype.kind not in "fiu":
        raise ValueError(f"{name} has dtype {a.dtype}; an image holds real numbers (a complex {name} would lose "
                         f"its imaginary part)")
    if a.dtype != np.float32:
        a = a.astype(np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D image (height, width), got shape {a.shape}")
    return a


def _choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name}={value!r} must be one of {', '.join(repr(v) for v in allowed)}")


def deconvolve(b, psf, *, boundary="zeros", regularizer="tikhonov", lam="auto", noise=None, bounds=None,
               method=None, iter_lim=None, callback=None, tol=None, progress=None):
    """Restore x from the observed image b = psf * x + noise without blurring b again.

    b: 2-D array (float32 runs in float32, anything else in float64); psf: 2-D array or spec string.
    boundary: 'zeros' | 'periodic' | 'reflect' | 'replicate'. regularizer: 'tikhonov' | 'gradient' |
    'tv' | 'tv-anisotropic'. lam: weight >= 0 or 'auto' (discrepancy principle). noise: the noise
    standard deviation of b, or None to estimate it. bounds: (lower, upper) for every pixel (None
    for either end: unbounded), or None. method: None (primal-dual for TV or bounds, fft for
    periodic, pcgls otherwise), 'fft', 'pcgls', 'cgls', 'lsqr', 'lsmr' or 'primal-dual'. iter_lim: None for
    the default (500 primal-dual, 2n otherwise). callback(info: IterationInfo) after each iteration
    of the final solve; returning False stops it. progress(info: ProgressInfo) before each trial
    solve of the lambda search.

    Returns (x, DeconvolveResult), x with b's shape. ValueError for a bad argument (naming it): a complex
    b or psf, a NaN or Inf in either, a PSF whose |entries| sum outside [1e-150, 1e150], lam or noise that
    is not a real number (a bool is refused), iter_lim not an integer in [1, 2**62], a NaN bound; and
    ValueError instead of a result when a product overflows float64 (b, the PSF or lam too large).
    """
    b = _image(b, "b")
    if not np.all(np.isfinite(b)):
        i = int(np.flatnonzero(~np.isfinite(b.ravel()))[0])
        raise ValueError(f"b[{i // b.shape[1]}, {i % b.shape[1]}] = {b.ravel()[i]}; the observed image must be finite")
    _choice("boundary", boundary, _BOUNDARIES)
    _choice("regularizer", regularizer, _REGULARIZERS)
    _choice("method", method, _METHODS)
    if isinstance(lam, str):
        if lam != "auto":
            raise ValueError(f"lam={lam!r} must be a number >= 0 or 'auto'")
        lam_value = -1.0
    else:
        lam_value = real_number(lam, "lam", "a finite number >= 0 or 'auto'")
        if not (lam_value >= 0 and np.isfinite(lam_value)):
            raise ValueError(f"lam={lam!r} must be a finite number >= 0 or 'auto'")
    if noise is None:
        noise_value = -1.0
    else:
        noise_value = real_number(noise, "noise", "a finite standard deviation > 0, or None to estimate it")
        if not (noise_value > 0 and np.isfinite(noise_value)):
            raise ValueError(f"noise={noise!r} must be a finite standard deviation > 0, or None to estimate it")
    lower, upper = -np.inf, np.inf
    if bounds is not None:
        try:
            lo, hi = bounds
        except (TypeError, ValueError):
            raise ValueError(f"bounds={bounds!r} must be a pair (lower, upper) or None") from None
        lower = -np.inf if lo is None else real_number(lo, "bounds[0]", "a number (not NaN) or None: unbounded")
        upper = np.inf if hi is None else real_number(hi, "bounds[1]", "a number (not NaN) or None: unbounded")
        if not lower <= upper:
            raise ValueError(f"bounds={bounds!r} needs lower <= upper")
    if iter_lim is None:
        iter_lim = -1
    else:
        iter_lim = strict_int(iter_lim, "iter_lim", 1, 2 ** 62, "an integer in [1, 2**62] or None")
    if tol is None:
        tol = -1.0
    else:
        tol = real_number(tol, "tol", "a number >= 0 or None")
        if not tol >= 0:
            raise ValueError(f"tol={tol!r} must be a number >= 0 or None")
    d = _core.deconvolve(b, _psf_array(psf), boundary, regularizer, lam_value, noise_value, lower, upper,
                         method or "", int(iter_lim), float(tol), callback, progress)
    x = d.pop("x")
    if "non-finite" in str(d.get("stop_reason", "")) or not np.all(np.isfinite(x)):
        raise ValueError(f"deconvolve: {d.get('stop_reason')}: a product with the blur overflowed float64 (the "
                         f"largest |b| is {float(np.max(np.abs(b))):.3g}, lam={d.get('lam', lam_value):.3g}); scale b, "
                         f"the PSF or lam down")
    return x, DeconvolveResult(d)


def blur(x, psf, boundary="zeros", adjoint=False):
    """W x (or W^T x with adjoint=True): the forward model of deconvolve, same shape as x."""
    _choice("boundary", boundary, _BOUNDARIES)
    return _core.blur(_image(x, "x"), _psf_array(psf), boundary, strict_bool(adjoint, "adjoint"))


def ssim(a, b, data_range=1.0):
    """Mean SSIM (Wang et al. 2004; 11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03), equal to
    skimage.metrics.structural_similarity(a, b, data_range=data_range, gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False)."""
    return _core.ssim(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), float(data_range))


def estimate_noise(image):
    """The noise standard deviation of an image: median |finest diagonal Haar coefficient| / 0.6745."""
    return _core.estimate_noise_sigma(np.asarray(image, dtype=np.float64))
