"""PyTorch side of convmtx: W inside autograd, and scipy matrices as torch sparse tensors.

    A = convmtx.operator_from_module(layer, (3, 32, 32))      # or a scipy.sparse matrix
    y = convmtx.torch.ConvMatrixFunction.apply(x, A)          # y = A x per sample; backward: A^T grad
    Ts = convmtx.to_torch_sparse(convmtx.from_module(layer, (3, 32, 32)))   # torch.sparse_csr_tensor

Needs PyTorch (Debian's python3-torch); `import convmtx` works without it.
"""

import numpy as np
import torch as _torch

from ._tensors import to_numpy

__all__ = ["ConvMatrixFunction", "apply", "to_torch_sparse"]


def _operator(A):
    import scipy.sparse as sp
    import scipy.sparse.linalg as sla

    if sp.issparse(A) or isinstance(A, np.ndarray):
        return sla.aslinearoperator(A)
    if hasattr(A, "matmat") and hasattr(A, "rmatmat") and hasattr(A, "shape"):
        return A
    raise TypeError(f"A must be a scipy.sparse matrix, a dense 2-D array or a LinearOperator; got {type(A).__name__}")


class ConvMatrixFunction(_torch.autograd.Function):
    """``y = A x`` per sample as an autograd function, with backward ``grad_x = A^T grad_y``.

    ``ConvMatrixFunction.apply(x, A)``: x a tensor ``(N, *model_shape)``, ``(N, cols)`` or one flat sample
    ``(cols,)``; A a scipy.sparse matrix, a dense array or a LinearOperator (convmtx.LinearOperator's
    shapes shape the result). Returns ``(N, *data_shape)`` (or ``(N, rows)``, or ``(rows,)`` for a flat
    sample) in x's dtype. A is constant: it gets no gradient. Passes ``torch.autograd.gradcheck``.
    """

    @staticmethod
    def forward(ctx, x, A):
        op = _operator(A)
        rows, cols = (int(v) for v in op.shape)
        flat = x.dim() == 1
        X = x.reshape(1, cols) if flat else x.reshape(x.shape[0], -1)
        if X.shape[1] != cols:
            raise ValueError(f"x has shape {tuple(x.shape)}: {X.shape[1]} values per sample, but A has {cols} columns")
        Y = np.asarray(op.matmat(np.ascontiguousarray(to_numpy(X, "x").T))).T
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
        X = np.asarray(op.rmatmat(np.ascontiguousarray(to_numpy(G, "grad").T))).T
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
    """
    import scipy.sparse as sp

    if hasattr(M, "tosparse") and not sp.issparse(M):
        M = M.tosparse()
    if not sp.issparse(M):
        raise TypeError(f"M must be a scipy.sparse matrix or a convmtx.LinearOperator; got {type(M).__name__}")
    M = M.tocsr()
    idx = np.int32 if M.indptr.dtype == np.int32 and M.indices.dtype == np.int32 else np.int64
    return _torch.sparse_csr_tensor(_torch.from_numpy(M.indptr.astype(idx, copy=False)),
                                    _torch.from_numpy(M.indices.astype(idx, copy=False)),
                                    _torch.from_numpy(M.data), size=M.shape)
