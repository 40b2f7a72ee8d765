"""convmtx.from_keras_config on Keras layer configurations (the dicts layer.get_config() returns; no
TensorFlow needed): matrices written out by hand from Keras's/TensorFlow's documented rules ('same' pads
max((ceil(n/s)-1)s + k_eff - n, 0) with the odd pixel at the end, 'causal' pads d(k-1) before, a transposed
'same' gives n*s, 'valid' n*s + max(k_eff - s, 0)), channels_last against channels_first, and Keras's refusal of
an output_padding not smaller than the stride, in Keras's words."""

import numpy as np
import pytest

import convmtx


def conv1d(**kw):
    cfg = {"name": "conv1d", "filters": 1, "kernel_size": (3,), "strides": (1,), "padding": "valid",
           "data_format": "channels_last", "dilation_rate": (1,), "groups": 1, "use_bias": True}
    cfg.update(kw)
    return cfg


def conv_transpose(rank, **kw):
    cfg = {"name": "t", "filters": 1, "kernel_size": (3,) * rank, "strides": (1,) * rank, "padding": "valid",
           "output_padding": None, "data_format": "channels_last", "dilation_rate": (1,) * rank, "use_bias": False}
    cfg.update(kw)
    return cfg


K123 = np.array([1.0, 2.0, 3.0]).reshape(3, 1, 1)  # Keras kernel (k, in, out)


def test_conv1d_same_stride2_by_hand():
    # n=4, k=3, s=2: 2 outputs, total padding (2-1)*2 + 3 - 4 = 1, all of it at the end (TensorFlow)
    W = convmtx.from_keras_config(conv1d(strides=(2,), padding="same"), K123, (4, 1))
    np.testing.assert_array_equal(W.toarray(), [[1, 2, 3, 0], [0, 0, 1, 2]])
    # k=2: no padding
    W = convmtx.from_keras_config(conv1d(kernel_size=(2,), strides=(2,), padding="same"),
                                  np.array([1.0, 2.0]).reshape(2, 1, 1), (4, 1))
    np.testing.assert_array_equal(W.toarray(), [[1, 2, 0, 0], [0, 0, 1, 2]])


def test_conv1d_causal_dilated_by_hand():
    # y[t] = w0 x[t-2] + w1 x[t] (d(k-1) = 2 zeros before the input)
    W = convmtx.from_keras_config(conv1d(kernel_size=(2,), padding="causal", dilation_rate=(2,)),
                                  np.array([5.0, 7.0]).reshape(2, 1, 1), (None, 4, 1))
    np.testing.assert_array_equal(W.toarray(), [[7, 0, 0, 0], [0, 7, 0, 0], [5, 0, 7, 0], [0, 5, 0, 7]])


def test_conv1d_transpose_by_hand():
    # out[2i + t] += x[i] w[t]: 'valid' keeps 2*2 + max(3-2, 0) = 5 outputs, 'same' the first 2*2 = 4
    cfg = conv_transpose(1, kernel_size=(3,), strides=(2,))
    W = convmtx.from_keras_config(cfg, K123, (2, 1))
    np.testing.assert_array_equal(W.toarray(), [[1, 0], [2, 0], [3, 1], [0, 2], [0, 3]])
    W = convmtx.from_keras_config(dict(cfg, padding="same"), K123, (2, 1))
    np.testing.assert_array_equal(W.toarray(), [[1, 0], [2, 0], [3, 1], [0, 2]])
    # Keras's output_padding=1 with 'valid': n = (m-1)s + k + a = 2 + 3 + 1 = 6
    W = convmtx.from_keras_config(dict(cfg, output_padding=(1,)), K123, (2, 1))
    np.testing.assert_array_equal(W.toarray(), [[1, 0], [2, 0], [3, 1], [0, 2], [0, 3], [0, 0]])


def test_transposed_shapes():
    k = np.ones((3, 3, 2, 4))  # Conv2DTranspose kernel (kh, kw, filters, in)
    for padding, out in (("same", (10, 14)), ("valid", (11, 15))):
        W = convmtx.from_keras_config(conv_transpose(2, filters=2, strides=(2, 2), padding=padding), k, (5, 7, 4))
        assert W.shape == (out[0] * out[1] * 2, 5 * 7 * 4)


