"""The matrix and the operator of a PyTorch layer, read from the layer itself.

    layer = torch.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)
    T = convmtx.from_module(layer, (4, 16, 16))        # layer(x) - bias == (T @ x.ravel()).reshape(2, 32, 32)
    A = convmtx.operator_from_module(layer, (4, 16, 16))   # the same as a convmtx.LinearOperator

Every argument of nn.Conv1d/2d/3d (stride, padding including 'same'/'valid', dilation, groups,
padding_mode) and of nn.ConvTranspose1d/2d/3d (stride, padding, output_padding, groups, dilation, and
forward's output_size) is taken from the module; the bias is not part of the (linear) matrix.
"""

import numbers

import numpy as np

from .functional import conv_matrix, conv_transpose_matrix
from .operator import conv_operator, conv_transpose_operator

__all__ = ["from_module", "operator_from_module"]


def _layer(module, input_shape, output_size):
    """('conv' | 'transposed', args, kwargs) of the convmtx call that equals the module."""
    try:
        from torch.nn.modules.conv import _ConvNd
    except ImportError:  # pragma: no cover - torch is optional
        raise TypeError("from_module needs PyTorch (python3-torch) and an nn.Conv*d / nn.ConvTranspose*d module") \
            from None
    if not isinstance(module, _ConvNd):
        raise TypeError(f"module must be an nn.Conv1d/2d/3d or nn.ConvTranspose1d/2d/3d; got {type(module).__name__}")
    import torch

    w = module.weight
    if w.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"the module's weight has dtype {w.dtype}; convmtx builds float32 or float64 matrices: "
                         f"convert the module first (module.float() or module.double())")
    rank = w.dim() - 2
    if isinstance(input_shape, (str, bytes)) or not np.iterable(input_shape):
        raise ValueError(f"input_shape={input_shape!r} must be a tuple of ints (C_in, *spatial) or "
                         f"(N, C_in, *spatial)")
    shape = tuple(input_shape)
    for v in shape:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
            raise ValueError(f"input_shape={shape!r} must hold ints; {v!r} is a {type(v).__name__}")
    shape = tuple(int(v) for v in shape)
    if len(shape) == rank + 2:  # (N, C, *spatial): the batch size does not matter
        shape = shape[1:]
    if len(shape) != rank + 1:
        raise ValueError(f"input_shape={tuple(input_shape)} must be (C_in, *spatial) or (N, C_in, *spatial) with "
                         f"{rank} spatial size(s) for {type(module).__name__}")
    if module.transposed:
        if module.padding_mode != "zeros":
            raise ValueError(f"padding_mode={module.padding_mode!r}: PyTorch's transposed convolutions only "
                             f"support 'zeros'")
        args = dict(stride=tuple(module.stride), padding=tuple(module.padding), groups=int(module.groups),
                    dilation=tuple(module.dilation))
        if output_size is None:
            args["output_padding"] = tuple(module.output_padding)
        else:  # like the module's forward: output_size replaces its output_padding
            args["output_size"] = output_size
        return "transposed", shape, w, args
    if output_size is not None:
        raise ValueError(f"output_size={output_size!r} applies to nn.ConvTranspose*d only")
    padding = module.padding if isinstance(module.padding, str) else tuple(module.padding)
    args = dict(stride=tuple(module.stride), padding=padding, dilation=tuple(module.dilation),
                groups=int(module.groups), padding_mode=module.padding_mode)
    return "conv", shape, w, args


def from_module(module, input_shape, output_size=None, **options):
    """The matrix M of a PyTorch conv layer: ``module(x)[b].ravel() - bias == M @ x[b].ravel()``.

    Parameters
    ----------
    module : torch.nn.Conv1d/2d/3d or torch.nn.ConvTranspose1d/2d/3d
        Its weight (requires_grad allowed; not copied when float32/float64 and contiguous) and every
        argument are read from it.
    input_shape : tuple of int
        ``(C_in, *spatial)`` or ``(N, C_in, *spatial)`` (N is ignored).
    output_size : tuple of int, optional
        What ``module(x, output_size=...)`` would get (transposed modules only).
    **options
        index_dtype, format, drop_zeros, memory_limit, order, adjoint: as in `conv_matrix`.

    Returns
    -------
    scipy.sparse.csr_matrix
        W of a conv, shape ``(C_out*prod(m), C_in*prod(n))``; T = W^T of a transposed conv, shape
        ``(C_out*prod(n), C_in*prod(m))``. dtype of the weight.

    Raises
    ------
    TypeError
        Not a PyTorch conv module (or PyTorch missing).
    ValueError
        input_shape not a tuple of ints (a float, bool or string is refused), of the wrong rank or channels;
        a NaN or infinite weight (naming its index); a weight that is not float32/float64 (e.g. bfloat16);
        output_size on a conv; the configuration errors of `conv_spec` / `conv_transpose_spec`.
    """
    kind, shape, w, args = _layer(module, input_shape, output_size)
    wn = w.detach().cpu().numpy()
    if not np.all(np.isfinite(wn)):  # as operator_from_module (LinearOperator) refuses it
        bad = tuple(int(v) for v in np.argwhere(~np.isfinite(wn))[0])
        raise ValueError(f"weight holds {wn[bad]} at index {bad}; weights must be finite")
    if kind == "transposed":
        return conv_transpose_matrix(shape, w, **args, **options)
    return conv_matrix(shape, w, **args, **options)


def operator_from_module(module, input_shape, output_size=None, *, explicit=False, method="auto"):
    """The `LinearOperator` of a PyTorch conv layer (see `from_module`; bias excluded).

    Parameters
    ----------
    module, input_shape, output_size
        As in `from_module`.
    explicit : bool
        Hold the matrix instead of running the direct kernels.
    method : str
        As in `conv_operator` / `conv_transpose_operator`.

    Returns
    -------
    LinearOperator
        model_shape ``(C_in, *spatial)``, data_shape the module's output for one sample.

    Raises
    ------
    TypeError, ValueError
        As `from_module`.
    """
    kind, shape, w, args = _layer(module, input_shape, output_size)
    if kind == "transposed":
        return conv_transpose_operator(shape, w, **args, explicit=explicit, method=method)
    return conv_operator(shape, w, **args, explicit=explicit, method=method)
