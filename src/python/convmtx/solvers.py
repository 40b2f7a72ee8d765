"""Inverse problems with the adjoint: least-squares solvers that invert W, where W^T only undoes
W's shape change.

    import numpy as np, convmtx
    x = convmtx.shepp_logan(128)                                   # float32 image in [0, 1]
    W = convmtx.conv_matrix((1, 128, 128), convmtx.gaussian_kernel(9, 2.0)[None, None], padding=4)
    b = W @ x.ravel() + 0.01 * np.random.default_rng(0).standard_normal(W.shape[0])
    r = convmtx.lsqr(W, b, damp="auto", noise=0.01)                # lambda by the discrepancy principle
    print(r.lambda_choice, convmtx.psnr(r.x.reshape(128, 128), x))

A may be a scipy.sparse matrix or dense 2-D array, a scipy.sparse.linalg.LinearOperator (or any
object with shape, matvec and rmatvec), or a pair (matvec, rmatvec) of callables on 1-D arrays
(a triple (matvec, rmatvec, n) avoids one call of rmatvec to find n). Everything runs in float64.

Every solver minimizes ||A x - b||^2 + damp^2 ||x||^2 + gradient_weight^2 ||D x||^2, D the forward
differences on the grid `shape` ((H, W) or (C, H, ...); default: one 1-D signal). damp="auto"
(or gradient_weight="auto") chooses the weight first: the discrepancy principle when noise (the
standard deviation of the noise in b) is given, otherwise GCV (rule="lcurve" for the L-curve).

Reference: docs/solvers.md.
"""

import numpy as np

from . import _core
from ._checks import checked_call, checked_output, finite_array, real_number, real_operator, sparse_matrix, strict_bool, strict_int
from ._tensors import to_numpy

__all__ = ["lsqr", "lsmr", "cgls", "landweber", "solve_spqr", "solve_cholmod", "estimate_cost", "choose_lambda",
           "SolveResult", "MemoryLimitError", "IterationInfo", "ProgressInfo", "read_image", "write_image", "shepp_logan", "gaussian_kernel",
           "psnr", "gradient_matrix"]

MemoryLimitError = _core.MemoryLimitError
LambdaChoice = _core.LambdaChoice
NormBound = _core.NormBound
IterationInfo = _core.IterationInfo
ProgressInfo = _core.ProgressInfo

_INF = float("inf")


class SolveResult:
    """Result of a solver.

    x, istop, itn, r1norm, r2norm, anorm, acond, arnorm, xnorm: as scipy.sparse.linalg.lsqr returns
    them (the result also unpacks like scipy's tuple, with var = None; a result of lsmr unpacks like
    scipy.sparse.linalg.lsmr's (x, istop, itn, normr, normar, norma, conda, normx) with normr =
    r2norm, normar = arnorm, norma = anorm, conda = acond); reason: scipy's message for
    istop (8 = stopped by the callback, 9 = the operator returned NaN or Inf while computing iterate
    itn + 1: x is the last finite iterate); residual_norm = ||b - A x|| recomputed; penalty_norm =
    ||x|| or ||D x||; damp, gradient_weight: the weights used; lambda_choice: the LambdaChoice when
    a weight was "auto"; residual_history / normal_residual_history: per iteration (index 0: x = 0);
    seconds; method; estimated_bytes and note (direct solvers); step_norm: landweber's NormBound
    (sigma_max of the operator iterated on, the upper bound its step 1 / (upper^2 + damp^2) used,
    method, certified), None for the other solvers and for a given step.
    """

    def __init__(self, d):
        self.__dict__.update(d)

    def __iter__(self):
        if self.method == "lsmr":
            return iter((self.x, self.istop, self.itn, self.r2norm, self.arnorm, self.anorm, self.acond, self.xnorm))
        return iter((self.x, self.istop, self.itn, self.r1norm, self.r2norm, self.anorm, self.acond, self.arnorm,
                     self.xnorm, None))

    def __len__(self):
        return 8 if self.method == "lsmr" else 10

    def __getitem__(self, i):
        return tuple(self)[i]

    def __repr__(self):
        lam = f", {self.lambda_choice}" if self.lambda_choice is not None else ""
        return (f"<convmtx.SolveResult {self.method}: istop={self.istop} itn={self.itn} "
                f"||b-Ax||={self.residual_norm:.6g} damp={self.damp:.4g}{lam}>")


