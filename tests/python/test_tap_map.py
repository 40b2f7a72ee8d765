"""convmtx.tap_map, convmtx.tap_lists, convmtx.output_terms and convmtx.input_terms against references
independent of the tap tables: the operation computed by the direct kernels (convmtx.conv with
method="direct" / conv_transpose with method="scatter") with one-hot weights on one-hot inputs, and
the matrix's own values."""

import numpy as np
import pytest

import convmtx


def random_spec(rng):
    """A random valid 1-D or 2-D configuration, conv (any padding mode) or transposed conv."""
    while True:
        rank = int(rng.integers(1, 3))
        transposed = bool(rng.integers(2))
        groups = int(rng.choice([1, 2]))
        c_in, c_out = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
        k = tuple(int(v) for v in rng.integers(1, 4, rank))
        n = tuple(int(v) for v in rng.integers(2, 6, rank))
        args = dict(stride=int(rng.integers(1, 3)), padding=int(rng.integers(0, 3)), dilation=int(rng.integers(1, 3)),
                    groups=groups)
        try:
            if transposed:
                args["output_padding"] = int(rng.integers(0, args["stride"]))
                spec = convmtx.conv_transpose_spec((c_in, *n), (c_in, c_out // groups, *k), **args)
            else:
                args["padding_mode"] = str(rng.choice(["zeros", "circular", "reflect", "replicate"]))
                spec = convmtx.conv_spec((c_in, *n), (c_out, c_in // groups, *k), **args)
            return spec, args
        except ValueError:
            continue


def dense_of_tap(spec, args, tap):
    """The operation's dense matrix with the one-hot weight of `tap`, by the direct kernel on unit inputs:
    entry (r, c) counts how often tap `tap` adds x[c] into y[r]."""
    w = np.zeros(int(np.prod(spec.weight_shape)))
    w[tap] = 1.0
    w = w.reshape(spec.weight_shape)
    eye = np.eye(spec.input_numel).reshape((spec.input_numel, *spec.input_shape))
    if spec.transposed:
        y = convmtx.conv_transpose(eye, w, method="scatter", **args)
    else:
        y = convmtx.conv(eye, w, method="direct", **args)
    return y.reshape(spec.input_numel, -1).T


@pytest.mark.parametrize("case", range(12))
def test_tap_lists_and_tap_map_match_one_hot_kernels(rng, case):
    spec, args = random_spec(rng)
    build = convmtx.conv_transpose_matrix if spec.transposed else convmtx.conv_matrix
    w = rng.standard_normal(spec.weight_shape)
    M = build(spec.input_shape, w, index_dtype=np.int64, **args)
    offsets, taps = convmtx.tap_lists(spec, spec.transposed)
    tap_map = convmtx.tap_map(spec, spec.transposed)
    assert offsets.dtype == np.int64 and taps.dtype == np.int64 and tap_map.dtype == np.int64
    assert offsets.shape == (M.nnz + 1,) and taps.shape == (offsets[-1],) and tap_map.shape == (M.nnz,)
    # Each entry's value is the sum of the weights of its taps, in storage order.
    np.testing.assert_allclose(np.add.reduceat(w.ravel()[taps], offsets[:-1]), M.data, rtol=1e-12, atol=1e-12)
    # The tap map names the single tap, -1 where several fold into the entry.
    counts = np.diff(offsets)
    assert np.array_equal(tap_map, np.where(counts == 1, taps[np.minimum(offsets[:-1], len(taps) - 1)], -1))
    # The taps of every entry are exactly those whose one-hot weight reaches it in the direct kernel.
    rows = np.repeat(np.arange(M.shape[0]), np.diff(M.indptr))
    listed = {}
    for e in range(M.nnz):
        for t in taps[offsets[e]:offsets[e + 1]]:
            listed[(rows[e], M.indices[e], int(t))] = listed.get((rows[e], M.indices[e], int(t)), 0) + 1
    direct = {}
    for t in range(int(np.prod(spec.weight_shape))):
        D = dense_of_tap(spec, args, t)
        for r, c in zip(*np.nonzero(D)):
            direct[(r, c, t)] = int(round(D[r, c]))
    assert listed == direct, spec.describe()


@pytest.mark.parametrize("case", range(8))
def test_output_and_input_terms_give_the_rows_and_columns(rng, case):
    spec, args = random_spec(rng)
    build = convmtx.conv_transpose_matrix if spec.transposed else convmtx.conv_matrix
    w = rng.standard_normal(spec.weight_shape)
    M = build(spec.input_shape, w, **args).toarray()
    wf = w.ravel()
    for r in range(M.shape[0]):
        row = np.zeros(M.shape[1])
        for term in convmtx.output_terms(spec, r):
            assert term.output_flat == r and term.output_index == np.unravel_index(r, spec.output_shape)
            assert term.input_index == np.unravel_index(term.input_flat, spec.input_shape)
            assert term.weight_flat == np.ravel_multi_index(term.weight_index, spec.weight_shape)
            row[term.input_flat] += wf[term.weight_flat]
        np.testing.assert_allclose(row, M[r], rtol=0, atol=1e-12)
    for c in range(M.shape[1]):
        col = np.zeros(M.shape[0])
        for term in convmtx.input_terms(spec, c):
            assert term.input_flat == c
            col[term.output_flat] += wf[term.weight_flat]
        np.testing.assert_allclose(col, M[:, c], rtol=0, atol=1e-12)


def test_terms_describe_padding_folds():
    # reflect padding 1 on a 1-D input of 3: output 0's tap 0 reads padded position -1, input 1.
    spec = convmtx.conv_spec((1, 3), (1, 1, 3), padding=1, padding_mode="reflect")
    terms = convmtx.output_terms(spec, 0)
    assert sorted((t.input_flat, t.weight_flat, t.padded_position, t.folded) for t in terms) == [
        (0, 1, (0,), False), (1, 0, (-1,), True), (1, 2, (1,), False)]
    assert "(folded)" in repr(next(t for t in terms if t.folded))
    offsets, taps = convmtx.tap_lists(spec)
    assert taps[offsets[1]:offsets[2]].tolist() == [0, 2]  # entry (0, 1): taps 0 and 2 fold onto input 1
    assert convmtx.tap_map(spec)[1] == -1


def test_errors():
    spec = convmtx.conv_spec((1, 4, 4), (2, 1, 3, 3))
    with pytest.raises(ValueError, match="outside"):
        convmtx.output_terms(spec, spec.output_numel)
    with pytest.raises(ValueError, match="outside"):
        convmtx.input_terms(spec, -1)
    with pytest.raises(TypeError):
        convmtx.tap_map((1, 4, 4))
