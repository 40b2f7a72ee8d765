"""Argument checks shared by every public function of the Python layer.

One place for the rules that every entry point applies the same way:

* `strict_bool`, `strict_int`, `real_number`: strictly typed scalars (a bool is not a number, a string
  is not a bool, a float is not an integer, a complex number is not real), ValueError naming the
  parameter, its value and the rule;
* `sparse_matrix`: the structure of every scipy.sparse matrix that reaches C++ or torch (indptr
  length, first entry, monotone, indptr[-1] within indices/data; indices in range; equal lengths;
  real dtype), ValueError naming the array and the rule;
* `checked_output`: the result of a user's operator (matvec, rmatvec, matmat) checked for its size,
  complex values and NaN/Inf, ValueError naming the operator's method;
* `finite_array`: the first NaN or infinite entry of an array, named.
"""

import numbers

import numpy as np

__all__ = ["strict_bool", "strict_int", "real_number", "sparse_matrix", "checked_output", "checked_call",
           "finite_array", "real_operator"]


def strict_bool(value, name):
    """value as a bool; ValueError unless it is True or False (numpy's bool_ too)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{name}={value!r} must be True or False (a bool), not a {type(value).__name__}")


def strict_int(value, name, minimum=None, maximum=None, rule=None):
    """value as an int in [minimum, maximum]; ValueError for a bool, float, string or out-of-range value."""
    rule = rule or ("an integer" + (f" >= {minimum}" if minimum is not None and maximum is None else "")
                    + (f" in [{minimum}, {maximum}]" if minimum is not None and maximum is not None else "")
                    + (f" <= {maximum}" if minimum is None and maximum is not None else ""))
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}={value!r} must be {rule}; got a {type(value).__name__}")
    v = int(value)
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        raise ValueError(f"{name}={v} must be {rule}")
    return v


def real_number(value, name, rule="a real number"):
    """value as a float; ValueError for a bool, complex number, string, sequence or NaN."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}={value!r} must be {rule}; got a {type(value).__name__}")
    v = float(value)
    if np.isnan(v):
        raise ValueError(f"{name}={value!r} must be {rule}, not NaN")
    return v


def finite_array(a, name, rule="must be finite"):
    """Raises ValueError naming the first NaN or infinite entry of a (its index) and the rule."""
    a = np.asarray(a)
    if a.dtype.kind not in "fc" or a.size == 0:
        return
    bad = ~np.isfinite(a)
    if bad.any():
        i = np.unravel_index(int(np.argmax(bad.ravel())), a.shape)
        idx = tuple(int(v) for v in i)
        where = f"[{idx[0]}]" if len(idx) == 1 else str(list(idx)).replace(" ", "")
        raise ValueError(f"{name}{where} = {a[i]}: {name} {rule}")


def real_operator(A, name="A"):
    """ValueError for an operator or matrix of complex dtype (convmtx's C++ side is real)."""
    dt = getattr(A, "dtype", None)
    if dt is not None:
        try:
            kind = np.dtype(dt).kind
        except TypeError:
            return
        if kind == "c":
            raise ValueError(f"{name} has dtype {np.dtype(dt)}: convmtx computes in real arithmetic (float64) and "
                             f"would drop the imaginary part; split it into real and imaginary operators")


def _index_array(a, name, label):
    a = np.asarray(a)
    if a.ndim != 1:
        raise ValueError(f"{label}.{name} has {a.ndim} dimensions; it must be a 1-D array")
    if a.dtype.kind not in "iu":
        raise ValueError(f"{label}.{name} has dtype {a.dtype}; it must hold integers")
    return a


