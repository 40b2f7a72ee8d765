"""convmtx: convolutions and transposed convolutions as explicit sparse matrices.

A torch.nn.functional-style API over the C++ core, on numpy arrays and scipy.sparse matrices:

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

__version__ = "0.1.0"

# Other modules of the package: one import line each below.
from . import plot  # matplotlib is imported when a plot function is called
from .spreadsheet import to_spreadsheet
from .validate import check_kernel, dot_test, to_sparse
from .solvers import (MemoryLimitError, cgls, choose_lambda, conv_operator, estimate_cost, gaussian_kernel,
                      gradient_matrix, landweber, lsqr, psnr, read_image, shepp_logan, solve_cholmod, solve_spqr,
                      write_image)