def _vector(b):
    b = to_numpy(b, "b")
    if b.dtype.kind not in "fiub":
        raise ValueError(f"b has dtype {b.dtype}; the solvers take real numbers (a complex b would lose its "
                         f"imaginary part)")
    b = np.asarray(b, dtype=np.float64)
    if b.ndim > 1:
        b = b.squeeze()
    if b.ndim != 1:
        raise ValueError(f"b must be a 1-D array, got shape {np.shape(b)}")
    return np.ascontiguousarray(b)


def _csr(A):
    import scipy.sparse as sp

    sparse_matrix(A, "A")
    if isinstance(A, np.ndarray) and A.dtype.kind not in "fiub":
        raise ValueError(f"A has dtype {A.dtype}; the solvers take real matrices (a complex A would lose its "
                         f"imaginary part)")
    M = sp.csr_matrix(A, dtype=np.float64)
    M.sum_duplicates()
    return (M.indptr.astype(np.int64), M.indices.astype(np.int64), M.data.astype(np.float64)), M.shape


def _operator(A, b):
    """(csr triple or None, matvec, rmatvec, rows, cols)."""
    import scipy.sparse as sp

    if sp.issparse(A) or (isinstance(A, np.ndarray) and A.ndim == 2):
        triple, (rows, cols) = _csr(A)
        return triple, None, None, rows, cols
    if isinstance(A, (tuple, list)) and len(A) in (2, 3) and callable(A[0]) and callable(A[1]):
        mv, rmv = A[0], A[1]
        rows = len(b)
        if len(A) == 3:
            cols = strict_int(A[2], "A[2] (the number of columns)", 1, 2 ** 62)
        else:
            cols = int(checked_output(rmv(np.zeros(rows)), "A[1] (rmatvec)", None).size)
        return None, _as_fn(mv, "A[0] (matvec)", rows), _as_fn(rmv, "A[1] (rmatvec)", cols), rows, cols
    if hasattr(A, "matvec") and hasattr(A, "rmatvec") and hasattr(A, "shape"):
        real_operator(A, "A")
        rows, cols = (int(v) for v in A.shape)
        return None, _as_fn(A.matvec, "A.matvec", rows), _as_fn(A.rmatvec, "A.rmatvec", cols), rows, cols
    raise TypeError(f"A must be a scipy.sparse matrix, a 2-D array, a LinearOperator or a pair of callables "
                    f"(matvec, rmatvec); got {type(A).__name__}")


def _as_fn(f, name, size):
    """f checked: `size` real finite values (ValueError naming f otherwise: the solver never sees a NaN)."""
    return checked_call(f, name, size)


def _grid(shape, cols):
    if shape is None:
        return [1, cols]
    s = [int(v) for v in (shape if np.iterable(shape) else (shape,))]
    if len(s) == 1:
        s = [1] + s
    elif len(s) == 2:
        s = [1] + s
    if int(np.prod(s)) != cols:
        raise ValueError(f"shape={tuple(shape)} has {int(np.prod(s))} entries but A has {cols} columns")
    return s


def _weight(value, name):
    if isinstance(value, str):
        if value != "auto":
            raise ValueError(f"{name}={value!r} must be a number >= 0 or 'auto'")
        return 0.0, True
    v = real_number(value, name, "a finite number >= 0 or 'auto'")
    if not v >= 0 or not np.isfinite(v):
        raise ValueError(f"{name}={value!r} must be a finite number >= 0 or 'auto'")
    return v, False


def _positive(value, name, allow_zero=False):
    rule = "a finite number >= 0" if allow_zero else "a finite number > 0"
    v = real_number(value, name, rule)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name}={value!r} must be {rule}")
    return v


def _conlim(value):
    v = real_number(value, "conlim", "a number >= 0 (0 or inf: no condition test)")
    if v < 0:
        raise ValueError(f"conlim={value!r} must be a number >= 0 (0 or inf: no condition test)")
    return v


