"""Validation of user kernels: dot tests, the Jacobian of any black-box linear operator, and
check_kernel, which compares a convolution or transposed-convolution kernel with W entry by
entry and says what is wrong.

    import torch, torch.nn.functional as F, convmtx
    w = torch.randn(2, 3, 3, 3, dtype=torch.float64)
    print(convmtx.check_kernel(lambda x: F.conv_transpose2d(torch.from_numpy(x), w, stride=2).numpy(),
                               (2, 5, 5), w.numpy(), transposed=True, stride=2))

Reference: docs/validation.md.
"""

import numpy as np

from . import _core
from ._checks import real_operator, sparse_matrix, strict_bool, strict_int
from ._tensors import to_numpy
from .functional import conv_spec, conv_transpose_spec

__all__ = ["dot_test", "check_kernel", "to_sparse", "DotTestReport", "probe_bound"]

_BIG = 2 ** 62  # the largest count or size a 64-bit index of the C++ side takes with room to spare


class DotTestReport:
    """Result of dot_test.

    trials: list of (<Ax, y>, <x, A^H y>, error) per trial; error: the largest scale-aware error
    |<Ax,y> - <x,A^H y>| / max(|Ax||y|, |x||A^H y|) (inf when a trial had a NaN or infinite value);
    rtol: the tolerance; failure: "trial t: ..." naming the first NaN or infinite result, inner product
    or norm (None when every value was finite); passed: no failure and error <= rtol.
    """

    def __init__(self, trials, rtol, failure=None):
        self.trials = trials
        self.rtol = float(rtol)
        self.failure = failure
        self.error = float("inf") if failure else max((t[2] for t in trials), default=0.0)
        self.passed = bool(failure is None and self.error <= self.rtol)

    def __str__(self):
        lines = [f"dot test {'PASSED' if self.passed else 'FAILED'}: max |<Ax,y> - <x,A^T y>| / "
                 f"max(|Ax||y|, |x||A^T y|) = {self.error:.3g} (rtol {self.rtol:.3g}, {len(self.trials)} trials)"
                 + (f"; {self.failure}" if self.failure else "")]
        for i, (f, a, e) in enumerate(self.trials):
            lines.append(f"  trial {i}: <Ax,y> = {f:.10g}  <x,A^T y> = {a:.10g}  error {e:.3g}")
        return "\n".join(lines)

    def __repr__(self):
        return f"<convmtx.DotTestReport {'PASSED' if self.passed else 'FAILED'} error={self.error:.3g}>"


def _first_nonfinite(a, what):
    """'<what> holds nan at index (i, ...)' for the first NaN or infinite entry of a, or None."""
    bad = ~np.isfinite(a)
    if not bad.any():
        return None
    i = np.unravel_index(int(np.argmax(bad.ravel())), a.shape)
    return f"{what} holds {a[i]} at index {tuple(int(v) for v in i)}"


def _as_operator(A, allow_complex=False, name="A"):
    """A as an operator (scipy sparse matrices through aslinearoperator, after checking their structure),
    or None for anything else (a plain callable). An operator is anything with shape, matvec and rmatvec.
    A complex matrix or operator is refused unless allow_complex (the C++ side is real)."""
    import scipy.sparse as sp
    import scipy.sparse.linalg as sla

    if sp.issparse(A):
        return sla.aslinearoperator(sparse_matrix(A, name, allow_complex=allow_complex))
    if hasattr(A, "shape") and hasattr(A, "matvec") and hasattr(A, "rmatvec"):
        if not allow_complex:
            real_operator(A, name)
        return A
    return None


def _operator_shapes(A):
    """(model shape, data shape) of an operator: convmtx.LinearOperator's own, else (columns,), (rows,)."""
    rows, cols = (int(v) for v in A.shape)
    return tuple(getattr(A, "model_shape", (cols,))), tuple(getattr(A, "data_shape", (rows,)))


