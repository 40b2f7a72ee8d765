"""torch.nn.functional-style convolutions on numpy arrays, and their sparse matrices.

    conv(x, weight)            y[n, o, q] = sum_{c', t} weight[o, c', t] * xpad[n, g*C_in/G + c', q*s - pl + t*d] (+ bias[o])
    conv_transpose(x, weight)  out[n, g*C_out/G + o', i*s - pl + t*d] += x[n, c, i] * weight[c, o', t]   (+ bias)
    conv_matrix(...)           W with conv(x)[b].ravel() == W @ x[b].ravel()
    conv_transpose_matrix(...) T = W^T with conv_transpose(x)[b].ravel() == T @ x[b].ravel()

The rank (1, 2 or 3 spatial dimensions) is weight.ndim - 2; x is (N, C, *spatial)
or unbatched (C, *spatial). float32 stays float32 and float64 stays float64.
Index formulas: docs/semantics.md; PyTorch is the ground truth.
"""

import numbers

import numpy as np
import scipy.sparse as _sparse

from . import _core

__all__ = [
    "conv",
    "conv_transpose",
    "conv_matrix",
    "conv_transpose_matrix",
    "conv_spec",
    "conv_transpose_spec",
]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class _DefaultZero(int):
    """The default output_padding: 0 for the torch convention, Keras' None for the keras one."""

    def __repr__(self):
        return "0"


_OUTPUT_PADDING_DEFAULT = _DefaultZero(0)


# ---- argument normalisation -------------------------------------------------------------------

def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _ints(value, name):
    """An int or a sequence of ints as a list (the core broadcasts one value to every dimension)."""
    if _is_int(value):
        return [_int64(value, name)]
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name}={value!r} must be an int or a tuple of ints")
    try:
        items = list(value)
    except TypeError:
        raise TypeError(f"{name}={value!r} must be an int or a tuple of ints") from None
    if not all(_is_int(v) for v in items):
        raise TypeError(f"{name}={value!r} must be an int or a tuple of ints")
    return [_int64(v, name) for v in items]


def _int64(v, name):
    v = int(v)
    if not -(2 ** 63) <= v < 2 ** 63:
        raise ValueError(f"{name} value {v} does not fit in a 64-bit integer")
    return v


def _padding(padding):
    """(kind, lo, hi): 'same' / 'valid' / an int / per-dimension ints / per-dimension (lo, hi) pairs."""
    msg = (f"padding={padding!r} must be 'same', 'valid', an int, a tuple of ints (one per dimension) "
           f"or a tuple of (lo, hi) pairs (one per dimension)")
    if isinstance(padding, str):
        if padding in ("same", "valid"):
            return padding, [0], [0]
        raise ValueError(msg)
    if _is_int(padding):
        p = _int64(padding, "padding")
        return "explicit", [p], [p]
    try:
        items = list(padding)
    except TypeError:
        raise TypeError(msg) from None
    if all(_is_int(v) for v in items):
        p = [_int64(v, "padding") for v in items]
        return "explicit", p, p
    lo, hi = [], []
    for v in items:
        if isinstance(v, (str, bytes)):
            raise TypeError(msg)
        try:
            pair = list(v)
        except TypeError:
            raise TypeError(msg) from None
        if len(pair) != 2 or not all(_is_int(e) for e in pair):
            raise TypeError(msg)
        lo.append(_int64(pair[0], "padding"))
        hi.append(_int64(pair[1], "padding"))
    return "explicit", lo, hi


def _float_array(a, name):
    if not isinstance(a, np.ndarray):
        a = np.asarray(a)
    if a.dtype not in _FLOATS:
        raise TypeError(f"{name} has dtype {a.dtype}; expected float32 or float64 "
                        f"(convert it, e.g. {name}.astype(np.float64))")
    return a


def _weight(weight, layout):
    w = _float_array(weight, "weight")
    if not 3 <= w.ndim <= 5:
        raise ValueError(f"weight has ndim={w.ndim} (shape {tuple(w.shape)}); expected {layout} "
                         f"with 1 to 3 spatial dimensions, i.e. ndim 3 to 5")
    return np.ascontiguousarray(w)


def _input(x, w):
    """(x as a C-contiguous (N, C, *spatial) array, batched flag)."""
    x = _float_array(x, "x")
    rank = w.ndim - 2
    if x.dtype != w.dtype:
        raise TypeError(f"x has dtype {x.dtype} but weight has dtype {w.dtype}; both must be float32 or both float64")
    if x.ndim == rank + 1:
        return np.ascontiguousarray(x)[np.newaxis], False
    if x.ndim == rank + 2:
        return np.ascontiguousarray(x), True
    raise ValueError(f"x has ndim={x.ndim} (shape {tuple(x.shape)}) but the weight (ndim={w.ndim}) implies "
                     f"{rank} spatial dimension(s): expected (C, *spatial) with ndim={rank + 1} "
                     f"or (N, C, *spatial) with ndim={rank + 2}")


