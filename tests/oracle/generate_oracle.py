#!/usr/bin/python3
"""Writes tests/data/oracle.txt: PyTorch reference results for random configurations.

Run from the repository root with Debian's python3-torch (1.13, CPU):

    /usr/bin/python3 tests/oracle/generate_oracle.py --seed 20261122 --out tests/data/oracle.txt

The file is committed; CI never regenerates it. tests/test_oracle.cpp reads it and
checks every convmtx method (W x, T y, W^T y, the direct kernels, apply_matrix) against
the PyTorch output. docs/testing.md describes the file.

How each reference is computed (float64 throughout):
- conv, symmetric padding (or the strings 'same'/'valid'): torch.nn.Conv{1,2,3}d with
  padding_mode, i.e. exactly what PyTorch does (F.pad(x, reversed per-side pads, mode)
  then an unpadded conv for the non-zeros modes). The same result is recomputed as
  F.pad + F.conv{r}d and the two must agree bit for bit.
- conv, asymmetric padding (PyTorch modules cannot express it): F.pad(x, per-side pads,
  mode) followed by F.conv{r}d with padding 0, i.e. PyTorch's own recipe with the pads
  given per side.
- transposed conv, symmetric padding: F.conv_transpose{1,2,3}d with output_padding.
- transposed conv, asymmetric padding (not expressible in PyTorch): F.conv_transpose
  with padding 0 and output_padding max(0, a - ph), cropped to out_full[pl : pl + n]
  along each dimension (padding crops pl at the start and ph at the end, output_padding
  extends the end by a). For every symmetric case this crop is also computed and must
  agree with PyTorch's padded result to 1e-13, which checks the recipe.
- transposed conv with output_size: torch.nn.ConvTranspose{1,2,3}d(...)(x, output_size).

Values: weights, biases and inputs are uniform in (-1, 1) rounded to float32 (so the
float build of the tests sees exactly the same inputs); outputs are full float64.
Every number is written with float.hex(), which C's strtod reads back exactly.

File format (one field per line, '#' lines are comments):
    entry <id> <category>
    transposed 0|1
    groups G / in_channels C / out_channels C
    input, kernel, stride, dilation, pad_lo, pad_hi, output_padding: one value per dimension
    padding_mode zeros|circular|reflect|replicate
    api spec|make|same|valid|output_size   (how the C++ test builds the ConvSpec)
    output_size -  |  output_size n_1 .. n_r
    output m_1 .. m_r                      (spatial output size torch produced)
    batch N
    weight <count> values                  ((C_small, C_big/G, k...), C order)
    bias <count> values                    (count 0: no bias)
    x <count> values                       ((N, C_in, input...), C order)
    y <count> values                       ((N, C_out, output...), C order)
    end
"""
import argparse
import random
import re
import struct
import sys
import warnings

import torch
import torch.nn.functional as F

MODES = ["zeros", "circular", "reflect", "replicate"]
MAX_SPATIAL = {1: 12, 2: 7, 3: 5}
# Upper bound of weight + x + y values per entry, to keep the file small.
BUDGET = 1200

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
CONV_MOD = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}
CONV_T_MOD = {1: torch.nn.ConvTranspose1d, 2: torch.nn.ConvTranspose2d, 3: torch.nn.ConvTranspose3d}


def f32(v):
    return struct.unpack("f", struct.pack("f", v))[0]


def values(rng, shape):
    n = 1
    for s in shape:
        n *= s
    data = [f32(rng.uniform(-1.0, 1.0)) for _ in range(n)]
    return torch.tensor(data, dtype=torch.float64).reshape(shape)


def torch_pads(lo, hi):
    """F.pad's argument: (lo, hi) pairs starting with the LAST dimension."""
    pads = []
    for j in reversed(range(len(lo))):
        pads += [lo[j], hi[j]]
    return pads


def conv_ref_fpad(c, x, w, b):
    r = len(c["kernel"])
    mode = c["padding_mode"]
    xp = F.pad(x, torch_pads(c["pad_lo"], c["pad_hi"]), mode="constant" if mode == "zeros" else mode)
    return CONV[r](xp, w, b, stride=c["stride"], dilation=c["dilation"], groups=c["groups"])


def conv_ref_module(c, x, w, b, padding):
    r = len(c["kernel"])
    m = CONV_MOD[r](c["in_channels"], c["out_channels"], c["kernel"], stride=c["stride"], padding=padding,
                    dilation=c["dilation"], groups=c["groups"], bias=b is not None,
                    padding_mode=c["padding_mode"], dtype=torch.float64)
    with torch.no_grad():
        m.weight.copy_(w)
        if b is not None:
            m.bias.copy_(b)
        return m(x)