def _batched(f, in_shape, out_shape):
    """A batch (N, *in_shape) -> (N, *out_shape) through f on (prod(in), N) column blocks (matmat)."""
    n_in = int(np.prod(in_shape))

    def g(x):
        x = np.asarray(x)
        n = x.shape[0]
        return np.asarray(f(np.ascontiguousarray(x.reshape(n, n_in).T))).T.reshape((n,) + tuple(out_shape))
    return g


def _torch_module(module):
    """A torch.nn.Module as a kernel on numpy batches (no autograd graph is recorded)."""
    import torch

    def kernel(x):
        with torch.no_grad():
            return module(torch.from_numpy(np.ascontiguousarray(x))).numpy()
    return kernel


def _callable(f, name, what):
    if not callable(f):
        raise TypeError(f"{name} must be a callable ({what}); got {type(f).__name__}")


def _shape(shape, name):
    try:
        s = tuple(int(v) for v in (shape if np.iterable(shape) else (shape,)))
    except (TypeError, ValueError):
        raise TypeError(f"{name}={shape!r} must be a tuple of ints") from None
    if not s or any(v < 1 for v in s):
        raise ValueError(f"{name}={s} must be a non-empty tuple of positive sizes")
    if any(v > _BIG for v in s):
        raise ValueError(f"{name}={s}: a size above 2**62 does not fit the library's 64-bit indices")
    return s


