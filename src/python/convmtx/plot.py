"""Pictures of convolution matrices with matplotlib: spy plots of W and T, overlap maps, the inputs one
output reads, and labelled image montages. Every picture has labelled axes and a legend or colour bar.

    import convmtx, convmtx.plot
    spec = convmtx.conv_spec((2, 4, 4), (2, 2, 3, 3), stride=2, padding=1)
    ax = convmtx.plot.spy(spec)                    # W, rows = the conv's output, columns = its input
    ax.figure.savefig("W.svg")                     # PNG, SVG or PDF by extension (matplotlib)

A configuration is a ConvSpec (convmtx.conv_spec / convmtx.conv_transpose_spec); its picture is the
operation's own matrix: W for a conv, T = W^T for a transposed conv. Rows are the operation's output
elements and columns its input elements, both in C order (channel, *position). matplotlib is imported
when a function is called (Debian's python3-matplotlib); each function draws into `ax` when given, else
into a new figure, and returns the Axes (montage: the Figure).
"""

import numpy as np

from . import _core
from . import functional as _f
from ._checks import finite_array
from ._checks import sparse_matrix as _sparse_matrix

__all__ = ["spy", "overlap", "kernel_footprint", "montage", "overlap_counts"]

_MAX_CELLS = 1 << 24  # a spy picture is drawn cell by cell: beyond this, pick a region


def _finite(a, name):
    """ValueError naming the first NaN or infinite value of a: a picture of it would be meaningless."""
    finite_array(a, name, "must be finite: a NaN or Inf has no colour")


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _axes(ax, size=(6.4, 4.8)):
    """The given Axes, or one in a new figure whose constrained layout keeps every title, label, colour
    bar and legend inside the figure."""
    if ax is not None:
        return ax
    fig = _plt().figure(figsize=size, layout="constrained")
    return fig.add_subplot()


def _is_spec(obj):
    return isinstance(obj, _core.ConvSpec)


def _operation_matrix(spec, weight):
    """The operation's own matrix (W for a conv, T for a transposed conv) as CSR with int64 indices."""
    return _f._matrix(spec, weight, spec.transposed, np.int64, "csr", False)


def _range(value, n, name):
    if value is None:
        return 0, n
    try:
        lo, hi = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"region: {name}={value!r} must be a pair (start, stop) of integers") from None
    if not 0 <= lo < hi <= n:
        raise ValueError(f"region: {name}=({lo}, {hi}) must satisfy 0 <= start < stop <= {n}")
    return lo, hi


def _tap_labels(kernel_size):
    return [",".join(str(int(i)) for i in np.unravel_index(t, kernel_size)) for t in range(int(np.prod(kernel_size)))]


def _channel_ticks(ax, which, lo, hi, block, channels, label):
    """Integer ticks at the indices on the axis' own side (top for x, left for y), labelled `label`; with
    several channels, the channel of each block named (c0, c1, ...) at its centre on the opposite side."""
    from matplotlib.ticker import MaxNLocator

    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_label_text(label)
    blocks = [c for c in range(channels) if c * block < hi and (c + 1) * block > lo]
    if channels > 1 and blocks:
        centres = [(max(c * block, lo) + min((c + 1) * block, hi)) / 2 - 0.5 for c in blocks]
        sec = ax.secondary_xaxis("bottom") if which == "x" else ax.secondary_yaxis("right")
        (sec.xaxis if which == "x" else sec.yaxis).set_ticks(centres, [f"c{c}" for c in blocks])
        sec.tick_params(length=0)
        sec.set_gid(f"channel-{which}")
        return sec
    return None