def _bias(bias, w, channels):
    if bias is None:
        return None
    b = _float_array(bias, "bias")
    if b.dtype != w.dtype:
        raise TypeError(f"bias has dtype {b.dtype} but weight has dtype {w.dtype}; they must match")
    if b.shape != (channels,):
        raise ValueError(f"bias has shape {tuple(b.shape)}; expected (out_channels,) = ({channels},)")
    return np.ascontiguousarray(b)


def _shape(input_shape):
    return _ints(input_shape, "input_shape")


def _index_dtype(index_dtype):
    try:
        dt = np.dtype(index_dtype)
    except TypeError:
        raise TypeError(f"index_dtype={index_dtype!r} must be np.int32 or np.int64") from None
    if dt not in (np.dtype(np.int32), np.dtype(np.int64)):
        raise ValueError(f"index_dtype={dt} must be np.int32 or np.int64")
    return dt


def _format(fmt):
    if fmt not in ("csr", "csc"):
        raise ValueError(f"format={fmt!r} must be 'csr' or 'csc'")
    return fmt


def _output_padding(output_padding, convention):
    if output_padding is None:
        return None
    if output_padding is _OUTPUT_PADDING_DEFAULT:
        return None if convention == "keras" else [0]
    return _ints(output_padding, "output_padding")


# ---- specs ------------------------------------------------------------------------------------

def conv_spec(input_shape, weight_shape, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros", *,
              convention="torch"):
    """The validated geometry (a ConvSpec) of conv on one sample of shape (C_in, *spatial).

    weight_shape is (C_out, C_in/groups, *kernel). spec.output_shape is (C_out, *output).
    """
    kind, lo, hi = _padding(padding)
    if not _is_int(groups):
        raise TypeError(f"groups={groups!r} must be an int")
    groups = _int64(groups, "groups")
    return _core.make_conv(_shape(input_shape), _ints(weight_shape, "weight_shape"), _ints(stride, "stride"),
                           kind, lo, hi, _ints(dilation, "dilation"), int(groups), str(padding_mode),
                           str(convention))


def conv_transpose_spec(input_shape, weight_shape, stride=1, padding=0, output_padding=_OUTPUT_PADDING_DEFAULT,
                        groups=1, dilation=1, output_size=None, *, convention="torch"):
    """The validated geometry (a ConvSpec) of conv_transpose on one sample of shape (C_in, *spatial).

    weight_shape is (C_in, C_out/groups, *kernel). spec.output_shape is (C_out, *output).
    """
    kind, lo, hi = _padding(padding)
    if not _is_int(groups):
        raise TypeError(f"groups={groups!r} must be an int")
    groups = _int64(groups, "groups")
    size = None if output_size is None else _ints(output_size, "output_size")
    return _core.make_conv_transpose(_shape(input_shape), _ints(weight_shape, "weight_shape"),
                                     _ints(stride, "stride"), kind, lo, hi,
                                     _output_padding(output_padding, str(convention)), int(groups),
                                     _ints(dilation, "dilation"), size, str(convention))


# ---- operations -------------------------------------------------------------------------------

def _run(spec, w, x, batched, bias, method):
    b = _bias(bias, w, spec.out_channels)
    n = x.shape[0]
    y = _core.apply(spec, w, x.reshape(n, spec.input_numel), b, str(method))
    y = y.reshape((n,) + tuple(spec.output_shape))
    return y if batched else y[0]


def conv(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros", method="matrix",
         *, convention="torch"):
    """torch.nn.functional.conv{1,2,3}d (cross-correlation) on numpy arrays.

    x: (N, C_in, *n) or (C_in, *n); weight: (C_out, C_in/groups, *k); bias: (C_out,) or None.
    padding: int, per-dimension ints, per-dimension (lo, hi) pairs, 'same' or 'valid';
    padding_mode: 'zeros', 'circular', 'reflect' or 'replicate' (as F.pad before an unpadded conv).
    method: 'matrix' (y = W x with W built in C++) or 'direct' (independent gather loop).
    convention='keras' gives 'same' TensorFlow's meaning (any stride, odd pixel at the end).
    Returns (N, C_out, *m) or (C_out, *m), with x's dtype.
    """
    w = _weight(weight, "(C_out, C_in/groups, *kernel)")
    xb, batched = _input(x, w)
    spec = conv_spec(xb.shape[1:], w.shape, stride, padding, dilation, groups, padding_mode, convention=convention)
    return _run(spec, w, xb, batched, bias, method)


