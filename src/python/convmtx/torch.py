"""PyTorch side of convmtx: W inside autograd, and scipy matrices as torch sparse tensors.

    A = convmtx.operator_from_module(layer, (3, 32, 32))      # or a scipy.sparse matrix
    y = convmtx.torch.ConvMatrixFunction.apply(x, A)          # y = A x per sample; backward: A^T grad
    Ts = convmtx.to_torch_sparse(convmtx.from_module(layer, (3, 32, 32)))   # torch.sparse_csr_tensor

Needs PyTorch (Debian's python3-torch); `import convmtx` works without it.
"""

import numpy as np
import torch as _torch

from ._checks import finite_array, real_operator, sparse_matrix
from ._tensors import to_numpy

__all__ = ["ConvMatrixFunction", "apply", "to_torch_sparse"]


def _operator(A):
    import scipy.sparse as sp
    import scipy.sparse.linalg as sla

    if sp.issparse(A):
        return sla.aslinearoperator(sparse_matrix(A, "A"))
    if isinstance(A, np.ndarray):
        if A.ndim != 2:
            raise ValueError(f"A has shape {A.shape}; a dense matrix must be 2-D (rows, columns)")
        real_operator(A, "A")
        if A.dtype.kind not in "fiu":
            raise ValueError(f"A has dtype {A.dtype}; a matrix must hold real numbers")
        return sla.aslinearoperator(A)
    if hasattr(A, "matmat") and hasattr(A, "rmatmat") and hasattr(A, "shape"):
        real_operator(A, "A")
        return A
    raise TypeError(f"A must be a scipy.sparse matrix, a dense 2-D array or a LinearOperator; got {type(A).__name__}")


def _block(op, f, X, name, rows):
    """f (op.matmat / op.rmatmat) on the (cols, N) block X, checked: (rows, N) real finite values."""
    if X.shape[1] == 0:
        return np.zeros((rows, 0))
    Y = np.asarray(f(X))
    if Y.shape != (rows, X.shape[1]):
        raise ValueError(f"A.{name} returned shape {Y.shape} for a block of shape {X.shape}; expected "
                         f"{(rows, X.shape[1])}")
    if Y.dtype.kind == "c":
        raise ValueError(f"A.{name} returned complex values (dtype {Y.dtype}); ConvMatrixFunction is real")
    finite_array(Y, f"A.{name}(x)", "must be finite (NaN, or an overflow)")
    return Y


class ConvMatrixFunction(_torch.autograd.Function):
    """``y = A x`` per sample as an autograd function, with backward ``grad_x = A^T grad_y``.

    ``ConvMatrixFunction.apply(x, A)``: x a tensor ``(N, *model_shape)``, ``(N, cols)`` or one flat sample
    ``(cols,)``; A a scipy.sparse matrix, a dense array or a LinearOperator (convmtx.LinearOperator's
    shapes shape the result). Returns ``(N, *data_shape)`` (or ``(N, rows)``, or ``(rows,)`` for a flat
    sample) in x's dtype. A is constant: it gets no gradient. Passes ``torch.autograd.gradcheck``.
    An empty batch ``(0, cols)`` gives ``(0, rows)``.

    Raises ValueError for x that is not a float32/float64 tensor, holds NaN or Inf, or has the wrong number
    of values per sample (naming A's columns); A that is a malformed scipy matrix (the validation of every
    entry point: indptr/indices, naming the array and the rule), complex, or not 2-D; an operator whose
    matmat/rmatmat returns the wrong shape, complex values or NaN/Inf.
    """

    @staticmethod
    def forward(ctx, x, A):
        if not isinstance(x, _torch.Tensor):
            raise ValueError(f"x must be a torch.Tensor; got {type(x).__name__}")
        if x.dtype not in (_torch.float32, _torch.float64):
            raise ValueError(f"x has dtype {x.dtype}; ConvMatrixFunction takes float32 or float64 tensors")
        if x.dim() == 0:
            raise ValueError("x is a 0-D tensor; it must be one flat sample (cols,) or a batch (N, ...)")
        op = _operator(A)
        rows, cols = (int(v) for v in op.shape)
        flat = x.dim() == 1
        per_sample = int(np.prod(x.shape[1:])) if not flat else int(x.shape[0])
        if per_sample != cols:
            raise ValueError(f"x has shape {tuple(x.shape)}: {per_sample} values per sample, but A has {cols} columns "
                             f"(A's shape is {(rows, cols)})")
        X = x.reshape(1, cols) if flat else x.reshape(x.shape[0], cols)
        Xn = to_numpy(X, "x")
        finite_array(Xn, "x")
        Y = _block(op, op.matmat, np.ascontiguousarray(Xn.T), "matmat", rows).T
        ctx.op, ctx.x_shape, ctx.flat = op, tuple(x.shape), flat
        out = _torch.from_numpy(np.ascontiguousarray(Y)).to(x.dtype)
        if flat:
            return out.reshape(rows)
        data = getattr(A, "data_shape", None)
        return out.reshape((x.shape[0],) + tuple(data)) if data is not None and x.dim() > 2 else out

    @staticmethod
    def backward(ctx, grad):
        op = ctx.op
        rows = int(op.shape[0])
        G = grad.reshape(1 if ctx.flat else grad.shape[0], rows)
        X = _block(op, op.rmatmat, np.ascontiguousarray(to_numpy(G, "grad").T), "rmatmat", int(op.shape[1])).T
        return _torch.from_numpy(np.ascontiguousarray(X)).to(grad.dtype).reshape(ctx.x_shape), None


