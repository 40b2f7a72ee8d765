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
from ._checks import checked_call, real_operator, sparse_matrix, strict_bool, strict_int
from ._checks import finite_array
from ._tensors import to_numpy
from .functional import _weight, conv_spec, conv_transpose_spec

__all__ = ["svdvals", "spectrum", "opnorm", "cond", "reshaped_weight_norm", "checkerboard"]


def _is_operator(A):
    import scipy.sparse as sp

    return sp.issparse(A) or (isinstance(A, np.ndarray) and A.ndim == 2) or (
        hasattr(A, "matvec") and hasattr(A, "rmatvec") and hasattr(A, "shape"))


def _subject(A, weight, transposed, conv_args):
    """(spec, weight) for a configuration, or (None, empty, triple, matvec, rmatvec, rows, cols) for an operator."""
    transposed = strict_bool(transposed, "transposed")
    if _is_operator(A):
        if weight is not None or conv_args or transposed:
            raise ValueError("a matrix or LinearOperator takes no weight, transposed or convolution arguments")
        import scipy.sparse as sp

        rows, cols = (int(v) for v in A.shape)
        real_operator(A, "A")
        if sp.issparse(A) or isinstance(A, np.ndarray):
            sparse_matrix(A, "A")
            if isinstance(A, np.ndarray) and A.dtype.kind not in "fiub":
                raise ValueError(f"A has dtype {A.dtype}; a matrix must hold real numbers")
            M = sp.csr_matrix(A, dtype=np.float64)
            M.sum_duplicates()
            if not np.all(np.isfinite(M.data)):
                bad = int(np.flatnonzero(~np.isfinite(M.data))[0])
                raise ValueError(f"matrix entry {bad} (in storage order) is {M.data[bad]}: the spectrum needs finite entries")
            triple = (M.indptr.astype(np.int64), M.indices.astype(np.int64), M.data.astype(np.float64))
            return _rescaled(dict(spec=None, weight=np.zeros(0), matrix=triple, matvec=None, rmatvec=None, rows=rows, cols=cols))

        fn = checked_call

        return dict(spec=None, weight=np.zeros(0), matrix=None, matvec=fn(A.matvec, "A.matvec", rows),
                    rmatvec=fn(A.rmatvec, "A.rmatvec", cols), rows=rows, cols=cols)
    if weight is None:
        raise ValueError("give input_shape and weight (a configuration), or a scipy matrix or LinearOperator")
    if transposed:
        w = _weight(weight, "(C_in, C_out/groups, *kernel)")
        spec = conv_transpose_spec(A, w.shape, **conv_args)
    else:
        w = _weight(weight, "(C_out, C_in/groups, *kernel)")
        spec = conv_spec(A, w.shape, **conv_args)
    finite_array(w, "weight", "must be finite (the spectrum needs finite weights)")
    w = np.ascontiguousarray(w, dtype=np.float64).ravel()
    return _rescaled(dict(spec=spec, weight=w, matrix=None, matvec=None, rmatvec=None, rows=0, cols=0))


_SCALE_RANGE = (1e-100, 1e100)


def _rescaled(sub):
    """sub with its weight (or matrix entries) divided by their largest magnitude when that lies outside
    1e-100..1e100, and the factor in sub['_scale'] (1 otherwise): singular values scale linearly, so the
    results are multiplied back, while W^T W, which the methods form, stays within float64's range."""
    vals = sub["weight"] if sub["spec"] is not None else sub["matrix"][2]
    big = float(np.max(np.abs(vals))) if vals.size else 0.0
    scale = 1.0
    if big > 0 and not _SCALE_RANGE[0] <= big <= _SCALE_RANGE[1]:
        scale = big
        if sub["spec"] is not None:
            sub = dict(sub, weight=vals / big)
        else:
            sub = dict(sub, matrix=(sub["matrix"][0], sub["matrix"][1], vals / big))
    sub["_scale"] = scale
    return sub


