"""convmtx: convolutions and transposed convolutions as explicit sparse matrices.

A torch.nn.functional-style API over the C++ core, on numpy arrays, torch tensors and scipy.sparse
matrices, with operators (convmtx.LinearOperator, a scipy LinearOperator) and converters from PyTorch
modules (from_module) and Keras layer configurations (from_keras_config):

    import numpy as np, convmtx
    x = np.random.rand(1, 3, 8, 8); w = np.random.rand(3, 4, 3, 3)
    y = convmtx.conv_transpose(x, w, stride=2, padding=1, output_padding=1)   # (1, 4, 16, 16)
    T = convmtx.conv_transpose_matrix(x.shape[1:], w, stride=2, padding=1, output_padding=1)
    assert np.allclose(T @ x[0].ravel(), y[0].ravel())

Reference: docs/python.md. Validation errors are ValueError (subclasses ConfigError,
ShapeError, IndexOverflowError) carrying the C++ message.
"""

from ._core import ConfigError, ConvSpec, IndexOverflowError, ShapeError
from ._core import Term, input_terms, output_terms, tap_lists, tap_map
from .functional import conv, conv_matrix, conv_spec, conv_transpose, conv_transpose_matrix, conv_transpose_spec
from .weights import convert_weight, from_keras_conv, from_keras_conv_transpose, to_keras_conv, to_keras_conv_transpose

from ._core import __version__  # CMakeLists.txt project(VERSION): one source for every version

# Other modules of the package: one import line each below.
from . import plot  # matplotlib is imported when a plot function is called
from .spreadsheet import to_spreadsheet
from .spmv import spmv
from .validate import check_kernel, dot_test, to_sparse
from .solvers import (MemoryLimitError, cgls, choose_lambda, estimate_cost, gaussian_kernel,
                      gradient_matrix, landweber, lsmr, lsqr, psnr, read_image, shepp_logan, solve_cholmod, solve_spqr,
                      write_image)
from .spectrum import checkerboard, cond, opnorm, reshaped_weight_norm, spectrum, svdvals
from .operator import LinearOperator, conv_operator, conv_transpose_operator
from .modules import from_module, operator_from_module
from .keras import from_keras_config
from .deconvolve import DeconvolveResult, blur, deconvolve, estimate_noise, psf, ssim


__all__ = [
    "ConfigError", "ConvSpec", "IndexOverflowError", "ShapeError", "MemoryLimitError", "Term", "LinearOperator",
    "conv", "conv_transpose", "conv_matrix", "conv_transpose_matrix", "conv_spec", "conv_transpose_spec",
    "conv_operator", "conv_transpose_operator", "from_module", "operator_from_module", "to_torch_sparse",
    "from_keras_config", "convert_weight", "from_keras_conv", "from_keras_conv_transpose", "to_keras_conv",
    "to_keras_conv_transpose", "input_terms", "output_terms", "tap_lists", "tap_map", "to_spreadsheet",
    "check_kernel", "dot_test", "to_sparse", "lsqr", "lsmr", "cgls", "landweber", "solve_spqr", "solve_cholmod",
    "estimate_cost", "choose_lambda", "gaussian_kernel", "gradient_matrix", "psnr", "read_image", "shepp_logan",
    "write_image", "checkerboard", "cond", "opnorm", "reshaped_weight_norm", "spectrum", "svdvals", "DeconvolveResult", "blur", "deconvolve",
    "estimate_noise", "psf", "ssim", "__version__",
]


def to_torch_sparse(M):
    """A scipy.sparse matrix or convmtx.LinearOperator as a ``torch.sparse_csr_tensor``.

    Parameters
    ----------
    M : scipy.sparse matrix or LinearOperator
        Converted to CSR first (a LinearOperator through ``tosparse()``).

    Returns
    -------
    torch.Tensor
        Layout ``torch.sparse_csr``, shape ``M.shape``, M's dtype; int32 crow/col indices when M's are int32.

    Raises
    ------
    TypeError
        M is neither; ImportError without PyTorch.
    ValueError
        A malformed matrix (indptr not monotone or of the wrong length, an index out of range; naming the
        array and the rule), a dtype other than float32/float64 (complex, integer), a NaN or infinite entry.

    Notes
    -----
    ``Ts @ x`` with a CSR tensor needs a PyTorch built with MKL (Debian's is not); on every build,
    ``torch.sparse.mm(Ts.to_sparse_coo(), X)`` computes the product (docs/python.md).
    """
    from .torch import to_torch_sparse as f

    return f(M)


def __getattr__(name):
    # convmtx.torch (ConvMatrixFunction, to_torch_sparse) imports PyTorch: loaded on first use.
    if name == "torch":
        import importlib

        return importlib.import_module(".torch", __name__)
    raise AttributeError(f"module 'convmtx' has no attribute {name!r}")
