#!/usr/bin/python3
"""Side by side in one process: convmtx against scipy and PyTorch, median of --repeat runs.

  build    convmtx.conv_matrix against a vectorised scipy builder (the COO entries from numpy
           index arithmetic, then .tocsr()) on workloads A, B, C
  apply    convmtx.spmv (the parallel products for Python operators' matvec/rmatvec, into a
           preallocated output, structure checked once) against scipy's W @ x and W.T @ y on the
           8 -> 8 channel, 3x3, 512^2 W (CSR, int32), 1 and 8 columns
  conv     convmtx.conv(method="direct") and convmtx.conv_transpose(method="scatter") against
           torch.nn.functional.conv*d / conv_transpose*d (CPU) on workloads A-G

Every row prints both medians and peer / convmtx (above 1: convmtx is faster). Threads: OpenMP's
and torch.set_num_threads(--threads). --tiny runs each row once on small sizes (ctest).
--cpu-time times by the process's CPU time divided by the threads a call uses (convmtx:
OMP_NUM_THREADS, PyTorch: --threads, scipy: 1) instead of the wall clock, the estimate of quiet-
machine wall time on a machine shared with other jobs (run with OMP_WAIT_POLICY=passive).

    PYTHONPATH=build/python OMP_NUM_THREADS=2 /usr/bin/python3 bench/bench_perf.py
"""

import argparse
import os
import statistics
import time

import numpy as np
import scipy.sparse as sp

import convmtx

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the conv rows need PyTorch
    torch = None

# name: batch, in channels, out channels, spatial size, kernel, stride, padding, output_padding
WORKLOADS = {
    "A": (1, 1, 1, (512, 512), 5, 1, 2, 0),
    "B": (1, 32, 32, (112, 112), 3, 2, 1, 1),
    "C": (1, 1, 1, (2048, 2048), 3, 1, 1, 0),
    "D": (1, 1, 1, (128, 128, 128), 3, 1, 1, 0),
    "E": (1, 1, 1, (1 << 20,), 31, 4, 15, 3),
    "F": (8, 1, 1, (512, 512), 5, 1, 2, 0),
    "G": (8, 64, 64, (64, 64), 3, 1, 1, 0),
}
TINY = {
    "A": (1, 1, 1, (32, 32), 5, 1, 2, 0),
    "B": (1, 4, 4, (16, 16), 3, 2, 1, 1),
    "C": (1, 1, 1, (64, 64), 3, 1, 1, 0),
    "D": (1, 1, 1, (12, 12, 12), 3, 1, 1, 0),
    "E": (1, 1, 1, (1024,), 31, 4, 15, 3),
    "F": (2, 1, 1, (32, 32), 5, 1, 2, 0),
    "G": (2, 8, 8, (16, 16), 3, 1, 1, 0),
}


CPU_TIME = False
TORCH_THREADS = 2
OMP_THREADS = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1))


def median_time(f, repeat, threads=None):
    """Median seconds of f over repeat calls; with --cpu-time, process CPU seconds / threads
    (threads: the calls' parallelism, OpenMP's by default)."""
    f()  # warm-up: first-use costs (thread pools, page faults of reused buffers) stay out
    times = []
    for _ in range(repeat):
        if CPU_TIME:
            t0 = time.process_time()
            f()
            times.append((time.process_time() - t0) / (threads or OMP_THREADS))
        else:
            t0 = time.perf_counter()
            f()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def row(what, ours, peer, peer_name, extra=""):
    print(f"| {what:<34} | {ours * 1e3:10.2f} ms | {peer_name:<22} {peer * 1e3:10.2f} ms | {peer / ours:7.2f}x |{extra}")


def weights(shape, dtype):
    n = int(np.prod(shape))
    return (0.5 + (np.arange(n) % 7) / 8).astype(dtype).reshape(shape)