def _norm_estimate(triple, mv, rmv, rows, cols, iterations=30):
    """A lower bound of ||A||^2 by the power method on A^T A (Rayleigh quotients ||A v||^2, ||v|| = 1)."""
    if triple is not None:
        import scipy.sparse as sp

        indptr, indices, data = triple
        M = sp.csr_matrix((data, indices, indptr), shape=(rows, cols))
        mv, rmv = (lambda v: M @ v), (lambda u: M.T @ u)
    v = np.random.default_rng(0).standard_normal(cols)
    v /= np.linalg.norm(v)
    est = 0.0
    for _ in range(iterations):
        av = mv(v)
        est = max(est, float(av @ av))
        w = rmv(av)
        nw = float(np.linalg.norm(w))
        if nw == 0 or not np.isfinite(nw):
            break
        v = w / nw
    return est


def _raise_overflow(method, res, b, triple):
    """ValueError for a solve stopped by a NaN or Inf product (istop 9): what overflowed, not a result."""
    big_b = float(np.max(np.abs(b))) if b.size else 0.0
    big_a = f", the largest |A entry| is {float(np.max(np.abs(triple[2]))):.3g}" if triple is not None and \
        triple[2].size else ""
    raise ValueError(f"{method}: {res['reason'][0].lower()}{res['reason'][1:]}: a product with A or A^T overflowed "
                     f"float64 (the largest |b| is {big_b:.3g}{big_a}); scale A or b down (x scales with b / A)")


def _iterative(method, A, b, damp, atol, btol, conlim, iter_lim, gradient_weight, shape, rule, noise, tau,
               callback, lambda_callback, step=None, bounds=None, accelerate=False):
    b = _vector(b)
    triple, mv, rmv, rows, cols = _operator(A, b)
    if len(b) != rows:
        raise ValueError(f"b has {len(b)} entries but A has {rows} rows")
    d, auto_d = _weight(damp, "damp")
    g, auto_g = _weight(gradient_weight, "gradient_weight")
    if auto_d and auto_g:
        raise ValueError("only one of damp and gradient_weight can be 'auto'")
    lo, hi = -_INF, _INF
    if bounds is not None:
        if isinstance(bounds, (str, bytes)) or not np.iterable(bounds) or len(bounds) != 2:
            raise ValueError(f"bounds={bounds!r} must be a pair (lower, upper) or None")
        lo = -_INF if bounds[0] is None else real_number(bounds[0], "bounds[0]", "a number or None (unbounded)")
        hi = _INF if bounds[1] is None else real_number(bounds[1], "bounds[1]", "a number or None (unbounded)")
        if not lo <= hi:
            raise ValueError(f"bounds={bounds!r} needs lower <= upper")
    noise_v = -1.0 if noise is None else _positive(noise, "noise")
    iters = -1 if iter_lim is None else strict_int(iter_lim, "iter_lim", 1, 2 ** 62,
                                                   "an integer in [1, 2**62] or None (the default, 2n)")
    accelerate = strict_bool(accelerate, "accelerate")
    step_v = 0.0
    if step is not None:
        step_v = _positive(step, "step")
        norm2 = _norm_estimate(triple, mv, rmv, rows, cols)
        if step_v * (norm2 + d * d) >= 2:
            raise ValueError(f"step={step!r} must be below 2 / (||A||^2 + damp^2) = {2 / (norm2 + d * d):.6g} "
                             f"(||A||^2 >= {norm2:.6g} by the power method): Landweber diverges otherwise; "
                             f"None chooses 1 / (||A||^2 + damp^2)")
    res = _core.solve_iterative(
        method, triple, mv, rmv, rows, cols, b, d, g, _grid(shape, cols), auto_d or auto_g,
        "gradient" if auto_g else "tikhonov", rule, noise_v, _positive(tau, "tau"),
        _positive(atol, "atol", True), _positive(btol, "btol", True), _conlim(conlim), iters,
        step_v, lo, hi, accelerate, callback, lambda_callback)
    if res["istop"] == 9:
        _raise_overflow(method, res, b, triple)
    return SolveResult(res)


