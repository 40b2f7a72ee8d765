#!/usr/bin/env python3
"""Writes the committed seed corpora of the fuzz targets (fuzz/corpus/<target>/).

Valid files come from the tools users make them with (numpy.save, scipy.sparse.save_npz,
scipy.io.mmwrite, Pillow), followed by edge cases: the hostile inputs of issue #10's report and
the boundaries of each reader's rules (docs/reliability.md). Run from anywhere:
    /usr/bin/python3 fuzz/make_seeds.py

fuzz_geometry reads little-endian int64 words; a word w with (w & 3) == 2 decodes to w >> 2
exactly, which is how the geometry seeds encode their values. fuzz_cli's inputs are argument
vectors joined by NUL bytes; fuzz_config's are JSON files.
"""
import io
import os
import struct
import tempfile
import zipfile

import numpy as np
import scipy.io
import scipy.sparse
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def write_corpus(target, seeds):
    out = os.path.join(HERE, "corpus", target)
    os.makedirs(out, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
    print(f"wrote {len(seeds)} seeds to {out}")


# ---------------------------------------------------------------- geometry

def word(v):
    return struct.pack("<q", (v << 2) | 2)


def geometry_seed(transposed, mode, cin, cout, groups, dims):
    rank = len(dims)
    flags = int(transposed) | (mode << 1) | ((rank - 1) << 3)
    out = word(flags) + word(cin) + word(cout) + word(groups)
    for d in dims:  # (input, kernel, stride, dilation, pad_lo, pad_hi, output_padding)
        out += b"".join(word(v) for v in d)
    return out


GEOMETRY = {
    "conv2d_k3_s2_p1": geometry_seed(False, 0, 1, 1, 1, [(4, 3, 2, 1, 1, 1, 0)] * 2),
    "convT2d_k3_s2": geometry_seed(True, 0, 1, 1, 1, [(2, 3, 2, 1, 0, 0, 0)] * 2),
    "conv1d_reflect": geometry_seed(False, 2, 2, 4, 2, [(7, 3, 1, 2, 2, 1, 0)]),
    "conv1d_circular": geometry_seed(False, 1, 1, 1, 1, [(5, 4, 1, 1, 5, 5, 0)]),
    "conv3d_replicate": geometry_seed(False, 3, 3, 3, 3, [(3, 2, 1, 1, 2, 0, 0)] * 3),
    "convT1d_op_dil": geometry_seed(True, 0, 2, 2, 1, [(10, 5, 5, 3, 4, 4, 2)]),
    "huge_padding": geometry_seed(True, 0, 1, 1, 1, [(2, 1, 1, 1, 2**60, 2**60, 0)]),
    "huge_stride": geometry_seed(False, 0, 1, 1, 1, [(2**40, 3, 2**20, 1, 0, 0, 0)]),
}


# ---------------------------------------------------------------- matrix files

def small_matrix(fmt="csr", seed=0):
    rng = np.random.default_rng(seed)
    A = scipy.sparse.random(5, 7, density=0.3, random_state=rng, format=fmt)
    A.data = np.round(A.data * 8 - 4, 3)
    return A


def mmwrite_bytes(A, **kw):
    buf = io.BytesIO()
    scipy.io.mmwrite(buf, A, **kw)
    return buf.getvalue()


def matrix_market_seeds():
    A = small_matrix()
    S = scipy.sparse.csr_matrix(np.array([[2.0, -1, 0], [-1, 2, -1], [0, -1, 2]]))
    K = scipy.sparse.csr_matrix(np.array([[0.0, 1, -2], [-1, 0, 3], [2, -3, 0]]))
    return {
        "scipy_general_real": mmwrite_bytes(A),
        "scipy_symmetric": mmwrite_bytes(S, symmetry="symmetric"),
        "scipy_skew_symmetric": mmwrite_bytes(K, symmetry="skew-symmetric"),
        "scipy_pattern": mmwrite_bytes(A, field="pattern"),
        "scipy_integer": mmwrite_bytes(scipy.sparse.csr_matrix(np.array([[1, 0, -3], [0, 7, 0]])), field="integer"),
        "scipy_array": mmwrite_bytes(np.array([[1.5, 0], [0, -2.25], [3, 4]])),
        "duplicates_crlf_comments": "%%MatrixMarket matrix coordinate real general\r\n% a comment\r\n\r\n"
                                    "2 2 3\r\n1 1 1.5\r\n1 1 2.5\r\n2 1 -1e-300\r\n",
        "values_inf_nan_subnormal": "%%MatrixMarket matrix coordinate real general\n3 1 3\n1 1 inf\n2 1 nan\n"
                                    "3 1 4.9e-324\n",
        "empty_0x0": "%%MatrixMarket matrix coordinate real general\n0 0 0\n",
        # issue #10: a 2^62 x 2^62 header crashed inspect; a 66-byte file declaring 2e8 rows took 3.1 GB
        "issue10_huge_header": "%%MatrixMarket matrix coordinate real general\n"
                               "4611686018427387904 4611686018427387904 0\n",
        "issue10_200M_rows_66_bytes": "%%MatrixMarket matrix coordinate real general\n200000000 1 1\n1 1 1\n",
        "more_entries_than_bytes": "%%MatrixMarket matrix coordinate real general\n3 3 1000000\n1 1 1\n",
        "array_rows_cols_overflow": "%%MatrixMarket matrix array real general\n4294967296 4294967296\n1\n",
        "index_out_of_range": "%%MatrixMarket matrix coordinate real general\n2 2 1\n3 1 1\n",
    }


def npz_bytes(A, compressed):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.npz")
        scipy.sparse.save_npz(path, A, compressed=compressed)
        return open(path, "rb").read()


def npz_members(members, compressed=False):
    """An npz archive of the given .npy members (numpy's own writer: zip64 headers, as np.savez)."""
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **members)
    return buf.getvalue()


