"""The spectrum of W: singular values, operator norm and condition number of any convolution, the
norm torch.nn.utils.spectral_norm divides by, and a transposed convolution's checkerboard levels.

    import numpy as np, convmtx
    w = np.random.default_rng(0).standard_normal((16, 8, 3, 3))
    s = convmtx.svdvals((8, 32, 32), w, padding=1)                  # all 16384 values, descending
    convmtx.opnorm((8, 32, 32), w, padding=1, certify=True)         # (sigma_max, guaranteed upper bound)
    convmtx.cond((8, 32, 32), w, padding=1, padding_mode="circular")
    convmtx.reshaped_weight_norm(w)                                  # what spectral_norm normalises by

Methods (docs/spectrum.md): 'fft' (exact, every value; circular padding with sizes divisible by the
stride: per-frequency SVDs, Sedghi, Gupta & Long 2019, with the polyphase decomposition for
strides), 'lanczos' (the k largest or smallest, matrix-free on W^T W or W W^T, Spectra), 'dense'
(LAPACK's SVD of the dense matrix, the reference); 'auto' picks fft when it applies, dense for
small W or when every value is wanted, else lanczos. Bad arguments raise ValueError naming them.
"""

import numbers

import numpy as np

from . import _core
from .functional import _weight, conv_spec, conv_transpose_spec

__all__ = ["svdvals", "spectrum", "opnorm", "cond", "reshaped_weight_norm", "checkerboard"]


def _is_operator(A):
    import scipy.sparse as sp

    return sp.issparse(A) or (isinstance(A, np.ndarray) and A.ndim == 2) or (
        hasattr(A, "matvec") and hasattr(A, "rmatvec") and hasattr(A, "shape"))


def _subject(A, weight, transposed, conv_args):
    """(spec, weight) for a configuration, or (None, empty, triple, matvec, rmatvec, rows, cols) for an operator."""
    if _is_operator(A):
        if weight is not None or conv_args or transposed:
            raise ValueError("a matrix or LinearOperator takes no weight, transposed or convolution arguments")
        import scipy.sparse as sp

        rows, cols = (int(v) for v in A.shape)
        if sp.issparse(A) or isinstance(A, np.ndarray):
            M = sp.csr_matrix(A, dtype=np.float64)
            M.sum_duplicates()
            if not np.all(np.isfinite(M.data)):
                bad = int(np.flatnonzero(~np.isfinite(M.data))[0])
                raise ValueError(f"matrix entry {bad} (in storage order) is {M.data[bad]}: the spectrum needs finite entries")
            triple = (M.indptr.astype(np.int64), M.indices.astype(np.int64), M.data.astype(np.float64))
            return dict(spec=None, weight=np.zeros(0), matrix=triple, matvec=None, rmatvec=None, rows=rows, cols=cols)

        def fn(f):
            return lambda v: np.asarray(f(v), dtype=np.float64).ravel()

        return dict(spec=None, weight=np.zeros(0), matrix=None, matvec=fn(A.matvec), rmatvec=fn(A.rmatvec),
                    rows=rows, cols=cols)
    if weight is None:
        raise ValueError("give input_shape and weight (a configuration), or a scipy matrix or LinearOperator")
    if transposed:
        w = _weight(weight, "(C_in, C_out/groups, *kernel)")
        spec = conv_transpose_spec(A, w.shape, **conv_args)
    else:
        w = _weight(weight, "(C_out, C_in/groups, *kernel)")
        spec = conv_spec(A, w.shape, **conv_args)
    w = np.ascontiguousarray(w, dtype=np.float64).ravel()
    return dict(spec=spec, weight=w, matrix=None, matvec=None, rmatvec=None, rows=0, cols=0)


def _k(k):
    if k is None:
        return 0
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k={k!r} must be an integer >= 1 (None: every singular value)")
    return int(k)


def _tol(tol):
    if tol is None:
        return 0.0
    t = float(tol)
    if not (0 < t <= 0.1):
        raise ValueError(f"tol={tol!r} must be in (0, 0.1] (None: 1e-10)")
    return t


def _limit(memory_limit):
    if memory_limit is None:
        return 0.0
    if isinstance(memory_limit, str):
        return float(_core.parse_memory_size(memory_limit))
    v = float(memory_limit)
    if not (v > 0 and np.isfinite(v)):
        raise ValueError(f"memory_limit={memory_limit!r} must be a positive number of bytes or a size like '2G'")
    return v


def spectrum(input_shape, weight=None, *, transposed=False, k=None, which="largest", method="auto", tol=None,
             memory_limit=None, frequency_map=False, callback=None, **conv_args):
    """Singular values of W with how they were found, as a dict: values (descending), residuals
    (lanczos: a bound of each value's error), method, detail, rows, cols, count (min(rows, cols)),
    complete, zero_threshold, zeros, restarts, products, frequency_shape and frequency_max (fft with
    frequency_map=True: each frequency's largest singular value, C order). Arguments as svdvals;
    callback(stage, done, total) reports progress of long runs."""
    sub = _subject(input_shape, weight, transposed, conv_args)
    return _core.spectrum(**sub, k=_k(k), which=str(which), method=str(method), tol=_tol(tol),
                          memory_limit=_limit(memory_limit), frequency_map=bool(frequency_map), callback=callback)