def spy(matrix, ax=None, color_by="tap", region=None, *, weight=None, outlines=True):
    """Draw the sparsity pattern of a matrix or of a configuration's W (or T) with labelled axes.

    matrix: a scipy.sparse matrix or dense 2-D array, or a ConvSpec (the operation's own matrix: W of a
        conv, rows = the conv's output; T = W^T of a transposed conv, rows = its output).
    color_by: 'tap' (a ConvSpec only: the entry's spatial kernel tap, a legend lists them; black where a
        padding mode folds several taps into one entry), 'value' (colour bar, diverging around 0) or
        'channel' (a ConvSpec only: the (output channel, input channel) block, with a legend).
    region: ((r0, r1), (c0, c1)), the rows r0..r1-1 and columns c0..c1-1 to draw (default all); the axes
        keep the matrix's own indices.
    weight: the weight whose values 'value' shows for a ConvSpec (default: 1, 2, 3, ... in C order).
    outlines: grey lines between channel blocks (a ConvSpec only).
    Axes: x = column = input element index, y = row = output element index (C order, channel first);
    the ticks are integer indices; with several channels a second axis (bottom for columns, right for rows)
    names each channel block (c0, c1, ...) at its centre. Cells are square unless the region is more than 3
    times wider than tall (or taller than wide). Empty cells are light grey (white would hide small values).
    A new figure (no ax given) is 6.4 x 4.8 inches, 6.4 x 9.6 for a region more than 3 times taller than
    wide, with a constrained layout that keeps the title and the legend (below the plot) inside it.
    Returns the Axes. ValueError for an unknown color_by, a bad region, a color_by that needs a
    configuration, or a region of more than 2**24 cells; a NaN or infinite weight or (color_by='value')
    matrix value; a malformed scipy.sparse matrix (naming the array and the rule) or a complex one.
    """
    import scipy.sparse as sp

    if color_by not in ("tap", "value", "channel"):
        raise ValueError(f"color_by={color_by!r} must be 'tap', 'value' or 'channel'")
    spec = matrix if _is_spec(matrix) else None
    if spec is None and color_by != "value":
        raise ValueError(f"color_by={color_by!r} needs a configuration (a ConvSpec); a matrix is drawn with "
                         "color_by='value'")
    if spec is not None:
        if weight is None:
            weight = np.arange(1, int(np.prod(spec.weight_shape)) + 1, dtype=np.float64).reshape(spec.weight_shape)
        weight = np.asarray(weight, dtype=np.float64)
        _finite(weight, "weight")
        if tuple(weight.shape) != tuple(spec.weight_shape):
            raise ValueError(f"weight has shape {tuple(weight.shape)}; the configuration's weight_shape is "
                             f"{tuple(spec.weight_shape)}")
        M = _operation_matrix(spec, weight)
    else:
        if sp.issparse(matrix):
            _sparse_matrix(matrix, "matrix")
        M = sp.csr_matrix(matrix)
        if M.ndim != 2:
            raise ValueError(f"matrix has {M.ndim} dimensions; expected 2")
        if M.dtype.kind == "c":
            raise ValueError(f"matrix has dtype {M.dtype}; spy colours real values")
        if color_by == "value":
            _finite(M.data[:M.nnz], "matrix.data (CSR order)")
    rows, cols = M.shape
    region = region if region is not None else (None, None)
    if len(region) != 2:
        raise ValueError(f"region={region!r} must be ((r0, r1), (c0, c1))")
    r0, r1 = _range(region[0], rows, "rows")
    c0, c1 = _range(region[1], cols, "cols")
    if (r1 - r0) * (c1 - c0) > _MAX_CELLS:
        raise ValueError(f"the region has {(r1 - r0) * (c1 - c0)} cells, more than {_MAX_CELLS}: pass "
                         "region=((r0, r1), (c0, c1)) to draw a part of the matrix")
    M = M.tocsr()
    sub = M[r0:r1, c0:c1].tocoo()
    ax = _axes(ax, (6.4, 9.6) if (r1 - r0) > 3 * (c1 - c0) else (6.4, 4.8))
    plt = _plt()
    extent = (c0 - 0.5, c1 - 0.5, r1 - 0.5, r0 - 0.5)
    if color_by == "value":
        img = np.full((r1 - r0, c1 - c0), np.nan)
        img[sub.row, sub.col] = sub.data
        vmax = float(np.nanmax(np.abs(img))) if sub.nnz else 1.0
        vmax = vmax if vmax > 0 else 1.0
        cmap = plt.get_cmap("RdBu_r").copy()
        cmap.set_bad("0.85")
        im = ax.imshow(img, cmap=cmap, vmin=-vmax, vmax=vmax, extent=extent, interpolation="nearest")
        ax.figure.colorbar(im, ax=ax, label="entry value")
    else:
        from matplotlib.colors import ListedColormap
        from matplotlib.patches import Patch

        if color_by == "tap":
            K = int(np.prod(spec.kernel_size))
            full = np.asarray(_core.tap_map(spec, spec.transposed))
            # tap_map is in M's storage order; the region's entries are picked by their CSR positions.
            order = np.repeat(np.arange(rows), np.diff(M.indptr))
            keep = (order >= r0) & (order < r1) & (M.indices >= c0) & (M.indices < c1)
            er, ec, et = order[keep] - r0, M.indices[keep] - c0, full[keep]
            classes = np.where(et < 0, K, et % K)
            labels = [f"tap ({s})" for s in _tap_labels(spec.kernel_size)] + ["folded taps"]
            base = plt.get_cmap("tab20" if K > 10 else "tab10")
            colors = [base(t % base.N) for t in range(K)] + [(0, 0, 0, 1)]
            title = "colour = kernel tap (spatial index)"
        else:
            cin, cout = spec.in_channels, spec.out_channels
            in_vol, out_vol = spec.input_numel // cin, spec.output_numel // cout
            order = np.repeat(np.arange(rows), np.diff(M.indptr))
            keep = (order >= r0) & (order < r1) & (M.indices >= c0) & (M.indices < c1)
            er, ec = order[keep] - r0, M.indices[keep] - c0
            classes = ((er + r0) // out_vol) * cin + (ec + c0) // in_vol
            labels = [f"out c{o} / in c{i}" for o in range(cout) for i in range(cin)]
            base = plt.get_cmap("tab20")
            colors = [base(k % base.N) for k in range(cout * cin)]
            title = "colour = channel pair"
        img = np.full((r1 - r0, c1 - c0), np.nan)
        img[er, ec] = classes
        cmap = ListedColormap(colors)
        cmap.set_bad("0.85")
        ax.imshow(img, cmap=cmap, vmin=-0.5, vmax=len(colors) - 0.5, extent=extent, interpolation="nearest")
        present = np.unique(classes).astype(int) if classes.size else []
        handles = [Patch(facecolor=colors[k], edgecolor="none", label=labels[k]) for k in present]
        if handles:
            # Below the plot (the column ticks are on top): inside the figure at any size.
            ax.legend(handles=handles, title=title, loc="upper center", bbox_to_anchor=(0.5, -0.04),
                      ncol=min(len(handles), 5 if color_by == "tap" else 3), fontsize="small", title_fontsize="small")
    if spec is not None:
        in_vol, out_vol = spec.input_numel // spec.in_channels, spec.output_numel // spec.out_channels
        if outlines:
            for b in range(out_vol, rows, out_vol):
                if r0 < b < r1:
                    ax.axhline(b - 0.5, color="0.6", linewidth=0.8, gid="block-outline")
            for b in range(in_vol, cols, in_vol):
                if c0 < b < c1:
                    ax.axvline(b - 0.5, color="0.6", linewidth=0.8, gid="block-outline")
        sec_x = _channel_ticks(ax, "x", c0, c1, in_vol, spec.in_channels, "column = input index (channel, position)")
        _channel_ticks(ax, "y", r0, r1, out_vol, spec.out_channels, "row = output index (channel, position)")
        if sec_x is not None and ax.get_legend() is not None:  # the legend below the channel names
            ax.get_legend().set_bbox_to_anchor((0.5, -0.1))
        name = "T" if spec.transposed else "W"
        ax.set_title(f"{name}: {rows} x {cols}, {M.nnz} entries", fontsize="medium")
    else:
        ax.set_ylabel("row = output index")
        ax.set_xlabel("column = input index")
        ax.set_title(f"{rows} x {cols}, {M.nnz} entries", fontsize="medium")
    if spec is None:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    # Square cells unless the region is much wider than tall (or the reverse): then fill the axes.
    ax.set_aspect("equal" if max(r1 - r0, c1 - c0) <= 3 * min(r1 - r0, c1 - c0) else "auto")
    ax.xaxis.set_label_position("top")
    ax.xaxis.tick_top()
    ax.set_xlim(c0 - 0.5, c1 - 0.5)
    ax.set_ylim(r1 - 0.5, r0 - 0.5)
    return ax


def overlap_counts(spec):
    """How many (input position, kernel tap) pairs reach each output position of a transposed conv, per
    channel pair: an int64 array of the transposed conv's output spatial shape. For a conv spec, of its
    adjoint W^T (the transposed conv with the same weights), whose output is the conv's input.
    counts = row sums of T's 0/1-per-tap pattern / (input channels per group): T built with all-one weights.
    """
    T = _f._matrix(spec, np.ones(spec.weight_shape), True, np.int64, "csr", False)
    # T's rows: the transposed conv's output (channel, *position); each output sums C_in/groups channels.
    if spec.transposed:
        shape, channels_in = tuple(spec.output_size), spec.in_channels
    else:
        shape, channels_in = tuple(spec.input_size), spec.out_channels
    per = channels_in // spec.groups
    sums = np.asarray(T.sum(axis=1)).ravel()
    plane = int(np.prod(shape))
    return np.rint(sums[:plane] / per).astype(np.int64).reshape(shape)


def overlap(spec, ax=None, annotate=None):
    """Draw the overlap map of a transposed conv (a conv: of its adjoint W^T) with a colour bar.

    Each output position's colour is the number of (input, tap) pairs that reach it (overlap_counts); the
    colour bar runs from the smallest count to the largest with one colour per count, so an even map is
    one colour and the borders' smaller counts stand apart. 3-D: the middle slice of dimension 0.
    annotate: write the count in each cell (default: when the picture has at most 24 x 24 cells).
    The title gives the interior max/min (1: even; the checkerboard of Odena, Dumoulin & Olah, Distill 2016).
    Returns the Axes.
    """
    from matplotlib.colors import BoundaryNorm

    if not _is_spec(spec):
        raise ValueError(f"spec must be a ConvSpec (convmtx.conv_spec / conv_transpose_spec), not {type(spec).__name__}")
    counts = overlap_counts(spec)
    note = ""
    if counts.ndim == 3:
        counts = counts[counts.shape[0] // 2]
        note = " (middle slice of dim 0)"
    grid = counts.reshape(1, -1) if counts.ndim == 1 else counts
    lo, hi = int(grid.min()), int(grid.max())
    ax = _axes(ax)
    plt = _plt()
    levels = np.arange(lo, hi + 2) - 0.5
    cmap = plt.get_cmap("viridis", len(levels) - 1)
    norm = BoundaryNorm(levels, cmap.N)
    im = ax.imshow(grid, cmap=cmap, norm=norm, interpolation="nearest")
    ticks = np.arange(lo, hi + 1)
    if len(ticks) > 12:
        ticks = np.unique(np.linspace(lo, hi, 12).round().astype(int))
    ax.figure.colorbar(im, ax=ax, ticks=ticks, label="(input, tap) pairs per output")
    if annotate is None:
        annotate = grid.shape[0] <= 24 and grid.shape[1] <= 24
    if annotate:
        mid = (lo + hi) / 2
        for (y, x), v in np.ndenumerate(grid):
            ax.text(x, y, str(v), ha="center", va="center", fontsize="x-small",
                    color="white" if v <= mid and hi > lo else "black", gid="count")
    # The interior (every tap phase reaches it): (k-1)d - p_lo <= x <= (m-1)s - p_lo per dimension, m the
    # transposed conv's input size; the whole map when some dimension has no interior.
    m = spec.input_size if spec.transposed else spec.output_size
    inner = counts
    dims = list(zip(spec.kernel_size, spec.dilation, spec.stride, spec.padding_lo, m))[-counts.ndim:]
    for axis, (k, d, s, pl, mm) in enumerate(dims):
        lo_i, hi_i = max((k - 1) * d - pl, 0), min((mm - 1) * s - pl, inner.shape[axis] - 1)
        if lo_i <= hi_i:
            inner = np.take(inner, np.arange(lo_i, hi_i + 1), axis=axis)
    ilo, ihi = int(inner.min()), int(inner.max())
    ratio = "inf" if ilo == 0 else f"{ihi / ilo:.3g}"
    verdict = "even" if ilo == ihi else "uneven (checkerboard)"
    kind = "transposed conv" if spec.transposed else "W^T of the conv"
    ax.set_title(f"overlap of the {kind}{note}\ninterior max/min = {ihi}/{ilo} = {ratio}: {verdict}",
                 fontsize="medium")
    ax.set_xlabel("output position (last dimension)")
    ax.set_ylabel("output position (dimension 0)" if counts.ndim == 2 else "")
    if counts.ndim == 1:
        ax.set_yticks([])
    return ax


def kernel_footprint(spec, output_index, ax=None, channel=None):
    """Draw which input elements one output element reads, each marked with the kernel tap that reads it.

    spec: a 1-D or 2-D ConvSpec. output_index: the output element, a flat C-order index into the
    operation's output sample or a tuple (channel, *position). channel: the input channel drawn (default:
    the first one the output reads). The input grid of that channel is drawn with the read elements
    coloured by tap (legend) and labelled w[...] with the full weight index; unread elements stay white.
    Returns the Axes. ValueError for a 3-D configuration or an index outside the output.
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    if not _is_spec(spec):
        raise ValueError(f"spec must be a ConvSpec (convmtx.conv_spec / conv_transpose_spec), not {type(spec).__name__}")
    if spec.rank > 2:
        raise ValueError(f"kernel_footprint draws 1-D and 2-D configurations; this one has rank {spec.rank}")
    if isinstance(output_index, (tuple, list)):
        shape = tuple(spec.output_shape)
        if len(output_index) != len(shape) or any(not 0 <= int(i) < n for i, n in zip(output_index, shape)):
            raise ValueError(f"output_index={tuple(output_index)} must index the output shape {shape}")
        flat = int(np.ravel_multi_index(tuple(int(i) for i in output_index), shape))
    else:
        flat = int(output_index)
    terms = _core.output_terms(spec, flat)
    out_idx = np.unravel_index(flat, tuple(spec.output_shape))
    if channel is None:
        channel = terms[0].input_index[0] if terms else 0
    if not 0 <= channel < spec.in_channels:
        raise ValueError(f"channel={channel} must be in [0, {spec.in_channels})")
    size = tuple(spec.input_size)
    grid_shape = (1, size[0]) if len(size) == 1 else size
    K = int(np.prod(spec.kernel_size))
    img = np.full(grid_shape, np.nan)
    texts = {}
    for t in terms:
        if t.input_index[0] != channel:
            continue
        pos = t.input_index[1:]
        cell = (0, pos[0]) if len(pos) == 1 else tuple(pos)
        tap = t.weight_flat % K
        img[cell] = tap if np.isnan(img[cell]) else K  # K: several taps folded onto one element
        texts.setdefault(cell, []).append("w[" + ",".join(str(i) for i in t.weight_index) + "]")
    ax = _axes(ax)
    plt = _plt()
    base = plt.get_cmap("tab20" if K > 10 else "tab10")
    colors = [base(k % base.N) for k in range(K)] + [(0.3, 0.3, 0.3, 1)]
    cmap = ListedColormap(colors)
    cmap.set_bad("white")
    ax.imshow(img, cmap=cmap, vmin=-0.5, vmax=K + 0.5, interpolation="nearest")
    for (y, x), labels in texts.items():
        ax.text(x, y, "\n".join(labels), ha="center", va="center", fontsize="xx-small", gid="tap-label")
    ax.set_xticks(np.arange(grid_shape[1]) - 0.5, minor=True)
    ax.set_yticks(np.arange(grid_shape[0]) - 0.5, minor=True)
    ax.grid(which="minor", color="0.75", linewidth=0.5)
    ax.tick_params(which="minor", length=0)
    present = sorted({int(v) for v in img[~np.isnan(img)]})
    labels = [f"tap ({s})" for s in _tap_labels(spec.kernel_size)] + ["several taps (folded)"]
    handles = [Patch(facecolor=colors[k], label=labels[k]) for k in present]
    if handles:
        ax.legend(handles=handles, title="kernel tap", loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0,
                  fontsize="small", title_fontsize="small")
    ax.set_xlabel("input position (last dimension)")
    ax.set_ylabel("input position (dimension 0)" if len(size) == 2 else "")
    if len(size) == 1:
        ax.set_yticks([])
    where = ", ".join(str(int(i)) for i in out_idx)
    ax.set_title(f"output y[{where}] reads {sum(len(v) for v in texts.values())} taps of input channel {channel}",
                 fontsize="medium")
    return ax


def montage(images, titles=None, reference=None, *, cols=None, vmin=None, vmax=None, cmap="gray", panel_size=3.0,
            data_range=None):
    """Draw images side by side, each with its title and pixel axes (row 0 at the top), on one shared grey
    scale with a colour bar.

    images: a list of 2-D arrays. titles: one string per image (default "image i"). reference: an image
    of the same shape as the others; each panel other than the reference itself then adds its PSNR
    (convmtx.psnr) and SSIM (convmtx.ssim: 11 x 11 Gaussian window, sigma 1.5) to its title, as
    "24.86 dB / SSIM 0.755" -- the definition and the format of `convmtx solve --montage`, so the two
    agree on the same images. data_range: the L of PSNR and SSIM (default 1 when the reference lies in
    [0, 1], as convmtx.read_image's images and the CLI's; else the reference's max - min). Images smaller
    than 11 x 11 get PSNR only. cols: panels per row (default all in one row up to 4). vmin, vmax: the
    grey scale (default the reference's range, or all images' range). Returns the Figure.
    ValueError for an empty list, a non-2-D image, a title count that differs, or a shape mismatch
    with the reference; a NaN or infinite pixel (naming the image and the pixel); vmin not below vmax,
    or either not a finite number.
    """
    from .deconvolve import ssim as _ssim
    from .solvers import psnr

    plt = _plt()
    images = [np.asarray(im, dtype=np.float64) for im in images]
    if not images:
        raise ValueError("images is empty")
    for i, im in enumerate(images):
        if im.ndim != 2:
            raise ValueError(f"images[{i}] has shape {im.shape}; expected a 2-D image")
        _finite(im, f"images[{i}]")
    if titles is None:
        titles = [f"image {i}" for i in range(len(images))]
    titles = list(titles)
    if len(titles) != len(images):
        raise ValueError(f"{len(titles)} titles for {len(images)} images")
    if reference is not None:
        reference = np.asarray(reference, dtype=np.float64)
        _finite(reference, "reference")
        if data_range is None:
            in_unit = reference.min() >= 0 and reference.max() <= 1
            data_range = 1.0 if in_unit else float(reference.max() - reference.min()) or 1.0
        data_range = float(data_range)
        for i, im in enumerate(images):
            if im.shape != reference.shape:
                raise ValueError(f"images[{i}] has shape {im.shape}; the reference has {reference.shape}")
            if im is reference or np.array_equal(im, reference):
                continue
            quality = f"{psnr(im, reference, data_range):.2f} dB"
            if min(im.shape) >= 11:
                quality += f" / SSIM {_ssim(im, reference, data_range):.3f}"
            titles[i] = f"{titles[i]}\n{quality}"
    for name, v in (("vmin", vmin), ("vmax", vmax)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating))
                              or not np.isfinite(v)):
            raise ValueError(f"{name}={v!r} must be a finite number or None")
    if vmin is not None and vmax is not None and not vmin < vmax:
        raise ValueError(f"vmin={vmin!r} must be below vmax={vmax!r}: the grey scale runs from vmin to vmax")
    lo_src = [reference] if reference is not None else images
    vmin = float(min(im.min() for im in lo_src)) if vmin is None else vmin
    vmax = float(max(im.max() for im in lo_src)) if vmax is None else vmax
    n = len(images)
    cols = min(n, 4) if cols is None else int(cols)
    if cols < 1:
        raise ValueError(f"cols={cols} must be at least 1")
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(panel_size * cols + 1.0, panel_size * rows + 0.6), squeeze=False,
                             constrained_layout=True)
    im_artist = None
    for k, ax in enumerate(axes.ravel()):
        if k >= n:
            ax.set_axis_off()
            continue
        im_artist = ax.imshow(images[k], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(titles[k], fontsize="small")
        ax.set_xlabel("x (pixels)", fontsize="x-small")
        ax.set_ylabel("y (pixels)", fontsize="x-small")
        ax.tick_params(labelsize="x-small")
    fig.colorbar(im_artist, ax=axes.ravel().tolist(), shrink=0.8, label="intensity")
    return fig