def dot_test(forward, adjoint=None, in_shape=None, out_shape=None, trials=10, rtol=None, seed=0):
    """Dot (adjoint) test: ``|<A x, y> - <x, A^H y>| / max(||A x|| ||y||, ||x|| ||A^H y||)`` for random x, y.

    Parameters
    ----------
    forward : callable or operator
        A callable mapping an array of in_shape to out_shape (then adjoint, in_shape and out_shape are
        required), or an operator: a convmtx.LinearOperator, any scipy.sparse.linalg.LinearOperator or
        scipy.sparse matrix (its matvec/rmatvec are used; shapes from model_shape/data_shape or A.shape).
    adjoint : callable, optional
        An array of out_shape -> an array of in_shape.
    in_shape, out_shape : tuple of int, optional
        Shapes of x and y (taken from an operator when not given).
    trials : int
        Random pairs (standard normal; complex when forward returns complex values), >= 1.
    rtol : float, optional
        Default ``10 * eps * sqrt(size(in) + size(out))``, eps of the results' precision.
    seed : int

    Returns
    -------
    DotTestReport
        ``.passed``, ``.error``, ``.trials`` (``<Ax,y>``, ``<x,A^H y>``, error), ``.failure`` (the first
        NaN/Inf result, inner product or norm; such a trial fails), ``str()``.

    Raises
    ------
    TypeError
        forward/adjoint not callable and forward not an operator.
    ValueError
        A result of the wrong size, trials < 1, missing shapes; a malformed scipy.sparse matrix (indptr
        not monotone or of the wrong length, an index out of range: naming the array and the rule).
    """
    if adjoint is None and _as_operator(forward, allow_complex=True, name="forward") is not None:
        A = _as_operator(forward, allow_complex=True, name="forward")
        model, data = _operator_shapes(A)
        in_shape = model if in_shape is None else in_shape
        out_shape = data if out_shape is None else out_shape
        forward = lambda x: np.asarray(A.matvec(np.asarray(x).ravel()))  # noqa: E731
        adjoint = lambda y: np.asarray(A.rmatvec(np.asarray(y).ravel()))  # noqa: E731
    if in_shape is None or out_shape is None:
        raise ValueError("in_shape and out_shape are required with callables (an operator gives its own)")
    _callable(forward, "forward", "an array of in_shape -> an array of out_shape")
    _callable(adjoint, "adjoint", "an array of out_shape -> an array of in_shape")
    in_shape, out_shape = _shape(in_shape, "in_shape"), _shape(out_shape, "out_shape")
    trials = strict_int(trials, "trials", 1, 10**6)
    seed = strict_int(seed, "seed", 0, 2**63 - 1)
    rng = np.random.default_rng(seed)
    complex_ = False
    results = []
    dtypes = set()
    failure = None
    for trial in range(int(trials)):
        def draw(shape):
            v = rng.standard_normal(shape)
            return v + 1j * rng.standard_normal(shape) if complex_ else v
        x, y = draw(in_shape), draw(out_shape)
        ax = np.asarray(forward(x))
        if np.iscomplexobj(ax) and not complex_:
            complex_ = True
            x, y = draw(in_shape), draw(out_shape)
            ax = np.asarray(forward(x))
        aty = np.asarray(adjoint(y))
        if ax.size != y.size:
            raise ValueError(f"forward returned shape {ax.shape} for an input of shape {in_shape}; "
                             f"expected {out_shape}")
        if aty.size != x.size:
            raise ValueError(f"adjoint returned shape {aty.shape} for an input of shape {out_shape}; "
                             f"expected {in_shape}")
        dtypes.update(a.dtype for a in (ax, aty) if np.issubdtype(a.dtype, np.inexact))
        ax64 = ax.astype(np.complex128 if np.iscomplexobj(ax) else np.float64).ravel()
        aty64 = aty.astype(np.complex128 if np.iscomplexobj(aty) else np.float64).ravel()
        with np.errstate(all="ignore"):  # a non-finite value is reported below, not warned about
            f = np.vdot(y.ravel(), ax64)   # sum conj(y) * Ax
            a = np.vdot(aty64, x.ravel())  # sum conj(A^H y) * x
            nax, naty = np.linalg.norm(ax64), np.linalg.norm(aty64)
        bad = (_first_nonfinite(ax.reshape(out_shape), "the forward result A x")
               or _first_nonfinite(aty.reshape(in_shape), "the adjoint result A^H y")
               or next((f"{name} is {v}" for name, v in (("<Ax, y>", f), ("<x, A^H y>", a), ("||Ax||", nax),
                                                        ("||A^H y||", naty)) if not np.isfinite(v)), None))
        if bad:
            err = float("inf")
            failure = failure or f"trial {trial}: {bad}"
        else:
            scale = max(nax * np.linalg.norm(y), np.linalg.norm(x) * naty)
            diff = abs(f - a)
            err = float(diff / scale) if scale > 0 else float(diff)
        results.append((complex(f) if complex_ else float(np.real(f)), complex(a) if complex_ else float(np.real(a)),
                        err))
    eps = max((float(np.finfo(d).eps) for d in dtypes), default=float(np.finfo(np.float64).eps))
    if rtol is None:
        rtol = 10 * float(eps) * np.sqrt(np.prod(in_shape) + np.prod(out_shape))
    return DotTestReport(results, rtol, failure)


def _weight(weight):
    w = to_numpy(weight, "weight")
    if w.dtype not in (np.float32, np.float64):
        raise TypeError(f"weight has dtype {w.dtype}; expected float32 or float64 (the kernel is probed with "
                        f"inputs of the weight's dtype)")
    if not 3 <= w.ndim <= 5:
        raise ValueError(f"weight has ndim={w.ndim} (shape {w.shape}); expected (C_out, C_in/groups, *kernel) "
                         f"for a conv or (C_in, C_out/groups, *kernel) for a transposed conv, 1 to 3 spatial "
                         f"dimensions")
    return np.ascontiguousarray(w)