def scipy_conv_matrix(in_shape, w, stride, padding):
    """W of a 2-D conv (zeros padding) from numpy index arithmetic: COO entries, then CSR."""
    cout, cin, k0, k1 = w.shape
    _, n0, n1 = in_shape
    m0 = (n0 + 2 * padding - k0) // stride + 1
    m1 = (n1 + 2 * padding - k1) // stride + 1
    o, c, t0, t1, q0, q1 = np.ix_(np.arange(cout), np.arange(cin), np.arange(k0), np.arange(k1),
                                  np.arange(m0), np.arange(m1))
    i0 = q0 * stride - padding + t0
    i1 = q1 * stride - padding + t1
    shape = (cout, cin, k0, k1, m0, m1)
    valid = np.broadcast_to((i0 >= 0) & (i0 < n0) & (i1 >= 0) & (i1 < n1), shape)
    rows = np.broadcast_to((o * m0 + q0) * m1 + q1, shape)[valid]
    cols = np.broadcast_to((c * n0 + i0) * n1 + i1, shape)[valid]
    vals = np.broadcast_to(w[o, c, t0, t1], shape)[valid]
    return sp.coo_matrix((vals, (rows, cols)), shape=(cout * m0 * m1, cin * n0 * n1)).tocsr()


def bench_build(workloads, repeat):
    print("\n## build W (float64 and float32 values, int32 indices)\n")
    print("| workload | convmtx | scipy | scipy / convmtx |\n|---|---|---|---|")
    for name in [k for k in "ABC" if k in workloads]:
        _, cin, cout, size, k, s, p, _ = workloads[name]
        for dtype in (np.float64, np.float32):
            w = weights((cout, cin, k, k), dtype)
            shape = (cin,) + size
            ours = median_time(lambda: convmtx.conv_matrix(shape, w, stride=s, padding=p), repeat)
            peer = median_time(lambda: scipy_conv_matrix(shape, w, s, p), repeat, threads=1)
            M = convmtx.conv_matrix(shape, w, stride=s, padding=p)
            R = scipy_conv_matrix(shape, w, s, p)
            assert abs(M - R).max() == 0, "the scipy builder disagrees with convmtx"
            row(f"{name} {np.dtype(dtype).name} nnz={M.nnz}", ours, peer, "scipy COO->CSR")


def bench_apply(tiny, repeat):
    n = 16 if tiny else 512
    print(f"\n## apply W (8 -> 8 channels, 3x3, {n}^2, CSR, int32): convmtx.spmv vs scipy\n")
    print("| product | convmtx | scipy | scipy / convmtx |\n|---|---|---|---|")
    for dtype in (np.float64, np.float32):
        W = convmtx.conv_matrix((8, n, n), weights((8, 8, 3, 3), dtype), padding=1)
        rng = np.random.default_rng(0)
        for cols in (None, 8):
            for transpose in (False, True):
                rows_in = W.shape[0] if transpose else W.shape[1]
                rows_out = W.shape[1] if transpose else W.shape[0]
                x = rng.standard_normal(rows_in if cols is None else (rows_in, cols)).astype(dtype)
                out = np.empty(rows_out if cols is None else (rows_out, cols), dtype)

                def ours():
                    convmtx.spmv(W, x, out=out, transpose=transpose, check=False)

                peer = (lambda: W.T @ x) if transpose else (lambda: W @ x)
                ours()
                ref = peer()
                scale = max(1.0, float(np.abs(ref).max()))
                assert float(np.abs(out - ref).max()) / scale < (1e-4 if dtype == np.float32 else 1e-12)
                t_ours = median_time(ours, repeat)
                t_peer = median_time(peer, repeat, threads=1)
                what = f"{'W.T @ y' if transpose else 'W @ x'} {np.dtype(dtype).name} {'x1' if cols is None else f'x{cols}'}"
                row(what, t_ours, t_peer, "scipy")
        ones, out1 = np.ones(W.shape[1], dtype), np.empty(W.shape[0], dtype)
        t_check = median_time(lambda: convmtx.spmv(W, ones, out=out1), repeat)
        print(f"|   (W @ x {np.dtype(dtype).name} with check=True, the O(nnz) structure check included: "
              f"{t_check * 1e3:.2f} ms) | | | |")


