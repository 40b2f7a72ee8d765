"""convmtx.LinearOperator: a scipy LinearOperator for the conv and the transposed conv, every padding
mode, groups, matmat, explicit or matrix-free, .H/.T, model_shape/data_shape, todense/tosparse;
compared with the explicit matrices (themselves checked against PyTorch in test_functional.py), accepted
by dot_test/check_kernel/to_sparse and the convmtx solvers, and solved with scipy's lsqr, lsmr and cg."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla

import convmtx

MODES = ["zeros", "circular", "reflect", "replicate"]


def cases():
    """(name, operator factory, reference matrix factory) for conv and transposed conv of every kind."""
    rng = np.random.default_rng(7)
    out = []
    for mode in MODES:
        w = rng.standard_normal((4, 1, 3, 2))
        for explicit in (False, True):
            out.append((f"conv-{mode}-groups2-{'explicit' if explicit else 'free'}",
                        lambda w=w, mode=mode, e=explicit: convmtx.conv_operator(
                            (2, 6, 5), w, stride=(2, 1), padding=1, groups=2, padding_mode=mode, explicit=e),
                        lambda w=w, mode=mode: convmtx.conv_matrix((2, 6, 5), w, stride=(2, 1), padding=1, groups=2,
                                                                   padding_mode=mode)))
    w = rng.standard_normal((2, 3, 3))
    for method in ("scatter", "gather", "matrix"):
        out.append((f"transposed-1d-{method}",
                    lambda w=w, m=method: convmtx.conv_transpose_operator((2, 5), w, stride=3, padding=1,
                                                                          output_padding=2, method=m),
                    lambda w=w: convmtx.conv_transpose_matrix((2, 5), w, stride=3, padding=1, output_padding=2)))
    w3 = rng.standard_normal((2, 1, 2, 2, 2)).astype(np.float32)
    out.append(("transposed-3d-groups-float32",
                lambda: convmtx.conv_transpose_operator((2, 3, 3, 2), w3, stride=2, groups=2),
                lambda: convmtx.conv_transpose_matrix((2, 3, 3, 2), w3, stride=2, groups=2)))
    return out


@pytest.mark.parametrize("name,make,ref", cases(), ids=[c[0] for c in cases()])
def test_operator_equals_matrix(name, make, ref, rng):
    A, M = make(), ref()
    assert isinstance(A, sla.LinearOperator) and isinstance(A, convmtx.LinearOperator)
    assert A.shape == M.shape and A.dtype == M.dtype
    tol = 1e-4 if A.dtype == np.float32 else 1e-11
    x = rng.standard_normal(A.shape[1])
    y = rng.standard_normal(A.shape[0])
    np.testing.assert_allclose(A @ x, M @ x, rtol=tol, atol=tol)
    np.testing.assert_allclose(A.H @ y, M.T @ y, rtol=tol, atol=tol)
    np.testing.assert_allclose(A.T @ y, M.T @ y, rtol=tol, atol=tol)
    X = rng.standard_normal((A.shape[1], 3))
    np.testing.assert_allclose(A.matmat(X), M @ X, rtol=tol, atol=tol)
    Y = rng.standard_normal((A.shape[0], 2))
    np.testing.assert_allclose(A.H.matmat(Y), M.T @ Y, rtol=tol, atol=tol)
    assert int(np.prod(A.model_shape)) == A.shape[1] and int(np.prod(A.data_shape)) == A.shape[0]
    assert A.H.model_shape == A.data_shape and A.H.data_shape == A.model_shape
    assert A.H.H.shape == A.shape
    assert abs(A.tosparse() - M).max() == 0
    assert abs(A.H.tosparse() - M.T).max() == 0
    np.testing.assert_array_equal(A.todense(), M.toarray())
    assert convmtx.dot_test(A).passed
    assert convmtx.dot_test(A.H).passed


def test_model_and_data_shapes_are_the_operations():
    w = np.ones((5, 3, 3, 3))
    A = convmtx.conv_operator((3, 8, 8), w, stride=2)
    assert A.model_shape == (3, 8, 8) and A.data_shape == (5, 3, 3) and A.shape == (45, 192)
    assert not A.explicit and convmtx.conv_operator((3, 8, 8), w, explicit=True).explicit
    assert "conv[direct]" in repr(A)
    with pytest.raises(ValueError, match="explicit=True holds the matrix"):
        convmtx.conv_operator((3, 8, 8), w, explicit=True, method="direct")
    with pytest.raises(ValueError, match="method='bogus'"):
        convmtx.conv_operator((3, 8, 8), w, method="bogus")
    with pytest.raises(ValueError, match="scatter"):
        convmtx.conv_operator((3, 8, 8), w, method="scatter")
    with pytest.raises(ValueError):
        A.matvec(np.ones(5))
    bad = w.copy()
    bad[1, 2, 0, 1] = np.nan
    with pytest.raises(ValueError, match=r"nan at index \(1, 2, 0, 1\)"):
        convmtx.conv_operator((3, 8, 8), bad)


def test_validation_tools_accept_operators(rng):
    w = rng.standard_normal((2, 3, 3, 3))
    A = convmtx.conv_transpose_operator((2, 4, 4), w, stride=2, padding=1, output_padding=1)
    T = convmtx.conv_transpose_matrix((2, 4, 4), w, stride=2, padding=1, output_padding=1)
    # to_sparse of the operator (and of a plain scipy operator / sparse matrix) recovers T exactly
    assert abs(convmtx.to_sparse(A) - T).max() < 1e-12
    assert abs(convmtx.to_sparse(sla.aslinearoperator(T)) - T).max() < 1e-12
    assert abs(convmtx.to_sparse(T, pattern=T) - T).max() < 1e-12
    # check_kernel takes the operator as the kernel (and its adjoint)
    rep = convmtx.check_kernel(A, (2, 4, 4), w, transposed=True, stride=2, padding=1, output_padding=1)
    assert rep.passed, str(rep)
    wrong = convmtx.conv_transpose_operator((2, 4, 4), w, stride=2, padding=((0, 2), (1, 1)), output_padding=1)
    assert not convmtx.check_kernel(wrong, (2, 4, 4), w, transposed=True, stride=2, padding=1,
                                    output_padding=1).passed
    # dot_test on a scipy operator whose adjoint is wrong fails
    broken = sla.LinearOperator(T.shape, matvec=lambda v: T @ v, rmatvec=lambda v: 2 * (T.T @ v), dtype=float)
    assert not convmtx.dot_test(broken).passed


def test_scipy_and_convmtx_solvers(rng):
    w = rng.standard_normal((3, 2, 3, 3))
    A = convmtx.conv_operator((2, 8, 8), w, padding=1, padding_mode="reflect")
    M = convmtx.conv_matrix((2, 8, 8), w, padding=1, padding_mode="reflect")
    x_true = rng.standard_normal(A.shape[1])
    b = M @ x_true
    for solve in (lambda: sla.lsqr(A, b, atol=1e-12, btol=1e-12, iter_lim=2000)[0],
                  lambda: sla.lsmr(A, b, atol=1e-12, btol=1e-12, maxiter=2000)[0]):
        x = solve()
        assert np.linalg.norm(M @ x - b) <= 1e-8 * np.linalg.norm(b)
    # cg on the normal equations A^T A (symmetric positive definite), with the operator's products
    N = A.H @ A
    rhs = A.H @ b
    x, info = sla.cg(N, rhs, tol=1e-12, maxiter=5000) if "tol" in sla.cg.__code__.co_varnames else \
        sla.cg(N, rhs, rtol=1e-12, maxiter=5000)
    assert info == 0
    np.testing.assert_allclose((M.T @ M) @ x, rhs, rtol=1e-7, atol=1e-7)
    r = convmtx.lsqr(A, b, atol=1e-12, btol=1e-12, iter_lim=2000)
    assert np.linalg.norm(M @ r.x - b) <= 1e-8 * np.linalg.norm(b)
    r2 = convmtx.cgls(convmtx.conv_operator((2, 8, 8), w, padding=1, padding_mode="reflect", explicit=True), b,
                      atol=1e-12, btol=1e-12, iter_lim=2000)
    assert np.linalg.norm(M @ r2.x - b) <= 1e-8 * np.linalg.norm(b)


def test_complex_operands_and_float32(rng):
    w = rng.standard_normal((1, 1, 3)).astype(np.float32)
    A = convmtx.conv_operator((1, 7), w, padding=1)
    M = convmtx.conv_matrix((1, 7), w, padding=1)
    z = rng.standard_normal(7) + 1j * rng.standard_normal(7)
    np.testing.assert_allclose(A @ z, M @ z, rtol=1e-5, atol=1e-5)
    assert (A @ np.ones(7, dtype=np.float64)).dtype == np.float32
