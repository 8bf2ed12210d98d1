"""Activation-LUT GEMV (the T-MAC / bitnet.cpp design) on the packed bit-plane layout, numba.

For each token the kernel builds, per group of ``g`` consecutive activations, the table of all
``2**g`` subset sums of the fp32 activations ``T_j[p] = sum_t p_t x[g j + t]`` (once per GEMV,
shared by all M rows). The weight bit-planes are the indices: for row ``r`` and weight bit ``b``
the ``g`` bits of plane ``b`` (a nibble for ``g = 4``, a byte for ``g = 8``) select ``T_j``; the
plane sums are combined as ``sum_b 2**b``. Scales and zero-points of each quantisation group are
applied as ``s (sum_k Q x - z sum_k x)`` (the Q4_1 identity), so the latency grows linearly with
``w_bits`` (one lookup per plane). Tables are fp32 (no table quantisation, unlike T-MAC's int8
tables; so there is no table error, at the cost of 4x larger tables).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sail.quant.packing import PackedLinear


def check_float_activations(x, k: int) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise ValueError(f"x must be a float array, got dtype {x.dtype}")
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] != k:
        raise ValueError(f"x must have shape (K,) or (K, B) with K={k}, got {x.shape}")
    if not np.isfinite(x).all():  # as simd_gemv: a NaN/inf activation has no meaningful product
        raise ValueError("x must be finite (got NaN or inf)")
    return np.ascontiguousarray(x.T, dtype=np.float32)  # (B, K): one token's activations contiguous


@njit(cache=True)
def build_act_tables(xt, g, kb):
    """Tables ``(B, kb * 8 // g, 2**g)`` float32 of activation subset sums (zero past K)."""
    batch, k = xt.shape
    nj = kb * 8 // g
    tab = np.zeros((batch, nj, 1 << g), dtype=np.float32)
    for b in range(batch):
        for j in range(nj):
            for p in range(1, 1 << g):
                low = p & (-p)
                t = 0
                while (low >> t) != 1:
                    t += 1
                kk = j * g + t
                v = xt[b, kk] if kk < k else np.float32(0.0)
                tab[b, j, p] = tab[b, j, p ^ low] + v
    return tab


@njit(cache=True)
def group_sums(xt, group_size, ng):
    batch = xt.shape[0]
    s = np.zeros((batch, ng), dtype=np.float32)
    for b in range(batch):
        for gi in range(ng):
            acc = np.float32(0.0)
            for kk in range(gi * group_size, (gi + 1) * group_size):
                acc += xt[b, kk]
            s[b, gi] = acc
    return s


# Rows per tile: a tile's packed weights (<= 64 rows x K/8 bytes x w_bits) stay in L2 while every
# token's table is applied to them, and one token's table stays in L2 while the tile is processed
# (looping tokens outside all rows would re-stream each row's weights per token; looping them
# inside a row would cycle every token's table through L2 per row).
ROW_BLOCK = 64


@njit(parallel=True, fastmath=True, cache=True)
def _act_lut_g8(planes, scale, zero, group_size, tab, xsum, out):
    w_bits, m, kb = planes.shape
    batch = tab.shape[0]
    ng = scale.shape[1]
    bytes_per_group = group_size // 8
    for blk in prange((m + ROW_BLOCK - 1) // ROW_BLOCK):
        for b in range(batch):
            for r in range(blk * ROW_BLOCK, min(m, (blk + 1) * ROW_BLOCK)):
                y = np.float32(0.0)
                for gi in range(ng):
                    acc = np.float32(0.0)
                    for wb in range(w_bits):
                        part = np.float32(0.0)
                        for jb in range(gi * bytes_per_group, (gi + 1) * bytes_per_group):
                            part += tab[b, jb, planes[wb, r, jb]]
                        acc += part * np.float32(1 << wb)
                    y += scale[r, gi] * (acc - zero[r, gi] * xsum[b, gi])
                out[r, b] = y


@njit(parallel=True, fastmath=True, cache=True)
def _act_lut_g4(planes, scale, zero, group_size, tab, xsum, out):
    w_bits, m, kb = planes.shape
    batch = tab.shape[0]
    ng = scale.shape[1]
    bytes_per_group = group_size // 8
    for blk in prange((m + ROW_BLOCK - 1) // ROW_BLOCK):
        for b in range(batch):
            for r in range(blk * ROW_BLOCK, min(m, (blk + 1) * ROW_BLOCK)):
                y = np.float32(0.0)
                for gi in range(ng):
                    acc = np.float32(0.0)
                    for wb in range(w_bits):
                        p0 = np.float32(0.0)
                        p1 = np.float32(0.0)
                        for jb in range(gi * bytes_per_group, (gi + 1) * bytes_per_group):
                            byte = planes[wb, r, jb]
                            p0 += tab[b, 2 * jb, byte & 15]
                            p1 += tab[b, 2 * jb + 1, byte >> 4]
                        acc += (p0 + p1) * np.float32(1 << wb)
                    y += scale[r, gi] * (acc - zero[r, gi] * xsum[b, gi])
                out[r, b] = y


@njit(parallel=True, fastmath=True, cache=True)
def _act_lut_g8_words(words, scale, zero, group_size, tab, xsum, out):
    # 64 weights of one plane per uint64 load; four independent accumulators break the add chain
    w_bits, m, nw = words.shape
    batch = tab.shape[0]
    ng = scale.shape[1]
    words_per_group = group_size // 64
    for blk in prange((m + ROW_BLOCK - 1) // ROW_BLOCK):
        for b in range(batch):
            tb = tab[b]
            for r in range(blk * ROW_BLOCK, min(m, (blk + 1) * ROW_BLOCK)):
                y = np.float32(0.0)
                for gi in range(ng):
                    acc = np.float32(0.0)
                    for wb in range(w_bits):
                        p0 = np.float32(0.0)
                        p1 = np.float32(0.0)
                        p2 = np.float32(0.0)
                        p3 = np.float32(0.0)
                        for w in range(gi * words_per_group, (gi + 1) * words_per_group):
                            v = words[wb, r, w]
                            j = w * 8
                            p0 += tb[j, v & 255] + tb[j + 4, (v >> 32) & 255]
                            p1 += tb[j + 1, (v >> 8) & 255] + tb[j + 5, (v >> 40) & 255]
                            p2 += tb[j + 2, (v >> 16) & 255] + tb[j + 6, (v >> 48) & 255]
                            p3 += tb[j + 3, (v >> 24) & 255] + tb[j + 7, v >> 56]
                        acc += ((p0 + p1) + (p2 + p3)) * np.float32(1 << wb)
                    y += scale[r, gi] * (acc - zero[r, gi] * xsum[b, gi])
                out[r, b] = y


def act_lut_gemv(p: PackedLinear, x, g: int = 4) -> np.ndarray:
    """``W @ x`` (float32) with ``W = s (Q - z)`` by the activation-LUT over weight bit-planes.

    Parameters
    ----------
    p : the packed layer; ``group_size`` must be a multiple of 8 (whole plane bytes per group).
    x : (K,) or (K, B) float activations.
    g : activations per table, 4 (T-MAC's 16-entry tables, nibble indices) or 8 (256 entries,
        byte indices, half the lookups).

    Returns (M,) or (M, B) float32.
    """
    if not isinstance(p, PackedLinear):
        raise ValueError(f"expected a PackedLinear, got {type(p).__name__}")
    if g not in (4, 8):
        raise ValueError(f"g must be 4 or 8, got {g!r}")
    if p.group_size % 8:
        raise ValueError(f"act_lut_gemv needs group_size a multiple of 8, got {p.group_size}")
    vec = np.ndim(x) == 1
    xt = check_float_activations(x, p.k)
    kb = p.planes.shape[2]
    tab = build_act_tables(xt, g, kb)
    xsum = group_sums(xt, p.group_size, p.scale.shape[1])
    out = np.empty((p.m, xt.shape[0]), dtype=np.float32)
    if g == 4:
        _act_lut_g4(p.planes, p.scale, p.zero, p.group_size, tab, xsum, out)
        return out[:, 0] if vec else out
    # g = 8: one token's tables are K/8 x 256 x 4 bytes (512 KiB at K = 4096), so a batch of them
    # does not fit in L2; run the tokens one after another so each token's table stays resident
    # while all rows stream past it (the packed weights are re-read from L3/DRAM per token).
    words_ok = p.group_size % 64 == 0 and p.k % 64 == 0
    col = np.empty((p.m, 1), dtype=np.float32)
    for b in range(xt.shape[0]):
        if words_ok:  # whole uint64 words per group: the unrolled word kernel (same lookups, fewer loads)
            _act_lut_g8_words(p.planes.view(np.uint64), p.scale, p.zero, p.group_size, tab[b:b + 1],
                              xsum[b:b + 1], col)
        else:
            _act_lut_g8(p.planes, p.scale, p.zero, p.group_size, tab[b:b + 1], xsum[b:b + 1], col)
        out[:, b] = col[:, 0]
    return out[:, 0] if vec else out