def svdvals(input_shape, weight=None, *, transposed=False, k=None, which="largest", method="auto", tol=None,
            memory_limit=None, callback=None, **conv_args):
    """The singular values of W, descending: all min(rows, cols) of them (k=None), or the k largest
    or smallest (which='largest'|'smallest').

    input_shape = (C_in, *n) with weight (C_out, C_in/groups, *k) and torch.nn.functional.conv's
    keyword arguments (stride, padding, dilation, groups, padding_mode), or transposed=True with
    conv_transpose's (stride, padding, output_padding, groups, dilation; weight (C_in, C_out/groups,
    *k)); a transposed conv T = W^T has the singular values of W. Or input_shape is a scipy.sparse
    matrix, a 2-D array or a scipy LinearOperator (matvec and rmatvec), with no weight.
    method: 'auto', 'fft', 'lanczos', 'dense'; tol: Lanczos' relative accuracy (default 1e-10);
    memory_limit: bytes or '2G' (default: half the physical memory).
    """
    return spectrum(input_shape, weight, transposed=transposed, k=k, which=which, method=method, tol=tol,
                    memory_limit=memory_limit, callback=callback, **conv_args)["values"]


def opnorm(input_shape, weight=None, *, transposed=False, method="auto", tol=None, certify=False, memory_limit=None,
           callback=None, **conv_args):
    """||W||_2 = sigma_1 (exact for fft and dense, Lanczos to tol otherwise). certify=True returns
    (sigma_1, upper_bound) with sigma_1 <= upper_bound guaranteed: the smallest of the exact FFT
    value plus its rounding margin, the norm of a circular convolution that holds a zeros-padded W,
    and the Schur test sqrt(||W||_1 ||W||_inf); a black-box LinearOperator has no such bound
    (ValueError). Arguments as svdvals."""
    sub = _subject(input_shape, weight, transposed, conv_args)
    r = _core.opnorm(**sub, method=str(method), tol=_tol(tol), memory_limit=_limit(memory_limit),
                     certify=bool(certify), callback=callback)
    return (r["value"], r["upper_bound"]) if certify else r["value"]


def cond(input_shape, weight=None, *, transposed=False, method="auto", tol=None, memory_limit=None, callback=None,
         full_output=False, **conv_args):
    """The condition number sigma_1 / sigma_p (p = min(rows, cols)); inf when W is rank-deficient
    (sigma_p at or below max(rows, cols) eps sigma_1, numpy's matrix_rank threshold, or
    sqrt(max(rows, cols) eps) sigma_1 through Lanczos). full_output=True returns the dict with
    sigma_max, sigma_min, zeros, rank, nullity, method and detail. Arguments as svdvals."""
    sub = _subject(input_shape, weight, transposed, conv_args)
    r = _core.cond(**sub, method=str(method), tol=_tol(tol), memory_limit=_limit(memory_limit), callback=callback)
    return r if full_output else r["condition"]


def reshaped_weight_norm(weight, dim=0):
    """sigma_1 of the weight as a (shape[dim], numel / shape[dim]) matrix: what
    torch.nn.utils.spectral_norm estimates by power iteration and divides the weight by (dim=0 for a
    conv weight, dim=1 for a transposed conv's, its defaults). It ignores the input size, stride and
    padding, so it is not ||W||_2 (compare opnorm)."""
    w = np.asarray(weight)
    if w.dtype.kind not in "fiu" or w.ndim < 1:
        raise ValueError(f"weight must be a numeric array with at least one axis, got dtype {w.dtype} and "
                         f"{w.ndim} axes")
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise ValueError(f"dim={dim!r} must be an int")
    if dim < 0:
        dim += w.ndim
    return _core.reshaped_weight_norm(np.ascontiguousarray(w, dtype=np.float64).ravel(), list(w.shape), int(dim))


def _dims(value, name):
    vals = list(value) if np.iterable(value) else [value]
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise ValueError(f"{name}={value!r} must be an int or a sequence of ints")
    return [int(v) for v in vals]


def checkerboard(weight, stride, dilation=1, padding=0, groups=1):
    """The checkerboard of a transposed conv from its weights: the levels of its response to an
    all-ones input, periodic with period `stride`, per output channel and phase (the sums of the
    kernel's prod(stride) polyphase components), as a dict: levels (C_out, *stride), channel_spread
    ((max - min) / max |level| per channel), spread (the largest: 0 exactly when checkerboard-free),
    worst_channel, free, verdict (text). weight is (C_in, C_out/groups, *k), PyTorch's
    ConvTranspose layout; padding is the low padding per dimension. With all-ones weights the
    verdict equals the structural one of the overlap command."""
    w = _weight(weight, "(C_in, C_out/groups, *kernel)")
    r = _core.checkerboard(np.ascontiguousarray(w, dtype=np.float64).ravel(), list(w.shape), _dims(stride, "stride"),
                           _dims(dilation, "dilation"), _dims(padding, "padding"), int(_dims(groups, "groups")[0]))
    r["levels"] = r["levels"].reshape((int(r["channels"]),) + tuple(int(s) for s in r["stride"]))
    return r
