"""Every validation rule reaches Python as ValueError (the C++ ones with the C++ message, as the
subclasses ConfigError / ShapeError / IndexOverflowError), wrong array dtypes as TypeError, and
no bad argument crashes the interpreter."""

import re

import numpy as np
import pytest

import convmtx
from convmtx import _core

X = np.ones((1, 1, 6))
W = np.ones((2, 1, 3))  # conv: C_out=2, C_in=1, k=3
WT = np.ones((1, 2, 3))  # transposed: C_in=1, C_out=2, k=3


def raises(exc, message, fn, *args, **kwargs):
    """fn(*args, **kwargs) raises exc whose message is exactly `message` (or matches a compiled regex)."""
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    text = str(info.value)
    if isinstance(message, re.Pattern):
        assert message.search(text), text
    else:
        assert text == message
    return info.value


# ---- C++ validation rules: ValueError with the core's message ------------------------------------

CONV_RULES = [
    (dict(stride=0), "stride[0]=0 must be positive"),
    (dict(dilation=0), "dilation[0]=0 must be positive"),
    (dict(padding=-1), "padding_lo[0]=-1 must be non-negative"),
    (dict(padding=((0, -2),)), "padding_hi[0]=-2 must be non-negative"),
    (dict(stride=(1, 2)), "stride has 2 values (1, 2); expected 1 or 1 (one per spatial dimension)"),
    (dict(dilation=(1, 1, 1)), "dilation has 3 values (1, 1, 1); expected 1 or 1 (one per spatial dimension)"),
    (dict(padding=(1, 1)), "padding has 2 values (1, 1); expected 1 or 1 (one per spatial dimension)"),
    (dict(groups=0), "groups=0 must be positive"),
    (dict(padding="same", stride=2),
     "padding='same' requires stride 1 in PyTorch, but stride[0]=2; use the Keras convention for strided 'same'"),
    (dict(padding_mode="wrap"), "padding_mode='wrap' must be one of 'zeros', 'circular', 'reflect', 'replicate'"),
    (dict(padding_mode="reflect", padding=6), "padding[0]=6:6 must be smaller than input_size[0]=6 for padding_mode='reflect'"),
    (dict(padding_mode="circular", padding=7),
     "padding[0]=7:7 must not exceed input_size[0]=6 for padding_mode='circular' (it would wrap around more than once)"),
    (dict(convention="tf"), "convention='tf' must be one of 'torch', 'keras', 'mxnet'"),
    (dict(dilation=3), "output_size[0]=0 must be at least 1: input_size[0]=6 plus padding 0+0 is smaller than the dilated "
                       "kernel dilation*(kernel_size-1)+1=7"),
    (dict(groups=2), "weight shape (2, 1, 3) has in_channels/groups=1, so with groups=2 it needs 2 input channels, "
                     "but the input has in_channels=1"),
]


@pytest.mark.parametrize("kwargs,message", CONV_RULES)
def test_conv_rules(kwargs, message):
    for method in ["matrix", "direct"]:
        raises(ValueError, message, convmtx.conv, X, W, method=method, **kwargs)
    raises(ValueError, message, convmtx.conv_matrix, X.shape[1:], W, **kwargs)
    raises(ValueError, message, convmtx.conv_spec, X.shape[1:], W.shape, **kwargs)


TRANSPOSE_RULES = [
    (dict(stride=2, output_padding=2), "output_padding[0]=2 must be smaller than stride[0]=2 or dilation[0]=1"),
    (dict(output_padding=-1), "output_padding[0]=-1 must be non-negative"),
    (dict(stride=0), "stride[0]=0 must be positive"),
    (dict(dilation=0), "dilation[0]=0 must be positive"),
    (dict(padding=-1), "padding_lo[0]=-1 must be non-negative"),
    (dict(stride=2, output_size=(20,)),
     "output_size[0]=20 must be between 13 and 14 (output_padding 0..1 with stride[0]=2)"),
    (dict(stride=2, output_size=(13,), output_padding=1),
     "output_padding=(1) contradicts output_size=(13), which needs output_padding=(0)"),
    (dict(stride=2, output_size=(1, 2, 13, 1)),
     "output_size has 4 entries (1, 2, 13, 1); expected 1 spatial sizes (optionally preceded by N, C)"),
    (dict(padding="same"), "padding='same' is not defined for PyTorch's conv_transpose; use the Keras convention "
                           "(output length input*stride) or explicit padding"),
    (dict(padding=5), "output_size[0]=-2 must be at least 1: (input_size-1)*stride - padding_lo - padding_hi + "
                      "dilation*(kernel_size-1) + output_padding + 1 = (6-1)*1 - 5 - 5 + 2 + 0 + 1"),
    (dict(output_size=(8,), padding="same", convention="keras"),
     "output_size is a PyTorch argument; with the Keras convention give output_padding"),
    (dict(groups=2), "in_channels=1 must be divisible by groups=2"),
    (dict(convention="caffe"), "convention='caffe' must be one of 'torch', 'keras', 'mxnet'"),
]


