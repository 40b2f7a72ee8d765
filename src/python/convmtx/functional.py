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
from ._checks import strict_bool
from ._tensors import like, to_numpy

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
    a = to_numpy(a, name)
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


# ---- MXNet's names, column-major order -------------------------------------------------------

def _mxnet(convention, padding, output_padding, pad, adj, target_shape):
    """(padding, output_padding, target_shape) after MXNet's pad/adj/target_shape (keyword-only)."""
    given = [n for n, v in (("pad", pad), ("adj", adj), ("target_shape", target_shape)) if v is not None]
    if given and convention != "mxnet":
        raise ValueError(f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} MXNet's "
                         f"{'name' if len(given) == 1 else 'names'}: pass convention='mxnet' (PyTorch's are "
                         f"padding, output_padding and output_size)")
    if pad is not None:
        if not (_is_int(padding) and padding == 0):
            raise ValueError(f"pad={pad!r} and padding={padding!r} name the same thing: give one of them")
        padding = pad
    if adj is not None:
        if output_padding is not _OUTPUT_PADDING_DEFAULT:
            raise ValueError(f"adj={adj!r} and output_padding={output_padding!r} name the same thing: give one of them")
        output_padding = adj
    target = None if target_shape is None else _ints(target_shape, "target_shape")
    if target is not None and any(v < 1 for v in target):
        # MXNet stores "unset" as zeros; here None means unset, and a given size must be a size
        raise ValueError(f"target_shape={tuple(target)} must hold positive sizes, one per spatial dimension "
                         f"(MXNet's zeros mean 'unset': pass target_shape=None)")
    return padding, output_padding, target


def _order(order):
    if order not in ("C", "F"):
        raise ValueError(f"order={order!r} must be 'C' (row-major, numpy's default) or 'F' (column-major, "
                         f"MATLAB's and Fortran's)")
    return order


def _c_to_f(shape):
    """perm with perm[j_F] = the C-order flat index of the element whose F-order flat index is j_F."""
    n = int(np.prod(shape))
    return np.arange(n, dtype=np.int64).reshape(tuple(shape)).ravel(order="F")


def _reorder(M, spec, transposed_matrix, order, fmt):
    """M with rows and columns renumbered from C-order to F-order flattening of the samples."""
    if order == "C":
        return M
    rows_shape = spec.output_shape if not transposed_matrix else spec.input_shape
    cols_shape = spec.input_shape if not transposed_matrix else spec.output_shape
    out = M.tocsr()[_c_to_f(rows_shape)][:, _c_to_f(cols_shape)]
    out = out.tocsc() if fmt == "csc" else out.tocsr()
    out.sort_indices()
    return out


# ---- specs ------------------------------------------------------------------------------------

def conv_spec(input_shape, weight_shape, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros", *,
              convention="torch"):
    """The validated geometry of `conv` on one sample, without computing anything.

    Parameters
    ----------
    input_shape : sequence of int
        ``(C_in, *n)``: one sample (no batch axis), 1 to 3 spatial sizes.
    weight_shape : sequence of int
        ``(C_out, C_in/groups, *k)`` (PyTorch's conv layout).
    stride, padding, dilation, groups, padding_mode, convention
        As in `conv`.

    Returns
    -------
    ConvSpec
        ``.output_shape == (C_out, *m)`` with ``m = floor((n + p_lo + p_hi - d(k-1) - 1)/s) + 1``;
        ``.padding_lo/.padding_hi`` after resolving 'same'.

    Raises
    ------
    ValueError
        (ConfigError, ShapeError) naming the parameter, its value and the rule it breaks.
    TypeError
        A value that is not an int / tuple of ints where one is needed.
    """
    kind, lo, hi = _padding(padding)
    if not _is_int(groups):
        raise TypeError(f"groups={groups!r} must be an int")
    groups = _int64(groups, "groups")
    return _core.make_conv(_shape(input_shape), _ints(weight_shape, "weight_shape"), _ints(stride, "stride"),
                           kind, lo, hi, _ints(dilation, "dilation"), int(groups), str(padding_mode),
                           str(convention))