def _call(f, sub, keys, **kw):
    """f(**sub, **kw) with the scale of `_rescaled` multiplied back into the result's `keys`."""
    args = {k: v for k, v in sub.items() if k != "_scale"}
    r = f(**args, **kw)
    scale = sub.get("_scale", 1.0)
    if scale != 1.0:
        with np.errstate(over="ignore"):
            for key in keys:
                if key in r and r[key] is not None:
                    r[key] = np.asarray(r[key]) * scale if isinstance(r[key], np.ndarray) else float(r[key]) * scale
    return r


_INDEX_MAX = 2 ** 62


def _k(k):
    if k is None:
        return 0
    return strict_int(k, "k", 1, _INDEX_MAX, f"an integer in [1, 2**62] (None: every singular value)")


def _overflow(values, what, sub):
    """ValueError when a computed singular value (or norm) is NaN or infinite: the weights or the matrix
    are finite but so large that W^T W overflows float64."""
    v = np.asarray(values, dtype=np.float64)
    if v.size and not np.all(np.isfinite(v)):
        w = sub["weight"] if sub["spec"] is not None else (sub["matrix"][2] if sub["matrix"] is not None else None)
        big = (f" (the largest |entry| is {float(np.max(np.abs(w))) * sub.get('_scale', 1.0):.3g})"
               if w is not None and w.size else "")
        src = "the weight" if sub["spec"] is not None else ("the matrix" if sub["matrix"] is not None else
                                                            "the operator")
        raise ValueError(f"{what} came out {v[~np.isfinite(v)][0]}: {src}{big} is too large: "
                         f"a singular value exceeds float64's range (about 1.8e308); scale it down, singular "
                         f"values scale linearly")


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
    callback(stage, done, total) reports progress of long runs.

    ValueError (every function of this module): a weight or matrix that is NaN, infinite, complex or
    malformed (scipy indptr/indices, naming the array and the rule); a complex LinearOperator; an operator
    whose matvec/rmatvec returns NaN, Inf, complex values or the wrong number of values (naming A.matvec or
    A.rmatvec); a singular value beyond float64's range (weights or entries whose magnitude lies outside
    1e-100..1e100 are rescaled first, singular values being linear in them, so only a result past 1.8e308
    is refused); k not an integer in [1, 2**62]; a bool parameter that is not True/False. An all-zero
    weight gives singular values 0 exactly (and cond inf), by every method."""
    sub = _subject(input_shape, weight, transposed, conv_args)
    r = _call(_core.spectrum, sub, ("values", "residuals", "zero_threshold", "frequency_max"), k=_k(k), which=str(which), method=str(method), tol=_tol(tol),
                       memory_limit=_limit(memory_limit), frequency_map=strict_bool(frequency_map, "frequency_map"),
                       callback=callback)
    _overflow(r["values"], "a singular value", sub)
    return r


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
    and the Schur test sqrt(||W||_1 ||W||_inf); for a black-box LinearOperator, the dense value plus
    its rounding margin (method 'auto' on a small operator, or 'dense'), and no bound through Lanczos
    (ValueError). Arguments as svdvals."""
    sub = _subject(input_shape, weight, transposed, conv_args)
    r = _call(_core.opnorm, sub, ("value", "upper_bound"), method=str(method), tol=_tol(tol), memory_limit=_limit(memory_limit),
                     certify=strict_bool(certify, "certify"), callback=callback)
    _overflow([r["value"]] + ([r["upper_bound"]] if certify else []), "the operator norm", sub)
    return (r["value"], r["upper_bound"]) if certify else r["value"]


def cond(input_shape, weight=None, *, transposed=False, method="auto", tol=None, memory_limit=None, callback=None,
         full_output=False, **conv_args):
    """The condition number sigma_1 / sigma_p (p = min(rows, cols)); inf when W is rank-deficient
    (sigma_p at or below max(rows, cols) eps sigma_1, numpy's matrix_rank threshold, or
    sqrt(max(rows, cols) eps) sigma_1 through Lanczos). full_output=True returns the dict with
    sigma_max, sigma_min, zeros, rank, nullity, zeros_exact, method and detail. zeros_exact is
    False when the zero singular values were counted among Lanczos' few smallest values only: then
    zeros and nullity are lower bounds and rank an upper bound (the dense and fft methods count
    them all). Arguments as svdvals."""
    sub = _subject(input_shape, weight, transposed, conv_args)
    r = _call(_core.cond, sub, ("sigma_max", "sigma_min", "residual_max", "residual_min"), method=str(method), tol=_tol(tol), memory_limit=_limit(memory_limit), callback=callback)
    _overflow([r["sigma_max"], r["sigma_min"]], "a singular value", sub)
    return r if strict_bool(full_output, "full_output") else r["condition"]


