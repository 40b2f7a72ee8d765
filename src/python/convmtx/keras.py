"""The matrix of a Keras / TensorFlow convolution layer from its configuration (no TensorFlow needed).

    cfg = layer.get_config()                      # e.g. Conv2DTranspose(8, 3, strides=2, padding='same')
    W = convmtx.from_keras_config(cfg, layer.get_weights(), (16, 16, 4))
    # layer(x)[0].numpy().ravel() - bias == W @ x[0].ravel()   for x of shape (1, 16, 16, 4) (channels_last)

Keras's meanings are used: 'same' is TensorFlow's (output ceil(n/s) for a conv, n*s for a transposed
conv), 'valid', 'causal' (Conv1D: d(k-1) zeros before the input), and output_padding with Keras's
own rule (smaller than the stride), checked on the user's values before anything is converted.
"""

import numbers
from collections.abc import Mapping

import numpy as np

from ._checks import finite_array, strict_bool
from ._tensors import to_numpy
from .functional import conv_matrix, conv_spec, conv_transpose_matrix, conv_transpose_spec
from .weights import from_keras_conv, from_keras_conv_transpose

__all__ = ["from_keras_config"]


# The keys of a Keras Conv*/Conv*Transpose get_config() (Keras 2 and 3); any other key is refused.
_KNOWN_KEYS = {"name", "trainable", "dtype", "filters", "kernel_size", "strides", "padding", "data_format",
               "dilation_rate", "groups", "activation", "use_bias", "kernel_initializer", "bias_initializer",
               "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
               "bias_constraint", "output_padding", "batch_input_shape", "batch_shape", "input_shape",
               "dtype_policy", "lora_rank", "lora_alpha", "autocast", "quantization_config"}
# The keys around the config in Keras's serialized form (model.to_json(), keras.saving.serialize_keras_object).
_WRAPPER_KEYS = {"class_name", "config", "module", "registered_name", "build_config", "name", "inbound_nodes"}
_CLASSES = {f"Conv{r}D{t}" for r in (1, 2, 3) for t in ("", "Transpose")} | \
    {f"Convolution{r}D{t}" for r in (1, 2, 3) for t in ("", "Transpose")} | {"Deconvolution2D", "Deconvolution3D"}


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _tuple(v, r, name, minimum=1):
    """An int or a list/tuple of r ints (Keras's forms) as a tuple; ValueError for anything else."""
    if v is None:
        return None
    if _is_int(v):
        t = (int(v),) * r
    elif isinstance(v, (list, tuple)) and all(_is_int(e) for e in v):
        t = tuple(int(e) for e in v)
    else:
        raise ValueError(f"{name}={v!r} in the config must be an int or a list of {r} ints (Keras's form)")
    if len(t) != r:
        raise ValueError(f"{name}={v!r} has {len(t)} values; the layer has {r} spatial dimension(s)")
    if any(e < minimum for e in t):
        raise ValueError(f"{name}={v!r} must hold ints >= {minimum}")
    return t


