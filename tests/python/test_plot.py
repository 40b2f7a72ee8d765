"""convmtx.plot: each picture rendered to PNG (size checked) and its content compared with an independent
computation: tap colours against W built with weights 1..K (entry value - 1 = flat weight index), channel
colours against the block of each entry, values against the matrix, overlap counts against PyTorch's
conv_transpose of ones, footprints against the dense W row, montage metrics against skimage."""

import io

import numpy as np
import pytest

import convmtx
from conftest import import_optional, needs, require_module

matplotlib = import_optional("matplotlib")
pytestmark = needs(matplotlib, "convmtx.plot draws with matplotlib (Debian: python3-matplotlib)")
if matplotlib is not None:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from convmtx import plot


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def render(fig, fmt="png", dpi=50):
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)
    return buf.getvalue()


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def image_of(ax):
    (im,) = ax.get_images()
    return np.ma.filled(im.get_array().astype(float), np.nan)


def legend_labels(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def colorbar(ax):
    """The colour bar of the Axes' image (None without one); the figure has exactly one colour bar axes."""
    cb = ax.get_images()[0].colorbar
    assert cb is not None and [a for a in ax.figure.axes if a.get_label() == "<colorbar>"] == [cb.ax]
    return cb


def test_spy_taps_against_values():
    spec = convmtx.conv_spec((2, 5, 5), (3, 2, 3, 3), stride=2, padding=1)
    ax = plot.spy(spec)
    w, h = png_size(render(ax.figure))
    assert (w, h) == (320, 240)  # 6.4 x 4.8 inches at 50 dpi
    W = convmtx.conv_matrix((2, 5, 5), np.arange(1.0, 55.0).reshape(3, 2, 3, 3), stride=2, padding=1).toarray()
    img = image_of(ax)
    assert img.shape == W.shape
    expected = np.where(W > 0, (W - 1) % 9, np.nan)
    np.testing.assert_array_equal(img, expected)
    assert ax.get_xlabel().startswith("column = input index") and ax.get_ylabel().startswith("row = output index")
    assert legend_labels(ax) == [f"tap ({i},{j})" for i in range(3) for j in range(3)]
    outlines = [line for line in ax.get_lines() if line.get_gid() == "block-outline"]
    assert len(outlines) == (3 - 1) + (2 - 1)
    # Integer indices on the main axes; the channel blocks named at their centres on the second axes.
    ax.figure.canvas.draw()
    assert all(float(t.get_text().replace("\u2212", "-")).is_integer() for t in ax.get_yticklabels() + ax.get_xticklabels()
               if t.get_text())
    assert np.all(np.asarray(ax.get_yticks()) == np.round(ax.get_yticks()))
    sec = {a.get_gid(): a for a in ax.child_axes}
    assert [t.get_text() for t in sec["channel-y"].get_yticklabels()] == ["c0", "c1", "c2"]
    assert [t.get_text() for t in sec["channel-x"].get_xticklabels()] == ["c0", "c1"]
    np.testing.assert_array_equal(sec["channel-y"].get_yticks(), [4, 13, 22])  # blocks of 9 rows: centres 4, 13, 22
    assert ax.get_title() == f"W: 27 x 50, {np.count_nonzero(W)} entries"


def test_spy_folded_taps_are_black_and_listed():
    spec = convmtx.conv_spec((1, 4), (1, 1, 3), padding=1, padding_mode="reflect")
    ax = plot.spy(spec)
    offsets, _ = convmtx.tap_lists(spec)
    folded = np.diff(offsets) > 1
    assert folded.any()
    assert "folded taps" in legend_labels(ax)
    img = image_of(ax)
    M = convmtx.conv_matrix((1, 4), np.ones((1, 1, 3)), padding=1, padding_mode="reflect")
    rows = np.repeat(np.arange(4), np.diff(M.indptr))
    np.testing.assert_array_equal(img[rows[folded], M.indices[folded]], 3)


def test_spy_transposed_region_and_channels():
    spec = convmtx.conv_transpose_spec((2, 3, 3), (2, 2, 4, 4), stride=2, padding=1)
    T = convmtx.conv_transpose_matrix((2, 3, 3), np.ones((2, 2, 4, 4)), stride=2, padding=1).toarray()
    ax = plot.spy(spec, color_by="channel", region=((10, 60), (5, 15)))
    img = image_of(ax)
    assert img.shape == (50, 10)
    rr, cc = np.nonzero(T[10:60, 5:15])
    np.testing.assert_array_equal(img[rr, cc], ((rr + 10) // 36) * 2 + (cc + 5) // 9)
    assert np.isnan(img[T[10:60, 5:15] == 0]).all()
    assert ax.get_xlim() == (4.5, 14.5) and ax.get_ylim() == (59.5, 9.5)
    assert ax.get_title().startswith("T: 72 x 18")
    assert set(legend_labels(ax)) <= {f"out c{o} / in c{i}" for o in range(2) for i in range(2)}


def test_spy_matrix_by_value_with_colorbar_and_svg():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((7, 9)) * (rng.random((7, 9)) < 0.4)
    ax = plot.spy(A, color_by="value")
    img = image_of(ax)
    np.testing.assert_array_equal(np.nan_to_num(img, nan=0.0), A)
    assert colorbar(ax).ax.get_ylabel() == "entry value"
    svg = render(ax.figure, "svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert render(ax.figure, "pdf")[:5] == b"%PDF-"


@pytest.mark.parametrize("kwargs, message", [
    (dict(color_by="taps"), "color_by='taps' must be"),
    (dict(region=((0, 99), (0, 2))), "region: rows=(0, 99) must satisfy 0 <= start < stop <= 4"),
    (dict(region=((3, 3), (0, 2))), "region: rows=(3, 3)"),
    (dict(region=(1, 2, 3)), "must be ((r0, r1), (c0, c1))"),
])
def test_spy_errors(kwargs, message):
    spec = convmtx.conv_spec((1, 3, 3), (1, 1, 2, 2))
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        plot.spy(spec, **kwargs)


def test_spy_of_matrix_needs_value_colouring():
    with pytest.raises(ValueError, match="color_by='tap' needs a configuration"):
        plot.spy(np.eye(3))


@pytest.mark.parametrize("k, even", [(3, False), (4, True)])
def test_overlap_counts_against_torch(torch, k, even):
    spec = convmtx.conv_transpose_spec((1, 6, 6), (1, 1, k, k), stride=2)
    counts = plot.overlap_counts(spec)
    ref = torch.nn.functional.conv_transpose2d(torch.ones(1, 1, 6, 6, dtype=torch.float64),
                                               torch.ones(1, 1, k, k, dtype=torch.float64), stride=2)
    np.testing.assert_array_equal(counts, ref[0, 0].numpy().astype(np.int64))
    ax = plot.overlap(spec)
    np.testing.assert_array_equal(image_of(ax), counts)
    ticks = colorbar(ax).get_ticks()
    assert ticks[0] == counts.min() and ticks[-1] == counts.max()
    assert ax.get_images()[0].norm(counts.min()) == 0  # the scale starts at the smallest count
    assert ("even" in ax.get_title().splitlines()[1]) and (("uneven" in ax.get_title()) != even)
    texts = [t for t in ax.texts if t.get_gid() == "count"]
    assert len(texts) == counts.size and texts[0].get_text() == str(counts[0, 0])
    assert png_size(render(ax.figure)) == (320, 240)


def test_overlap_of_conv_is_its_adjoint_with_channels(torch):
    spec = convmtx.conv_spec((4, 9, 7), (6, 2, 3, 3), stride=2, padding=1, groups=2)
    counts = plot.overlap_counts(spec)
    ref = torch.nn.functional.conv_transpose2d(torch.ones(1, 1, 5, 4, dtype=torch.float64),
                                               torch.ones(1, 1, 3, 3, dtype=torch.float64), stride=2, padding=1,
                                               output_padding=(0, 0))
    assert counts.shape == (9, 7)
    np.testing.assert_array_equal(counts, ref[0, 0].numpy()[:9, :7].astype(np.int64))
    assert "W^T of the conv" in plot.overlap(spec).get_title()


def test_overlap_1d_and_3d():
    ax = plot.overlap(convmtx.conv_transpose_spec((1, 5), (1, 1, 4), stride=2))
    assert image_of(ax).shape == (1, 12)
    ax = plot.overlap(convmtx.conv_transpose_spec((1, 3, 3, 3), (1, 1, 2, 2, 2), stride=2))
    assert image_of(ax).shape == (6, 6) and "middle slice" in ax.get_title()


def test_kernel_footprint_against_dense_row():
    spec = convmtx.conv_spec((2, 5, 6), (1, 2, 3, 3), stride=2, padding=1, dilation=(1, 2))
    weight = np.arange(1.0, 19.0).reshape(1, 2, 3, 3)
    W = convmtx.conv_matrix((2, 5, 6), weight, stride=2, padding=1, dilation=(1, 2)).toarray()
    out = (0, 1, 1)
    row = W[np.ravel_multi_index(out, spec.output_shape)].reshape(2, 5, 6)
    ax = plot.kernel_footprint(spec, out, channel=1)
    img = image_of(ax)
    np.testing.assert_array_equal(~np.isnan(img), row[1] != 0)
    np.testing.assert_array_equal(img[row[1] != 0], (row[1][row[1] != 0] - 1) % 9)
    labels = sorted(t.get_text() for t in ax.texts if t.get_gid() == "tap-label")
    expected = sorted(f"w[0,1,{i},{j}]" for i, j in np.ndindex(3, 3)
                      if ((v := np.nonzero(row[1] == 1 * 9 + i * 3 + j + 1)[0]).size))
    assert labels == expected
    assert ax.get_xlabel() == "input position (last dimension)"
    assert ax.get_title().startswith("output y[0, 1, 1] reads")
    assert png_size(render(ax.figure)) == (320, 240)


def test_kernel_footprint_errors():
    spec = convmtx.conv_spec((1, 3, 3, 3), (1, 1, 2, 2, 2))
    with pytest.raises(ValueError, match="1-D and 2-D configurations; this one has rank 3"):
        plot.kernel_footprint(spec, 0)
    spec = convmtx.conv_spec((1, 4, 4), (1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"output_index=\(0, 2, 0\) must index the output shape \(1, 2, 2\)"):
        plot.kernel_footprint(spec, (0, 2, 0))
    with pytest.raises(ValueError):
        plot.kernel_footprint(spec, 4)


def test_montage_titles_metrics_and_size():
    skimage_metrics = require_module("skimage.metrics", "scikit-image computes the SSIM of montage panels")
    rng = np.random.default_rng(1)
    ref = rng.random((16, 20))
    noisy = ref + 0.05 * rng.standard_normal(ref.shape)
    fig = plot.montage([ref, noisy, noisy[::-1]], ["truth", "noisy", "flipped"], reference=ref)
    axes = [a for a in fig.axes if a.get_label() != "<colorbar>"]
    assert [a.get_title().splitlines()[0] for a in axes] == ["truth", "noisy", "flipped"]
    assert axes[0].get_title() == "truth"
    # The CLI's definition: 11 x 11 Gaussian window (sigma 1.5), population moments, L = 1 for images in [0, 1].
    ssim = skimage_metrics.structural_similarity(noisy, ref, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                                 use_sample_covariance=False)
    assert ssim == pytest.approx(convmtx.ssim(noisy, ref), abs=1e-9)
    psnr = 10 * np.log10(1.0 / np.mean((noisy - ref) ** 2))
    assert axes[1].get_title().splitlines()[1] == f"{psnr:.2f} dB / SSIM {ssim:.3f}"
    assert all(a.get_xlabel() == "x (pixels)" for a in axes)
    assert colorbar(axes[-1]).ax.get_ylabel() == "intensity"
    w, h = png_size(render(fig))
    assert (w, h) == (round((3 * 3.0 + 1.0) * 50), round((3.0 + 0.6) * 50))
    # A reference outside [0, 1]: L = its range, for PSNR and SSIM alike.
    fig = plot.montage([4 * ref, 4 * noisy], reference=4 * ref)
    L = float(4 * ref.max() - 4 * ref.min())
    expected = f"{10 * np.log10(L * L / np.mean((4 * noisy - 4 * ref) ** 2)):.2f} dB / SSIM {convmtx.ssim(4 * noisy, 4 * ref, L):.3f}"
    assert fig.axes[1].get_title().splitlines()[1] == expected


@pytest.mark.parametrize("args, message", [
    (([],), "images is empty"),
    (([np.ones(3)],), r"images\[0\] has shape \(3,\)"),
    (([np.ones((2, 2))], ["a", "b"]), "2 titles for 1 images"),
])
def test_montage_errors(args, message):
    with pytest.raises(ValueError, match=message):
        plot.montage(*args)


def _clipped_texts(fig):
    """Where the drawn artists (titles, labels, tick labels in view, legend, colour bar) reach outside the
    figure: matplotlib's own tight bounding box (what bbox_inches="tight" would keep) against the figure's."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    tight = fig.get_tightbbox(renderer)  # inches
    w, h = fig.get_size_inches()
    eps = 1.0 / fig.dpi
    outside = tight.x0 < -eps or tight.y0 < -eps or tight.x1 > w + eps or tight.y1 > h + eps
    return [tuple(np.round(tight.extents, 2))] if outside else []


def _overlapping_title(ax):
    """The title's box overlaps a tick label or the label of the top x axis (F5: they collided)."""
    renderer = ax.figure.canvas.get_renderer()
    title = ax.title.get_window_extent(renderer)
    others = [ax.xaxis.label] + [t for t in ax.get_xticklabels() if t.get_text()]
    return [t.get_text() for t in others if t.get_visible() and title.overlaps(t.get_window_extent(renderer))]


@pytest.mark.parametrize("draw", [
    # The new user's F5: T of a tall transposed conv, a two-channel W by channel, a matrix by value.
    lambda: plot.spy(convmtx.conv_transpose_spec((1, 4, 4), (1, 2, 3, 3), stride=2, padding=1, output_padding=1)),
    lambda: plot.spy(convmtx.conv_spec((2, 6, 6), (3, 2, 3, 3), padding=1), color_by="channel"),
    lambda: plot.spy(convmtx.conv_matrix((1, 5, 5), np.ones((1, 1, 3, 3)), padding=1), color_by="value"),
    lambda: plot.spy(convmtx.conv_spec((2, 5, 5), (3, 2, 3, 3), stride=2, padding=1)),
    lambda: plot.overlap(convmtx.conv_transpose_spec((1, 8, 8), (1, 1, 3, 3), stride=2)),
    lambda: plot.kernel_footprint(convmtx.conv_spec((2, 6, 6), (1, 2, 3, 3), padding=1), (0, 2, 2)),
    lambda: plot.montage([np.zeros((32, 32)), np.ones((32, 32))], ["a", "b"], reference=np.zeros((32, 32))),
], ids=["spy-tall-T", "spy-channel", "spy-value", "spy-W", "overlap", "footprint", "montage"])
def test_no_text_is_clipped_at_the_default_size(draw):
    obj = draw()
    fig = obj if isinstance(obj, matplotlib.figure.Figure) else obj.figure
    for dpi in (100, 50):
        fig.set_dpi(dpi)
        assert _clipped_texts(fig) == []
    if not isinstance(obj, matplotlib.figure.Figure):
        assert _overlapping_title(obj) == []


def test_spy_value_empty_cells_differ_from_small_values():
    """F5: near-zero values were white like the empty cells; empty cells are now light grey."""
    ax = plot.spy(np.array([[1e-6, 0.0], [0.0, 1.0]]), color_by="value")
    im = ax.get_images()[0]
    bad = im.get_cmap().get_bad()
    assert tuple(np.round(bad[:3], 2)) == (0.85, 0.85, 0.85)
    assert tuple(im.get_cmap()(im.norm(1e-6))[:3]) != tuple(bad[:3])