@pytest.mark.parametrize("kwargs,message", TRANSPOSE_RULES)
def test_conv_transpose_rules(kwargs, message):
    for method in ["matrix", "scatter", "gather"]:
        raises(ValueError, message, convmtx.conv_transpose, X, WT, method=method, **kwargs)
    raises(ValueError, message, convmtx.conv_transpose_matrix, X.shape[1:], WT, **kwargs)
    raises(ValueError, message, convmtx.conv_transpose_matrix, X.shape[1:], WT, adjoint=True, **kwargs)


def test_error_classes_are_value_errors():
    for cls in (convmtx.ConfigError, convmtx.ShapeError, convmtx.IndexOverflowError):
        assert issubclass(cls, ValueError)
    e = raises(ValueError, "stride[0]=0 must be positive", convmtx.conv, X, W, stride=0)
    assert isinstance(e, convmtx.ConfigError)


def test_shape_errors():
    e = raises(ValueError, "weight shape (2, 1, 3) has in_channels/groups=1, so with groups=1 it needs 1 input "
                           "channels, but the input has in_channels=2", convmtx.conv, np.ones((2, 6)), W)
    assert isinstance(e, convmtx.ShapeError)
    raises(convmtx.ShapeError, "weight shape (1, 2, 3) has in_channels=1 in its first axis, but the input has "
                               "in_channels=3", convmtx.conv_transpose, np.ones((3, 6)), WT)
    raises(convmtx.ShapeError, "input_shape (1, 6, 6) has 3 entries; the weight implies 1 spatial dimensions, so "
                               "expected (C_in, 1 spatial sizes)", convmtx.conv_matrix, (1, 6, 6), W)
    raises(ValueError, "kernel_size[0]=0 must be positive", convmtx.conv, X, np.ones((2, 1, 0)))
    raises(ValueError, "input_size[0]=0 must be positive", convmtx.conv, np.ones((1, 1, 0)), W)


def test_method_errors():
    raises(ValueError, "method='fft' must be one of 'matrix', 'direct' for conv", convmtx.conv, X, W, method="fft")
    raises(ValueError, "method='direct' must be one of 'matrix', 'scatter', 'gather' for conv_transpose",
           convmtx.conv_transpose, X, WT, method="direct")
    raises(ValueError, "method='scatter' must be one of 'matrix', 'direct' for conv", convmtx.conv, X, W,
           method="scatter")


def test_index_overflow_is_reported_before_allocating():
    e = raises(ValueError, "conv_matrix W: rows=2500000000 exceeds the 32-bit storage index (max 2147483647); build "
                           "with a 64-bit StorageIndex (std::int64_t, index_dtype=np.int64)",
               convmtx.conv_matrix, (1, 50000, 50000), np.ones((1, 1, 1, 1)))
    assert isinstance(e, convmtx.IndexOverflowError)
    raises(ValueError, re.compile(r"overflows a 64-bit integer"), convmtx.conv_spec, (1, 2 ** 40, 2 ** 40),
           (1, 1, 1, 1))


# ---- Python-side argument checks -------------------------------------------------------------------

