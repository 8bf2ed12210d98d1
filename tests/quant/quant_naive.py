"""Slow, obvious reference twins of sail.quant (plain loops, read like the equations)."""

import math

import numpy as np


def rtn(w, w_bits, group_size, symmetric=False):
    """Returns (q, scale, zero) computed group by group with Python scalars."""
    m, k = w.shape
    g = k if group_size in (None, -1) else group_size
    maxq = 2**w_bits - 1
    q = np.zeros((m, k), dtype=np.uint8)
    scale = np.zeros((m, k // g), dtype=np.float32)
    zero = np.zeros((m, k // g), dtype=np.float32)
    for r in range(m):
        for j in range(k // g):
            vals = [float(v) for v in w[r, j * g:(j + 1) * g]]
            if symmetric:
                amax = max(abs(v) for v in vals)
                if w_bits == 1:
                    s, z = 2 * amax, 0.5
                else:
                    s, z = amax / (2 ** (w_bits - 1) - 1), float(2 ** (w_bits - 1))
            else:
                lo, hi = min(min(vals), 0.0), max(max(vals), 0.0)
                s = (hi - lo) / maxq
                z = float(min(max(round(-lo / s), 0), maxq)) if s > 0 else 0.0
            if s <= 0:
                s = 1.0
            s = np.float32(s)
            scale[r, j], zero[r, j] = s, z
            for t, v in enumerate(vals):
                q[r, j * g + t] = min(max(round(np.float32(v) / s + np.float32(z)), 0), maxq)
    return q, scale, zero


def act(x, a_bits):
    n, k = x.shape
    qmax = 2 ** (a_bits - 1) - 1
    codes = np.zeros((n, k), dtype=np.int64)
    s_x = np.zeros(n, dtype=np.float32)
    for i in range(n):
        amax = max(abs(float(v)) for v in x[i])
        s = np.float32(amax) / np.float32(qmax) if amax > 0 else np.float32(1.0)
        s_x[i] = s
        for t in range(k):
            codes[i, t] = min(max(round(np.float32(x[i, t]) / s), -qmax - 1), qmax)
    return codes, s_x