def _config(layer_config):
    """(class_name or None, the config dict) after checking the form and the keys."""
    if not isinstance(layer_config, Mapping):
        raise ValueError(f"layer_config must be a dict (layer.get_config(), or its serialized form "
                         f"{{'class_name': ..., 'config': {{...}}}}); got {type(layer_config).__name__}")
    cfg = dict(layer_config)
    class_name = None
    if "config" in cfg:
        unknown = sorted(set(cfg) - _WRAPPER_KEYS)
        if unknown:
            raise ValueError(f"layer_config has 'config' (Keras's serialized form) and the unknown key(s) "
                             f"{', '.join(map(repr, unknown))}; the form is {{'class_name': ..., 'config': {{...}}}}")
        class_name = cfg.get("class_name")
        if class_name is not None and (not isinstance(class_name, str) or class_name not in _CLASSES):
            raise ValueError(f"class_name={class_name!r} must name a Keras convolution layer: "
                             f"{', '.join(sorted(c for c in _CLASSES if c.startswith('Conv') and 'lution' not in c))}")
        if not isinstance(cfg["config"], Mapping):
            raise ValueError(f"layer_config['config'] must be a dict (the layer's get_config()); got "
                             f"{type(cfg['config']).__name__}")
        cfg = dict(cfg["config"])
    unknown = sorted(k for k in cfg if k not in _KNOWN_KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(map(repr, unknown))} in the Keras config; a Conv or "
                         f"ConvTranspose layer's get_config() has {', '.join(sorted(_KNOWN_KEYS))}")
    for key in ("filters", "kernel_size"):
        if key not in cfg:
            raise ValueError(f"the Keras config has no {key!r}; every Conv/ConvTranspose get_config() has it")
    if not _is_int(cfg["filters"]) or cfg["filters"] < 1:
        raise ValueError(f"filters={cfg['filters']!r} in the config must be an int >= 1")
    for key in ("padding",):
        if key in cfg and not isinstance(cfg[key], str):
            raise ValueError(f"{key}={cfg[key]!r} in the config must be a string ('valid', 'same', ...)")
    if cfg.get("data_format") is not None and not isinstance(cfg["data_format"], str):
        raise ValueError(f"data_format={cfg['data_format']!r} must be 'channels_last' or 'channels_first'")
    if "groups" in cfg and cfg["groups"] is not None and (not _is_int(cfg["groups"]) or cfg["groups"] < 1):
        raise ValueError(f"groups={cfg['groups']!r} in the config must be an int >= 1")
    if "use_bias" in cfg and not isinstance(cfg["use_bias"], (bool, np.bool_)):
        raise ValueError(f"use_bias={cfg['use_bias']!r} in the config must be True or False")
    act = cfg.get("activation")
    if act not in (None, "linear") and not (isinstance(act, Mapping) and act.get("config") in (None, "linear")):
        raise ValueError(f"activation={act!r}: the layer is not linear, so it has no matrix; W is the matrix "
                         f"of the layer with activation 'linear' (apply the activation after W x)")
    return class_name, cfg


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
        configuration errors of `conv_spec` / `conv_transpose_spec`. The config is checked strictly: a dict
        (or its serialized form), no unknown key, filters and kernel_size present, filters/kernel_size/strides/
        dilation_rate/output_padding/groups ints (a float, bool or string is refused), activation 'linear'; a
        NaN or infinite kernel; transposed not a bool or contradicting class_name; an input_shape whose
        channels (read in data_format) differ from the kernel's, in Keras's terms (the user's shapes).
    """
    class_name, cfg = _config(layer_config)
    if format not in ("csr", "csc"):
        raise ValueError(f"format={format!r} must be 'csr' or 'csc'")
    if transposed is None:
        transposed = ("Transpose" in class_name or "Deconv" in class_name) if class_name else "output_padding" in cfg
    else:
        transposed = strict_bool(transposed, "transposed")
        if class_name is not None and transposed != ("Transpose" in class_name or "Deconv" in class_name):
            raise ValueError(f"transposed={transposed} contradicts class_name={class_name!r}")
    if isinstance(weights, (list, tuple)) and weights and np.ndim(to_numpy(weights[0], "weights[0]")) >= 3:
        kernel = to_numpy(weights[0], "kernel")
    else:
        kernel = to_numpy(weights, "weights")
    if kernel.dtype.kind not in "fiu":
        raise ValueError(f"the kernel has dtype {kernel.dtype}; a Keras kernel holds real numbers")
    if kernel.dtype not in (np.float32, np.float64):
        kernel = kernel.astype(np.float64)
    finite_array(kernel, "kernel", "must be finite (a NaN or Inf weight makes every entry it touches meaningless)")
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
    if filters != kernel_filters:
        raise ValueError(f"filters={filters} in the config contradicts the kernel of shape {kernel.shape}, whose "
                         f"{'second-to-last' if transposed else 'last'} axis gives {kernel_filters} filters")
    strides = _tuple(cfg.get("strides", 1), r, "strides")
    dilation = _tuple(cfg.get("dilation_rate", 1), r, "dilation_rate")
    groups = int(cfg.get("groups", 1) or 1)
    padding = cfg.get("padding", "valid").lower()
    data_format = cfg.get("data_format") or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format={data_format!r} must be 'channels_last' or 'channels_first' (Keras's values)")
    allowed = ("valid", "same") if transposed or r != 1 else ("valid", "same", "causal")
    if padding not in allowed:
        raise ValueError(f"padding={cfg.get('padding')!r}: Keras's {'Conv1D' if r == 1 else 'layer'} takes "
                         f"{', '.join(repr(p) for p in allowed)}")
    output_padding = _tuple(cfg.get("output_padding"), r, "output_padding", 0) if transposed else None
    if output_padding is not None:
        for s, a in zip(strides, output_padding):
            if a >= s:
                raise ValueError(f"output_padding={output_padding}: Keras refuses it, 'Strides must be greater than "
                                 f"output padding. Received strides={strides}, output_padding={output_padding}.'")

    layout = "(*n, C_in)" if data_format == "channels_last" else "(C_in, *n)"
    if isinstance(input_shape, (str, bytes)) or not np.iterable(input_shape):
        raise ValueError(f"input_shape={input_shape!r} must be a tuple of ints, one sample {layout}")
    shape = tuple(input_shape)
    if len(shape) == r + 2 and (shape[0] is None or _is_int(shape[0])):  # a leading batch entry (None or an int)
        shape = shape[1:]
    if not all(_is_int(v) for v in shape):
        raise ValueError(f"input_shape={tuple(input_shape)} must hold ints: one sample {layout}")
    shape = tuple(int(v) for v in shape)
    if len(shape) != r + 1:
        raise ValueError(f"input_shape={tuple(input_shape)} must be one sample with {r} spatial size(s) and the "
                         f"channels ({layout})")
    torch_shape = (shape[-1],) + shape[:-1] if data_format == "channels_last" else shape
    # The channels in Keras's terms, before PyTorch's layout could word the error (channels_last: C is last).
    c_in = shape[-1] if data_format == "channels_last" else shape[0]
    kernel_c_in = kernel.shape[r + 1] if transposed else kernel.shape[r] * groups
    if c_in != kernel_c_in:
        read = "channels_last (H, W, C)" if data_format == "channels_last" else "channels_first (C, H, W)"
        if r != 2:
            read = read.replace("H, W", "*n")
        axis = "its last axis" if transposed else (f"its axis {r} (C_in/groups) times groups={groups}"
                                                    if groups > 1 else f"its axis {r}, C_in")
        other = "channels_first" if data_format == "channels_last" else "channels_last"
        raise ValueError(f"input_shape {tuple(input_shape)} read as {read}: C={c_in}, but the kernel "
                         f"{tuple(kernel.shape)} expects C_in={kernel_c_in} ({axis}); for {other.replace('_', '-')} "
                         f"data set data_format={other!r}")

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