def conv_transpose_spec(input_shape, weight_shape, stride=1, padding=0, output_padding=_OUTPUT_PADDING_DEFAULT,
                        groups=1, dilation=1, output_size=None, *, convention="torch", pad=None, adj=None,
                        target_shape=None):
    """The validated geometry of `conv_transpose` on one sample, without computing anything.

    Parameters
    ----------
    input_shape : sequence of int
        ``(C_in, *m)``: one sample of the transposed conv's input.
    weight_shape : sequence of int
        ``(C_in, C_out/groups, *k)`` (PyTorch's and MXNet's transposed layout).
    stride, padding, output_padding, groups, dilation, output_size, convention, pad, adj, target_shape
        As in `conv_transpose`.

    Returns
    -------
    ConvSpec
        ``.output_shape == (C_out, *n)`` with ``n = (m-1)s - p_lo - p_hi + d(k-1) + output_padding + 1``.

    Raises
    ------
    ValueError
        A broken rule, named with the value: e.g. output_padding not below the stride (Keras),
        target_shape larger than ``s(m-1) + d(k-1) + 1`` (MXNet) or not positive (zeros are MXNet's "unset":
        pass None), output_size out of range (PyTorch).
    """
    padding, output_padding, target = _mxnet(convention, padding, output_padding, pad, adj, target_shape)
    kind, lo, hi = _padding(padding)
    if not _is_int(groups):
        raise TypeError(f"groups={groups!r} must be an int")
    groups = _int64(groups, "groups")
    size = None if output_size is None else _ints(output_size, "output_size")
    return _core.make_conv_transpose(_shape(input_shape), _ints(weight_shape, "weight_shape"),
                                     _ints(stride, "stride"), kind, lo, hi,
                                     _output_padding(output_padding, str(convention)), int(groups),
                                     _ints(dilation, "dilation"), size, str(convention), target)


# ---- operations -------------------------------------------------------------------------------

def _run(spec, w, x, batched, bias, method):
    b = _bias(bias, w, spec.out_channels)
    n = x.shape[0]
    if n == 0:  # an empty batch: the empty result; the C++ kernels never see a block of no samples (one
        # zero sample checks the method and bias as any call would)
        _core.apply(spec, w, np.zeros((1, spec.input_numel), dtype=x.dtype), b, str(method))
        return np.zeros((0,) + tuple(spec.output_shape), dtype=w.dtype)
    y = _core.apply(spec, w, x.reshape(n, spec.input_numel), b, str(method))
    y = y.reshape((n,) + tuple(spec.output_shape))
    return y if batched else y[0]


def conv(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros", method="matrix",
         *, convention="torch"):
    """``torch.nn.functional.conv{1,2,3}d`` (cross-correlation) on numpy arrays or torch tensors.

    ``y[n, o, q] = sum_{c', t} weight[o, c', t] * xpad[n, g*C_in/G + c', q*s - p_lo + t*d] (+ bias[o])``,
    ``g = o // (C_out/G)``; ``xpad`` reads outside the input by `padding_mode` (PyTorch's documentation
    of ``nn.Conv2d``; docs/semantics.md).

    Parameters
    ----------
    x : array_like or torch.Tensor, float32 or float64
        ``(N, C_in, *n)`` or unbatched ``(C_in, *n)``; 1 to 3 spatial dimensions (``weight.ndim - 2``).
    weight : array_like or torch.Tensor, same dtype as x
        ``(C_out, C_in/groups, *k)``.
    bias : array_like or torch.Tensor, optional
        ``(C_out,)``.
    stride, dilation : int or tuple of int
        One value, or one per spatial dimension (positive).
    padding : int, tuple, 'same' or 'valid'
        An int, one int per dimension, one ``(lo, hi)`` pair per dimension, 'same' or 'valid'.
    groups : int
        Channel groups (divides C_in and C_out).
    padding_mode : {'zeros', 'circular', 'reflect', 'replicate'}
        PyTorch's: ``F.pad(x, ..., mode)`` followed by an unpadded conv.
    method : {'matrix', 'direct'}
        'matrix' applies W built in C++; 'direct' is the independent gather loop.
    convention : {'torch', 'keras', 'mxnet'}
        Whose meaning 'same' has: PyTorch's (stride 1, extra pixel at the end) or TensorFlow's (any stride).

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ``(N, C_out, *m)`` or ``(C_out, *m)`` with x's dtype; a tensor when x is one.

    Raises
    ------
    ValueError
        A configuration that breaks a rule (named with its value), a wrong shape.
    TypeError
        A dtype other than float32/float64, or x and weight of different dtypes.
    """
    w = _weight(weight, "(C_out, C_in/groups, *kernel)")
    xb, batched = _input(x, w)
    spec = conv_spec(xb.shape[1:], w.shape, stride, padding, dilation, groups, padding_mode, convention=convention)
    return like(_run(spec, w, xb, batched, bias, method), x)


