"""Dequantise-and-multiply control (the llama.cpp analogue) on the same packed bit-plane layout.

Per row the codes are rebuilt from their bit-planes (``Q = sum_b 2**b plane_b``) into a uint8
scratch row, then each quantisation group is a dot product with the fp32 activations, combined
as ``s (sum Q x - z sum x)``, the Q4_1 identity llama.cpp uses. No table is built.

Unpacking is SWAR (SIMD within a register): one plane byte ``v`` (8 weights) is spread into one
bit per byte of a uint64 by a multiply, a mask and an add, so one plane costs a handful of 64-bit
integer operations per 8 weights, in a loop LLVM vectorises; llama.cpp's shift/mask unpacking
of its own layouts plays the same role. The dot product converts uint8 codes to fp32 and
multiply-adds (vectorised by LLVM, fastmath).
"""

from __future__ import annotations

import sys

import numpy as np
from numba import njit, prange

from sail.kernels.act_lut import check_float_activations, group_sums
from sail.quant.packing import PackedLinear

if sys.byteorder != "little":  # the uint64 -> uint8 view below puts lane i at byte i
    raise ImportError("sail.kernels.dequant assumes a little-endian CPU")

_REPLICATE = np.uint64(0x0101010101010101)  # v * this: byte v in all 8 lanes
_BIT_OF_LANE = np.uint64(0x8040201008040201)  # lane i keeps bit i
_TO_TOP = np.uint64(0x7F7F7F7F7F7F7F7F)  # lane + 0x7F has bit 7 set iff the lane was nonzero
_LOW_BITS = np.uint64(0x0101010101010101)


@njit(inline="always")
def spread_bits(v):
    """The 8 bits of byte ``v`` as 8 bytes of a uint64, bit i in byte i (little-endian lanes)."""
    lanes = (np.uint64(v) * _REPLICATE) & _BIT_OF_LANE
    return ((lanes + _TO_TOP) >> np.uint64(7)) & _LOW_BITS


@njit(parallel=True, fastmath=True, cache=True)
def _dequant_kernel(planes, scale, zero, group_size, xt, xsum, out):
    w_bits, m, kb = planes.shape
    batch = xt.shape[0]
    ng = scale.shape[1]
    for r in prange(m):
        words = np.zeros(kb, dtype=np.uint64)
        for wb in range(w_bits):
            shift = np.uint64(wb)
            for jb in range(kb):
                words[jb] |= spread_bits(planes[wb, r, jb]) << shift
        codes = words.view(np.uint8)  # lane order = K order (little-endian)
        for b in range(batch):
            y = np.float32(0.0)
            for gi in range(ng):
                acc = np.float32(0.0)
                k0 = gi * group_size
                for t in range(group_size):
                    acc += np.float32(codes[k0 + t]) * xt[b, k0 + t]
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
    xsum = group_sums(xt, p.group_size, p.scale.shape[1])
    out = np.empty((p.m, xt.shape[0]), dtype=np.float32)
    _dequant_kernel(p.planes, p.scale, p.zero, p.group_size, xt, xsum, out)
    return out[:, 0] if vec else out