def check_kernel(kernel, input_shape, weight, transposed=False, *, adjoint=None, margin=1, batch=256,
                 random_inputs=3, rtol=None, seed=0, max_listed=8, **conv_args):
    """Checks a user kernel against the explicit matrix W (conv) or T = W^T (transposed conv).

    The kernel's whole Jacobian is recovered by verified colored probing (about ``C_in * prod(k + 2)`` probe
    inputs), compared with M entry by entry (``M[(o, q), (c, i)]`` = the sum of the weight taps that map
    output q to input i; docs/validation.md) and the differences are diagnosed: wrong output positions,
    inputs, taps, and the typical bug that explains them.

    Parameters
    ----------
    kernel : callable, operator or torch.nn.Module
        A callable mapping a batch ``(N, *input_shape)`` (the weight's dtype) to ``(N, C_out, *out)``; an
        operator (convmtx.LinearOperator, scipy LinearOperator, sparse matrix), applied through matmat,
        whose rmatmat is checked as the adjoint; or a torch.nn.Module, called on tensors without autograd.
    input_shape : tuple of int
        ``(C, *spatial)`` of one sample.
    weight : array_like or torch.Tensor, float32 or float64
        PyTorch's layout: ``(C_out, C_in/G, *k)`` for a conv, ``(C_in, C_out/G, *k)`` for a transposed conv.
    transposed : bool
        The kernel is a transposed convolution.
    adjoint : callable, optional
        The kernel's adjoint (a batch of outputs -> inputs), checked against M^T with a dot test.
    margin, batch, random_inputs, rtol, seed, max_listed
        Probing margin, probes per call, random verification inputs, tolerance (None: the dtype's),
        seed, differences listed in the report.
    **conv_args
        Those of `conv` / `conv_transpose` (stride, padding, output_padding, output_size, dilation, groups,
        padding_mode, convention, pad, adj, target_shape).

    Returns
    -------
    KernelReport
        ``.passed``, ``.probes``, ``.findings``, ``.diffs``, ``str()``. A NaN or infinite kernel result fails
        the check (finding "nonfinite" naming the output position and the input).

    Raises
    ------
    ValueError
        A NaN or infinite weight (naming its position); the configuration errors of `conv_spec`; a kernel
        result of the wrong shape; a malformed or complex scipy.sparse matrix or a complex operator.
    TypeError
        kernel or adjoint not callable; a weight that is not float32/float64.
    """
    if type(kernel).__module__.startswith("torch") and hasattr(kernel, "parameters") and hasattr(kernel, "forward"):
        kernel = _torch_module(kernel)
    elif _as_operator(kernel, name="kernel") is not None:
        A = _as_operator(kernel, name="kernel")
        model, data = _operator_shapes(A)
        if adjoint is None:
            adjoint = _batched(A.rmatmat, data, model)
        kernel = _batched(A.matmat, model, data)
    _callable(kernel, "kernel", "a batch (N, *input_shape) -> (N, C_out, *output), or an operator")
    if adjoint is not None:
        _callable(adjoint, "adjoint", "a batch (N, C_out, *output) -> (N, *input_shape)")
    w = _weight(weight)
    if strict_bool(transposed, "transposed"):
        spec = conv_transpose_spec(_shape(input_shape, "input_shape"), w.shape, **conv_args)
    else:
        spec = conv_spec(_shape(input_shape, "input_shape"), w.shape, **conv_args)
    rtol = 0.0 if rtol is None else float(rtol)
    return _core.check_kernel(kernel, spec, w, adjoint, strict_int(margin, "margin", 0, _BIG),
                              strict_int(batch, "batch", 1, _BIG), strict_int(random_inputs, "random_inputs", 0, _BIG),
                              rtol, strict_int(seed, "seed", 0, _BIG), strict_int(max_listed, "max_listed", 0, _BIG))


def _pattern(pattern, rows, cols):
    if pattern is None or isinstance(pattern, _core.ConvSpec):
        return pattern
    import scipy.sparse as sp

    m = sp.csr_matrix(pattern) if not sp.issparse(pattern) else sparse_matrix(pattern, "pattern").tocsr()
    if m.shape != (rows, cols):
        raise ValueError(f"pattern has shape {m.shape}; the operator's matrix is ({rows}, {cols}) "
                         f"(rows = output size, columns = input size)")
    m = m.copy()
    m.sum_duplicates()
    m.sort_indices()
    return (m.indptr.astype(np.int64), m.indices.astype(np.int64), rows, cols)


