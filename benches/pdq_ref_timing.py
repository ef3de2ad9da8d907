#!/usr/bin/env python3
"""Times the reference PDQ (the pdqhash binding of Meta's C++ core) on RGB arrays of
the sizes benches/pdq_kernel.rs uses, for the kernel comparison in docs/benchmarks.md.

Run with the peers' Python (../shared/reference/setup.sh DIR installs it):
    DIR/venv/bin/python benches/pdq_ref_timing.py
Prints, per size, the best of N runs of pdqhash.compute (numpy luma + Jarosz filter +
DCT) and of its numpy luma step alone, one core (pdqhash is single-threaded).
"""
import time

import numpy as np
import pdqhash


def synthetic_rgb(w, h, seed=1):
    rng = np.random.default_rng(seed)
    x = np.arange(w)[None, :] * 255 // w
    y = np.arange(h)[:, None] * 255 // h
    noise = rng.integers(0, 32, size=(h, w))
    r = (x + noise) & 255
    g = (y + noise) & 255
    b = ((x + y) // 2 + noise) & 255
    return np.ascontiguousarray(np.stack([r, g, b], axis=-1).astype(np.uint8))


for (w, h, runs) in [(4000, 3000, 5), (1000, 1000, 20)]:
    a = synthetic_rgb(w, h)
    pdqhash.compute(a)  # warm-up
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        pdqhash.compute(a)
        best = min(best, time.perf_counter() - t)
    # The binding's own luma step (numpy, float64), timed alone, so that the C++
    # kernel's share can be told apart.
    luma_best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        (a[:, :, 0] * 0.299 + a[:, :, 1] * 0.587 + a[:, :, 2] * 0.114).astype("float32")
        luma_best = min(luma_best, time.perf_counter() - t)
    print(
        f"pdqhash.compute {w}x{h}: best of {runs}: {best * 1000:.1f} ms "
        f"(numpy luma {luma_best * 1000:.1f} ms, C++ kernel about {(best - luma_best) * 1000:.1f} ms)"
    )