def bench_conv(workloads, repeat):
    if torch is None:
        print("\n(PyTorch is not installed: no conv rows)")
        return
    print("\n## matrix-free conv and transposed conv: convmtx vs PyTorch (CPU)\n")
    print("| workload | convmtx | PyTorch | PyTorch / convmtx |\n|---|---|---|---|")
    for dtype, tdtype in ((np.float64, torch.float64), (np.float32, torch.float32)):
        for name, (batch, cin, cout, size, k, s, p, op) in workloads.items():
            r = len(size)
            conv = (F.conv1d, F.conv2d, F.conv3d)[r - 1]
            convt = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[r - 1]
            rng = np.random.default_rng(1)
            x = rng.standard_normal((batch, cin) + size).astype(dtype)
            w = weights((cout, cin) + (k,) * r, dtype)
            tx, tw = torch.from_numpy(x), torch.from_numpy(w)
            with torch.no_grad():
                ref = conv(tx, tw, stride=s, padding=p).numpy()
            y = convmtx.conv(x, w, stride=s, padding=p, method="direct")
            assert np.abs(y - ref).max() / max(1.0, np.abs(ref).max()) < (1e-4 if dtype == np.float32 else 1e-12)
            with torch.no_grad():
                t_peer = median_time(lambda: conv(tx, tw, stride=s, padding=p), repeat, TORCH_THREADS)
            t_ours = median_time(lambda: convmtx.conv(x, w, stride=s, padding=p, method="direct"), repeat)
            row(f"conv {name} {np.dtype(dtype).name}", t_ours, t_peer, f"F.conv{r}d")
            # The transposed conv maps the conv's output shape back to its input shape.
            yt = rng.standard_normal(ref.shape[:1] + (cin,) + ref.shape[2:]).astype(dtype)
            wt = weights((cin, cout) + (k,) * r, dtype)
            tyt, twt = torch.from_numpy(yt), torch.from_numpy(wt)
            with torch.no_grad():
                reft = convt(tyt, twt, stride=s, padding=p, output_padding=op).numpy()
            out = convmtx.conv_transpose(yt, wt, stride=s, padding=p, output_padding=op, method="scatter")
            assert np.abs(out - reft).max() / max(1.0, np.abs(reft).max()) < (1e-4 if dtype == np.float32 else 1e-12)
            with torch.no_grad():
                t_peer = median_time(lambda: convt(tyt, twt, stride=s, padding=p, output_padding=op), repeat,
                                     TORCH_THREADS)
            t_ours = median_time(lambda: convmtx.conv_transpose(yt, wt, stride=s, padding=p, output_padding=op,
                                                                method="scatter"), repeat)
            row(f"conv_transpose {name} {np.dtype(dtype).name}", t_ours, t_peer, f"F.conv_transpose{r}d")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (convmtx: OMP_NUM_THREADS)")
    ap.add_argument("--tiny", action="store_true", help="small sizes, one run each (a smoke test)")
    ap.add_argument("--only", choices=["build", "apply", "conv"], action="append", help="run only these parts")
    ap.add_argument("--cpu-time", action="store_true", help="process CPU time / threads instead of wall time")
    ap.add_argument("--workloads", default="ABCDEFG", help="the workloads to run, e.g. BG (default: all)")
    a = ap.parse_args()
    global CPU_TIME, TORCH_THREADS
    CPU_TIME, TORCH_THREADS = a.cpu_time, a.threads
    repeat = 1 if a.tiny else a.repeat
    workloads = {k: v for k, v in (TINY if a.tiny else WORKLOADS).items() if k in a.workloads.upper()}
    if torch is not None:
        torch.set_num_threads(a.threads)
    parts = a.only or ["build", "apply", "conv"]
    print(f"convmtx bench_perf.py: median of {repeat}, {'CPU time / threads' if CPU_TIME else 'wall time'}, "
          f"OpenMP threads {OMP_THREADS}, torch threads {a.threads if torch else '-'}")
    if "build" in parts:
        bench_build(workloads, repeat)
    if "apply" in parts:
        bench_apply(a.tiny, repeat)
    if "conv" in parts:
        bench_conv(workloads, repeat)


if __name__ == "__main__":
    main()