def apply(A, x):
    """``ConvMatrixFunction.apply(x, A)``: A x per sample, differentiable in x."""
    return ConvMatrixFunction.apply(x, A)


def to_torch_sparse(M):
    """A scipy.sparse matrix (or a LinearOperator's ``tosparse()``) as a ``torch.sparse_csr_tensor``.

    Parameters
    ----------
    M : scipy.sparse matrix or convmtx.LinearOperator

    Returns
    -------
    torch.Tensor
        Layout ``torch.sparse_csr``, shape ``M.shape``, M's dtype; crow/col indices int32 when M's fit, else int64.
        The values share memory with M's CSR form when M is CSR already.

    Raises
    ------
    ValueError
        A malformed matrix (indptr not monotone or of the wrong length, an index out of range; naming the
        array and the rule), a dtype other than float32/float64 (complex, integer), a NaN or infinite entry.

    Notes
    -----
    A product ``Ts @ x`` with a CSR tensor needs a PyTorch built with MKL (Debian's is not: "Calling addmv
    on a sparse CPU tensor requires compiling PyTorch with MKL"); ``torch.sparse.mm(Ts.to_sparse_coo(), X)``
    works on every build (docs/python.md).
    """
    import scipy.sparse as sp

    if hasattr(M, "tosparse") and not sp.issparse(M):
        M = M.tosparse()
    if not sp.issparse(M):
        raise TypeError(f"M must be a scipy.sparse matrix or a convmtx.LinearOperator; got {type(M).__name__}")
    sparse_matrix(M, "M")
    if M.dtype not in (np.float32, np.float64):
        raise ValueError(f"M has dtype {M.dtype}; to_torch_sparse converts float32 or float64 matrices "
                         f"(convert it, e.g. M.astype(np.float64))")
    M = M.tocsr()
    if M.nnz and not np.all(np.isfinite(M.data[:M.nnz])):
        k = int(np.argmax(~np.isfinite(M.data[:M.nnz])))
        row = int(np.searchsorted(M.indptr, k, side="right")) - 1
        raise ValueError(f"M[{row}, {int(M.indices[k])}] = {M.data[k]}: M's entries must be finite")
    idx = np.int32 if M.indptr.dtype == np.int32 and M.indices.dtype == np.int32 else np.int64
    return _torch.sparse_csr_tensor(_torch.from_numpy(M.indptr.astype(idx, copy=False)),
                                    _torch.from_numpy(M.indices[:M.nnz].astype(idx, copy=False)),
                                    _torch.from_numpy(M.data[:M.nnz]), size=M.shape)
