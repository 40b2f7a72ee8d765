"""convmtx._core.spmv (the parallel products under convmtx.LinearOperator) against scipy's own
products on the same CSR/CSC arrays: float32/float64, int32/int64, A @ x and A.T @ x, vectors,
C-order and Fortran-order blocks and strided views; bad arrays are refused with ValueError/TypeError."""
import numpy as np
import pytest
import scipy.sparse as sp

import convmtx
from convmtx import _core


def matrix(fmt, dtype, index, rows=300, cols=200, density=0.6, seed=0):
    A = sp.random(rows, cols, density=density, format=fmt, dtype=dtype, random_state=seed)
    A.indices = A.indices.astype(index)
    A.indptr = A.indptr.astype(index)
    return A


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", [np.int32, np.int64])
@pytest.mark.parametrize("transpose", [False, True])
def test_products_equal_scipys(fmt, dtype, index, transpose):
    A = matrix(fmt, dtype, index)  # 36,000 entries: the parallel paths
    rng = np.random.default_rng(1)
    n_in, n_out = (A.shape[0], A.shape[1]) if transpose else (A.shape[1], A.shape[0])
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for x in (rng.standard_normal(n_in), rng.standard_normal((n_in, 3)), np.asfortranarray(rng.standard_normal((n_in, 9))),
              rng.standard_normal((n_in, 20))[:, ::2]):
        x = x.astype(dtype)
        ref = (A.T @ x) if transpose else (A @ x)
        out = np.full(ref.shape, 7, dtype)
        _core.spmv(A.data, A.indices, A.indptr, A.shape, fmt == "csr", transpose, x, out)
        assert np.abs(out - ref).max() <= tol * max(1.0, np.abs(ref).max())


def test_conv_matrix_product_equals_the_direct_conv():
    w = np.arange(2 * 3 * 3 * 3, dtype=np.float64).reshape(2, 3, 3, 3) / 10
    W = convmtx.conv_matrix((3, 40, 50), w, padding=1)
    x = np.random.default_rng(2).standard_normal((1, 3, 40, 50))
    out = np.empty(W.shape[0])
    _core.spmv(W.data, W.indices, W.indptr, W.shape, True, False, x.ravel(), out, check=False)
    ref = convmtx.conv(x, w, padding=1, method="direct").ravel()
    assert np.abs(out - ref).max() <= 1e-12 * np.abs(ref).max()


def test_bad_arrays_are_refused():
    A = matrix("csr", np.float64, np.int32, rows=5, cols=4, density=0.5)
    x, out = np.ones(4), np.empty(5)
    with pytest.raises(ValueError, match="rows"):
        _core.spmv(A.data, A.indices, A.indptr, A.shape, True, False, np.ones(3), out)
    with pytest.raises(ValueError, match="int32 or both int64"):
        _core.spmv(A.data, A.indices.astype(np.int64), A.indptr, A.shape, True, False, x, out)
    with pytest.raises(ValueError, match="float64"):
        _core.spmv(A.data, A.indices, A.indptr, A.shape, True, False, x.astype(np.float32), out)
    with pytest.raises(ValueError, match="overlap"):
        y = np.ones(5)
        _core.spmv(A.data, A.indices, A.indptr, (5, 5), True, False, y, y)
    bad = A.indices.copy()
    bad[0] = 99
    with pytest.raises(ValueError, match=r"indices\[0\]=99"):
        _core.spmv(A.data, bad, A.indptr, A.shape, True, False, x, out)
    with pytest.raises(ValueError, match="writeable"):
        ro = np.empty(5)
        ro.flags.writeable = False
        _core.spmv(A.data, A.indices, A.indptr, A.shape, True, False, x, ro)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", [np.int32, np.int64])
def test_public_spmv_equals_scipy_in_both_directions(fmt, dtype, index):
    A = matrix(fmt, dtype, index, rows=257, cols=131, density=0.7, seed=3)  # odd sizes, parallel paths
    rng = np.random.default_rng(4)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for transpose in (False, True):
        n_in = A.shape[0] if transpose else A.shape[1]
        for x in (rng.standard_normal(n_in), rng.standard_normal((n_in, 11))):  # float64 x: converted
            ref = (A.T @ x.astype(dtype)) if transpose else (A @ x.astype(dtype))
            got = convmtx.spmv(A, x, transpose=transpose)
            assert got.dtype == dtype and got.shape == ref.shape
            assert np.abs(got - ref).max() <= tol * max(1.0, np.abs(ref).max())
            out = np.full(ref.shape, np.nan, dtype)
            assert convmtx.spmv(A, x.astype(dtype), out=out, transpose=transpose, check=False) is out
            assert np.abs(out - ref).max() <= tol * max(1.0, np.abs(ref).max())


def test_public_spmv_takes_sparse_arrays_and_refuses_other_formats():
    A = matrix("csr", np.float64, np.int32, rows=40, cols=30, density=0.3, seed=5)
    x = np.arange(30, dtype=np.float64)
    assert np.allclose(convmtx.spmv(sp.csr_array(A), x), A @ x, rtol=1e-13, atol=0)
    with pytest.raises(ValueError, match="CSR or CSC.*coo"):
        convmtx.spmv(A.tocoo(), x)
    with pytest.raises(ValueError, match="CSR or CSC"):
        convmtx.spmv(A.toarray(), x)
    with pytest.raises(ValueError, match="int64; spmv takes float32 or float64"):
        convmtx.spmv(A.astype(np.int64), x)
    with pytest.raises(ValueError, match="real numbers"):
        convmtx.spmv(A, x.astype(np.complex128))
    with pytest.raises(ValueError, match="rows"):
        convmtx.spmv(A, np.ones(29))
