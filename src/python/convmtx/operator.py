"""convmtx.LinearOperator: a convolution or transposed convolution as a scipy.sparse.linalg.LinearOperator.

    A = convmtx.conv_operator((3, 32, 32), w, stride=2, padding=1)        # matrix-free: direct kernels
    A = convmtx.conv_transpose_operator((4, 16, 16), w, stride=2, explicit=True)   # holds T = W^T
    y = A @ x.ravel();  x2 = A.H @ y;  Y = A.matmat(X);  A.tosparse();  A.model_shape, A.data_shape

matvec, rmatvec and matmat run the library's C++ operator (operator.hpp, ConvOperator) with the GIL
released: the explicit sparse matrix (method 'matrix', built once on first use) or the direct kernels
('direct' for a conv; 'scatter'/'gather' for a transposed conv), whose adjoint is exact for every padding mode.
model_shape / data_shape are PyLops's dims / dimsd: the operation's input and output shapes of one sample.
"""

import numpy as np
import scipy.sparse.linalg as _sla

from . import _core
from ._checks import strict_bool
from ._tensors import like, to_numpy
from .functional import (_OUTPUT_PADDING_DEFAULT, _weight, conv_matrix, conv_spec, conv_transpose_matrix,
                         conv_transpose_spec)

__all__ = ["LinearOperator", "conv_operator", "conv_transpose_operator"]


