"""Plain-maths twins of every kernel in :mod:`sail.kernels` (slow, obvious, for tests only).

Each function reads like the equations of docs/simulator.md; none shares code with the fast kernels it checks,
except the argument conventions.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np


def int_gemv(q: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The exact answer ``Q @ X`` in int64 (``x`` is (K,) or (K, B))."""
    return np.asarray(q).astype(np.int64) @ np.asarray(x).astype(np.int64)


def bit_plane(x: np.ndarray, i: int) -> np.ndarray:
    """Bit ``i`` of the two's complement representation of the integers ``x`` (0 or 1)."""
    return (np.asarray(x).astype(np.int64) >> i) & 1


def weight_lut_gemv(q: np.ndarray, x: np.ndarray, n_bw: int, a_bits: int) -> np.ndarray:
    """SAIL's weight-LUT GEMV with Python loops: tables of weight subset sums, activation bits as indices.

    ``T[r, j][p] = sum_t p_t * Q[r, j*n_bw + t]``; at bit-plane ``i`` the ``n_bw`` activation bits
    form ``p``; the result is ``sum_i sign_i * 2**i * T[r, j][p_i]`` with ``sign = -1`` for the MSB
    plane. K must be a multiple of ``n_bw``.
    """
    q = np.asarray(q).astype(np.int64)
    x2 = np.asarray(x).astype(np.int64)
    vec = x2.ndim == 1
    if vec:
        x2 = x2[:, None]
    m, k = q.shape
    assert k % n_bw == 0
    out = np.zeros((m, x2.shape[1]), dtype=np.int64)
    for r in range(m):
        for j in range(k // n_bw):
            w = q[r, j * n_bw:(j + 1) * n_bw]
            table = [sum(int(w[t]) for t in range(n_bw) if (p >> t) & 1) for p in range(1 << n_bw)]
            for b in range(x2.shape[1]):
                for i in range(a_bits):
                    bits = bit_plane(x2[j * n_bw:(j + 1) * n_bw, b], i)
                    p = sum(int(bits[t]) << t for t in range(n_bw))
                    sign = -1 if i == a_bits - 1 else 1
                    out[r, b] += sign * (1 << i) * table[p]
    return out[:, 0] if vec else out


def prt_stream_counts(x: np.ndarray, n_bw: int, a_bits: int, prt_entries: int, skip_zeros: bool = True):
    """Zero skips, PRT hits and SRAM reads of ONE matrix row with an LRU dictionary.

    Presentation order: for each LUT group j, for each token b, bit-planes i = 0 .. a_bits-1.
    One PRT per LUT group, emptied at the start of the group; keyed on the pattern.
    Returns ``(zero_skips, prt_hits, sram_reads)`` per row (multiply by M for a matrix).
    """
    x2 = np.asarray(x).astype(np.int64)
    if x2.ndim == 1:
        x2 = x2[:, None]
    k, batch = x2.shape
    zero_skips = hits = reads = 0
    for j in range(k // n_bw):
        lru: OrderedDict[int, None] = OrderedDict()
        for b in range(batch):
            for i in range(a_bits):
                bits = bit_plane(x2[j * n_bw:(j + 1) * n_bw, b], i)
                p = sum(int(bits[t]) << t for t in range(n_bw))
                if skip_zeros and p == 0:
                    zero_skips += 1
                elif prt_entries > 0 and p in lru:
                    lru.move_to_end(p)
                    hits += 1
                else:
                    reads += 1
                    if prt_entries > 0:
                        lru[p] = None
                        if len(lru) > prt_entries:
                            lru.popitem(last=False)
    return zero_skips, hits, reads


def dequant_linear(codes: np.ndarray, scale: np.ndarray, zero: np.ndarray, group_size: int,
                   x: np.ndarray) -> np.ndarray:
    """``W @ x`` in float64 with ``W = s * (Q - z)`` per group (the target of act-LUT and dequant)."""
    m, k = codes.shape
    g = group_size
    w = (np.asarray(scale, np.float64)[:, :, None]
         * (codes.reshape(m, k // g, g).astype(np.float64) - np.asarray(zero, np.float64)[:, :, None]))
    return w.reshape(m, k) @ np.asarray(x, np.float64)


def quantize_to_int(x: np.ndarray, inv_scale: np.ndarray, a_bits: int) -> np.ndarray:
    """fp32 -> signed a_bits integer: ``clip(rint(float32(x * inv_scale)))`` (round half to even)."""
    y = (np.asarray(x, np.float32) * np.asarray(inv_scale, np.float32)).astype(np.float32)
    lo, hi = -(1 << (a_bits - 1)), (1 << (a_bits - 1)) - 1
    return np.clip(np.rint(y.astype(np.float64)), lo, hi).astype(np.int64)


def int_to_float(acc: np.ndarray) -> np.ndarray:
    """int64 accumulator -> nearest float32 (IEEE round half to even)."""
    return np.asarray(acc, np.int64).astype(np.float32)