def conv_transpose(x, weight, bias=None, stride=1, padding=0, output_padding=_OUTPUT_PADDING_DEFAULT, groups=1,
                   dilation=1, output_size=None, method="matrix", *, convention="torch", pad=None, adj=None,
                   target_shape=None):
    """``torch.nn.functional.conv_transpose{1,2,3}d`` on numpy arrays or torch tensors (the adjoint of conv).

    ``out[n, g*C_out/G + o', i*s - p_lo + t*d] += x[n, c, i] * weight[c, o', t] (+ bias)``, positions outside
    ``[0, n)`` dropped, ``n = (m-1)s - p_lo - p_hi + d(k-1) + output_padding + 1`` (PyTorch's documentation of
    ``nn.ConvTranspose2d``; d2l §12.10 "Transposed Convolution"; Dumoulin & Visin 2016).

    Parameters
    ----------
    x : array_like or torch.Tensor, float32 or float64
        ``(N, C_in, *m)`` or ``(C_in, *m)``.
    weight : array_like or torch.Tensor
        ``(C_in, C_out/groups, *k)``.
    bias : array_like, optional
        ``(C_out,)``.
    stride, padding, dilation, groups
        As in `conv` ('same' and 'valid' need convention='keras').
    output_padding : int or tuple of int
        Extra outputs at the end of each dimension (PyTorch: below max(stride, dilation); Keras: below the
        stride, Keras' own rule). Default: 0, or Keras' None with convention='keras'.
    output_size : tuple of int, optional
        PyTorch's (spatial sizes, optionally preceded by N, C); it selects output_padding.
    method : {'matrix', 'scatter', 'gather'}
        'matrix' (T = W^T built in C++), 'scatter' (d2l's distribution loop) or 'gather' (zero insertion,
        flipped kernel, stride-1 conv).
    convention : {'torch', 'keras', 'mxnet'}
        'keras': 'same' gives ``m*s``, 'valid' ``m*s + max(k_eff - s, 0)``. 'mxnet': MXNet's Deconvolution.
    pad, adj, target_shape : optional (convention='mxnet' only)
        MXNet's names: symmetric pad, adj (extra outputs) or target_shape (spatial output size), from which
        MXNet derives ``total = s(m-1) + d(k-1) + 1 - target``, ``adj = total mod 2``, ``pad = ceil(total/2)``.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ``(N, C_out, *n)`` or ``(C_out, *n)`` with x's dtype; a tensor when x is one.

    Raises
    ------
    ValueError
        A configuration that breaks a rule (named with its value and the framework's rule), a wrong shape.
    TypeError
        A dtype other than float32/float64.
    """
    w = _weight(weight, "(C_in, C_out/groups, *kernel)")
    xb, batched = _input(x, w)
    spec = conv_transpose_spec(xb.shape[1:], w.shape, stride, padding, output_padding, groups, dilation,
                               output_size, convention=convention, pad=pad, adj=adj, target_shape=target_shape)
    return like(_run(spec, w, xb, batched, bias, method), x)


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


def _matrix(spec, w, transpose, index_dtype, fmt, drop_zeros, memory_limit=None, order="C"):
    idx = _index_dtype(index_dtype)
    fmt = _format(fmt)
    order = _order(order)
    parts = _core.build_matrix(spec, w, bool(transpose), idx == np.dtype(np.int64), fmt == "csc",
                               strict_bool(drop_zeros, "drop_zeros"),
                               _memory_limit(memory_limit))
    # The matrix of the conv of spec (W) has rows = spec's output when spec is a conv; T = W^T of a
    # transposed spec has rows = the transposed conv's output too: rows follow the operation unless
    # the adjoint was asked for.
    adjoint_of_operation = bool(transpose) != bool(spec.transposed)
    return _reorder(_to_scipy(parts, fmt), spec, adjoint_of_operation, order, fmt)


