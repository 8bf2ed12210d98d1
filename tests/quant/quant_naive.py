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


def gptq(w, h, w_bits, group_size, damp=0.01, act_order=False, block=128):
    """GPTQ from the paper's equations (Frantar et al. 2023, Algorithm 1 without lazy batches), in
    float64 with plain loops: for each column j in processing order, q_j = quant(w_j);
    e = (w_j - q_j) / [H⁻¹]_jj; w_{later} -= e · [H⁻¹]_{j, later}, where [H⁻¹] is the upper Cholesky
    factor of the damped inverse Hessian (the paper's Cholesky reformulation). Grid: asymmetric
    min/max per group (0 inside, integer zero-point). With act-order (static groups) from the
    original weights; without, as the reference code does: from the weights as they stand when
    its lazy block of ``block`` columns that holds the group's first column starts.
    Returns (q, scale, zero) in the original column order."""
    w = np.array(w, dtype=np.float64)
    h = np.array(h, dtype=np.float64)
    m, k = w.shape
    g = k if group_size in (None, -1) else group_size
    maxq = 2**w_bits - 1
    dead = np.diag(h) == 0
    for i in np.flatnonzero(dead):
        h[i, i] = 1.0
    w[:, dead] = 0.0
    scale = np.zeros((m, k // g))
    zero = np.zeros((m, k // g))

    def grid(src, j):
        for r in range(m):
            vals = src[r, j * g:(j + 1) * g]
            lo, hi = min(vals.min(), 0.0), max(vals.max(), 0.0)
            s = (hi - lo) / maxq
            if s <= 0:
                s, z = 1.0, 0.0
            else:
                z = min(max(round(-lo / s), 0), maxq)
            scale[r, j], zero[r, j] = np.float32(s), z

    if act_order:
        for j in range(k // g):
            grid(w, j)
    order = sorted(range(k), key=lambda i: -h[i, i]) if act_order else list(range(k))
    hp = h[np.ix_(order, order)]
    hp = hp + damp * np.mean(np.diag(hp)) * np.eye(k)
    u = np.linalg.cholesky(np.linalg.inv(hp)).T  # upper: inv(H) = Uᵀ U
    wp = w[:, order].copy()
    q = np.zeros((m, k), dtype=np.int64)
    for pos, col in enumerate(order):
        if not act_order and pos % block == 0:
            for j in range(k // g):
                if pos <= j * g < pos + block:
                    grid(wp, j)
        j = col // g
        for r in range(m):
            code = min(max(round(wp[r, pos] / scale[r, j] + zero[r, j]), 0), maxq)
            q[r, col] = code
            err = (wp[r, pos] - scale[r, j] * (code - zero[r, j])) / u[pos, pos]
            for later in range(pos + 1, k):
                wp[r, later] -= err * u[pos, later]
    return q, scale.astype(np.float32), zero.astype(np.float32)
