"""Dequantise-and-multiply control (the llama.cpp analogue) on the same packed bit-plane layout.

Per row the codes are rebuilt from their bit-planes (``Q = sum_b 2**b plane_b``) into an fp32
scratch row, then each quantisation group is a dot product with the fp32 activations, combined
as ``s (sum Q x - z sum x)``, the Q4_1 identity llama.cpp uses. No table is built: the work per
weight is one bit extraction per plane and one multiply-add (vectorised by LLVM, fastmath).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sail.kernels.act_lut import _group_sums, check_float_activations
from sail.quant.packing import PackedLinear


# bit i of byte v as float32: a 8 KiB expansion table, so unpacking one plane byte is one 8-wide
# vector load + FMA (the scalar-ISA stand-in for llama.cpp's SIMD shift/mask unpacking)
_BITS8 = ((np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1).astype(np.float32)


@njit(parallel=True, fastmath=True, cache=True)
def _dequant_kernel(planes, scale, zero, group_size, xt, xsum, out, bits8):
    w_bits, m, kb = planes.shape
    batch = xt.shape[0]
    ng = scale.shape[1]
    for r in prange(m):
        codes = np.zeros(kb * 8, dtype=np.float32)
        for wb in range(w_bits):
            wgt = np.float32(1 << wb)
            for jb in range(kb):
                e = bits8[planes[wb, r, jb]]
                base = jb * 8
                for t in range(8):
                    codes[base + t] += e[t] * wgt
        for b in range(batch):
            y = np.float32(0.0)
            for gi in range(ng):
                acc = np.float32(0.0)
                k0 = gi * group_size
                for t in range(group_size):
                    acc += codes[k0 + t] * xt[b, k0 + t]
                y += scale[r, gi] * (acc - zero[r, gi] * xsum[b, gi])
            out[r, b] = y


def dequant_gemv(p: PackedLinear, x) -> np.ndarray:
    """``W @ x`` (float32), ``W = s (Q - z)``, by unpack + multiply-add; same inputs as ``act_lut_gemv``."""
    if not isinstance(p, PackedLinear):
        raise ValueError(f"expected a PackedLinear, got {type(p).__name__}")
    if p.group_size % 8:
        raise ValueError(f"dequant_gemv needs group_size a multiple of 8, got {p.group_size}")
    vec = np.ndim(x) == 1
    xt = check_float_activations(x, p.k)
    xsum = _group_sums(xt, p.group_size, p.scale.shape[1])
    out = np.empty((p.m, xt.shape[0]), dtype=np.float32)
    _dequant_kernel(p.planes, p.scale, p.zero, p.group_size, xt, xsum, out, _BITS8)
    return out[:, 0] if vec else out