def test_dtype_errors():
    raises(TypeError, "x has dtype int64; expected float32 or float64 (convert it, e.g. x.astype(np.float64))",
           convmtx.conv, X.astype(np.int64), W)
    raises(TypeError, "weight has dtype int32; expected float32 or float64 (convert it, e.g. "
                      "weight.astype(np.float64))", convmtx.conv, X, W.astype(np.int32))
    raises(TypeError, re.compile("weight has dtype float16"), convmtx.conv_matrix, (1, 6), W.astype(np.float16))
    raises(TypeError, re.compile("x has dtype complex128"), convmtx.conv_transpose, X.astype(complex), WT)
    raises(TypeError, re.compile("weight has dtype <U3"), convmtx.conv, X, "abc")
    raises(TypeError, re.compile("weight has dtype int64"), convmtx.conv, X, [[[1, 2, 3]]])
    raises(TypeError, "x has dtype float32 but weight has dtype float64; both must be float32 or both float64",
           convmtx.conv, X.astype(np.float32), W)
    raises(TypeError, "x has dtype float64 but weight has dtype float32; both must be float32 or both float64",
           convmtx.conv_transpose, X, WT.astype(np.float32))
    raises(TypeError, "bias has dtype float32 but weight has dtype float64; they must match",
           convmtx.conv, X, W, np.ones(2, np.float32))
    raises(TypeError, re.compile("bias has dtype int64"), convmtx.conv, X, W, np.ones(2, np.int64))
    # lists of floats are accepted as float64
    np.testing.assert_array_equal(convmtx.conv([[1.0, 2.0, 3.0]], [[[1.0]]]), [[1.0, 2.0, 3.0]])


def test_rank_and_shape_errors():
    raises(ValueError, "weight has ndim=2 (shape (2, 3)); expected (C_out, C_in/groups, *kernel) with 1 to 3 "
                       "spatial dimensions, i.e. ndim 3 to 5", convmtx.conv, X, np.ones((2, 3)))
    raises(ValueError, re.compile(r"weight has ndim=6 .* expected \(C_in, C_out/groups, \*kernel\)"),
           convmtx.conv_transpose, X, np.ones((1, 1, 1, 1, 1, 1)))
    raises(ValueError, "x has ndim=4 (shape (1, 1, 1, 6)) but the weight (ndim=3) implies 1 spatial dimension(s): "
                       "expected (C, *spatial) with ndim=2 or (N, C, *spatial) with ndim=3",
           convmtx.conv, np.ones((1, 1, 1, 6)), W)
    raises(ValueError, re.compile(r"x has ndim=1 \(shape \(6,\)\)"), convmtx.conv_transpose, np.ones(6), WT)
    raises(ValueError, re.compile(r"x has ndim=0"), convmtx.conv, np.float64(1.0), W)
    raises(ValueError, "bias has shape (3,); expected (out_channels,) = (2,)", convmtx.conv, X, W, np.ones(3))
    raises(ValueError, "bias has shape (1, 2); expected (out_channels,) = (2,)", convmtx.conv, X, W,
           np.ones((1, 2)))
    raises(ValueError, "bias has shape (1,); expected (out_channels,) = (2,)", convmtx.conv_transpose, X, WT,
           np.ones(1))


@pytest.mark.parametrize("name,value,message", [
    ("stride", 1.5, "stride=1.5 must be an int or a tuple of ints"),
    ("stride", None, "stride=None must be an int or a tuple of ints"),
    ("stride", True, "stride=True must be an int or a tuple of ints"),
    ("dilation", "2", "dilation='2' must be an int or a tuple of ints"),
    ("dilation", (1, 2.0), "dilation=(1, 2.0) must be an int or a tuple of ints"),
    ("groups", 1.0, "groups=1.0 must be an int"),
    ("padding", 1.0, "padding=1.0 must be 'same', 'valid', an int, a tuple of ints (one per dimension) or a tuple "
                     "of (lo, hi) pairs (one per dimension)"),
    ("padding", ((1, 2, 3),), "padding=((1, 2, 3),) must be 'same', 'valid', an int, a tuple of ints (one per "
                              "dimension) or a tuple of (lo, hi) pairs (one per dimension)"),
])
def test_argument_type_errors(name, value, message):
    raises(TypeError, message, convmtx.conv, X, W, **{name: value})


