#!/usr/bin/env python3
"""convmtx's deconvolution side by side with scikit-image's restoration module.

Images: the 128 x 128 Shepp-Logan phantom and scikit-image's `camera` downscaled to 128 x 128 by
4 x 4 block means, each blurred with a 9 x 9 Gaussian (sigma 2) and with a horizontal motion blur
of length 9, zero boundaries (convmtx.blur, which equals scipy.ndimage.convolve(mode='constant')),
plus Gaussian noise of standard deviation 0.01 (seed 0).

scikit-image: wiener (balance 0.003, 0.01, 0.03, 0.1), unsupervised_wiener (random_state 0),
richardson_lucy (10, 30, 100 iterations; on b and, since it assumes non-negative data, on b clipped to
[0, 1]). convmtx: deconvolve with lam='auto' and the noise
estimated from b (fully automatic), TV with bounds (0, 1), Tikhonov and gradient by pcgls; the
Tikhonov problem is also solved by unpreconditioned CGLS for the iteration counts.

PSNR and SSIM of the results clipped to [0, 1]; times are wall-clock seconds of one call, on one
thread (OMP_NUM_THREADS=1). Prints a Markdown table (docs/solvers.md).

    PYTHONPATH=build/python /usr/bin/python3 bench/bench_deblur.py
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import time  # noqa: E402

import numpy as np  # noqa: E402
from skimage import data, restoration  # noqa: E402

import convmtx  # noqa: E402


def quality(x, truth):
    x = np.clip(x, 0, 1)
    return convmtx.psnr(x.astype(np.float32), truth.astype(np.float32)), convmtx.ssim(x, truth)


def timed(f):
    t0 = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t0


def images():
    phantom = convmtx.shepp_logan(128).astype(np.float64)
    cam = data.camera().astype(np.float64) / 255
    cam = cam.reshape(128, 4, 128, 4).mean(axis=(1, 3))
    return {"phantom": phantom, "camera": cam}


def main():
    psfs = {"gaussian 9x9 s=2": convmtx.psf("gaussian:9:2.0"), "motion 9": convmtx.psf("motion:9:0")}
    rows = []
    precond = []
    for iname, truth in images().items():
        for pname, psf in psfs.items():
            rng = np.random.default_rng(0)
            b = convmtx.blur(truth, psf, "zeros") + 0.01 * rng.standard_normal(truth.shape)
            res = {"blurred b": (quality(b, truth), 0.0)}
            for bal in (0.003, 0.01, 0.03, 0.1):
                x, t = timed(lambda: restoration.wiener(b, psf, bal))
                res[f"skimage wiener {bal}"] = (quality(x, truth), t)
            (x, _), t = timed(lambda: restoration.unsupervised_wiener(b, psf, random_state=0))
            res["skimage unsupervised_wiener"] = (quality(x, truth), t)
            for it in (10, 30, 100):
                x, t = timed(lambda: restoration.richardson_lucy(b, psf, num_iter=it))
                res[f"skimage richardson_lucy {it}"] = (quality(x, truth), t)
                # Richardson-Lucy models non-negative (Poisson) data: also given b clipped to [0, 1].
                x, t = timed(lambda: restoration.richardson_lucy(np.clip(b, 0, 1), psf, num_iter=it))
                res[f"skimage richardson_lucy {it} on clip(b, 0, 1)"] = (quality(x, truth), t)
            for reg, kw in (("tv", dict(bounds=(0, 1))), ("tikhonov", {}), ("gradient", {})):
                (x, r), t = timed(lambda: convmtx.deconvolve(b, psf, regularizer=reg, **kw))
                res[f"convmtx {reg} ({r.method}, lam {r.lam:.2g})"] = (quality(x, truth), t)
                if reg != "tv":
                    (_, ru), tu = timed(lambda: convmtx.deconvolve(b, psf, regularizer=reg, lam=r.lam, method="cgls"))
                    (_, rp), tp = timed(lambda: convmtx.deconvolve(b, psf, regularizer=reg, lam=r.lam, method="pcgls"))
                    precond.append((iname, pname, reg, r.lam, ru.iterations, tu, rp.iterations, tp))
            sk = {k: v for k, v in res.items() if k.startswith("skimage")}
            cm = {k: v for k, v in res.items() if k.startswith("convmtx")}
            best_sk = max(sk, key=lambda k: sk[k][0][0])
            fastest_sk = min(v[1] for v in sk.values())
            best_cm = max(cm, key=lambda k: cm[k][0][0])
            rows.append((iname, pname, res, best_sk, best_cm, fastest_sk))
    for iname, pname, res, best_sk, best_cm, fastest in rows:
        print(f"\n#### {iname}, {pname}, noise 0.01\n")
        print("| method | PSNR (dB) | SSIM | time (s) |\n|---|---|---|---|")
        for k, ((p, s), t) in res.items():
            mark = " **best**" if k in (best_sk, best_cm) else ""
            print(f"| {k}{mark} | {p:.2f} | {s:.3f} | {t:.3f} |")
    print("\n| image | blur | best scikit-image | best convmtx | margin (dB) | time / fastest scikit-image |")
    print("|---|---|---|---|---|---|")
    for iname, pname, res, best_sk, best_cm, fastest in rows:
        margin = res[best_cm][0][0] - res[best_sk][0][0]
        print(f"| {iname} | {pname} | {best_sk[8:]} {res[best_sk][0][0]:.2f} | {best_cm[8:]} {res[best_cm][0][0]:.2f} "
              f"| {margin:+.2f} | {res[best_cm][1] / fastest:.0f}x |")
    print("\n| image | blur | penalty | lambda | CGLS iterations (s) | PCGLS iterations (s) |\n|---|---|---|---|---|---|")
    for iname, pname, reg, lam, iu, tu, ip, tp in precond:
        print(f"| {iname} | {pname} | {reg} | {lam:.3g} | {iu} ({tu:.2f}) | {ip} ({tp:.2f}) |")


if __name__ == "__main__":
    main()
