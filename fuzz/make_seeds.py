#!/usr/bin/env python3
"""Writes the committed seed corpora of the fuzz targets that take structured integers.

fuzz_geometry reads little-endian int64 words; a word w with (w & 3) == 2 decodes to w >> 2
exactly, which is how the seeds below encode their values. Run from the repository root:
    /usr/bin/python3 fuzz/make_seeds.py
"""
import os
import struct

def word(v):
    return struct.pack("<q", (v << 2) | 2)

def geometry_seed(transposed, mode, cin, cout, groups, dims):
    rank = len(dims)
    flags = int(transposed) | (mode << 1) | ((rank - 1) << 3)
    out = word(flags) + word(cin) + word(cout) + word(groups)
    for d in dims:  # (input, kernel, stride, dilation, pad_lo, pad_hi, output_padding)
        out += b"".join(word(v) for v in d)
    return out

SEEDS = {
    "conv2d_k3_s2_p1": geometry_seed(False, 0, 1, 1, 1, [(4, 3, 2, 1, 1, 1, 0)] * 2),
    "convT2d_k3_s2": geometry_seed(True, 0, 1, 1, 1, [(2, 3, 2, 1, 0, 0, 0)] * 2),
    "conv1d_reflect": geometry_seed(False, 2, 2, 4, 2, [(7, 3, 1, 2, 2, 1, 0)]),
    "conv1d_circular": geometry_seed(False, 1, 1, 1, 1, [(5, 4, 1, 1, 5, 5, 0)]),
    "conv3d_replicate": geometry_seed(False, 3, 3, 3, 3, [(3, 2, 1, 1, 2, 0, 0)] * 3),
    "convT1d_op_dil": geometry_seed(True, 0, 2, 2, 1, [(10, 5, 5, 3, 4, 4, 2)]),
    "huge_padding": geometry_seed(True, 0, 1, 1, 1, [(2, 1, 1, 1, 2**60, 2**60, 0)]),
    "huge_stride": geometry_seed(False, 0, 1, 1, 1, [(2**40, 3, 2**20, 1, 0, 0, 0)]),
}

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "geometry")
os.makedirs(out, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print(f"wrote {len(SEEDS)} seeds to {out}")
