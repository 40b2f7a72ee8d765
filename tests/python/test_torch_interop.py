"""PyTorch interop: tensors accepted everywhere and returned as tensors, W of a torch module equal to
autograd's Jacobian of its forward pass (torch.autograd.functional.jacobian) on 100 random layers of
every kind, the autograd function through gradcheck, autograd's input gradient = W^T g, the transposed
conv = the conv's backward pass, and torch sparse CSR tensors."""

import numpy as np
import pytest

import convmtx

pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel lengths",
                                        "ignore:Sparse CSR tensor support is in beta")

MODES = ["zeros", "circular", "reflect", "replicate"]


def random_layer(torch, rng):
    """A random nn.Conv{1,2,3}d or nn.ConvTranspose{1,2,3}d (float64) and an input shape it accepts."""
    nn = torch.nn
    while True:
        r = int(rng.integers(1, 4))
        n = [int(v) for v in rng.integers(2, {1: 9, 2: 6, 3: 4}[r] + 1, size=r)]
        G = int(rng.choice([1, 1, 2]))
        cin, cout = G * int(rng.integers(1, 3)), G * int(rng.integers(1, 3))
        k = tuple(int(v) for v in rng.integers(1, 4, size=r))
        d = tuple(int(v) for v in rng.integers(1, 3, size=r))
        transposed = rng.random() < 0.4
        try:
            if transposed:
                s = tuple(int(v) for v in rng.integers(1, 4, size=r))
                p = tuple(int(rng.integers(0, (kk - 1) * dd + 1)) for kk, dd in zip(k, d))
                op = tuple(int(rng.integers(0, max(ss, dd))) for ss, dd in zip(s, d))
                layer = [nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d][r - 1](
                    cin, cout, k, stride=s, padding=p, output_padding=op, groups=G, dilation=d,
                    bias=bool(rng.random() < 0.5), dtype=torch.float64)
            else:
                mode = MODES[int(rng.integers(0, 4))]
                if rng.random() < 0.25:
                    s, p = 1, str(rng.choice(["same", "valid"]))
                else:
                    s = tuple(int(v) for v in rng.integers(1, 3, size=r))
                    p = tuple(int(rng.integers(0, min(3, nn_))) for nn_ in n)
                layer = [nn.Conv1d, nn.Conv2d, nn.Conv3d][r - 1](
                    cin, cout, k, stride=s, padding=p, dilation=d, groups=G, padding_mode=mode,
                    bias=bool(rng.random() < 0.5), dtype=torch.float64)
            x = torch.randn((1, cin) + tuple(n), dtype=torch.float64)
            layer(x)  # PyTorch must accept the configuration
            return layer, (cin,) + tuple(n)
        except (RuntimeError, ValueError):
            continue


def test_from_module_equals_autograd_jacobian_on_100_layers(torch, rng):
    kinds = set()
    for i in range(100):
        layer, shape = random_layer(torch, rng)
        x = torch.randn((1,) + shape, dtype=torch.float64)
        J = torch.autograd.functional.jacobian(layer, x, vectorize=True)
        out = layer(x)
        J = J.reshape(out.numel(), x.numel()).numpy()
        W = convmtx.from_module(layer, shape)
        assert W.shape == J.shape, (i, layer)
        np.testing.assert_allclose(W.toarray(), J, rtol=0, atol=1e-12, err_msg=f"layer {i}: {layer}")
        A = convmtx.operator_from_module(layer, (1,) + shape)
        np.testing.assert_allclose(A.matvec(x.ravel().numpy()), W @ x.ravel().numpy(), rtol=1e-12, atol=1e-12)
        kinds.add((type(layer).__name__, getattr(layer, "padding_mode", "zeros"),
                   layer.padding if isinstance(layer.padding, str) else "ints", layer.groups > 1))
    # the draw covered every kind of layer, every padding mode, 'same' and groups
    assert {k[0] for k in kinds} == {"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
                                     "ConvTranspose3d"}
    assert {k[1] for k in kinds} == set(MODES)
    assert "same" in {k[2] for k in kinds} and True in {k[3] for k in kinds}