def reshaped_weight_norm(weight, dim=0):
    """sigma_1 of the weight as a (shape[dim], numel / shape[dim]) matrix: what
    torch.nn.utils.spectral_norm estimates by power iteration and divides the weight by (dim=0 for a
    conv weight, dim=1 for a transposed conv's, its defaults). It ignores the input size, stride and
    padding, so it is not ||W||_2 (compare opnorm). ValueError: an empty, complex, NaN or infinite weight;
    dim not an int in [-ndim, ndim - 1] (the message gives the value passed); a norm past float64's range."""
    w = to_numpy(weight, "weight")
    if w.dtype.kind not in "fiu" or w.ndim < 1:
        raise ValueError(f"weight must be a real numeric array with at least one axis, got dtype {w.dtype} and "
                         f"{w.ndim} axes")
    if w.size == 0:
        raise ValueError(f"weight has shape {tuple(w.shape)}: it is empty, and an empty matrix has no norm")
    finite_array(w, "weight")
    d = strict_int(dim, "dim", rule=f"an axis of the weight, in [{-w.ndim}, {w.ndim - 1}] (the weight has "
                                    f"{w.ndim} axes)")
    if not -w.ndim <= d < w.ndim:
        raise ValueError(f"dim={d} must be an axis of the weight, in [{-w.ndim}, {w.ndim - 1}] (the weight has shape "
                         f"{tuple(w.shape)})")
    if d < 0:
        d += w.ndim
    r = _core.reshaped_weight_norm(np.ascontiguousarray(w, dtype=np.float64).ravel(), list(w.shape), d)
    if not np.isfinite(r):
        raise ValueError(f"the norm came out {r}: the weight (largest |entry| {float(np.max(np.abs(w))):.3g}) is too "
                         f"large for float64; scale it down")
    return r


def _dims(value, name):
    vals = list(value) if np.iterable(value) and not isinstance(value, (str, bytes)) else [value]
    for v in vals:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
            raise ValueError(f"{name}={value!r} must be an int or a sequence of ints")
        if not -_INDEX_MAX <= int(v) <= _INDEX_MAX:
            raise ValueError(f"{name}={value!r}: {int(v)} is outside [-2**62, 2**62]")
    return [int(v) for v in vals]


def checkerboard(weight, stride, dilation=1, padding=0, groups=1):
    """The checkerboard of a transposed conv from its weights: the levels of its response to an
    all-ones input, periodic with period `stride`, per output channel and phase (the sums of the
    kernel's prod(stride) polyphase components), as a dict: levels (C_out, *stride), channel_spread
    ((max - min) / max |level| per channel), spread (the largest: 0 exactly when checkerboard-free),
    worst_channel, free, verdict (text). weight is (C_in, C_out/groups, *k), PyTorch's
    ConvTranspose layout; padding is the low padding per dimension. With all-ones weights the
    verdict equals the structural one of the overlap command. ValueError: stride, dilation, padding or groups
    not ints (or beyond 2**62); a level that overflows float64 (a NaN or Inf level is never reported as a
    verdict)."""
    w = _weight(weight, "(C_in, C_out/groups, *kernel)")
    r = _core.checkerboard(np.ascontiguousarray(w, dtype=np.float64).ravel(), list(w.shape), _dims(stride, "stride"),
                           _dims(dilation, "dilation"), _dims(padding, "padding"), int(_dims(groups, "groups")[0]))
    r["levels"] = r["levels"].reshape((int(r["channels"]),) + tuple(int(s) for s in r["stride"]))
    if not np.all(np.isfinite(r["levels"])):
        raise ValueError(f"a checkerboard level came out {r['levels'][~np.isfinite(r['levels'])][0]}: the weight "
                         f"(largest |entry| {float(np.max(np.abs(w))):.3g}) is too large for float64 (the polyphase "
                         f"sums overflow); scale it down, the levels scale linearly")
    return r
