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

__all__ = ["lsqr", "lsmr", "cgls", "landweber", "solve_spqr", "solve_cholmod", "estimate_cost", "choose_lambda",
           "SolveResult", "MemoryLimitError", "IterationInfo", "ProgressInfo", "read_image", "write_image", "shepp_logan", "gaussian_kernel",
           "psnr", "gradient_matrix"]

MemoryLimitError = _core.MemoryLimitError
LambdaChoice = _core.LambdaChoice
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
    seconds; method; estimated_bytes and note (direct solvers).
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
    b = np.asarray(b, dtype=np.float64)
    if b.ndim > 1:
        b = b.squeeze()
    if b.ndim != 1:
        raise ValueError(f"b must be a 1-D array, got shape {np.shape(b)}")
    return np.ascontiguousarray(b)


def _csr(A):
    import scipy.sparse as sp

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
        cols = int(A[2]) if len(A) == 3 else int(np.asarray(rmv(np.zeros(len(b)))).size)
        return None, _as_fn(mv), _as_fn(rmv), len(b), cols
    if hasattr(A, "matvec") and hasattr(A, "rmatvec") and hasattr(A, "shape"):
        rows, cols = (int(v) for v in A.shape)
        return None, _as_fn(A.matvec), _as_fn(A.rmatvec), rows, cols
    raise TypeError(f"A must be a scipy.sparse matrix, a 2-D array, a LinearOperator or a pair of callables "
                    f"(matvec, rmatvec); got {type(A).__name__}")


def _as_fn(f):
    return lambda v: np.asarray(f(v), dtype=np.float64).ravel()


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
    v = float(value)
    if not v >= 0 or not np.isfinite(v):
        raise ValueError(f"{name}={value!r} must be a finite number >= 0 or 'auto'")
    return v, False


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
    lo, hi = (-_INF, _INF) if bounds is None else (float(bounds[0]), float(bounds[1]))
    res = _core.solve_iterative(
        method, triple, mv, rmv, rows, cols, b, d, g, _grid(shape, cols), auto_d or auto_g,
        "gradient" if auto_g else "tikhonov", rule, -1.0 if noise is None else float(noise), float(tau),
        float(atol), float(btol), float(conlim), -1 if iter_lim is None else int(iter_lim),
        0.0 if step is None else float(step), lo, hi, bool(accelerate), callback, lambda_callback)
    return SolveResult(res)


def lsqr(A, b, damp=0.0, atol=1e-6, btol=1e-6, conlim=1e8, iter_lim=None, *, gradient_weight=0.0, shape=None,
         rule="auto", noise=None, tau=1.0, callback=None, lambda_callback=None):
    """LSQR of Paige & Saunders: the same recurrences, stopping tests (atol, btol, conlim, iter_lim = 2n
    by default) and istop codes as scipy.sparse.linalg.lsqr. callback(info) is called after every
    iteration with an IterationInfo (iteration, iteration_limit, residual_norm, normal_residual,
    solution_norm, seconds); returning False stops (istop 8). lambda_callback(info) receives a
    ProgressInfo before each step of an "auto" weight's search. ValueError for a NaN or Inf in b."""
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
    4, 5, 7, 8, 9); anorm is max ||A p|| / ||p|| over the search directions. Callbacks as lsqr."""
    return _iterative("cgls", A, b, damp, atol, btol, 0.0, iter_lim, gradient_weight, shape, rule, noise, tau,
                      callback, lambda_callback)


def landweber(A, b, damp=0.0, atol=1e-6, btol=1e-6, iter_lim=None, *, step=None, bounds=None, accelerate=False,
              gradient_weight=0.0, shape=None, rule="auto", noise=None, tau=1.0, callback=None,
              lambda_callback=None):
    """Landweber x <- P(x + step (A^T (b - A x) - damp^2 x)); step defaults to 1 / (||A||^2 + damp^2) with
    ||A||^2 from the power method; bounds=(lo, hi) projects every iterate (projected Landweber);
    accelerate=True adds Nesterov/FISTA momentum. iter_lim defaults to 2n: set it. Callbacks as lsqr."""
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

    s = [int(v) for v in shape]
    if len(s) < 2 or (len(s) == 2 and s[0] != 1):
        s = [1] + s
    data, indices, indptr, shp = _core.gradient_matrix(s)
    return sp.csr_matrix((data, indices, indptr), shape=shp)


def read_image(path):
    """A PNG (libpng) or PGM as a float32 2-D array in [0, 1]; color is converted to gray like
    skimage.color.rgb2gray."""
    return _core.read_image(str(path))


def write_image(path, image, bits=8):
    """Writes a 2-D array (clipped to [0, 1]) as an 8- or 16-bit gray PNG, or PGM for *.pgm."""
    _core.write_image(str(path), np.asarray(image, dtype=np.float32), int(bits))


def shepp_logan(n=128, supersample=4):
    """The modified Shepp-Logan phantom, n x n float32, each pixel the mean of supersample^2 samples."""
    return _core.shepp_logan(int(n), int(supersample))


def gaussian_kernel(size, sigma):
    """A size x size Gaussian with standard deviation sigma, normalized to sum 1."""
    return _core.gaussian_kernel(int(size), float(sigma))


def psnr(a, ref, peak=1.0):
    """10 log10(peak^2 / mean((a - ref)^2)) in dB."""
    a = np.asarray(a, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if a.shape != ref.shape:
        raise ValueError(f"psnr: shapes {a.shape} and {ref.shape} differ")
    mse = float(np.mean((a - ref) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(peak * peak / mse)