def conv_t_ref_crop(c, x, w, b):
    """Transposed conv with per-side padding: padding-0 torch result, cropped."""
    r = len(c["kernel"])
    a_full = [max(0, a - ph) for a, ph in zip(c["output_padding"], c["pad_hi"])]
    full = CONV_T[r](x, w, b, stride=c["stride"], padding=0, output_padding=a_full, groups=c["groups"],
                     dilation=c["dilation"])
    out = full
    for j in range(r):
        nf = full.shape[2 + j] - a_full[j]
        n = nf - c["pad_lo"][j] - c["pad_hi"][j] + c["output_padding"][j]
        out = out.narrow(2 + j, c["pad_lo"][j], n)
    return out


def conv_t_ref_torch(c, x, w, b):
    r = len(c["kernel"])
    return CONV_T[r](x, w, b, stride=c["stride"], padding=c["pad_lo"], output_padding=c["output_padding"],
                     groups=c["groups"], dilation=c["dilation"])


def conv_t_ref_output_size(c, x, w, b):
    r = len(c["kernel"])
    m = CONV_T_MOD[r](c["in_channels"], c["out_channels"], c["kernel"], stride=c["stride"],
                      padding=c["pad_lo"], dilation=c["dilation"], groups=c["groups"], bias=b is not None,
                      dtype=torch.float64)
    with torch.no_grad():
        m.weight.copy_(w)
        if b is not None:
            m.bias.copy_(b)
        return m(x, output_size=list(c["output_size"]))


def conv_out(n, k, s, d, pl, ph):
    span = n + pl + ph - d * (k - 1) - 1
    return span // s + 1 if span >= 0 else 0


def conv_t_out(m, k, s, d, pl, ph, a):
    return (m - 1) * s - pl - ph + d * (k - 1) + a + 1


def random_config(rng, category):
    """A candidate configuration of the category, or None if it is invalid or too big."""
    r = rng.choice([1, 2, 2, 3, 3])
    transposed = category.startswith("convt")
    G = rng.randint(1, 3)
    c = {
        "transposed": transposed, "groups": G,
        "in_channels": G * rng.randint(1, 2), "out_channels": G * rng.randint(1, 2),
        "input": [], "kernel": [], "stride": [], "dilation": [], "pad_lo": [], "pad_hi": [],
        "output_padding": [], "padding_mode": "zeros", "api": "spec", "output_size": None,
        "batch": rng.randint(1, 3), "bias": rng.random() < 0.4, "category": category,
    }
    if not transposed:
        c["padding_mode"] = rng.choice(MODES)
    maxn = MAX_SPATIAL[r]
    if category in ("conv_sym", "convt_sym", "convt_output_size"):
        symmetric = True
    elif category in ("conv_make", "convt_make", "convt_big_a"):
        symmetric = rng.random() < 0.5
    else:
        symmetric = False
    for _ in range(r):
        n = rng.randint(1, maxn)
        k = rng.randint(1, 5)
        s = 1 if category == "conv_same" else rng.randint(1, 3)
        d = rng.randint(1, 3)
        if category in ("conv_same", "conv_valid"):
            pl = ph = 0
        elif symmetric:
            pl = ph = rng.randint(0, 4)
        else:
            pl, ph = rng.randint(0, 4), rng.randint(0, 4)
        # PyTorch's F.pad limits (the same bound on both sides keeps symmetric pads symmetric).
        if c["padding_mode"] == "reflect":
            pl, ph = min(pl, n - 1), min(ph, n - 1)
        if c["padding_mode"] == "circular":
            pl, ph = min(pl, n), min(ph, n)
        a = rng.randint(0, max(s, d) - 1) if transposed else 0
        for key, v in zip(("input", "kernel", "stride", "dilation", "pad_lo", "pad_hi", "output_padding"),
                          (n, k, s, d, pl, ph, a)):
            c[key].append(v)
    if category == "conv_same":
        c["api"] = "same"
        for j in range(r):
            total = c["dilation"][j] * (c["kernel"][j] - 1)
            c["pad_lo"][j] = total // 2
            c["pad_hi"][j] = total - total // 2
            if c["padding_mode"] == "reflect" and c["pad_hi"][j] >= c["input"][j]:
                return None
            if c["padding_mode"] == "circular" and c["pad_hi"][j] > c["input"][j]:
                return None
    elif category == "conv_valid":
        c["api"] = "valid"
    elif category in ("conv_make", "convt_make"):
        c["api"] = "make"
    elif category == "convt_output_size":
        c["api"] = "output_size"
        # output_size anywhere in torch's range [n0, n0 + s - 1]; output_padding follows from it.
        c["output_size"] = []
        for j in range(r):
            n0 = conv_t_out(c["input"][j], c["kernel"][j], c["stride"][j], c["dilation"][j], c["pad_lo"][j],
                            c["pad_hi"][j], 0)
            want = n0 + rng.randint(0, c["stride"][j] - 1)
            c["output_size"].append(want)
            c["output_padding"][j] = want - n0
    if category == "convt_big_a":
        # Force output_padding >= stride somewhere (allowed because it is < dilation).
        j = rng.randrange(r)
        c["stride"][j] = rng.randint(1, 2)
        c["dilation"][j] = rng.randint(c["stride"][j] + 1, 3)
        c["output_padding"][j] = rng.randint(c["stride"][j], c["dilation"][j] - 1)
    # Validity (the rules of SEMANTICS.md; torch itself is the final judge below).
    for j in range(r):
        if transposed:
            out = conv_t_out(c["input"][j], c["kernel"][j], c["stride"][j], c["dilation"][j], c["pad_lo"][j],
                             c["pad_hi"][j], c["output_padding"][j])
        else:
            out = conv_out(c["input"][j], c["kernel"][j], c["stride"][j], c["dilation"][j], c["pad_lo"][j],
                           c["pad_hi"][j])
        if out < 1:
            return None
    return c


def numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def compute(c, rng):
    r = len(c["kernel"])
    small, big = (c["in_channels"], c["out_channels"]) if c["transposed"] else (c["out_channels"], c["in_channels"])
    w = values(rng, [small, big // c["groups"]] + c["kernel"])
    b = values(rng, [c["out_channels"]]) if c["bias"] else None
    x = values(rng, [c["batch"], c["in_channels"]] + c["input"])
    symmetric = c["pad_lo"] == c["pad_hi"]
    if not c["transposed"]:
        y_fpad = conv_ref_fpad(c, x, w, b)
        if c["api"] in ("same", "valid"):
            y = conv_ref_module(c, x, w, b, c["api"])
        elif symmetric:
            y = conv_ref_module(c, x, w, b, tuple(c["pad_lo"]))
        else:
            y = y_fpad
        # The module's result and PyTorch's own F.pad recipe must agree (symmetric pads, strings).
        if y.shape != y_fpad.shape or not torch.equal(y, y_fpad):
            raise AssertionError("nn.Conv and F.pad + conv differ for %r" % c)
    else:
        y_crop = conv_t_ref_crop(c, x, w, b)
        if c["api"] == "output_size":
            y = conv_t_ref_output_size(c, x, w, b)
        elif symmetric:
            y = conv_t_ref_torch(c, x, w, b)
        else:
            y = y_crop
        if y.shape != y_crop.shape or (y - y_crop).abs().max().item() > 1e-13 * max(1.0, y.abs().max().item()):
            raise AssertionError("cropped padding-0 result differs from torch's padding for %r" % c)
    c["output"] = list(y.shape[2:])
    for j in range(r):
        expect = (conv_t_out(c["input"][j], c["kernel"][j], c["stride"][j], c["dilation"][j], c["pad_lo"][j],
                             c["pad_hi"][j], c["output_padding"][j]) if c["transposed"]
                  else conv_out(c["input"][j], c["kernel"][j], c["stride"][j], c["dilation"][j], c["pad_lo"][j],
                                c["pad_hi"][j]))
        if expect != c["output"][j]:
            raise AssertionError("output size %d != formula %d for %r" % (c["output"][j], expect, c))
    return w, b, x, y


def hexfloat(v):
    """float.hex() without the mantissa's trailing zeros ('0x1.8p-1'); exact, and strtod reads it."""
    h = re.sub(r"\.?0+p", "p", float.hex(v)) if "." in float.hex(v) else float.hex(v)
    assert float.fromhex(h) == v
    return h


def fmt(name, t):
    if t is None:
        return "%s 0\n" % name
    flat = t.reshape(-1).tolist()
    return "%s %d %s\n" % (name, len(flat), " ".join(hexfloat(v) for v in flat))


# (category, how many)
PLAN = [
    ("conv_sym", 70),            # spec fields, symmetric padding, any mode (nn.ConvNd reference)
    ("conv_sides", 60),          # spec fields, per-side padding, any mode (F.pad + conv reference)
    ("conv_make", 25),           # make_conv with explicit padding
    ("conv_same", 25),           # make_conv(Padding::same()), stride 1, any mode
    ("conv_valid", 15),          # make_conv(Padding::valid())
    ("convt_sym", 45),           # spec fields, F.conv_transpose with output_padding
    ("convt_sides", 40),         # spec fields, per-side padding (cropped reference)
    ("convt_big_a", 20),         # output_padding >= stride (< dilation)
    ("convt_make", 20),          # make_conv_transpose with explicit padding and output_padding
    ("convt_output_size", 30),   # make_conv_transpose with output_size (nn.ConvTranspose reference)
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--out", default="tests/data/oracle.txt")
    args = ap.parse_args()
    torch.set_num_threads(1)
    # PyTorch warns that 'same' with an even dilated kernel pads a copy of the input; that is expected.
    warnings.filterwarnings("ignore", message="Using padding='same'")
    rng = random.Random(args.seed)
    entries = []
    for category, count in PLAN:
        made = 0
        while made < count:
            c = random_config(rng, category)
            if c is None:
                continue
            small = c["out_channels"] if not c["transposed"] else c["in_channels"]
            big = c["in_channels"] if not c["transposed"] else c["out_channels"]
            wn = small * (big // c["groups"]) * numel(c["kernel"])
            xn = c["batch"] * c["in_channels"] * numel(c["input"])
            if wn + xn > BUDGET // 2:
                continue
            w, b, x, y = compute(c, rng)
            if wn + xn + y.numel() > BUDGET:
                continue
            entries.append((c, w, b, x, y))
            made += 1
    with open(args.out, "w") as f:
        f.write("# convmtx PyTorch oracle: %d configurations, torch %s, float64.\n" % (len(entries), torch.__version__))
        f.write("# Generated by: /usr/bin/python3 tests/oracle/generate_oracle.py --seed %d --out %s\n"
                % (args.seed, args.out))
        f.write("# Format: see tests/oracle/generate_oracle.py. Do not edit by hand.\n")
        for i, (c, w, b, x, y) in enumerate(entries):
            f.write("entry %d %s\n" % (i, c["category"]))
            f.write("transposed %d\n" % int(c["transposed"]))
            for key in ("groups", "in_channels", "out_channels"):
                f.write("%s %d\n" % (key, c[key]))
            for key in ("input", "kernel", "stride", "dilation", "pad_lo", "pad_hi", "output_padding"):
                f.write("%s %s\n" % (key, " ".join(str(v) for v in c[key])))
            f.write("padding_mode %s\n" % c["padding_mode"])
            f.write("api %s\n" % c["api"])
            f.write("output_size %s\n" % ("-" if c["output_size"] is None else " ".join(map(str, c["output_size"]))))
            f.write("output %s\n" % " ".join(str(v) for v in c["output"]))
            f.write("batch %d\n" % c["batch"])
            f.write(fmt("weight", w))
            f.write(fmt("bias", b))
            f.write(fmt("x", x))
            f.write(fmt("y", y))
            f.write("end\n")
    print("wrote %d entries to %s" % (len(entries), args.out), file=sys.stderr)
    print(coverage(entries), file=sys.stderr)


def coverage(entries):
    """What the entries cover, one line per property (counts of entries; per-dimension values counted per dim)."""
    stats = {}

    def add(prop, value):
        stats.setdefault(prop, {})
        stats[prop][value] = stats[prop].get(value, 0) + 1

    for c, *_ in entries:
        add("op", ("conv_transpose" if c["transposed"] else "conv") + "%dd" % len(c["kernel"]))
        add("category", c["category"])
        add("groups", c["groups"])
        add("batch", c["batch"])
        add("bias", c["bias"])
        add("api", c["api"])
        if not c["transposed"]:
            add("padding_mode", c["padding_mode"])
        add("asymmetric padding", c["pad_lo"] != c["pad_hi"])
        for j in range(len(c["kernel"])):
            for key in ("kernel", "stride", "dilation", "output_padding"):
                add(key, c[key][j])
            n, k, s, d = c["input"][j], c["kernel"][j], c["stride"][j], c["dilation"][j]
            big = c["output"][j] if c["transposed"] else n
            add("dilated kernel longer than the big side", d * (k - 1) + 1 > big)
            add("stride > dilated kernel (some inputs unused)", s > d * (k - 1) + 1)
            add("padding > dilation*(kernel-1)", max(c["pad_lo"][j], c["pad_hi"][j]) > d * (k - 1))
            if c["padding_mode"] == "circular":
                add("circular padding == input", max(c["pad_lo"][j], c["pad_hi"][j]) == n)
            if c["padding_mode"] == "reflect":
                add("reflect padding == input-1", max(c["pad_lo"][j], c["pad_hi"][j]) == n - 1 and n > 1)
            if c["transposed"]:
                add("output_padding >= stride", c["output_padding"][j] >= c["stride"][j])
    return "\n".join("  %s: %s" % (k, dict(sorted(v.items()))) for k, v in stats.items())


if __name__ == "__main__":
    main()