def test_from_module_output_size_and_errors(torch):
    layer = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, dtype=torch.float64)
    x = torch.randn(1, 2, 4, 4, dtype=torch.float64)
    y = layer(x, output_size=(8, 8))
    T = convmtx.from_module(layer, (2, 4, 4), output_size=(8, 8))
    np.testing.assert_allclose(T @ x.ravel().numpy() + np.repeat(layer.bias.detach().numpy(), 64),
                               y.detach().ravel().numpy(), atol=1e-12)
    with pytest.raises(TypeError, match="nn.Conv1d/2d/3d"):
        convmtx.from_module(torch.nn.Linear(3, 3), (3,))
    with pytest.raises(ValueError, match="input_shape=.*2 spatial"):
        convmtx.from_module(layer, (2, 4))
    with pytest.raises(ValueError, match="ConvTranspose"):
        convmtx.from_module(torch.nn.Conv1d(1, 1, 3), (1, 5), output_size=(3,))


def test_tensors_in_tensors_out(torch):
    w = torch.randn(3, 2, 3, 3, dtype=torch.float64, requires_grad=True)  # a parameter: requires_grad
    x = torch.randn(1, 2, 6, 6, dtype=torch.float64)
    y = convmtx.conv(x, w, stride=2, padding=1)
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float64
    ref = torch.nn.functional.conv2d(x, w, stride=2, padding=1).detach()
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-12)
    yt = convmtx.conv_transpose(y, w, stride=2, padding=1, output_padding=1)
    torch.testing.assert_close(yt, torch.nn.functional.conv_transpose2d(y, w, stride=2, padding=1,
                                                                        output_padding=1).detach(), rtol=0, atol=1e-12)
    # numpy and nested lists give numpy
    assert isinstance(convmtx.conv(x.numpy(), w.detach().numpy()), np.ndarray)
    assert isinstance(convmtx.conv(x.numpy().tolist(), w.detach().numpy().tolist()), np.ndarray)
    W = convmtx.conv_matrix((2, 6, 6), w, stride=2, padding=1)  # a requires_grad weight, no error
    np.testing.assert_allclose(W @ x.ravel().numpy(), ref.ravel().numpy(), atol=1e-12)
    A = convmtx.conv_operator((2, 6, 6), w, stride=2, padding=1)
    r = A.matvec(x.ravel())
    assert isinstance(r, torch.Tensor)
    torch.testing.assert_close(r, ref.ravel(), rtol=0, atol=1e-12)
    r32 = A.dtype
    assert r32 == np.float64
    with pytest.raises(ValueError, match="device 'meta'"):
        convmtx.conv(torch.empty(1, 2, 6, 6, device="meta", dtype=torch.float64), w)


def test_weight_tensor_shares_memory(torch):
    from convmtx._tensors import to_numpy

    w = torch.randn(2, 2, 3, dtype=torch.float32, requires_grad=True)
    a = to_numpy(w, "weight")
    assert a.dtype == np.float32 and np.shares_memory(a, w.detach().numpy())


def test_gradcheck_of_conv_matrix_function(torch):
    layer = torch.nn.Conv2d(2, 3, 3, stride=2, padding=1, padding_mode="reflect", groups=1, dtype=torch.float64)
    shape = (2, 5, 6)
    for A in (convmtx.from_module(layer, shape), convmtx.operator_from_module(layer, shape),
              convmtx.operator_from_module(layer, shape, explicit=True)):
        x = torch.randn((2,) + shape, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda v: convmtx.torch.ConvMatrixFunction.apply(v, A), (x,))
    t = torch.nn.ConvTranspose1d(2, 2, 4, stride=3, padding=1, output_padding=2, dtype=torch.float64)
    A = convmtx.operator_from_module(t, (2, 5))
    x = torch.randn(3, 2, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: convmtx.torch.apply(A, v), (x,))
    # the forward values are the layer's (bias excluded)
    torch.testing.assert_close(convmtx.torch.apply(A, x), (t(x) - t.bias[None, :, None]).detach(), rtol=0, atol=1e-12)


