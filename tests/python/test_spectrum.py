"""convmtx.svdvals / spectrum / opnorm / cond / reshaped_weight_norm / checkerboard against
numpy.linalg.svd of the dense W (W from conv_matrix, itself checked against PyTorch elsewhere), the
direct transposed conv of a constant input, and numpy's matrix norm of the reshaped weight."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla

import convmtx
from conftest import require_module

MODES = ["zeros", "circular", "reflect", "replicate"]


def random_config(rng, transposed):
    """(input_shape, weight, conv_args) of a valid small conv or transposed conv of rank 1-3: any
    padding mode, stride 1-3, dilation 1-2, groups 1-2. Circular convs often get sizes divisible by
    the stride and padding that keeps output * stride = input (the block-circulant case)."""
    while True:
        rank = int(rng.integers(1, 4))
        groups = int(rng.choice([1, 2]))
        c_in, c_out = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
        max_n = {1: 9, 2: 5, 3: 3}[rank]
        k = tuple(int(v) for v in rng.integers(1, 4, rank))
        stride, dilation = int(rng.integers(1, 4)), int(rng.integers(1, 3))
        n = tuple(int(v) for v in rng.integers(1, max_n + 1, rank))
        args = dict(stride=stride, dilation=dilation, groups=groups)
        if transposed:
            args["padding"] = int(rng.integers(0, 3))
            args["output_padding"] = int(rng.integers(0, max(stride, dilation)))
            w = rng.standard_normal((c_in, c_out // groups, *k))
        else:
            mode = str(rng.choice(MODES))
            args["padding_mode"] = mode
            args["padding"] = int(rng.integers(0, 3))
            if mode == "circular" and rng.random() < 0.7:
                # output = n / stride: n a multiple of the stride, 2 p in [d (k-1) - s + 1, d (k-1)] per dimension.
                k = tuple(int(v) for v in rng.choice([1, 3], rank))
                n = tuple(stride * int(v) for v in rng.integers(1, max(2, max_n // stride) + 1, rank))
                args["padding"] = tuple(dilation * (kk - 1) // 2 for kk in k)
            w = rng.standard_normal((c_out, c_in // groups, *k))
        try:
            shape = (c_in, *n)
            spec = (convmtx.conv_transpose_spec if transposed else convmtx.conv_spec)(shape, w.shape, **args)
            if spec.input_numel * spec.output_numel > 90000 or spec.input_numel * spec.output_numel == 0:
                continue
            return shape, w, args
        except ValueError:
            continue


def dense_w(shape, w, args, transposed):
    M = (convmtx.conv_transpose_matrix if transposed else convmtx.conv_matrix)(shape, w, **args)
    return M.toarray()


def test_all_values_match_numpy_on_200_random_configurations():
    rng = np.random.default_rng(14)
    methods = {"fft": 0, "dense": 0}
    kinds = set()
    for case in range(200):
        transposed = case % 4 == 3
        shape, w, args = random_config(rng, transposed)
        ref = np.linalg.svd(dense_w(shape, w, args, transposed), compute_uv=False)
        r = convmtx.spectrum(shape, w, transposed=transposed, **args)
        methods[r["method"]] += 1
        kinds.add((len(shape) - 1, args.get("padding_mode", "transposed"), args["stride"] > 1, args["groups"]))
        assert r["complete"] and r["count"] == ref.size
        err = np.max(np.abs(r["values"] - ref)) / max(ref[0], 1e-300) if ref.size else 0.0
        assert err < 1e-10, (shape, w.shape, args, transposed, r["method"], err)
    assert methods["fft"] >= 25 and methods["dense"] >= 100, methods
    assert {m for (_, m, _, _) in kinds} == set(MODES) | {"transposed"}
    assert {r for (r, _, _, _) in kinds} == {1, 2, 3}


def test_lanczos_top_and_bottom_k_match_numpy():
    rng = np.random.default_rng(15)
    done = 0
    while done < 40:
        transposed = done % 4 == 3
        shape, w, args = random_config(rng, transposed)
        ref = np.linalg.svd(dense_w(shape, w, args, transposed), compute_uv=False)
        if ref.size < 8 or ref[0] == 0:
            continue
        k = 3
        top = convmtx.svdvals(shape, w, transposed=transposed, k=k, method="lanczos", **args)
        bottom = convmtx.spectrum(shape, w, transposed=transposed, k=k, which="smallest", method="lanczos", **args)
        ctx = (shape, w.shape, args, transposed, bottom["detail"])
        np.testing.assert_allclose(top, ref[:k], rtol=0, atol=1e-9 * ref[0], err_msg=str(ctx))
        # Small values through W^T W are accurate to about sqrt(eps) sigma_1.
        np.testing.assert_allclose(bottom["values"], ref[-k:], rtol=0, atol=1e-6 * ref[0], err_msg=str(ctx))
        assert len(bottom["residuals"]) == k and np.all(bottom["residuals"] < 1e-4 * ref[0])
        done += 1


@pytest.mark.parametrize("stride", [2, 3])
def test_fft_equals_dense_on_strided_circular_convs(stride):
    rng = np.random.default_rng(stride)
    for groups, c_in, c_out, n, k in [(1, 2, 3, (6 * stride,), 3), (2, 4, 2, (2 * stride, 3 * stride), 3),
                                      (1, 3, 2, (2 * stride, 2 * stride), 1)]:
        w = rng.standard_normal((c_out, c_in // groups, *([k] * len(n))))
        args = dict(stride=stride, padding=(k - 1) // 2, padding_mode="circular", groups=groups)
        f = convmtx.svdvals((c_in, *n), w, method="fft", **args)
        d = convmtx.svdvals((c_in, *n), w, method="dense", **args)
        np.testing.assert_allclose(f, d, rtol=0, atol=1e-10 * d[0])


def test_opnorm_bounds_every_stretch_and_certifies():
    rng = np.random.default_rng(3)
    for case in range(30):
        transposed = case % 3 == 2
        shape, w, args = random_config(rng, transposed)
        W = dense_w(shape, w, args, transposed)
        value, bound = convmtx.opnorm(shape, w, transposed=transposed, certify=True, **args)
        np.testing.assert_allclose(value, np.linalg.norm(W, 2), rtol=1e-10, atol=1e-300)
        assert bound >= value
        X = rng.standard_normal((W.shape[1], 50))
        stretch = np.linalg.norm(W @ X, axis=0) / np.linalg.norm(X, axis=0)
        assert np.all(stretch <= value * (1 + 1e-12)) and np.all(stretch <= bound)


def test_operators_and_matrices_are_accepted():
    rng = np.random.default_rng(4)
    w = rng.standard_normal((3, 2, 3, 3))
    args = dict(stride=2, padding=1)
    W = convmtx.conv_matrix((2, 10, 8), w, **args)
    ref = np.linalg.svd(W.toarray(), compute_uv=False)
    np.testing.assert_allclose(convmtx.svdvals(W), ref, rtol=0, atol=1e-12 * ref[0])
    np.testing.assert_allclose(convmtx.svdvals(W.toarray()), ref, rtol=0, atol=1e-12 * ref[0])
    op = sla.aslinearoperator(W)
    np.testing.assert_allclose(convmtx.svdvals(op, k=4, method="lanczos"), ref[:4], rtol=0, atol=1e-9 * ref[0])
    np.testing.assert_allclose(convmtx.svdvals(op, k=2, which="smallest", method="lanczos"), ref[-2:], rtol=0,
                               atol=1e-6 * ref[0])
    np.testing.assert_allclose(convmtx.opnorm(convmtx.conv_operator((2, 10, 8), w, **args)), ref[0], rtol=1e-12)
    value, bound = convmtx.opnorm(sp.csc_matrix(W), certify=True)
    assert bound >= value and abs(value - ref[0]) <= 1e-12 * ref[0]
    with pytest.raises(ValueError, match="black box"):
        convmtx.opnorm(op, certify=True, method="lanczos")
    np.testing.assert_allclose(convmtx.cond(W), ref[0] / ref[-1], rtol=1e-9)


def test_cond_reports_rank_deficiency():
    # [1, -1] on a circle annihilates constants: exactly one zero singular value.
    c = convmtx.cond((1, 8), np.array([[[1.0, -1.0]]]), padding=((1, 0),), padding_mode="circular",
                     full_output=True)
    assert c["method"] == "fft" and c["zeros"] == 1 and c["nullity"] == 1 and np.isinf(c["condition"])
    assert abs(c["sigma_max"] - 2.0) < 1e-12


def test_reshaped_weight_norm_is_the_matrix_norm_of_the_reshaped_weight():
    rng = np.random.default_rng(6)
    w = rng.standard_normal((8, 4, 3, 3))
    np.testing.assert_allclose(convmtx.reshaped_weight_norm(w), np.linalg.norm(w.reshape(8, -1), 2), rtol=1e-12)
    wt = np.moveaxis(w, 1, 0)
    np.testing.assert_allclose(convmtx.reshaped_weight_norm(w, dim=1), np.linalg.norm(wt.reshape(4, -1), 2),
                               rtol=1e-12)
    # It is not the operator norm: W on a 16x16 input with zeros padding differs.
    true = convmtx.opnorm((4, 16, 16), w, padding=1)
    assert abs(true / convmtx.reshaped_weight_norm(w) - 1) > 0.05


def test_reshaped_weight_norm_is_what_spectral_norm_divides_by():
    torch = require_module("torch", "PyTorch is not installed (Debian: python3-torch): spectral_norm is the reference")
    rng = np.random.default_rng(7)
    w = rng.standard_normal((6, 3, 3, 3))
    layer = torch.nn.Conv2d(3, 6, 3, bias=False).double()
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(w))
    sn = torch.nn.utils.parametrizations.spectral_norm(layer, n_power_iterations=200)
    sn.train()
    with torch.no_grad():
        normalised = sn.weight.detach().numpy()
    sigma = np.mean(w / normalised)
    np.testing.assert_allclose(sigma, convmtx.reshaped_weight_norm(w), rtol=1e-9)


def test_checkerboard_levels_are_the_phase_means_of_a_constant_input():
    rng = np.random.default_rng(9)
    uneven = 0
    for case in range(40):
        rank = 1 + case % 2
        stride, dilation, groups = int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.choice([1, 2]))
        k = int(rng.integers(1, 6))
        pad = int(rng.integers(0, dilation * (k - 1) + 1))
        c_in, c_out = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
        w = rng.standard_normal((c_in, c_out // groups, *([k] * rank)))
        n = 8 + 2 * k
        y = convmtx.conv_transpose(np.ones((c_in, *([n] * rank))), w, stride=stride, padding=pad, dilation=dilation,
                                   groups=groups, method="scatter")
        r = convmtx.checkerboard(w, stride, dilation=dilation, padding=pad, groups=groups)
        lo, hi = max(0, (k - 1) * dilation - pad), (n - 1) * stride - pad
        assert r["levels"].shape == (c_out, *([stride] * rank))
        for phase in np.ndindex(*([stride] * rank)):
            sl = tuple(slice(lo + ((p - lo) % stride), hi + 1, stride) for p in phase)
            means = y[(slice(None),) + sl].reshape(c_out, -1).mean(axis=1)
            np.testing.assert_allclose(r["levels"][(slice(None),) + phase], means, rtol=0,
                                       atol=1e-12 * np.abs(w).sum())
        ones = convmtx.checkerboard(np.ones_like(w), stride, dilation=dilation, padding=pad, groups=groups)
        uneven += not ones["free"]
    assert uneven >= 5


def test_a_balanced_kernel_is_checkerboard_free():
    rng = np.random.default_rng(12)
    w = rng.standard_normal((2, 3, 4, 4))
    # Equal polyphase sums: shift each 2x2 phase of every kernel to sum to 0.25.
    for py in range(2):
        for px in range(2):
            part = w[:, :, py::2, px::2]
            part -= (part.sum(axis=(2, 3), keepdims=True) - 0.25) / part[0, 0].size
    r = convmtx.checkerboard(w, 2, padding=1)
    assert r["free"] and r["spread"] == 0.0
    w[0, 0, 0, 0] += 0.125
    bad = convmtx.checkerboard(w, 2, padding=1)
    assert not bad["free"] and abs(bad["spread"] - 0.125 / 0.625) < 1e-12 and bad["worst_channel"] == 0


@pytest.mark.parametrize("call, match", [
    (lambda: convmtx.svdvals((1, 6), np.ones((1, 1, 3)), k=0), "k=0"),
    (lambda: convmtx.svdvals((1, 6), np.ones((1, 1, 3)), k=7), "k=7"),
    (lambda: convmtx.svdvals((1, 6), np.ones((1, 1, 3)), method="svd"), "method='svd'"),
    (lambda: convmtx.svdvals((1, 6), np.ones((1, 1, 3)), which="middle"), "which='middle'"),
    (lambda: convmtx.svdvals((1, 6), np.ones((1, 1, 3)), tol=1.0), "tol=1.0"),
    (lambda: convmtx.svdvals((1, 6), np.array([[[1.0, np.nan, 1.0]]])), "weight"),
    (lambda: convmtx.svdvals((1, 6), np.ones((1, 1, 3)), method="fft"), "block-circulant"),
    (lambda: convmtx.svdvals((1, 6), np.ones((1, 1, 3)), method="lanczos"), "give k"),
    (lambda: convmtx.svdvals(sp.csr_matrix(np.array([[1.0, np.inf]]))), "finite"),
    (lambda: convmtx.reshaped_weight_norm(np.ones((2, 3)), dim=2), "dim=2"),
    (lambda: convmtx.checkerboard(np.ones((1, 1, 3)), 0), "stride"),
])
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_memory_limit_is_enforced():
    with pytest.raises(MemoryError):
        convmtx.svdvals((1, 40), np.ones((1, 1, 3)), method="dense", memory_limit=1000)