def test_argument_value_errors():
    raises(ValueError, "padding='full' must be 'same', 'valid', an int, a tuple of ints (one per dimension) or a "
                       "tuple of (lo, hi) pairs (one per dimension)", convmtx.conv, X, W, padding="full")
    raises(ValueError, "stride value 1180591620717411303424 does not fit in a 64-bit integer", convmtx.conv, X, W,
           stride=2 ** 70)
    raises(ValueError, "index_dtype=int16 must be np.int32 or np.int64", convmtx.conv_matrix, (1, 6), W,
           index_dtype=np.int16)
    raises(TypeError, "index_dtype='foo' must be np.int32 or np.int64", convmtx.conv_matrix, (1, 6), W,
           index_dtype="foo")
    raises(ValueError, "format='coo' must be 'csr' or 'csc'", convmtx.conv_transpose_matrix, (1, 6), WT,
           format="coo")
    with pytest.raises(TypeError):
        convmtx.conv_transpose(X, WT, padding_mode="reflect")  # PyTorch has no padding_mode here either


def test_weight_layout_errors():
    raises(ValueError, "from_layout='caffe' must be one of 'torch_conv', 'torch_transposed', 'mxnet_transposed', "
                       "'keras_conv', 'keras_transposed'", convmtx.convert_weight, W, "caffe", "torch_conv")
    raises(ValueError, "weight has ndim=2 (shape (2, 3)); a keras_conv weight has 2 channel axes and 1 to 3 kernel "
                       "axes", convmtx.from_keras_conv, np.ones((2, 3)))


# ---- the internal extension never crashes on bad arrays ------------------------------------------

def test_core_rejects_bad_arrays():
    spec = convmtx.conv_spec((1, 6), (2, 1, 3))
    raises(ValueError, "input has 5 values per sample; the configuration needs 6 = prod(1x6)",
           _core.apply, spec, W, np.ones((1, 5)), None, "matrix")
    raises(ValueError, "weight has 4 values; expected 6", _core.apply, spec, np.ones((2, 1, 2)), np.ones((1, 6)),
           None, "direct")
    raises(TypeError, "input has dtype float32; expected float64 like the weight", _core.apply, spec, W,
           np.ones((1, 6), np.float32), None, "matrix")
    raises(ValueError, "input must be C-contiguous (internal call)", _core.apply, spec, W,
           np.ones((6, 2))[:, :1].T, None, "matrix")
    raises(ValueError, "bias has 3 values; expected 2", _core.apply, spec, W, np.ones((1, 6)), np.ones(3), "matrix")
    raises(TypeError, "weight has dtype int64; expected float32 or float64", _core.build_matrix, spec,
           np.ones((2, 1, 3), np.int64), False, False, False, False)
    raises(ValueError, "x must be 2-D (N, C_in*prod(input)) (internal call)", _core.apply, spec, W, np.ones(6),
           None, "matrix")


# ---- memory limit of the matrix builders ---------------------------------------------------------

def test_memory_limit_refuses_before_allocating():
    w = np.ones((1, 1, 3, 3))
    M = convmtx.conv_matrix((1, 100, 100), w)
    # float64 values, int32 indices, indptr, and the tap tables: 24 (m k + n + m) bytes per dimension
    need = M.nnz * (8 + 4) + (M.shape[0] + 1) * 4 + 2 * 24 * (98 * 3 + 100 + 98)
    assert convmtx.conv_matrix((1, 100, 100), w, memory_limit=need).nnz == M.nnz
    with pytest.raises(MemoryError, match=r"entries and their index tables need .* more than the memory limit"):
        convmtx.conv_matrix((1, 100, 100), w, memory_limit=need - 1)
    with pytest.raises(MemoryError, match="memory limit"):
        convmtx.conv_transpose_matrix((1, 50, 50), w, stride=2, memory_limit=1000)
    # The default limit is the physical memory: 8e11 entries are refused, not attempted.
    with pytest.raises(MemoryError, match="physical memory"):
        convmtx.conv_matrix((1, 100000, 100000), np.ones((1, 1, 9, 9)), index_dtype=np.int64)
    for bad in (0, -5, "1G", True):
        with pytest.raises(ValueError, match="memory_limit="):
            convmtx.conv_matrix((1, 10, 10), w, memory_limit=bad)
