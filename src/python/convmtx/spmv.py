"""Sparse matrix times vector or block on all OpenMP threads: the products under convmtx's
linear operators, for scipy CSR and CSC matrices."""

import numpy as np

from . import _core
from ._checks import sparse_matrix, strict_bool
from ._tensors import to_numpy


def spmv(A, x, out=None, transpose=False, check=True):
    """out = A @ x (transpose=False) or A.T @ x (transpose=True), computed in C++ on the OpenMP
    threads (OMP_NUM_THREADS) with the GIL released, on A's own arrays (nothing is copied).

    A: scipy.sparse CSR or CSC matrix (csr_matrix/csr_array/csc_matrix/csc_array) with float32 or
    float64 data and int32 or int64 indices. x: (n,) or (n, k), n = A.shape[1] (A.shape[0] with
    transpose), any strides; converted to A's dtype when it differs; k = 0 gives the empty product.
    out: None (a new array) or a writeable array of A's dtype and shape (m,) or (m, k), overwritten; it
    must not overlap x, A.data, A.indices or A.indptr (ValueError). transpose and check must be bools
    (True/False; a string such as 'no' is refused).
    check=True verifies A.indptr and A.indices first (one O(nnz) pass, the validation every convmtx
    entry point applies to scipy matrices: ValueError naming the array and the rule); pass False for a matrix
    already checked (an operator checks once when it is made). Returns out.

    Unlike scipy's A.T @ y on a CSR matrix (a serial scatter) both directions run in parallel:
    the gather direction splits the output lines among the threads, the scatter direction gives
    every thread its own copy of the output, (threads - 1) * m * min(k, 8) values kept between
    calls. ValueError (ShapeError, ConfigError) names the offending array, shape or index."""
    transpose = strict_bool(transpose, "transpose")
    check = strict_bool(check, "check")
    fmt = getattr(A, "format", None)
    if fmt not in ("csr", "csc"):
        raise ValueError(f"A must be a scipy.sparse CSR or CSC matrix; it is {type(A).__name__}"
                         + (f" in format {fmt!r}" if fmt else ""))
    if A.dtype not in (np.float32, np.float64):
        raise ValueError(f"A has dtype {A.dtype}; spmv takes float32 or float64 matrices")
    if check:
        sparse_matrix(A, "A")
    rows, cols = A.shape
    x = to_numpy(x, "x")
    if x.dtype != A.dtype:
        if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
            raise ValueError(f"x has dtype {x.dtype}; expected real numbers (converted to {A.dtype})")
        x = x.astype(A.dtype)
    n_out = cols if transpose else rows
    if out is None:
        out = np.empty((n_out,) + x.shape[1:], dtype=A.dtype)
    elif not isinstance(out, np.ndarray):
        raise ValueError(f"out must be a numpy array (or None); got {type(out).__name__}")
    else:
        # out is written while A and x are read: it must not share memory with any of them
        for arr, label in ((A.data, "A.data"), (A.indices, "A.indices"), (A.indptr, "A.indptr"), (x, "x")):
            if np.shares_memory(out, arr):
                raise ValueError(f"out overlaps {label} in memory; out is overwritten while {label} is read: pass "
                                 f"a separate array (or out=None)")
    if x.ndim == 2 and x.shape[1] == 0:  # a block of no columns: the empty product
        n_in = rows if transpose else cols
        if x.shape[0] != n_in:
            raise ValueError(f"x has shape {x.shape}; A{'.T' if transpose else ''} needs {n_in} rows")
        if out.shape != (n_out, 0):
            raise ValueError(f"out has shape {out.shape}; the product has shape {(n_out, 0)}")
        return out
    _core.spmv(A.data, A.indices, A.indptr, (rows, cols), fmt == "csr", transpose, x, out, check=check)
    return out