def test_autograd_input_gradient_is_w_transpose_and_transposed_conv_is_backward(torch):
    F = torch.nn.functional
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64)
    x = torch.randn(1, 3, 9, 9, dtype=torch.float64, requires_grad=True)
    y = F.conv2d(x, w, stride=2, padding=1)
    g = torch.randn_like(y)
    (grad_x,) = torch.autograd.grad(y, x, g)
    W = convmtx.conv_matrix((3, 9, 9), w, stride=2, padding=1)
    np.testing.assert_allclose(grad_x.ravel().numpy(), W.T @ g.ravel().numpy(), atol=1e-12)
    # the transposed conv with the same weight is that backward pass: T = W^T
    t = F.conv_transpose2d(g, w, stride=2, padding=1, output_padding=0)
    np.testing.assert_allclose(t.ravel().numpy(), grad_x.ravel().numpy(), atol=1e-12)
    T = convmtx.conv_transpose_matrix((4, 5, 5), w, stride=2, padding=1)
    assert abs(T - W.T).max() == 0


def test_to_torch_sparse(torch):
    w = np.random.default_rng(0).standard_normal((2, 3, 3, 3))
    T = convmtx.conv_transpose_matrix((2, 4, 4), w, stride=2, padding=1, output_padding=1)
    S = convmtx.to_torch_sparse(T)
    assert S.layout == torch.sparse_csr and tuple(S.shape) == T.shape and S.dtype == torch.float64
    np.testing.assert_array_equal(S.crow_indices().numpy(), T.indptr)
    np.testing.assert_array_equal(S.col_indices().numpy(), T.indices)
    np.testing.assert_array_equal(S.values().numpy(), T.data)
    np.testing.assert_array_equal(S.to_dense().numpy(), T.toarray())
    assert S.crow_indices().dtype == torch.int32
    S64 = convmtx.to_torch_sparse(convmtx.conv_transpose_matrix((2, 4, 4), w, stride=2, index_dtype=np.int64))
    assert S64.crow_indices().dtype == torch.int64
    A = convmtx.conv_transpose_operator((2, 4, 4), w, stride=2, padding=1, output_padding=1)
    np.testing.assert_array_equal(convmtx.to_torch_sparse(A).to_dense().numpy(), T.toarray())
    with pytest.raises(TypeError, match="scipy.sparse matrix"):
        convmtx.to_torch_sparse(np.eye(3))


def test_three_lines_of_the_docs_run(torch, capsys):
    """docs/python.md's (and the README's, if marked) layer -> W -> check_kernel -> scipy solve, as written."""
    import os
    import re

    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    for name in ("docs/python.md", "README.md"):
        path = os.path.join(root, name)
        text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
        block = re.search(r"<!-- pytorch-three-lines -->\s*```python\n(.*?)```", text, re.S)
        if not block:
            assert name == "README.md", f"{name} has no pytorch-three-lines block"
            continue
        ns = {}
        exec(compile(block.group(1), name, "exec"), ns)
        assert "PASSED" in capsys.readouterr().out, name
        T, x, y = ns["T"], ns["x"], ns["y"]
        assert T.shape == (2048, 1024)
        assert np.linalg.norm(T.T @ (T @ x - y)) < 1e-2 * np.linalg.norm(T.T @ y)


def test_operator_products_return_tensors_in_every_form(torch):
    """newuser F15: A @ tensor, A.H @ tensor and A.dot(tensor) returned numpy while matvec returned a tensor."""
    w = torch.randn(3, 2, 3, 3, dtype=torch.float64)
    A = convmtx.conv_operator((2, 8, 8), w, padding=1)
    x, y, X = (torch.randn(128, dtype=torch.float64), torch.randn(192, dtype=torch.float64),
               torch.randn(128, 4, dtype=torch.float64))
    ref = convmtx.conv_matrix((2, 8, 8), w.numpy(), padding=1)
    for got, want in ((A @ x, ref @ x.numpy()), (A.H @ y, ref.T @ y.numpy()), (A.dot(x), ref @ x.numpy()),
                      (A @ X, ref @ X.numpy()), (A.H @ torch.randn(192, 2, dtype=torch.float64), None),
                      (A.T.dot(y), ref.T @ y.numpy()), (A.matvec(x), ref @ x.numpy())):
        assert isinstance(got, torch.Tensor)
        if want is not None:
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)
    assert isinstance(A @ x.numpy(), np.ndarray)  # numpy in, numpy out
    assert isinstance(A @ X[:, :0], torch.Tensor) and tuple((A @ X[:, :0]).shape) == (192, 0)


