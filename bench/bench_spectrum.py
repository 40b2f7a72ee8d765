#!/usr/bin/python3
"""Benchmark: the spectrum of W (convmtx.svdvals / opnorm), best of --repeat runs, against numpy.

1. fft: all singular values of a circular 64 -> 64, 3x3 conv on 64x64 (262,144 values), against
   numpy's batched SVD (np.linalg.svd on a (frequencies, 64, 64) stack) of the same FFT blocks.
2. lanczos: sigma_max of the zeros-padded 64 -> 64, 3x3 conv on 128x128 to 1e-8 relative, checked
   against the certified circular-embedding bound; on 32x32 also against scipy.sparse.linalg.svds
   (ARPACK) on the explicit W.
3. dense: every value of a small conv (8 -> 8, 3x3 on 16x16) by convmtx's dense path and by
   numpy.linalg.svd of W.toarray().

    PYTHONPATH=<build>/python /usr/bin/python3 bench/bench_spectrum.py
"""

import argparse
import os
import time

import numpy as np
import scipy.sparse.linalg as sla

import convmtx


def best(f, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def fft_blocks(w, n):
    """The 2-D circular conv's per-frequency C_out x C_in blocks, as numpy computes them."""
    c_out, c_in, k, _ = w.shape
    p = (k - 1) // 2
    # A(f)[o, c] = sum_t w[o, c, t] exp(2 pi i f . (t - p) / n)
    wpad = np.zeros((c_out, c_in, n, n))
    for a in range(k):
        for b in range(k):
            wpad[:, :, (a - p) % n, (b - p) % n] += w[:, :, a, b]
    A = np.conj(np.fft.fft2(wpad, axes=(2, 3)))
    return np.ascontiguousarray(A.transpose(2, 3, 0, 1).reshape(n * n, c_out, c_in))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    threads = os.environ.get("OMP_NUM_THREADS", str(os.cpu_count()))
    print(f"threads: {threads}")

    w = rng.standard_normal((64, 64, 3, 3)) / 24
    t_fft, s = best(lambda: convmtx.svdvals((64, 64, 64), w, padding=1, padding_mode="circular"), args.repeat)
    t_blocks, A = best(lambda: fft_blocks(w, 64), args.repeat)
    t_np, s_np = best(lambda: np.linalg.svd(A, compute_uv=False), args.repeat)
    s_np = np.sort(s_np.ravel())[::-1]
    print(f"fft: circular 64->64 3x3 on 64x64: {s.size} values in {t_fft:.3f} s (convmtx); numpy blocks "
          f"{t_blocks:.3f} s + batched SVD {t_np:.3f} s; max difference {np.max(np.abs(s - s_np)) / s[0]:.1e} (relative)")

    t_lz, r = best(lambda: convmtx.spectrum((64, 128, 128), w, padding=1, k=1, method="lanczos", tol=1e-8), args.repeat)
    value, bound = convmtx.opnorm((64, 128, 128), w, padding=1, certify=True, method="lanczos", tol=1e-8)
    print(f"lanczos: zeros 64->64 3x3 on 128x128 (W {r['rows']} x {r['cols']}): sigma_max {r['values'][0]:.10f} in "
          f"{t_lz:.3f} s ({r['products']} products, residual bound {r['residuals'][0]:.1e}); certified upper bound "
          f"{bound:.10f} (relative gap {(bound - value) / value:.1e})")

    # scipy's svds (ARPACK) on the explicit W of a smaller grid, where the matrix fits comfortably
    W = convmtx.conv_matrix((64, 32, 32), w, padding=1)
    t_ours, ours = best(lambda: convmtx.opnorm((64, 32, 32), w, padding=1, method="lanczos", tol=1e-8), args.repeat)
    t_svds, top = best(lambda: sla.svds(W, k=1, tol=1e-8, return_singular_vectors=False), args.repeat)
    print(f"lanczos vs scipy svds: zeros 64->64 3x3 on 32x32 ({W.shape[0]} x {W.shape[1]}): convmtx {ours:.10f} in "
          f"{t_ours:.3f} s (matrix-free); svds on the explicit W {top[0]:.10f} in {t_svds:.3f} s")

    ws = rng.standard_normal((8, 8, 3, 3))
    t_dense, d = best(lambda: convmtx.svdvals((8, 16, 16), ws, padding=1, method="dense"), args.repeat)
    Wd = convmtx.conv_matrix((8, 16, 16), ws, padding=1).toarray()
    t_npd, d_np = best(lambda: np.linalg.svd(Wd, compute_uv=False), args.repeat)
    print(f"dense: zeros 8->8 3x3 on 16x16 ({Wd.shape[0]} x {Wd.shape[1]}): convmtx {t_dense:.3f} s, numpy "
          f"{t_npd:.3f} s; max difference {np.max(np.abs(d - d_np)) / d[0]:.1e} (relative)")


if __name__ == "__main__":
    main()
