"""The matrix of a Keras / TensorFlow convolution layer from its configuration (no TensorFlow needed).

    cfg = layer.get_config()                      # e.g. Conv2DTranspose(8, 3, strides=2, padding='same')
    W = convmtx.from_keras_config(cfg, layer.get_weights(), (16, 16, 4))
    # layer(x)[0].numpy().ravel() - bias == W @ x[0].ravel()   for x of shape (1, 16, 16, 4) (channels_last)

Keras's meanings are used: 'same' is TensorFlow's (output ceil(n/s) for a conv, n*s for a transposed
conv), 'valid', 'causal' (Conv1D: d(k-1) zeros before the input), and output_padding with Keras's
own rule (smaller than the stride), checked on the user's values before anything is converted.
"""

import numpy as np

from ._tensors import to_numpy
from .functional import conv_matrix, conv_spec, conv_transpose_matrix, conv_transpose_spec
from .weights import from_keras_conv, from_keras_conv_transpose

__all__ = ["from_keras_config"]


def _tuple(v, r, name):
    if v is None:
        return None
    t = (int(v),) * r if np.ndim(v) == 0 else tuple(int(e) for e in v)
    if len(t) != r:
        raise ValueError(f"{name}={v!r} has {len(t)} values; the layer has {r} spatial dimension(s)")
    return t


def _channels_last_order(shape):
    """perm with perm[j] = the (C, *n) C-order index of the element at (*n, C) C-order index j."""
    c, spatial = shape[0], tuple(shape[1:])
    idx = np.arange(int(np.prod(shape)), dtype=np.int64).reshape((c,) + spatial)
    return np.moveaxis(idx, 0, -1).ravel()


def from_keras_config(layer_config, weights, input_shape, *, transposed=None, format="csr"):
    """The matrix of a Keras Conv1D/2D/3D or Conv1D/2D/3DTranspose layer: ``layer(x).ravel() - bias = W x.ravel()``.

    Parameters
    ----------
    layer_config : dict
        ``layer.get_config()`` (keys filters, kernel_size, strides, padding, data_format, dilation_rate,
        groups, output_padding), or its serialized form ``{'class_name': ..., 'config': {...}}``.
    weights : array_like or list
        The kernel in Keras's layout, ``(*k, C_in/groups, filters)`` for a conv and ``(*k, filters, C_in)`` for a
        transposed conv, or ``layer.get_weights()`` (``[kernel]`` or ``[kernel, bias]``; the bias is not part of W).
    input_shape : tuple of int
        One sample in the layer's data_format: ``(*n, C_in)`` ('channels_last', Keras's default) or
        ``(C_in, *n)`` ('channels_first'); a leading batch entry (None or an int) is ignored.
    transposed : bool, optional
        Default: from class_name when given, else whether the config has output_padding (only the
        transposed layers have it).
    format : {'csr', 'csc'}

    Returns
    -------
    scipy.sparse.csr_matrix
        Rows = the layer's output for one sample, columns = its input, both flattened in C order in the
        layer's data_format (channels_last: ``(*spatial, C)``). dtype of the kernel (float32/float64).

    Raises
    ------
    ValueError
        Keras's own rules on the user's values (output_padding smaller than strides, in Keras's words;
        a padding Keras does not know), a kernel that contradicts kernel_size or filters (naming both), the
        configuration errors of `conv_spec` / `conv_transpose_spec`.
    """
    cfg = dict(layer_config)
    class_name = cfg.get("class_name")
    if "config" in cfg and isinstance(cfg["config"], dict):
        cfg = dict(cfg["config"])
    if transposed is None:
        transposed = ("Transpose" in class_name or "Deconv" in class_name) if class_name else "output_padding" in cfg
    if isinstance(weights, (list, tuple)) and weights and np.ndim(to_numpy(weights[0], "weights[0]")) >= 3:
        kernel = to_numpy(weights[0], "kernel")
    else:
        kernel = to_numpy(weights, "weights")
    if kernel.dtype not in (np.float32, np.float64):
        kernel = kernel.astype(np.float64)
    r = kernel.ndim - 2
    if not 1 <= r <= 3:
        raise ValueError(f"the kernel has shape {kernel.shape}; a Keras conv kernel is (*kernel_size, in, out) "
                         f"with 1 to 3 spatial axes")
    ksize = _tuple(cfg.get("kernel_size"), r, "kernel_size")
    if ksize is not None and ksize != tuple(kernel.shape[:r]):
        raise ValueError(f"kernel_size={cfg['kernel_size']!r} in the config contradicts the kernel of shape "
                         f"{kernel.shape}, whose kernel size is {tuple(kernel.shape[:r])}")
    filters = cfg.get("filters")
    kernel_filters = kernel.shape[r] if transposed else kernel.shape[r + 1]
    if filters is not None and int(filters) != kernel_filters:
        raise ValueError(f"filters={filters} in the config contradicts the kernel of shape {kernel.shape}, whose "
                         f"{'second-to-last' if transposed else 'last'} axis gives {kernel_filters} filters")
    strides = _tuple(cfg.get("strides", 1), r, "strides")
    dilation = _tuple(cfg.get("dilation_rate", 1), r, "dilation_rate")
    groups = int(cfg.get("groups", 1) or 1)
    padding = str(cfg.get("padding", "valid")).lower()
    data_format = cfg.get("data_format") or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format={data_format!r} must be 'channels_last' or 'channels_first' (Keras's values)")
    allowed = ("valid", "same") if transposed or r != 1 else ("valid", "same", "causal")
    if padding not in allowed:
        raise ValueError(f"padding={cfg.get('padding')!r}: Keras's {'Conv1D' if r == 1 else 'layer'} takes "
                         f"{', '.join(repr(p) for p in allowed)}")
    output_padding = _tuple(cfg.get("output_padding"), r, "output_padding") if transposed else None
    if output_padding is not None:
        for s, a in zip(strides, output_padding):
            if a >= s:
                raise ValueError(f"output_padding={output_padding}: Keras refuses it, 'Strides must be greater than "
                                 f"output padding. Received strides={strides}, output_padding={output_padding}.'")

    shape = tuple(input_shape)
    if len(shape) == r + 2:  # a leading batch entry (None or an int)
        shape = shape[1:]
    shape = tuple(int(v) for v in shape)
    if len(shape) != r + 1:
        raise ValueError(f"input_shape={tuple(input_shape)} must be one sample with {r} spatial size(s) and the "
                         f"channels ({'(*n, C_in)' if data_format == 'channels_last' else '(C_in, *n)'})")
    torch_shape = (shape[-1],) + shape[:-1] if data_format == "channels_last" else shape

    if transposed:
        w = from_keras_conv_transpose(kernel)
        M = conv_transpose_matrix(torch_shape, w, strides, padding, output_padding, groups, dilation,
                                  convention="keras", format="csr")
    else:
        w = from_keras_conv(kernel)
        pad = [((d * (k - 1)), 0) for d, k in zip(dilation, kernel.shape[:r])] if padding == "causal" else padding
        M = conv_matrix(torch_shape, w, strides, pad, dilation, groups, convention="keras", format="csr")
    if data_format == "channels_last":
        spec = conv_transpose_spec(torch_shape, w.shape, strides, padding, output_padding, groups, dilation,
                                   convention="keras") if transposed else \
            conv_spec(torch_shape, w.shape, strides, pad, dilation, groups, convention="keras")
        M = M[_channels_last_order(tuple(spec.output_shape))][:, _channels_last_order(tuple(spec.input_shape))]
        M.sort_indices()
    return M.tocsc() if format == "csc" else M.tocsr()