def conv_matrix(input_shape, weight, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
                index_dtype=np.int32, *, convention="torch", adjoint=False, format="csr", drop_zeros=False,
                memory_limit=None, order="C"):
    """W, the matrix of `conv` on one sample: ``conv(x)[b].ravel() == W @ x[b].ravel()`` (bias excluded).

    ``W[(o, q), (c, i)] = sum of weight[o, c', t]`` over the taps t whose padded position
    ``q*s - p_lo + t*d`` maps to input i (one tap with zeros padding; several may fold with the other modes).

    Parameters
    ----------
    input_shape : sequence of int
        ``(C_in, *n)`` of one sample.
    weight : array_like or torch.Tensor, float32 or float64
        ``(C_out, C_in/groups, *k)``.
    stride, padding, dilation, groups, padding_mode, convention
        As in `conv`.
    index_dtype : {np.int32, np.int64}
        dtype of indices and indptr (kept exactly; int32 raises IndexOverflowError when it does not fit).
    adjoint : bool
        Return W^T, built directly.
    format : {'csr', 'csc'}
    drop_zeros : bool
        Leave out entries whose value is exactly 0.
    memory_limit : float, optional
        Bytes (None: the physical memory); a larger matrix raises MemoryLimitError before allocating.
    order : {'C', 'F'}
        Flattening of the samples: 'C' (numpy's row-major, channel first) or 'F' (column-major, MATLAB's
        ``x(:)``), rows and columns alike.

    Returns
    -------
    scipy.sparse.csr_matrix (or csc_matrix)
        Shape ``(C_out*prod(m), C_in*prod(n))``, dtype of the weight, sorted indices without duplicates.

    Raises
    ------
    ValueError
        Configuration errors, IndexOverflowError (int32 too small).
    MemoryError
        MemoryLimitError: the matrix exceeds memory_limit.
    """
    w = _weight(weight, "(C_out, C_in/groups, *kernel)")
    spec = conv_spec(input_shape, w.shape, stride, padding, dilation, groups, padding_mode, convention=convention)
    return _matrix(spec, w, strict_bool(adjoint, "adjoint"), index_dtype, format, drop_zeros, memory_limit, order)


def conv_transpose_matrix(input_shape, weight, stride=1, padding=0, output_padding=_OUTPUT_PADDING_DEFAULT, groups=1,
                          dilation=1, output_size=None, index_dtype=np.int32, *, convention="torch", adjoint=False,
                          format="csr", drop_zeros=False, memory_limit=None, order="C", pad=None, adj=None,
                          target_shape=None):
    """T = W^T, the matrix of `conv_transpose` on one sample: ``conv_transpose(x)[b].ravel() == T @ x[b].ravel()``.

    W is the conv matrix of the same tensor read as a conv weight on input ``(C_out, *n)`` (rows restricted to
    the first m per dimension when output_padding >= stride). In 1-D with one channel,
    ``conv_transpose_matrix((1, n), h.reshape(1, 1, -1))`` is MATLAB's ``convmtx(h, n)`` and
    ``scipy.linalg.convolution_matrix(h, n, 'full')`` (docs/python.md, "MATLAB and scipy").

    Parameters
    ----------
    input_shape : sequence of int
        ``(C_in, *m)`` of one sample of the transposed conv's input.
    weight : array_like or torch.Tensor, float32 or float64
        ``(C_in, C_out/groups, *k)``.
    stride, padding, output_padding, groups, dilation, output_size, convention, pad, adj, target_shape
        As in `conv_transpose`.
    index_dtype, format, drop_zeros, memory_limit, order
        As in `conv_matrix`; adjoint=True returns W (rows = the transposed conv's input).

    Returns
    -------
    scipy.sparse.csr_matrix (or csc_matrix)
        Shape ``(C_out*prod(n), C_in*prod(m))``.

    Raises
    ------
    ValueError, MemoryError
        As `conv_matrix`.
    """
    w = _weight(weight, "(C_in, C_out/groups, *kernel)")
    spec = conv_transpose_spec(input_shape, w.shape, stride, padding, output_padding, groups, dilation, output_size,
                               convention=convention, pad=pad, adj=adj, target_shape=target_shape)
    return _matrix(spec, w, not strict_bool(adjoint, "adjoint"), index_dtype, format, drop_zeros, memory_limit,
                   order)