def npz_seeds():
    A = small_matrix()
    bad_indptr = dict(format=np.array(b"csr"), shape=np.array([3, 3]), indptr=np.array([0, 3, 1, 3]),
                      indices=np.array([0, 1, 2]), data=np.array([1.0, 2.0, 3.0]))
    return {
        "scipy_csr_stored": npz_bytes(A, False),
        "scipy_csr_deflated": npz_bytes(A, True),
        "scipy_csc_stored": npz_bytes(small_matrix("csc", 1), False),
        "scipy_coo_deflated": npz_bytes(small_matrix("coo", 2), True),
        "scipy_float32_int64": npz_bytes(scipy.sparse.csr_matrix(
            (np.array([1.5, -2], np.float32), np.array([0, 2], np.int64), np.array([0, 1, 2], np.int64)),
            shape=(2, 3)), False),
        "scipy_empty": npz_bytes(scipy.sparse.csr_matrix((0, 4)), False),
        # issue #10: indptr [0, 3, 1, 3] with 3 values was accepted and gave 5 entries
        "issue10_indptr_decreasing": npz_members(bad_indptr),
        "indices_out_of_range": npz_members(dict(bad_indptr, indptr=np.array([0, 1, 2, 3]),
                                                 indices=np.array([0, 1, 7]))),
        "shape_negative": npz_members(dict(bad_indptr, shape=np.array([-3, 3]))),
        "not_a_zip": b"PK\x03\x04" + b"\x00" * 40,
    }


# ---------------------------------------------------------------- .npy

def npy_bytes(a):
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def npy_seeds():
    ar = np.arange(12, dtype=np.float64).reshape(3, 4)
    seeds = {
        "float64_3x4": npy_bytes(ar),
        "float32_weight_2x1x3x3": npy_bytes(np.linspace(-1, 1, 18, dtype=np.float32).reshape(2, 1, 3, 3)),
        "fortran_order": npy_bytes(np.asfortranarray(ar)),
        "int8": npy_bytes(np.array([-128, 0, 127], np.int8)),
        "uint16": npy_bytes(np.array([[0, 65535]], np.uint16)),
        "int64": npy_bytes(np.array([-2**63, 2**63 - 1], np.int64)),
        "bool": npy_bytes(np.array([True, False])),
        "scalar_0d": npy_bytes(np.float64(3.5)),
        "empty_0x5": npy_bytes(np.zeros((0, 5))),
        "nan_inf": npy_bytes(np.array([np.nan, np.inf, -np.inf, -0.0])),
        "big_endian": npy_bytes(np.arange(3, dtype=">f8")),
        "complex": npy_bytes(np.array([1 + 2j])),
        "version_2": b"\x93NUMPY\x02\x00" + struct.pack("<I", 118) +
                     b"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }".ljust(117) + b"\n" +
                     np.array([1.0, 2.0]).tobytes(),
        "shape_product_overflows": b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) +
                                   b"{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"
                                   .ljust(117) + b"\n",
    }
    return seeds


# ---------------------------------------------------------------- images

