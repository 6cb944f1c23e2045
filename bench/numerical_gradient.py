#!/usr/bin/env python3
"""The peer of bench/numericalGradient.bench.ts: the book's numerical_gradient (common/gradient.py,
np.nditer loop) on simpleNet's 2x3 W and on x0^2 + x1^2, timed for about `seconds` each.

    python3 bench/numerical_gradient.py [seconds]

Prints one JSON line: {"simpleNet": evaluations/s, "sumOfSquares": evaluations/s, "numpy": version}.
"""
import json
import sys
import time

import numpy as np


def softmax(x):
    x = x - np.max(x, axis=-1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def cross_entropy_error(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    batch_size = y.shape[0]
    return -np.sum(t * np.log(y + 1e-7)) / batch_size


def numerical_gradient(f, x):
    h = 1e-4
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=['multi_index'], op_flags=['readwrite'])
    while not it.finished:
        idx = it.multi_index
        tmp_val = x[idx]
        x[idx] = float(tmp_val) + h
        fxh1 = f(x)
        x[idx] = tmp_val - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp_val
        it.iternext()
    return grad


def rate(f, x, seconds):
    calls = 0
    start = time.perf_counter()
    while True:
        numerical_gradient(f, x)
        calls += 2 * x.size
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls / elapsed


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    W = np.array([[0.47355232, 0.9977393, 0.84668094], [0.85557411, 0.03563661, 0.69422093]])
    x = np.array([0.6, 0.9])
    t = np.array([0, 0, 1])
    simple = rate(lambda w: cross_entropy_error(softmax(np.dot(x, w)), t), W, seconds)
    squares = rate(lambda v: v[0] ** 2 + v[1] ** 2, np.array([3.0, 4.0]), seconds)
    print(json.dumps({"simpleNet": simple, "sumOfSquares": squares, "numpy": np.__version__}))


if __name__ == "__main__":
    main()