def lsqr(A, b, damp=0.0, atol=1e-6, btol=1e-6, conlim=1e8, iter_lim=None, *, gradient_weight=0.0, shape=None,
         rule="auto", noise=None, tau=1.0, callback=None, lambda_callback=None):
    """LSQR of Paige & Saunders: the same recurrences, stopping tests (atol, btol, conlim, iter_lim = 2n
    by default) and istop codes as scipy.sparse.linalg.lsqr. callback(info) is called after every
    iteration with an IterationInfo (iteration, iteration_limit, residual_norm, normal_residual,
    solution_norm, seconds); returning False stops (istop 8). lambda_callback(info) receives a
    ProgressInfo before each step of an "auto" weight's search.

    ValueError: a NaN or Inf in b; a complex A, b or operator (the solvers are real); a malformed scipy
    matrix (indptr/indices, naming the array and the rule); an operator function that returns a NaN or
    Inf, complex values or the wrong number of values (naming A.matvec / A.rmatvec / A[0] / A[1]); a
    product that overflows float64 (istop 9: raised, naming the largest |b| and |A|, instead of returning a
    result); iter_lim not an integer in [1, 2**62]; noise, tau, step not finite numbers > 0; damp,
    gradient_weight, atol, btol not numbers >= 0 (a bool is refused); bounds with NaN or lower > upper."""
    return _iterative("lsqr", A, b, damp, atol, btol, conlim, iter_lim, gradient_weight, shape, rule, noise, tau,
                      callback, lambda_callback)


def lsmr(A, b, damp=0.0, atol=1e-6, btol=1e-6, conlim=1e8, maxiter=None, *, gradient_weight=0.0, shape=None,
         rule="auto", noise=None, tau=1.0, callback=None, lambda_callback=None):
    """LSMR of Fong & Saunders (2011), as scipy.sparse.linalg.lsmr computes it.

    The Golub-Kahan bidiagonalization of LSQR with MINRES applied to the normal equations:
    ``||A^T r_k||`` decreases monotonically, so on ill-conditioned problems the atol test (istop 2)
    is usually met in fewer iterations than by LSQR. Same recurrences, stopping tests and istop
    codes as ``scipy.sparse.linalg.lsmr``.

    Parameters
    ----------
    A : scipy.sparse matrix, 2-D array, LinearOperator or (matvec, rmatvec[, n])
        The m x n operator (see the module's docstring).
    b : array_like, shape (m,)
        The right-hand side; a NaN or Inf is a ValueError naming its index.
    damp : float or "auto", default 0
        Tikhonov weight: minimizes ``||A x - b||^2 + damp^2 ||x||^2``; "auto" chooses it first
        (discrepancy principle with ``noise``, otherwise GCV or ``rule``).
    atol, btol : float, default 1e-6
        Stop when ``||A^T r|| <= atol ||A|| ||r||`` (istop 2) or ``||r|| <= btol ||b|| + atol ||A|| ||x||``
        (istop 1), with r the residual of the damped system.
    conlim : float, default 1e8
        Stop when the estimate of cond(A) reaches conlim (istop 3); 0 for no limit.
    maxiter : int, optional
        Iteration limit (istop 7); default min(m, n) as scipy's lsmr (m counts the rows of
        ``gradient_weight D`` too).
    gradient_weight : float or "auto", default 0
        mu: adds ``mu^2 ||D x||^2``, D the forward differences on the grid ``shape``.
    shape : tuple of int, optional
        The grid of x for D, (H, W) or (C, H, ...); default one 1-D signal.
    rule : {"auto", "discrepancy", "gcv", "lcurve"}, default "auto"
        How an "auto" weight is chosen.
    noise : float, optional
        Standard deviation of the noise in each entry of b (for the discrepancy principle).
    tau : float, default 1
        Discrepancy safety factor: ``||A x - b|| = tau noise sqrt(m)``.
    callback : callable, optional
        ``callback(info)`` after every iteration with an IterationInfo (iteration,
        iteration_limit, residual_norm, normal_residual, solution_norm, seconds); returning
        False stops (istop 8).
    lambda_callback : callable, optional
        Receives a ProgressInfo before each step of an "auto" weight's search.

    Returns
    -------
    SolveResult
        x, istop, itn; r2norm = scipy's normr (``||[b; 0] - [A; damp I] x||``), r1norm =
        ``||b - A x||``, arnorm = normar, anorm = normA, acond = condA, xnorm = ||x||; unpacks as
        scipy's ``(x, istop, itn, normr, normar, norma, conda, normx)``; histories, reason,
        lambda_choice as for lsqr.

    Raises
    ------
    ValueError
        A NaN or Inf in b, b's length not A's row count, a negative or non-finite weight or
        tolerance, a negative maxiter.

    Examples
    --------
    >>> import numpy as np, scipy.sparse.linalg as sla, convmtx
    >>> A = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]]); b = np.array([1.0, 2.0, 2.0])
    >>> r = convmtx.lsmr(A, b, damp=0.1)
    >>> bool(np.allclose(r.x, sla.lsmr(A, b, damp=0.1)[0]))
    True
    """
    if maxiter is not None and not int(maxiter) >= 0:
        raise ValueError(f"maxiter={maxiter!r} must be >= 0, or None for min(m, n)")
    return _iterative("lsmr", A, b, damp, atol, btol, conlim, maxiter, gradient_weight, shape, rule, noise, tau,
                      callback, lambda_callback)