def test_to_torch_sparse_products_without_mkl(torch):
    """newuser F15: a CSR tensor times a vector needs MKL (Debian's torch has none); the COO route of
    docs/python.md works on every build, and a CSR tensor times a block works."""
    W = convmtx.conv_matrix((1, 8, 8), np.random.default_rng(0).random((1, 1, 3, 3)))
    Ts = convmtx.to_torch_sparse(W)
    x, X = torch.rand(64, dtype=torch.float64), torch.rand(64, 3, dtype=torch.float64)
    C = Ts.to_sparse_coo()
    for got in (C @ x, torch.mv(C, x), torch.sparse.mm(C, x[:, None])[:, 0]):
        np.testing.assert_allclose(got.numpy(), W @ x.numpy(), rtol=1e-12)
    np.testing.assert_allclose(torch.sparse.mm(C, X).numpy(), W @ X.numpy(), rtol=1e-12)
    np.testing.assert_allclose((Ts @ X).numpy(), W @ X.numpy(), rtol=1e-12)


def test_conv_matrix_function_checks_x_and_a(torch):
    """hostile F42: an empty batch, a column mismatch, a 1-D 'matrix', complex/int/half or NaN x gave torch's
    RuntimeErrors or were accepted; F41: a malformed CSR matrix is refused (test_hostile sweeps them all)."""
    import scipy.sparse as sp
    from convmtx.torch import ConvMatrixFunction

    W = convmtx.conv_matrix((1, 8, 8), np.ones((1, 1, 3, 3)))
    out = ConvMatrixFunction.apply(torch.ones(0, 64, dtype=torch.float64), W)
    assert tuple(out.shape) == (0, 36)
    out = ConvMatrixFunction.apply(torch.ones(0, 1, 8, 8, dtype=torch.float64), convmtx.conv_operator((1, 8, 8), np.ones((1, 1, 3, 3))))
    assert tuple(out.shape) == (0, 1, 6, 6)
    with pytest.raises(ValueError, match=r"x has shape \(64,\): 64 values per sample, but A has 63 columns"):
        ConvMatrixFunction.apply(torch.ones(64, dtype=torch.float64), np.ones((36, 63)))
    with pytest.raises(ValueError, match=r"A has shape \(64,\); a dense matrix must be 2-D"):
        ConvMatrixFunction.apply(torch.ones(64, dtype=torch.float64), np.ones(64))
    for dtype in (torch.complex64, torch.int64, torch.float16):
        with pytest.raises(ValueError, match=rf"x has dtype {dtype}; ConvMatrixFunction takes float32 or float64"):
            ConvMatrixFunction.apply(torch.ones(64, dtype=dtype), W)
    x = torch.ones(64, dtype=torch.float64)
    x[5] = float("nan")
    with pytest.raises(ValueError, match=r"x\[0,5\] = nan: x must be finite"):
        ConvMatrixFunction.apply(x, W)
    with pytest.raises(ValueError, match=r"A has dtype complex128"):
        ConvMatrixFunction.apply(torch.ones(2, dtype=torch.float64), sp.csr_matrix(np.array([[1j, 0]])))
    bad = sp.csr_matrix((3, 64))
    bad.data, bad.indices, bad.indptr = np.ones(3), np.array([0, 1, 500]), np.array([0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"A.indices\[2\] = 500 .* outside \[0, 64\)"):
        ConvMatrixFunction.apply(torch.ones(64, dtype=torch.float64), bad)
