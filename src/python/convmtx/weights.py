"""Weight layouts of other frameworks, converted to and from the PyTorch layouts convmtx uses.

    torch_conv        PyTorch conv                          (C_out, C_in/G, *k)
    torch_transposed  PyTorch / MXNet transposed conv       (C_in, C_out/G, *k)
    keras_conv        Keras / TF conv kernel                (*k, C_in/G, C_out)
    keras_transposed  Keras Conv*DTranspose, TF conv*d_transpose filter  (*k, C_out, C_in)

Keras -> torch is the axis permutation (*k, A, B) -> (B, A, *k); torch_conv and
torch_transposed are the same tensor (a transposed conv is the adjoint of the conv
that reads its weight as a conv weight). Results are C-contiguous copies.
"""

import numpy as np

from ._tensors import to_numpy

__all__ = [
    "convert_weight",
    "from_keras_conv",
    "from_keras_conv_transpose",
    "to_keras_conv",
    "to_keras_conv_transpose",
]

_LAYOUTS = {
    "torch_conv": False,
    "torch_transposed": False,
    "mxnet_transposed": False,
    "keras_conv": True,
    "keras_transposed": True,
}


def _layout(name, arg):
    if name not in _LAYOUTS:
        raise ValueError(f"{arg}={name!r} must be one of 'torch_conv', 'torch_transposed', 'mxnet_transposed', "
                         f"'keras_conv', 'keras_transposed'")
    return _LAYOUTS[name]


def convert_weight(weight, from_layout, to_layout):
    """The weight tensor `weight` (in layout `from_layout`) in layout `to_layout`.

    Keras -> PyTorch is the axis permutation ``(*k, A, B) -> (B, A, *k)``; PyTorch -> Keras the inverse.

    Parameters
    ----------
    weight : array_like or torch.Tensor
        2 channel axes and 1 to 3 kernel axes.
    from_layout, to_layout : {'torch_conv', 'torch_transposed', 'mxnet_transposed', 'keras_conv', 'keras_transposed'}

    Returns
    -------
    numpy.ndarray
        A C-contiguous copy, weight's dtype.

    Raises
    ------
    ValueError
        An unknown layout name, or a weight without 3 to 5 axes.
    """
    w = to_numpy(weight, "weight")
    src_keras = _layout(from_layout, "from_layout")
    dst_keras = _layout(to_layout, "to_layout")
    r = w.ndim - 2
    if not 1 <= r <= 3:
        raise ValueError(f"weight has ndim={w.ndim} (shape {tuple(w.shape)}); a {from_layout} weight has 2 "
                         f"channel axes and 1 to 3 kernel axes")
    if src_keras and not dst_keras:  # (*k, A, B) -> (B, A, *k)
        perm = (r + 1, r) + tuple(range(r))
    elif dst_keras and not src_keras:  # (B, A, *k) -> (*k, A, B)
        perm = tuple(range(2, r + 2)) + (1, 0)
    else:
        perm = tuple(range(r + 2))
    return np.ascontiguousarray(np.transpose(w, perm))


def from_keras_conv(kernel):
    """Keras/TF conv kernel ``(*k, C_in/G, C_out)`` -> PyTorch conv weight ``(C_out, C_in/G, *k)``.

    Parameters
    ----------
    kernel : array_like or torch.Tensor
        Keras/TF conv kernel ``(*k, C_in/G, C_out)``, 1 to 3 kernel axes.

    Returns
    -------
    numpy.ndarray
        PyTorch conv weight ``(C_out, C_in/G, *k)``, a C-contiguous copy.

    Raises
    ------
    ValueError
        Not 3 to 5 axes.
    """
    return convert_weight(kernel, "keras_conv", "torch_conv")


def from_keras_conv_transpose(kernel):
    """Keras Conv*DTranspose kernel ``(*k, C_out, C_in)`` -> PyTorch transposed weight ``(C_in, C_out, *k)``.

    Parameters
    ----------
    kernel : array_like or torch.Tensor
        Keras Conv*DTranspose kernel ``(*k, C_out, C_in)``, 1 to 3 kernel axes.

    Returns
    -------
    numpy.ndarray
        PyTorch transposed weight ``(C_in, C_out, *k)``, a C-contiguous copy.

    Raises
    ------
    ValueError
        Not 3 to 5 axes.
    """
    return convert_weight(kernel, "keras_transposed", "torch_transposed")


def to_keras_conv(weight):
    """PyTorch conv weight ``(C_out, C_in/G, *k)`` -> Keras/TF conv kernel ``(*k, C_in/G, C_out)``.

    Parameters
    ----------
    weight : array_like or torch.Tensor
        PyTorch conv weight ``(C_out, C_in/G, *k)``, 1 to 3 kernel axes.

    Returns
    -------
    numpy.ndarray
        Keras/TF conv kernel ``(*k, C_in/G, C_out)``, a C-contiguous copy.

    Raises
    ------
    ValueError
        Not 3 to 5 axes.
    """
    return convert_weight(weight, "torch_conv", "keras_conv")


def to_keras_conv_transpose(weight):
    """PyTorch transposed weight ``(C_in, C_out, *k)`` -> Keras Conv*DTranspose kernel ``(*k, C_out, C_in)``.

    Parameters
    ----------
    weight : array_like or torch.Tensor
        PyTorch transposed weight ``(C_in, C_out, *k)``, 1 to 3 kernel axes.

    Returns
    -------
    numpy.ndarray
        Keras Conv*DTranspose kernel ``(*k, C_out, C_in)``, a C-contiguous copy.

    Raises
    ------
    ValueError
        Not 3 to 5 axes.
    """
    return convert_weight(weight, "torch_transposed", "keras_transposed")
