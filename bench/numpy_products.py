"""The products of W5, W3 and W6 in NumPy (float64, np.dot / @ as the book's layers call it), one
shape at a time: CPU seconds per product (time.process_time, median of 7 batches) and
multiply-adds per second counted as dense (NumPy multiplies the image batch's zeros too). The
peer of the third table of bench/kernels.bench.ts:

    OPENBLAS_NUM_THREADS=1 python3 bench/numpy_products.py
"""
import os
import time

import numpy as np

rng = np.random.default_rng(0)


def cpu_per_call(f, reps):
    f()
    runs = []
    for _ in range(7):
        c0 = time.process_time()
        for _ in range(reps):
            f()
        runs.append((time.process_time() - c0) / reps)
    return sorted(runs)[3]


def batch(m, k):
    """An image-like batch: ~19% non-zero (MNIST's share)."""
    return rng.random((m, k)) * (rng.random((m, k)) < 0.19)


# name, A, B, transA, transB (op(A)·op(B), as the backward passes call np.dot(x.T, dout))
SHAPES = [
    ("W5 x·W1 (128×784 · 784×256)", batch(128, 784), rng.random((784, 256)), False, False),
    ("W5 xᵀ·δ1 (784×128 · 128×256)", batch(128, 784), rng.random((128, 256)), True, False),
    ("W5 h1·W2 (128×256 · 256×128)", rng.random((128, 256)), rng.random((256, 128)), False, False),
    ("W5 δ2·W2ᵀ (128×128 · 128×256)", rng.random((128, 128)), rng.random((256, 128)), False, True),
    ("W5 h1ᵀ·δ2 (256×128 · 128×128)", rng.random((128, 256)), rng.random((128, 128)), True, False),
    ("W3 x·W1 (100×784 · 784×50)", batch(100, 784), rng.random((784, 50)), False, False),
    ("W3 xᵀ·δ1 (784×100 · 100×50)", batch(100, 784), rng.random((100, 50)), True, False),
    ("W6 h1·W2 (256×1024 · 1024×1024)", rng.random((256, 1024)), rng.random((1024, 1024)), False, False),
]

print(f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
print("| product | µs | G mul-adds/s (dense count) |")
print("| --- | ---: | ---: |")
for name, A, B, ta, tb in SHAPES:
    a = A.T if ta else A
    b = B.T if tb else B
    macs = a.shape[0] * a.shape[1] * b.shape[1]
    s = cpu_per_call(lambda: a @ b, max(1, int(2e8 / macs)))
    print(f"| {name} | {s * 1e6:.1f} | {macs / s / 1e9:.2f} |")