class LinearOperator(_sla.LinearOperator):
    """A convolution (W) or transposed convolution (T = W^T) of one sample as a scipy LinearOperator.

    Parameters
    ----------
    spec : ConvSpec
        From `conv_spec` or `conv_transpose_spec`.
    weight : array_like or torch.Tensor, float32 or float64
        The weight of spec (``spec.weight_shape`` elements, PyTorch's layout of the operation).
    method : {'auto', 'matrix', 'direct', 'scatter', 'gather'}
        'matrix' holds the explicit sparse matrix (built once, on first use); 'direct' (conv),
        'scatter' or 'gather' (transposed conv) are matrix-free. 'auto': 'direct' for a conv,
        'scatter' for a transposed conv.

    Attributes
    ----------
    shape : (int, int)
        ``(prod(data_shape), prod(model_shape))``.
    dtype : numpy.dtype
        The weight's (float32 or float64); operands are converted to it.
    model_shape, data_shape : tuple of int
        The operation's input ``(C_in, *n)`` and output ``(C_out, *m)`` for one sample (swapped in ``.H``).
    spec : ConvSpec
    explicit : bool
        Whether the operator holds its matrix (method 'matrix').

    Notes
    -----
    ``.H`` and ``.T`` (equal: the operator is real) are LinearOperators of the same class sharing the C++
    operator. Operands may be numpy arrays, lists or torch tensors; a tensor operand gives a tensor result
    (``A @ x``, ``A.H @ y``, ``A.dot(x)``, matvec, rmatvec, matmat, rmatmat alike). A block of zero columns
    gives the empty ``(rows, 0)`` product.
    A wrong operand size raises ValueError (scipy's dimension mismatch); NaN or Inf operands are not
    checked here (the solvers and the validation functions check their inputs).
    """

    def __init__(self, spec, weight, method="auto", *, _adjoint=False, _op=None):
        if not isinstance(spec, _core.ConvSpec):
            raise TypeError(f"spec must be a convmtx.ConvSpec (convmtx.conv_spec / conv_transpose_spec); "
                            f"got {type(spec).__name__}")
        if _op is None:
            w = _weight(weight, "the spec's weight layout")
            if tuple(w.shape) != tuple(spec.weight_shape):
                raise ValueError(f"weight has shape {tuple(w.shape)}; the spec needs {tuple(spec.weight_shape)}")
            if not np.all(np.isfinite(w)):
                bad = tuple(int(v) for v in np.argwhere(~np.isfinite(w))[0])
                raise ValueError(f"weight holds {w[bad]} at index {bad}; weights must be finite")
            if method == "auto":
                method = "scatter" if spec.transposed else "direct"
            if method not in ("matrix", "direct", "scatter", "gather"):
                raise ValueError(f"method={method!r} must be 'auto', 'matrix', 'direct' (conv), 'scatter' or "
                                 f"'gather' (transposed conv)")
            cls = _core.ConvOperator32 if w.dtype == np.float32 else _core.ConvOperator64
            _op = (cls(spec, w, method), w)
        self._op = _op
        self._adjoint_flag = bool(_adjoint)
        self.spec = spec
        op = _op[0]
        model, data = tuple(op.model_shape), tuple(op.data_shape)
        self.model_shape, self.data_shape = (data, model) if _adjoint else (model, data)
        self.explicit = op.method == "matrix"
        super().__init__(dtype=_op[1].dtype, shape=(int(np.prod(self.data_shape)), int(np.prod(self.model_shape))))

    @property
    def weight(self):
        """The weight (numpy array, the operation's PyTorch layout)."""
        return self._op[1]

    @property
    def method(self):
        """How products are computed: 'matrix' (the explicit W), 'direct', 'scatter' or 'gather'."""
        return self._op[0].method

    def _run(self, X, adjoint):
        """X: (n_in, k) -> (n_out, k) through the C++ operator (one sample per column)."""
        X = np.asarray(X)
        if X.dtype.kind not in "fiub":
            raise ValueError(f"the operand has dtype {X.dtype}; the operator takes real numbers")
        if X.ndim == 2 and X.shape[1] == 0:  # a block of no columns: the empty product (never handed to C++)
            return np.zeros((self.shape[1] if adjoint != self._adjoint_flag else self.shape[0], 0), dtype=self.dtype)
        xs = np.ascontiguousarray(np.asarray(X, dtype=self.dtype).T)
        op = self._op[0]
        Y = op.apply_adjoint(xs) if adjoint else op.apply(xs)
        return Y.T

    def _apply(self, X, adjoint):
        a = to_numpy(X, "operand")
        if np.iscomplexobj(a):  # a real operator on a complex operand: real and imaginary parts
            return self._apply(a.real, adjoint) + 1j * self._apply(a.imag, adjoint)
        fwd = adjoint == self._adjoint_flag
        return self._run(a, not fwd)

    def _matvec(self, x):
        return self._apply(np.asarray(to_numpy(x, "x")).reshape(-1, 1), False).ravel()

    def _rmatvec(self, y):
        return self._apply(np.asarray(to_numpy(y, "y")).reshape(-1, 1), True).ravel()

    def _matmat(self, X):
        return self._apply(X, False)

    def _rmatmat(self, Y):
        return self._apply(Y, True)

    def matvec(self, x):
        """A x for x of ``prod(model_shape)`` values, or of shape model_shape: 1-D (a tensor for a tensor)."""
        a = to_numpy(x, "x")
        return like(super().matvec(a.ravel() if a.shape == self.model_shape else a), x)

    def rmatvec(self, y):
        """A^T y for y of ``prod(data_shape)`` values, or of shape data_shape: 1-D (a tensor for a tensor)."""
        a = to_numpy(y, "y")
        return like(super().rmatvec(a.ravel() if a.shape == self.data_shape else a), y)

    def matmat(self, X):
        """A X for X of shape ``(prod(model_shape), k)``: ``(prod(data_shape), k)``."""
        return like(super().matmat(to_numpy(X, "X")), X)

    def rmatmat(self, Y):
        """A^T Y for Y of shape ``(prod(data_shape), k)``: ``(prod(model_shape), k)``."""
        return like(super().rmatmat(to_numpy(Y, "Y")), Y)

    def dot(self, x):
        """A x (1-D, or one column) or A X (2-D); a tensor for a tensor, like matvec and matmat. ``A @ x`` and
        ``A.H @ y`` call it."""
        from ._tensors import is_tensor

        if is_tensor(x):
            return like(super().dot(to_numpy(x, "x")), x)
        return super().dot(x)

    def _adjoint(self):
        return LinearOperator(self.spec, None, _adjoint=not self._adjoint_flag, _op=self._op)

    _transpose = _adjoint

    def tosparse(self, format="csr", index_dtype=np.int32):
        """The operator's matrix as a scipy.sparse matrix (W, T or their transposes for ``.H``).

        Returns csr_matrix (or csc_matrix) of shape ``self.shape`` and dtype ``self.dtype``.
        """
        s = self.spec
        w = self.weight
        kw = dict(index_dtype=index_dtype, format=format)
        if s.transposed:
            M = conv_transpose_matrix(tuple(s.input_shape), w, s.stride, list(zip(s.padding_lo, s.padding_hi)),
                                      s.output_padding, s.groups, s.dilation, adjoint=self._adjoint_flag, **kw)
        else:
            M = conv_matrix(tuple(s.input_shape), w, s.stride, list(zip(s.padding_lo, s.padding_hi)), s.dilation,
                            s.groups, s.padding_mode, adjoint=self._adjoint_flag, **kw)
        return M

    def todense(self):
        """The operator's matrix as a dense numpy array of shape ``self.shape``."""
        return self.tosparse().toarray()

    def __repr__(self):
        kind = "conv_transpose" if self.spec.transposed else "conv"
        return (f"<convmtx.LinearOperator {kind}[{self.method}]{'^T' if self._adjoint_flag else ''} "
                f"{self.model_shape} -> {self.data_shape}, dtype={self.dtype}>")


