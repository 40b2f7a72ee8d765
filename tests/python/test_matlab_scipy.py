"""MATLAB's convmtx/convmtx2 and scipy.linalg.convolution_matrix as convmtx calls (docs/python.md, "MATLAB
and scipy"), and order='F' (column-major flattening, MATLAB's x(:)).

MATLAB's definitions, written out here as the reference:
  convmtx(h, n)      (n + len(h) - 1) x n Toeplitz matrix with T*x = conv(h, x) ('full' convolution)
  convmtx2(H, m, n)  ((m + mh - 1)(n + nh - 1)) x (mn) with reshape(T*X(:), size(conv2(H, X))) = conv2(H, X),
                     column-major vectorisation."""

import numpy as np
import pytest
import scipy.linalg
import scipy.signal

import convmtx


def matlab_convmtx(h, n):
    """MATLAB's convmtx(h, n) for a vector h: column j holds h starting at row j."""
    T = np.zeros((n + len(h) - 1, n))
    for j in range(n):
        T[j:j + len(h), j] = h
    return T


def test_convmtx_and_scipy_convolution_matrix(rng):
    for k, n in ((1, 4), (3, 7), (5, 5), (4, 2)):
        h = rng.standard_normal(k)
        T = convmtx.conv_transpose_matrix((1, n), h.reshape(1, 1, -1)).toarray()
        np.testing.assert_array_equal(T, matlab_convmtx(h, n))
        np.testing.assert_allclose(T, scipy.linalg.convolution_matrix(h, n, "full"), rtol=0, atol=0)
        x = rng.standard_normal(n)
        np.testing.assert_allclose(T @ x, np.convolve(h, x), atol=1e-12)


def test_convmtx_same_and_valid_modes(rng):
    # scipy's 'valid' is the conv of the flipped kernel; 'same' crops the full result centrally
    n = 6
    for k in (1, 3, 4, 6):
        h = rng.standard_normal(k)
        W = convmtx.conv_matrix((1, n), h[::-1].copy().reshape(1, 1, -1)).toarray()
        np.testing.assert_allclose(W, scipy.linalg.convolution_matrix(h, n, "valid"), atol=0)
        S = convmtx.conv_transpose_matrix((1, n), h.reshape(1, 1, -1),
                                          padding=[((k - 1) // 2, k - 1 - (k - 1) // 2)]).toarray()
        np.testing.assert_allclose(S, scipy.linalg.convolution_matrix(h, n, "same"), atol=0)


def test_convmtx2_is_the_column_major_transposed_conv(rng):
    H, (m, n) = rng.standard_normal((2, 3)), (4, 5)
    T = convmtx.conv_transpose_matrix((1, m, n), H.reshape(1, 1, 2, 3), order="F").toarray()
    assert T.shape == ((m + 1) * (n + 2), m * n)
    X = rng.standard_normal((m, n))
    full = scipy.signal.convolve2d(X, H, mode="full")  # MATLAB's conv2(H, X) (convolution commutes)
    np.testing.assert_allclose(T @ X.ravel(order="F"), full.ravel(order="F"), atol=1e-12)
    # column j of convmtx2 is H placed at (j mod m, j div m): written out directly
    ref = np.zeros_like(T)
    for j in range(m * n):
        P = np.zeros((m + 1, n + 2))
        P[j % m:j % m + 2, j // m:j // m + 3] = H
        ref[:, j] = P.ravel(order="F")
    np.testing.assert_array_equal(T, ref)


def test_order_f_is_a_renumbering(rng):
    w = rng.standard_normal((3, 2, 2, 3))
    C = convmtx.conv_matrix((2, 5, 4), w, stride=(2, 1), padding=1)
    F = convmtx.conv_matrix((2, 5, 4), w, stride=(2, 1), padding=1, order="F", format="csc")
    x = rng.standard_normal((2, 5, 4))
    y = (C @ x.ravel()).reshape(3, 3, 4)
    np.testing.assert_allclose(F @ x.ravel(order="F"), y.ravel(order="F"), atol=1e-12)
    assert F.format == "csc" and F.has_sorted_indices
    Wt = convmtx.conv_matrix((2, 5, 4), w, stride=(2, 1), padding=1, adjoint=True, order="F")
    assert abs(Wt - F.T).max() == 0
    with pytest.raises(ValueError, match="order='K' must be 'C'"):
        convmtx.conv_matrix((2, 5, 4), w, order="K")