def conv_transpose(x, weight, bias=None, stride=1, padding=0, output_padding=_OUTPUT_PADDING_DEFAULT, groups=1,
                   dilation=1, output_size=None, method="matrix", *, convention="torch"):
    """torch.nn.functional.conv_transpose{1,2,3}d on numpy arrays (the adjoint of conv).

    x: (N, C_in, *m) or (C_in, *m); weight: (C_in, C_out/groups, *k); bias: (C_out,) or None.
    output_size: PyTorch's (spatial sizes, optionally preceded by N, C); it selects output_padding.
    method: 'matrix' (y = T x, T = W^T built in C++), 'scatter' (d2l's distribution loop) or
    'gather' (zero insertion, flipped kernel, stride-1 conv).
    convention='keras': padding 'same' gives output m*stride, 'valid' m*stride + max(k_eff - stride, 0);
    an explicit output_padding then follows Keras' formulas; the default output_padding is Keras' None.
    Returns (N, C_out, *n) or (C_out, *n), with x's dtype.
    """
    w = _weight(weight, "(C_in, C_out/groups, *kernel)")
    xb, batched = _input(x, w)
    spec = conv_transpose_spec(xb.shape[1:], w.shape, stride, padding, output_padding, groups, dilation,
                               output_size, convention=convention)
    return _run(spec, w, xb, batched, bias, method)


# ---- matrices ---------------------------------------------------------------------------------

def _to_scipy(parts, fmt):
    data, indices, indptr, shape = parts
    cls = _sparse.csr_matrix if fmt == "csr" else _sparse.csc_matrix
    if indices.dtype == np.int32:
        m = cls((data, indices, indptr), shape=tuple(shape), copy=False)
    else:
        # scipy's constructor would downcast int64 indices that fit in int32 (a copy):
        # attach the arrays to an empty matrix instead, which keeps them as they are.
        m = cls(tuple(shape), dtype=data.dtype)
        m.data, m.indices, m.indptr = data, indices, indptr
    # The core stores sorted inner indices without duplicates.
    m.has_sorted_indices = True
    m.has_canonical_format = True
    return m


def _memory_limit(memory_limit):
    if memory_limit is None:
        return 0.0
    if isinstance(memory_limit, bool) or not isinstance(memory_limit, (int, float, np.integer, np.floating)) \
            or not memory_limit > 0:
        raise ValueError(f"memory_limit={memory_limit!r} must be a positive number of bytes or None "
                         "(None: the physical memory)")
    return float(memory_limit)


def _matrix(spec, w, transpose, index_dtype, fmt, drop_zeros, memory_limit=None):
    idx = _index_dtype(index_dtype)
    fmt = _format(fmt)
    parts = _core.build_matrix(spec, w, bool(transpose), idx == np.dtype(np.int64), fmt == "csc", bool(drop_zeros),
                               _memory_limit(memory_limit))
    return _to_scipy(parts, fmt)


def conv_matrix(input_shape, weight, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
                index_dtype=np.int32, *, convention="torch", adjoint=False, format="csr", drop_zeros=False,
                memory_limit=None):
    """W, the matrix of conv on one sample of shape input_shape = (C_in, *n): a scipy.sparse.csr_matrix
    of shape (C_out*prod(m), C_in*prod(n)) with conv(x)[b].ravel() == W @ x[b].ravel() (bias excluded).

    W[(o,q), (c,i)] = sum of weight[o, c', t] over the taps t whose padded position maps to input i.
    adjoint=True returns W^T instead (built directly, not transposed afterwards); format='csc' a
    csc_matrix. index_dtype (np.int32 or np.int64) is the dtype of indices and indptr; int32 raises
    ValueError when the matrix does not fit. drop_zeros drops entries whose value is exactly 0.
    memory_limit (bytes; None = the physical memory): a larger matrix raises MemoryLimitError (a
    MemoryError) before anything is allocated. The arrays are the C++ matrix's own (no copy).
    """
    w = _weight(weight, "(C_out, C_in/groups, *kernel)")
    spec = conv_spec(input_shape, w.shape, stride, padding, dilation, groups, padding_mode, convention=convention)
    return _matrix(spec, w, adjoint, index_dtype, format, drop_zeros, memory_limit)


def conv_transpose_matrix(input_shape, weight, stride=1, padding=0, output_padding=_OUTPUT_PADDING_DEFAULT, groups=1,
                          dilation=1, output_size=None, index_dtype=np.int32, *, convention="torch", adjoint=False,
                          format="csr", drop_zeros=False, memory_limit=None):
    """T, the matrix of conv_transpose on one sample of shape input_shape = (C_in, *m): a
    scipy.sparse.csr_matrix of shape (C_out*prod(n), C_in*prod(m)) with
    conv_transpose(x)[b].ravel() == T @ x[b].ravel() (bias excluded).

    T = W^T where W is the conv matrix of the same weight read as a conv weight on input
    (C_out, *n) (restricted to its first m rows per dimension when output_padding >= stride).
    adjoint=True returns that W (shape (C_in*prod(m), C_out*prod(n))) instead; other options as conv_matrix.
    """
    w = _weight(weight, "(C_in, C_out/groups, *kernel)")
    spec = conv_transpose_spec(input_shape, w.shape, stride, padding, output_padding, groups, dilation, output_size,
                               convention=convention)
    return _matrix(spec, w, not adjoint, index_dtype, format, drop_zeros, memory_limit)