def _method(explicit, method):
    explicit = strict_bool(explicit, "explicit")
    if explicit and method not in ("auto", "matrix"):
        raise ValueError(f"explicit=True holds the matrix; method={method!r} is a matrix-free kernel")
    return "matrix" if explicit else method


def conv_operator(input_shape, weight, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros", *,
                  convention="torch", explicit=False, method="auto"):
    """`conv` on one sample ``(C_in, *n)`` as a `LinearOperator` (W; its adjoint W^T is exact).

    Parameters
    ----------
    input_shape : sequence of int
        ``(C_in, *n)``.
    weight : array_like or torch.Tensor, float32 or float64
        ``(C_out, C_in/groups, *k)``.
    stride, padding, dilation, groups, padding_mode, convention
        As in `conv`.
    explicit : bool
        Hold W (built once) instead of running the direct kernels.
    method : {'auto', 'matrix', 'direct'}

    Returns
    -------
    LinearOperator
        Shape ``(C_out*prod(m), C_in*prod(n))``, model_shape ``(C_in, *n)``, data_shape ``(C_out, *m)``.

    Raises
    ------
    ValueError
        As `conv_spec`; a NaN or infinite weight (naming its index).
    """
    w = _weight(weight, "(C_out, C_in/groups, *kernel)")
    spec = conv_spec(input_shape, w.shape, stride, padding, dilation, groups, padding_mode, convention=convention)
    return LinearOperator(spec, w, _method(explicit, method))


def conv_transpose_operator(input_shape, weight, stride=1, padding=0, output_padding=_OUTPUT_PADDING_DEFAULT,
                            groups=1, dilation=1, output_size=None, *, convention="torch", explicit=False,
                            method="auto", pad=None, adj=None, target_shape=None):
    """`conv_transpose` on one sample ``(C_in, *m)`` as a `LinearOperator` (T = W^T; its adjoint is W).

    Parameters
    ----------
    input_shape : sequence of int
        ``(C_in, *m)``.
    weight : array_like or torch.Tensor, float32 or float64
        ``(C_in, C_out/groups, *k)``.
    stride, padding, output_padding, groups, dilation, output_size, convention, pad, adj, target_shape
        As in `conv_transpose`.
    explicit : bool
        Hold T (built once) instead of running the matrix-free kernels.
    method : {'auto', 'matrix', 'scatter', 'gather'}

    Returns
    -------
    LinearOperator
        Shape ``(C_out*prod(n), C_in*prod(m))``.

    Raises
    ------
    ValueError
        As `conv_transpose_spec`; a NaN or infinite weight.
    """
    w = _weight(weight, "(C_in, C_out/groups, *kernel)")
    spec = conv_transpose_spec(input_shape, w.shape, stride, padding, output_padding, groups, dilation, output_size,
                               convention=convention, pad=pad, adj=adj, target_shape=target_shape)
    return LinearOperator(spec, w, _method(explicit, method))