def to_sparse(forward, in_shape=None, out_shape=None, pattern=None, *, batched=False, dtype=np.float64, margin=1,
              batch=256, rtol=None, seed=0, return_stats=False):
    """The explicit matrix of a black-box linear operator (rows = output size), by verified probing.

    Parameters
    ----------
    forward : callable or operator
        A callable taking one array of in_shape (``batched=True``: a batch ``(N, *in_shape)``) and returning
        out_shape; or an operator (convmtx.LinearOperator, scipy LinearOperator, sparse matrix) whose matmat
        is probed and whose shapes are used when in_shape/out_shape are not given.
    in_shape, out_shape : tuple of int, optional
        Required with a callable.
    pattern : None, ConvSpec or sparse/dense matrix
        None: unit probes, one per input element; a ConvSpec of the operation (or of its adjoint) or a
        sparsity pattern (nonzeros = the expected entries): verified colored probing, exact whatever the
        operator (finer colorings down to unit vectors where the verification fails).
    batched, dtype, margin, batch, rtol, seed
        Batch calls, probe dtype (float32/float64), coloring margin, probes per call, tolerance, seed.
    return_stats : bool
        Also return the ProbeStats.

    Returns
    -------
    scipy.sparse.csr_matrix (and ProbeStats)
        Shape ``(prod(out_shape), prod(in_shape))``.

    Raises
    ------
    ValueError
        forward returned a NaN or infinite value (naming the output position and the probe), a wrong shape,
        missing shapes; a malformed or complex scipy.sparse matrix (forward or pattern) or a complex operator.
    TypeError
        forward not callable and not an operator; a dtype other than float32/float64.
    """
    if _as_operator(forward, name="forward") is not None:
        A = _as_operator(forward, name="forward")
        model, data = _operator_shapes(A)
        in_shape = model if in_shape is None else in_shape
        out_shape = data if out_shape is None else out_shape
        forward, batched = _batched(A.matmat, in_shape, out_shape), True
    _callable(forward, "forward", "an array of in_shape -> an array of out_shape, or an operator")
    if in_shape is None or out_shape is None:
        raise ValueError("in_shape and out_shape are required with a callable (an operator gives its own)")
    in_shape, out_shape = _shape(in_shape, "in_shape"), _shape(out_shape, "out_shape")
    rows, cols = int(np.prod(out_shape)), int(np.prod(in_shape))
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"dtype={dt} must be float32 or float64")
    data, indices, indptr, shape, stats = _core.to_sparse(forward, list(in_shape), list(out_shape),
                                                          _pattern(pattern, rows, cols), strict_bool(batched, "batched"), dt.name,
                                                          strict_int(margin, "margin", 0, _BIG),
                                                          strict_int(batch, "batch", 1, _BIG),
                                                          0.0 if rtol is None else float(rtol),
                                                          strict_int(seed, "seed", 0, _BIG))
    if stats.nonfinite:
        raise ValueError(stats.nonfinite)
    import scipy.sparse as sp

    m = sp.csr_matrix(tuple(shape), dtype=data.dtype)
    m.data, m.indices, m.indptr = data, indices, indptr
    m.has_sorted_indices = True
    return (m, stats) if strict_bool(return_stats, "return_stats") else m


def probe_bound(spec, margin=1, adjoint=False):
    """The stated bound on the probes of the first coloring for a ConvSpec (zeros padding):
    C_in * prod_j min(n_j, (k_j-1)d_j + 2*margin + 1) (conv direction) or
    C_in * prod_j min(m_j, floor(((k_j-1)d_j + 2*margin)/s_j) + 1) (transposed direction)."""
    return _core.probe_bound(spec, strict_int(margin, "margin", 0, _BIG), strict_bool(adjoint, "adjoint"))