def cgls(A, b, damp=0.0, atol=1e-6, btol=1e-6, iter_lim=None, *, gradient_weight=0.0, shape=None, rule="auto",
         noise=None, tau=1.0, callback=None, lambda_callback=None):
    """CGLS: conjugate gradients on (A^T A + damp^2 I) x = A^T b with LSQR's tests 1 and 2 (istop 1, 2,
    4, 5, 7, 8); anorm is max ||A p|| / ||p|| over the search directions. Callbacks and ValueErrors as
    lsqr (an overflow, istop 9, raises)."""
    return _iterative("cgls", A, b, damp, atol, btol, 0.0, iter_lim, gradient_weight, shape, rule, noise, tau,
                      callback, lambda_callback)


def landweber(A, b, damp=0.0, atol=1e-6, btol=1e-6, iter_lim=None, *, step=None, bounds=None, accelerate=False,
              gradient_weight=0.0, shape=None, rule="auto", noise=None, tau=1.0, callback=None,
              lambda_callback=None):
    """Landweber x <- P(x + step (A^T (b - A x) - damp^2 x)); step defaults to 1 / (L^2 + damp^2) with L an
    upper bound of ||A|| from convmtx's spectrum (result.step_norm says which); bounds=(lo, hi) projects every iterate (projected Landweber);
    accelerate=True adds Nesterov/FISTA momentum. iter_lim defaults to 2n: set it. Callbacks as lsqr.

    ValueError as lsqr, and: step not a finite number > 0, or step >= 2 / (||A||^2 + damp^2) with ||A||^2
    bounded below by 30 power-method products (Landweber diverges there); accelerate not a bool."""
    return _iterative("landweber", A, b, damp, atol, btol, 0.0, iter_lim, gradient_weight, shape, rule, noise, tau,
                      callback, lambda_callback, step, bounds, accelerate)


def _direct(method, A, b, damp, gradient_weight, shape, memory_limit, estimate_only, callback=None):
    import scipy.sparse as sp

    if not (sp.issparse(A) or (isinstance(A, np.ndarray) and A.ndim == 2)):
        raise TypeError(f"{method} needs an explicit matrix (scipy.sparse or a 2-D array), got {type(A).__name__}; "
                        f"use convmtx.lsqr for matrix-free operators")
    triple, (rows, cols) = _csr(A)
    b = np.zeros(rows) if b is None else _vector(b)
    if len(b) != rows:
        raise ValueError(f"b has {len(b)} entries but A has {rows} rows")
    d, _ = _weight(damp, "damp")
    g, _ = _weight(gradient_weight, "gradient_weight")
    if isinstance(memory_limit, str):
        memory_limit = _core.parse_memory_size(memory_limit)
    limit = 0.0 if memory_limit is None else float(memory_limit)
    if memory_limit is not None and not limit > 0:
        raise ValueError(f"memory_limit={memory_limit!r} must be > 0 bytes")
    return _core.solve_direct(method, triple, rows, cols, b, d, g, _grid(shape, cols), limit, estimate_only,
                              callback)


def solve_spqr(A, b, damp=0.0, *, gradient_weight=0.0, shape=None, memory_limit=None, callback=None):
    """Least squares by SuiteSparseQR of [A; damp I; gradient_weight D]. Raises MemoryLimitError (a
    MemoryError) before factorizing when the estimated memory exceeds memory_limit (bytes or '512M';
    default min(4 GiB, half the RAM)), ValueError for a NaN or Inf in b or A. callback(info) receives a
    ProgressInfo when each phase ("analysis", "factorization and solve") begins."""
    return SolveResult(_direct("spqr", A, b, damp, gradient_weight, shape, memory_limit, False, callback))