def pil_png(mode, size, **kw):
    im = Image.new(mode, size)
    w, h = size
    if mode == "P":
        im.putpalette([i % 256 for i in range(768)])
    im.putdata([((x * 37 + y * 11) % 256 if mode in ("L", "P") else
                 (x * 4000 + y) % 65536 if mode == "I;16" else
                 ((x * 37) % 256, (y * 53) % 256, 128) if mode == "RGB" else
                 ((x * 37) % 256, (y * 53) % 256, 128, 200) if mode == "RGBA" else
                 ((x * 37) % 256, 200) if mode == "LA" else (x + y) % 2)
                for y in range(h) for x in range(w)])
    buf = io.BytesIO()
    im.save(buf, format="PNG", **kw)
    return buf.getvalue()


def png_seeds():
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    sig = b"\x89PNG\r\n\x1a\n"
    huge = sig + chunk(b"IHDR", struct.pack(">IIBBBBB", 2**20, 2**20, 8, 0, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    bad_crc = bytearray(pil_png("L", (4, 4)))
    bad_crc[29] ^= 0xFF  # inside IHDR's CRC
    return {
        "pil_gray8_5x3": pil_png("L", (5, 3)),
        "pil_gray16_4x4": pil_png("I;16", (4, 4)),
        "pil_rgb_3x2": pil_png("RGB", (3, 2)),
        "pil_rgba_2x2": pil_png("RGBA", (2, 2)),
        "pil_gray_alpha": pil_png("LA", (2, 3)),
        "pil_palette": pil_png("P", (4, 2)),
        "pil_1bit": pil_png("1", (9, 2)),
        "header_2^20_square_tiny_data": huge,
        "bad_ihdr_crc": bytes(bad_crc),
        "truncated": pil_png("RGB", (8, 8))[:60],
    }


def pgm_seeds():
    return {
        "p5_8bit_4x3": b"P5\n4 3\n255\n" + bytes(range(0, 240, 20)),
        "p5_16bit_2x2": b"P5\n2 2\n65535\n" + b"\x00\x00\xff\xff\x12\x34\xab\xcd",
        "p5_maxval_100": b"P5 3 1 100 " + bytes([0, 50, 100]),
        "p2_comments": b"P2\n# a comment\n3 2 # width height\n15\n0 5 10\n15 # end\n3 7\n",
        "pil_p5": (lambda im: (lambda b: (im.save(b, format="PPM"), b.getvalue())[1])(io.BytesIO()))(
            Image.frombytes("L", (3, 3), bytes(range(0, 90, 10)))),
        # issue #10: a 4294967296 x 4294967296 header crashed convmtx solve --image F --downscale 2
        "issue10_header_2^32_square": b"P5\n4294967296 4294967296\n255\n\x00",
        "sample_above_maxval": b"P5 2 1 7 " + bytes([3, 9]),
        "p2_too_few_samples": b"P2 3 3 255 1 2 3",
        "raster_longer_than_declared": b"P5 1 1 255 " + b"\x00\x00",
    }


# ---------------------------------------------------------------- --config JSON and the CLI

CONFIGS = {
    "conv2d_stride_padding": '{"input": [1, 4, 4], "kernel": [3, 3], "stride": 2, "padding": 1}',
    "convT2d_output_padding": '{"input": [2, 3, 3], "kernel": [3, 3], "stride": 2, "padding": 1, '
                              '"output_padding": 1, "transposed": true, "out_channels": 2, "weights": "arange"}',
    "conv1d_groups_dilation": '{"input": [4, 9], "kernel": 3, "groups": 2, "dilation": 2, "out_channels": 6, '
                              '"weights": "random:7"}',
    "conv2d_sides_reflect": '{"input": "1x5x4", "kernel": "2x3", "padding_lo": [1, 0], "padding_hi": [0, 2], '
                            '"padding_mode": "reflect"}',
    "conv3d_same": '{"input": [1, 3, 3, 3], "kernel": [3, 3, 3], "padding": "same", "weights": "ones"}',
    "weights_file": '{"input": [1, 5, 5], "weights": "w.npy"}',
    "keras_layout": '{"input": [1, 4, 4], "weights": "w.npy", "weight_layout": "keras", "convention": "keras", '
                    '"padding": "same"}',
    "convT_output_size": '{"input": [1, 3], "kernel": 3, "stride": 2, "transposed": true, "output_size": 8}',
    # issue #10: 0 and "false" built the transposed convolution
    "issue10_transposed_0": '{"input": [1, 4, 4], "kernel": [3, 3], "transposed": 0}',
    "issue10_transposed_string": '{"input": [1, 4, 4], "kernel": [3, 3], "transposed": "false"}',
    "weights_nan": '{"input": [1, 4, 4], "weights": "nan.npy"}',
    "weights_dev_zero": '{"input": [1, 4, 4], "weights": "zero.npy"}',
    "huge_padding": '{"input": [1, 2], "kernel": 1, "padding": 9223372036854775807, "transposed": true}',
    "repeated_key": '{"input": [1, 4, 4], "kernel": 3, "stride": 1, "stride": 2}',
}

CLI = {
    "demo": ["demo"],
    "version": ["--version"],
    "help_config": ["help", "config"],
    "build_mtx": ["build", "--input", "1x4x4", "--kernel", "3x3", "--stride", "2", "--padding", "1", "--weights",
                  "arange", "-o", "W.mtx"],
    "build_npz_transposed": ["build", "--input", "2x3x3", "--kernel", "3x3", "--transposed", "--stride", "2",
                             "--output-padding", "1", "--dtype", "float32", "-o", "T.npz"],
    "build_config": ["build", "--config", "c.json", "--which", "T", "-o", "T.mtx"],
    "build_weights_file": ["build", "--input", "1x5x5", "--weights", "w.npy", "--drop-zeros", "-o", "W.mtx"],
    "inspect_matrix": ["inspect", "--matrix", "m.mtx"],
    "inspect_npz_checked": ["inspect", "--matrix", "m.npz", "--input", "1x4x4", "--kernel", "3x3", "--stride", "2",
                            "--padding", "1", "--weights", "w.npy", "--json"],
    "spy": ["spy", "--input", "2x4x4", "--kernel", "3x3", "--groups", "2", "--cell", "3", "-o", "s.png"],
    "spy_matrix_density": ["spy", "--matrix", "m.mtx", "--density", "--size", "16", "-o", "s.png"],
    "explain_at": ["explain", "--input", "1x4x4", "--kernel", "3x3", "--padding", "1", "--at", "1x2"],
    "explain_from_matrix": ["explain", "--matrix", "m.npz", "--from", "5", "--input-values", "arange"],
    "overlap_png": ["overlap", "--input", "1x3x3", "--kernel", "3x3", "--stride", "2", "--transposed", "--cell", "4",
                    "-o", "o.png"],
    "explore": ["explore", "--input", "1x2x2", "--kernel", "3x3", "--stride", "2", "--transposed", "-o", "p.html"],
    "solve_image": ["solve", "--image", "i.png", "--blur", "box:3", "--lambda", "0.1", "--iters", "5", "-o", "x.pgm"],
    "solve_pgm_kernel": ["solve", "--image", "i.pgm", "--kernel", "k.npy", "--method", "cgls", "--iters", "3",
                         "--montage", "m.png"],
    "adjoint_sweep": ["adjoint-test", "--count", "2", "--trials", "1", "--json", "r.json"],
    "adjoint_one": ["adjoint-test", "--input", "1x5", "--kernel", "2", "--stride", "2", "--transposed"],
    # issue #10
    "issue10_padding_int64_max": ["build", "--input", "1x2", "--kernel", "1", "--padding", "9223372036854775807",
                                  "--transposed", "-o", "T.mtx"],
    "issue10_spy_cell_huge": ["spy", "--input", "1x4x4", "--kernel", "1x1", "--cell", "1152921504606846977",
                              "-o", "s.png"],
    "issue10_weights_nan": ["build", "--input", "1x4x4", "--weights", "nan.npy", "-o", "W.mtx"],
    "issue10_weights_dev_zero": ["inspect", "--input", "1x4x4", "--weights", "zero.npy"],
    "issue10_solve_downscale": ["solve", "--image", "i.pgm", "--downscale", "2"],
    "matrix_truncated": ["inspect", "--matrix", "t.mtx"],
    "matrix_directory": ["spy", "--matrix", "d.mtx", "-o", "s.png"],
    "empty_value": ["build", "--input=", "-o", "W.mtx"],
}


def main():
    write_corpus("geometry", GEOMETRY)
    write_corpus("matrix_market", matrix_market_seeds())
    write_corpus("npz", npz_seeds())
    write_corpus("npy", npy_seeds())
    write_corpus("png", png_seeds())
    write_corpus("pgm", pgm_seeds())
    write_corpus("config", CONFIGS)
    write_corpus("cli", {name: "\0".join(args) for name, args in CLI.items()})


if __name__ == "__main__":
    main()
