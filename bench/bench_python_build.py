#!/usr/bin/python3
"""Benchmark: time to build the sparse matrix W from Python (convmtx.conv_matrix, which returns a
scipy.sparse.csr_matrix sharing the C++ arrays), best of --repeat runs, and the same matrix
built in C++ by bench_build (if --cpp is given), with the Python/C++ ratio.

Default configuration (as bench_build): 2-D conv, 16 -> 16 channels, 3x3 kernel, padding 1,
148x148 input: 50,013,184 entries.

    PYTHONPATH=<build>/python /usr/bin/python3 bench/bench_python_build.py --cpp <build>/bin/bench_build
"""

import argparse
import re
import statistics
import subprocess
import sys
import time

import numpy as np

import convmtx


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=148)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--kernel", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--float", action="store_true", help="float32 instead of float64")
    ap.add_argument("--int64", action="store_true", help="int64 indices instead of int32")
    ap.add_argument("--cpp", help="path of the bench_build program, to compare with C++")
    a = ap.parse_args()

    dtype = np.float32 if a.float else np.float64
    index = np.int64 if a.int64 else np.int32
    c, k = a.channels, a.kernel
    w = (0.5 + (np.arange(c * c * k * k) % 7)).astype(dtype).reshape(c, c, k, k)  # as bench_build
    cmd = None
    if a.cpp:
        cmd = [a.cpp, "--size", str(a.size), "--channels", str(c), "--kernel", str(k), "--repeat", "1"]
        cmd += (["--float"] if a.float else []) + (["--int64"] if a.int64 else [])
    # Rounds alternate Python and C++ so that load from other processes hits both alike.
    times, copy_times, cpp_times = [], [], []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        M = convmtx.conv_matrix((c, a.size, a.size), w, padding=k // 2, index_dtype=index)
        times.append(time.perf_counter() - t0)
        nnz = M.nnz
        assert M.indices.dtype == index and M.data.dtype == dtype
        # What a binding that copies the arrays once would add (for comparison only).
        t1 = time.perf_counter()
        copies = [M.data.copy(), M.indices.copy(), M.indptr.copy()]
        copy_times.append(time.perf_counter() - t1)
        del M, copies
        if cmd:
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            cpp_times.append(float(re.search(r"best=([0-9.]+)s", out).group(1)))
    best = min(times)
    label = f"scalar={'float' if a.float else 'double'} index={'int64' if a.int64 else 'int32'} " \
            f"input=({c},{a.size},{a.size}) kernel={k}x{k} nnz={nnz}"
    print(f"python  {label} best={best:.4f}s median={statistics.median(times):.4f}s entries/s={nnz / best:.3g}")
    print(f"copy    one copy of data, indices, indptr (not done by convmtx) best={min(copy_times):.4f}s "
          f"= {min(copy_times) / best:.0%} of the build")
    if cmd:
        cb = min(cpp_times)
        print(f"cpp     {label} best={cb:.4f}s median={statistics.median(cpp_times):.4f}s entries/s={nnz / cb:.3g}")
        ratios = [p / q for p, q in zip(times, cpp_times)]
        print(f"ratio   python/cpp best/best = {best / cb:.3f}, median of {a.repeat} paired rounds = "
              f"{statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