def test_keras_output_padding_rule_in_keras_words():
    # the example: stride 8, output_padding 8, 'same' (without the rule: a 368 x 489 output)
    cfg = conv_transpose(2, kernel_size=(3, 3), strides=(8, 8), padding="same", output_padding=(8, 8))
    with pytest.raises(ValueError, match=r"output_padding=\(8, 8\).*Strides must be greater than output padding\. "
                                         r"Received strides=\(8, 8\), output_padding=\(8, 8\)"):
        convmtx.from_keras_config(cfg, np.ones((3, 3, 1, 1)), (46, 61, 1))
    # the library's Keras convention refuses it too, naming the value and Keras's rule
    with pytest.raises(ValueError, match=r"output_padding.*=8 must be smaller than stride.*Keras"):
        convmtx.conv_transpose_matrix((1, 46, 61), np.ones((1, 1, 3, 3)), stride=8, padding="same",
                                      output_padding=8, convention="keras")


def test_channels_last_and_first(rng):
    kernel = rng.standard_normal((3, 2, 2, 4))  # (kh, kw, in/groups, filters), groups 2
    cfg = {"filters": 4, "kernel_size": (3, 2), "strides": (2, 1), "padding": "same", "dilation_rate": (1, 1),
           "groups": 2, "data_format": "channels_last"}
    x_last = rng.standard_normal((7, 5, 4))  # (H, W, C)
    W_last = convmtx.from_keras_config(cfg, [kernel, np.zeros(4)], x_last.shape)
    W_first = convmtx.from_keras_config(dict(cfg, data_format="channels_first"), kernel, (4, 7, 5))
    y_first = (W_first @ np.moveaxis(x_last, -1, 0).ravel()).reshape(4, 4, 5)
    np.testing.assert_allclose(W_last @ x_last.ravel(), np.moveaxis(y_first, 0, -1).ravel(), atol=1e-12)
    # and channels_first equals convmtx's Keras convention on the PyTorch layout
    y = convmtx.conv(np.moveaxis(x_last, -1, 0), convmtx.from_keras_conv(kernel), stride=(2, 1), padding="same",
                     groups=2, convention="keras")
    np.testing.assert_allclose(y_first, y, atol=1e-12)


def test_serialized_form_and_contradictions():
    cfg = {"class_name": "Conv1DTranspose", "config": conv_transpose(1, strides=(2,))}
    del cfg["config"]["output_padding"]
    W = convmtx.from_keras_config(cfg, [K123, np.zeros(1)], (2, 1))
    assert W.shape == (5, 2)
    with pytest.raises(ValueError, match=r"kernel_size=\(5,\) in the config contradicts the kernel of shape \(3, 1, 1\)"):
        convmtx.from_keras_config(conv1d(kernel_size=(5,)), K123, (4, 1))
    with pytest.raises(ValueError, match="filters=2 in the config contradicts"):
        convmtx.from_keras_config(conv1d(filters=2), K123, (4, 1))
    with pytest.raises(ValueError, match="padding='full'"):
        convmtx.from_keras_config(conv1d(padding="full"), K123, (4, 1))
    with pytest.raises(ValueError, match="data_format='nhwc'"):
        convmtx.from_keras_config(conv1d(data_format="nhwc"), K123, (4, 1))


def test_channel_mismatch_is_worded_in_keras_terms():
    """newuser F16: an input given channels-first to a channels_last layer got "weight shape (4, 2, 3, 3) has
    in_channels=4 ..." (PyTorch's layout of a kernel the user never wrote); the message quotes the user's
    input_shape and Keras kernel and says how the shape was read."""
    k = np.random.default_rng(0).random((3, 3, 2, 4))
    ct = {"class_name": "Conv2DTranspose", "config": {"filters": 2, "kernel_size": [3, 3], "strides": [2, 2],
                                                      "padding": "same", "data_format": "channels_last",
                                                      "use_bias": False}}
    with pytest.raises(ValueError, match=r"^input_shape \(4, 8, 8\) read as channels_last \(H, W, C\): C=8, but the "
                                         r"kernel \(3, 3, 2, 4\) expects C_in=4 \(its last axis\); for channels-first "
                                         r"data set data_format='channels_first'$"):
        convmtx.from_keras_config(ct, [k], (4, 8, 8))
    assert convmtx.from_keras_config(ct, [k], (8, 8, 4)).shape == (512, 256)
    cfg = {"filters": 4, "kernel_size": [3, 3], "groups": 2, "data_format": "channels_first"}
    with pytest.raises(ValueError, match=r"input_shape \(8, 8, 4\) read as channels_first \(C, H, W\): C=8, but the "
                                         r"kernel \(3, 3, 2, 4\) expects C_in=4 \(its axis 2 \(C_in/groups\) times "
                                         r"groups=2\); for channels-last data set data_format='channels_last'"):
        convmtx.from_keras_config(cfg, k, (8, 8, 4))
    with pytest.raises(ValueError, match=r"input_shape \(8, 3\) read as channels_last \(\*n, C\): C=3, but the kernel "
                                         r"\(3, 1, 1\) expects C_in=1"):
        convmtx.from_keras_config(conv1d(), K123, (8, 3))