def solve_cholmod(A, b, damp=0.0, *, gradient_weight=0.0, shape=None, memory_limit=None, callback=None):
    """The normal equations (A^T A + damp^2 I + gradient_weight^2 D^T D) x = A^T b by CHOLMOD, with the
    same memory check as solve_spqr; RuntimeError when the matrix is not positive definite. callback as
    solve_spqr (phases "analysis", "factorization", "solve")."""
    return SolveResult(_direct("cholmod", A, b, damp, gradient_weight, shape, memory_limit, False, callback))


def estimate_cost(A, method="spqr", damp=0.0, *, gradient_weight=0.0, shape=None):
    """What solve_spqr / solve_cholmod would need: dict(bytes, flops, factor_nnz, detail)."""
    if method not in ("spqr", "cholmod"):
        raise ValueError(f"method={method!r} must be 'spqr' or 'cholmod'")
    return _direct(method, A, None, damp, gradient_weight, shape, None, True)


def choose_lambda(A, b, regularizer="tikhonov", rule="auto", noise=None, tau=1.0, shape=None, callback=None):
    """The regularization weight alone: a LambdaChoice (lam, rule, the examined lambdas, residual and
    penalty norms, the criterion). callback(info) receives a ProgressInfo before each trial solve
    (info.value = its lambda) or extension of the Golub-Kahan bidiagonalization."""
    b = _vector(b)
    triple, mv, rmv, rows, cols = _operator(A, b)
    return _core.choose_lambda(triple, mv, rmv, rows, cols, b, regularizer, rule,
                               -1.0 if noise is None else float(noise), float(tau), _grid(shape, cols), callback)


def gradient_matrix(shape):
    """The forward-difference matrix D on a grid (H, W) or (C, n1, ...) as scipy.sparse.csr_matrix."""
    import scipy.sparse as sp

    s = [strict_int(v, "shape", 1, 2 ** 62, "a tuple of integers in [1, 2**62]") for v in shape]
    if len(s) < 2 or (len(s) == 2 and s[0] != 1):
        s = [1] + s
    data, indices, indptr, shp = _core.gradient_matrix(s)
    return sp.csr_matrix((data, indices, indptr), shape=shp)


def read_image(path):
    """A PNG (libpng) or PGM as a float32 2-D array in [0, 1]; color is converted to gray like
    skimage.color.rgb2gray."""
    return _core.read_image(str(path))


def write_image(path, image, bits=8):
    """Writes a 2-D array (clipped to [0, 1]) as an 8- or 16-bit gray PNG, or PGM for *.pgm.

    ValueError: a path not ending in .png or .pgm, a NaN or infinite pixel (naming it: its gray level would
    be meaningless), a complex image, bits other than 8 or 16."""
    if not str(path).lower().endswith((".png", ".pgm")):
        raise ValueError(f"path={str(path)!r} must end in .png or .pgm (the formats write_image writes)")
    bits = strict_int(bits, "bits", rule="8 or 16")
    if bits not in (8, 16):
        raise ValueError(f"bits={bits} must be 8 or 16")
    a = to_numpy(image, "image")
    if a.dtype.kind not in "fiub":
        raise ValueError(f"image has dtype {a.dtype}; pixels must be real numbers")
    finite_array(a, "image", "must be finite: a NaN or Inf pixel has no gray level")
    _core.write_image(str(path), np.asarray(a, dtype=np.float32), bits)


def shepp_logan(n=128, supersample=4):
    """The modified Shepp-Logan phantom, n x n float32, each pixel the mean of supersample^2 samples.
    ValueError for n or supersample not an integer >= 1 (a float or bool is refused)."""
    return _core.shepp_logan(strict_int(n, "n", 1, 2 ** 62), strict_int(supersample, "supersample", 1, 2 ** 62))


def gaussian_kernel(size, sigma):
    """A size x size Gaussian with standard deviation sigma, normalized to sum 1."""
    return _core.gaussian_kernel(strict_int(size, "size", 1, 2 ** 62),
                                 real_number(sigma, "sigma", "a finite number > 0"))


def psnr(a, ref, peak=1.0):
    """10 log10(peak^2 / mean((a - ref)^2)) in dB."""
    a = np.asarray(a, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if a.shape != ref.shape:
        raise ValueError(f"psnr: shapes {a.shape} and {ref.shape} differ")
    mse = float(np.mean((a - ref) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(peak * peak / mse)