def sparse_matrix(M, name="A", allow_complex=False):
    """M (a scipy.sparse matrix or array) after checking its structure; returns M unchanged.

    CSR/CSC: indptr has outer + 1 entries, starts at 0, never decreases and ends at most at len(indices);
    indices and data have equal lengths; every index of the first indptr[-1] is in [0, inner). COO: row and
    col of equal lengths with data, in range. Other formats are converted by scipy (an error there is a
    ValueError naming M). A complex dtype is refused unless allow_complex; so is a non-numeric one.
    """
    import scipy.sparse as sp

    if not sp.issparse(M):
        return M
    rows, cols = (int(v) for v in M.shape)
    dt = M.dtype
    if dt.kind == "c" and not allow_complex:
        raise ValueError(f"{name} has dtype {dt}: convmtx computes in real arithmetic and would drop the imaginary "
                         f"part; pass its real and imaginary parts separately")
    if dt.kind not in "fiubc":
        raise ValueError(f"{name} has dtype {dt}; a matrix must hold numbers")
    fmt = M.format
    if fmt in ("csr", "csc"):
        outer, inner = (rows, cols) if fmt == "csr" else (cols, rows)
        line, other = ("row", "column") if fmt == "csr" else ("column", "row")
        indptr = _index_array(M.indptr, "indptr", name)
        indices = _index_array(M.indices, "indices", name)
        data = np.asarray(M.data)
        if data.ndim != 1:
            raise ValueError(f"{name}.data has {data.ndim} dimensions; it must be a 1-D array")
        if indptr.size != outer + 1:
            raise ValueError(f"{name}.indptr has {indptr.size} entries; a {fmt.upper()} matrix of shape "
                             f"({rows}, {cols}) needs {outer + 1} (one per {line}, plus one)")
        if indptr[0] != 0:
            raise ValueError(f"{name}.indptr[0] = {int(indptr[0])}; indptr must start at 0")
        steps = np.diff(indptr.astype(np.int64))
        if steps.size and steps.min() < 0:
            i = int(np.argmax(steps < 0))
            raise ValueError(f"{name}.indptr decreases at {line} {i}: indptr[{i}] = {int(indptr[i])} > "
                             f"indptr[{i + 1}] = {int(indptr[i + 1])}; indptr must never decrease")
        if indices.size != data.size:
            raise ValueError(f"{name}.indices has {indices.size} entries but {name}.data has {data.size}; "
                             f"they must have equal lengths")
        nnz = int(indptr[-1])
        if nnz > indices.size:
            raise ValueError(f"{name}.indptr[-1] = {nnz} but {name}.indices has {indices.size} entries; "
                             f"indptr[-1] must be at most len(indices)")
        idx = indices[:nnz]
        bad = (idx < 0) | (idx >= inner)
        if bad.any():
            k = int(np.argmax(bad))
            where = int(np.searchsorted(indptr, k, side="right")) - 1
            raise ValueError(f"{name}.indices[{k}] = {int(idx[k])} ({other} index in {line} {where}) is outside "
                             f"[0, {inner}): every index must be in range")
        return M
    if fmt == "coo":
        coords = (M.row, M.col)
        data = np.asarray(M.data)
        for arr, label, n in ((coords[0], "row", rows), (coords[1], "col", cols)):
            a = _index_array(arr, label, name)
            if a.size != data.size:
                raise ValueError(f"{name}.{label} has {a.size} entries but {name}.data has {data.size}; "
                                 f"they must have equal lengths")
            bad = (a < 0) | (a >= n)
            if bad.any():
                k = int(np.argmax(bad))
                raise ValueError(f"{name}.{label}[{k}] = {int(a[k])} is outside [0, {n}): every index must be in "
                                 f"range")
        return M
    try:
        converted = M.tocsr()
    except Exception as e:  # a malformed BSR/DIA/LIL/DOK matrix: scipy's own words, as a ValueError
        raise ValueError(f"{name} (format {fmt!r}) cannot be converted to CSR: {e}") from None
    sparse_matrix(converted, name, allow_complex)
    return M


def checked_output(result, name, size, *, what="values"):
    """result of a user's operator method (name, e.g. 'A.matvec') as a 1-D float64 array of `size` values.

    ValueError for a wrong number of values, complex values with a non-zero imaginary part, or a NaN or
    infinite value, naming `name` and the rule (not numpy's or LAPACK's words).
    """
    a = np.asarray(result)
    if size is not None and a.size != size:
        raise ValueError(f"{name} returned {a.size} {what} (shape {a.shape}); the operator's shape needs {size}")
    if a.dtype.kind == "c":
        if np.any(a.imag != 0):
            raise ValueError(f"{name} returned complex values (dtype {a.dtype}): convmtx computes in real "
                             f"arithmetic and would drop the imaginary part")
        a = a.real
    if a.dtype.kind not in "fiub":
        raise ValueError(f"{name} returned dtype {a.dtype}; it must return real numbers")
    a = np.asarray(a, dtype=np.float64).ravel()
    bad = ~np.isfinite(a)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name} returned {a[i]} at index {i}: the operator's output must be finite (NaN, or an "
                         f"overflow of float64)")
    return a


def checked_call(f, name, size):
    """f (a user's matvec or rmatvec) wrapped: its result checked by `checked_output`, and scipy's "cannot
    reshape" (a LinearOperator whose function returns the wrong size) reworded to name f."""
    def g(v):
        try:
            r = f(v)
        except ValueError as e:
            if "reshape" not in str(e):
                raise
            raise ValueError(f"{name} returned the wrong number of values for an input of {np.size(v)} "
                             f"(scipy: {e}); the operator's shape needs {size}") from None
        return checked_output(r, name, size)
    return g
