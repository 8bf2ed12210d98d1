"""Bit-serial emulation of SAIL's in-memory type conversion (fp32 -> int quantise, int -> fp32 dequantise).

In the C-SRAM arrays each element sits in one column and its bits in successive rows (the
*transposed*, bit-serial layout); one row operation (AND, OR, XOR, NOT, masked copy) acts on every
column at once. This module stores a vector exactly like that, as a boolean ``planes[bit, element]``
array, and converts between IEEE fp32 and two's complement integers using **only plane-wide logic
operations**: a log-stage barrel shifter, guard/sticky round-to-nearest-even, ripple-carry
increment, saturation and conditional negation. ``ops`` counts the plane operations (the
simulator's cost unit for bit-serial work).

Shortcuts, stated plainly: the 8-bit exponent arithmetic that yields the shifter's control planes
(``150 - E`` and the final exponent) is computed with integer arithmetic and *charged* as 16 plane
operations (an 8-bit ripple subtract), and the final packing of sign/exponent/mantissa planes into
an fp32 word is plain numpy. The multiply by the per-token scale (``x * (1/s_x)`` before quantising,
``acc * s`` after dequantising) is an ordinary IEEE fp32 multiply here (numpy); only the
fp<->int conversions themselves are emulated bit-serially. Both are checked bit for bit against
numpy (:func:`sail.kernels.reference.quantize_to_int`, :func:`~sail.kernels.reference.int_to_float`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PlaneOps:
    """Counts of plane-wide operations (one row operation over all elements each)."""

    logic: int = 0  # AND / OR / XOR / NOT of two planes
    select: int = 0  # masked copy (mux) of one plane
    detail: dict = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.logic + self.select


class _Planes:
    def __init__(self, ops: PlaneOps):
        self.ops = ops

    def and_(self, a, b):
        self.ops.logic += 1
        return a & b

    def or_(self, a, b):
        self.ops.logic += 1
        return a | b

    def xor(self, a, b):
        self.ops.logic += 1
        return a ^ b

    def not_(self, a):
        self.ops.logic += 1
        return ~a

    def sel(self, m, a, b):
        self.ops.select += 1
        return np.where(m, a, b)


def to_planes(u: np.ndarray, width: int) -> np.ndarray:
    """Unsigned integers (n,) -> boolean planes (width, n), plane i = bit i."""
    u = np.asarray(u).astype(np.uint64)
    return ((u[None, :] >> np.arange(width, dtype=np.uint64)[:, None]) & np.uint64(1)).astype(bool)


def from_planes(p: np.ndarray) -> np.ndarray:
    """Boolean planes (width, n) -> unsigned integers (uint64)."""
    w = np.arange(p.shape[0], dtype=np.uint64)[:, None]
    return (p.astype(np.uint64) << w).sum(axis=0, dtype=np.uint64)


def _increment(P: _Planes, planes, inc):
    """planes + inc (inc a single plane, 0/1 per element), ripple carry; returns (planes, carry_out)."""
    out = planes.copy()
    carry = inc
    for i in range(planes.shape[0]):
        out[i] = P.xor(planes[i], carry)
        carry = P.and_(planes[i], carry)
    return out, carry


def _negate_where(P: _Planes, planes, mask):
    """Two's complement negation of the elements where ``mask``: invert, then add one."""
    inv = np.empty_like(planes)
    for i in range(planes.shape[0]):
        inv[i] = P.xor(planes[i], mask)  # NOT where mask
    out, _ = _increment(P, inv, mask)
    return out


def float_to_int_bitserial(y: np.ndarray, a_bits: int, ops: PlaneOps | None = None) -> np.ndarray:
    """fp32 ``y`` -> ``clip(rint(y), -2**(a_bits-1), 2**(a_bits-1)-1)`` by plane operations only.

    Round half to even, like ``np.rint``. Returns int64 values (assembled from the a_bits result planes).
    """
    if not 1 <= a_bits <= 16:
        raise ValueError(f"a_bits must be in 1..16, got {a_bits}")
    y = np.ascontiguousarray(y, dtype=np.float32).ravel()
    if not np.all(np.isfinite(y)):
        raise ValueError("float_to_int_bitserial: input contains NaN or Inf")
    ops = ops if ops is not None else PlaneOps()
    P = _Planes(ops)
    bits = to_planes(y.view(np.uint32), 32)
    sign = bits[31]
    expo = bits[23:31]  # 8 planes, biased exponent
    nonzero_exp = expo[0]
    for i in range(1, 8):
        nonzero_exp = P.or_(nonzero_exp, expo[i])
    # 26-bit working significand: implicit one at bit 23; value = sig * 2**(E - 150)
    sig = np.zeros((26, y.size), bool)
    sig[:23] = bits[:23]
    sig[23] = nonzero_exp
    # shift right by sh = 150 - E when E <= 150; E >= 151 means |y| >= 2**24: saturate below.
    # sh in 0..150 needs 8 stages; stages of 32 and more drop everything (all bits into sticky).
    e_val = from_planes(expo).astype(np.int64)  # only used to derive the shift-control planes below
    sh = np.clip(150 - e_val, 0, 255).astype(np.uint64)
    sh_planes = to_planes(sh, 8)  # in hardware: an 8-bit subtract on the exponent planes
    ops.logic += 8 * 2  # charge the 8-bit ripple subtract (xor + carry per plane)
    big = e_val > 150
    ops.logic += 8
    guard = np.zeros(y.size, bool)
    sticky = np.zeros(y.size, bool)
    for t in range(8):
        d = 1 << t
        m = sh_planes[t]
        if d >= 26:
            dropped_any = sig[0]
            for i in range(1, 26):
                dropped_any = P.or_(dropped_any, sig[i])
            sticky = P.sel(m, P.or_(P.or_(sticky, guard), dropped_any), sticky)
            guard = P.sel(m, np.zeros_like(guard), guard)
            for i in range(26):
                sig[i] = P.sel(m, np.zeros_like(m), sig[i])
            continue
        low_or = np.zeros(y.size, bool)
        for i in range(d - 1):
            low_or = P.or_(low_or, sig[i])
        new_sticky = P.or_(P.or_(sticky, guard), low_or)
        new_guard = sig[d - 1]
        sticky = P.sel(m, new_sticky, sticky)
        guard = P.sel(m, new_guard, guard)
        for i in range(26):
            src = sig[i + d] if i + d < 26 else np.zeros_like(m)
            sig[i] = P.sel(m, src, sig[i])
    round_up = P.and_(guard, P.or_(sticky, sig[0]))
    mag, _ = _increment(P, sig, round_up)  # 26 planes, |rint(y)| (< 2**25)
    # saturation: positive limit 2**(a-1)-1, negative limit 2**(a-1)
    hi_any = np.zeros(y.size, bool)
    for i in range(a_bits, 26):
        hi_any = P.or_(hi_any, mag[i])
    low_any = np.zeros(y.size, bool)
    for i in range(a_bits - 1):
        low_any = P.or_(low_any, mag[i])
    top = mag[a_bits - 1]
    over_pos = P.or_(hi_any, top)
    over_neg = P.or_(hi_any, P.and_(top, low_any))
    sat = P.sel(sign, over_neg, over_pos) | big
    ops.logic += 1
    limit_pos = np.zeros((a_bits, y.size), bool)
    limit_pos[: a_bits - 1] = True
    limit_neg = np.zeros((a_bits, y.size), bool)
    limit_neg[a_bits - 1] = True
    res = mag[:a_bits].copy()
    for i in range(a_bits):
        lim = P.sel(sign, limit_neg[i], limit_pos[i])
        res[i] = P.sel(sat, lim, res[i])
    res = _negate_where(P, res, sign)
    u = from_planes(res).astype(np.int64)
    return np.where(u >= (1 << (a_bits - 1)), u - (1 << a_bits), u)


def int_to_float_bitserial(acc: np.ndarray, width: int = 48, ops: PlaneOps | None = None) -> np.ndarray:
    """Two's complement integers (|acc| < 2**(width-1)) -> nearest fp32 (round half to even), plane ops only."""
    acc = np.asarray(acc, dtype=np.int64).ravel()
    if not 2 <= width <= 62:
        raise ValueError(f"width must be in 2..62, got {width}")
    lim = 1 << (width - 1)
    if acc.size and (int(acc.min()) < -lim or int(acc.max()) >= lim):
        raise ValueError(f"accumulator out of range for width={width}: min {int(acc.min())}, max {int(acc.max())}")
    ops = ops if ops is not None else PlaneOps()
    P = _Planes(ops)
    planes = to_planes((acc & ((1 << width) - 1)).astype(np.uint64), width)
    sign = planes[width - 1]
    mag = _negate_where(P, planes, sign)  # |acc| as unsigned, width planes (top plane 0 except -2**(w-1))
    # normalise: shift left until the top plane holds the leading one; lz accumulates the shift
    lz = np.zeros((8, acc.size), bool)
    for t in reversed(range(int(np.ceil(np.log2(width))))):
        d = 1 << t
        top_zero = np.ones(acc.size, bool)
        for i in range(width - d, width):
            top_zero = P.and_(top_zero, P.not_(mag[i]))
        for i in reversed(range(width)):
            src = mag[i - d] if i - d >= 0 else np.zeros(acc.size, bool)
            mag[i] = P.sel(top_zero, src, mag[i])
        lz[t] = top_zero
    is_zero = P.not_(mag[width - 1])
    # keep 24 significant bits (implicit one at plane width-1), round the rest to nearest even
    keep_lo = width - 24
    if keep_lo > 0:
        guard = mag[keep_lo - 1]
        sticky = np.zeros(acc.size, bool)
        for i in range(keep_lo - 1):
            sticky = P.or_(sticky, mag[i])
        round_up = P.and_(guard, P.or_(sticky, mag[keep_lo]))
        sig, carry = _increment(P, mag[keep_lo:], round_up)
    else:
        sig = np.zeros((24, acc.size), bool)
        sig[24 - width:] = mag
        carry = np.zeros(acc.size, bool)
    # a carry out of the significand means it became 2**24: mantissa bits are then all zero, exponent + 1
    exp_unbiased = (width - 1) - from_planes(lz).astype(np.int64) + carry.astype(np.int64)
    ops.logic += 2 * 8  # exponent: 8-bit subtract/increment on planes
    biased = np.where(is_zero, 0, exp_unbiased + 127).astype(np.uint64)
    mant = from_planes(sig[:23]) * (~carry & ~is_zero)
    bits = (sign.astype(np.uint64) << np.uint64(31)) | (biased << np.uint64(23)) | mant
    return bits.astype(np.uint32).view(np.float32)


def quantize_bitserial(x: np.ndarray, inv_scale: np.ndarray, a_bits: int, ops: PlaneOps | None = None) -> np.ndarray:
    """(N, K) fp32 -> (N, K) int64: fp32 multiply by ``inv_scale`` (N,), then the bit-serial conversion."""
    x = np.asarray(x, np.float32)
    if x.ndim != 2 or np.shape(inv_scale) != (x.shape[0],):
        raise ValueError(f"x must be (N, K) and inv_scale (N,), got {x.shape} and {np.shape(inv_scale)}")
    y = (x * np.asarray(inv_scale, np.float32)[:, None]).astype(np.float32)
    return float_to_int_bitserial(y, a_bits, ops).reshape(x.shape)


def dequantize_bitserial(acc: np.ndarray, scale, width: int = 48, ops: PlaneOps | None = None) -> np.ndarray:
    """int64 accumulators -> fp32 by the bit-serial conversion, then an fp32 multiply by ``scale`` (broadcast)."""
    acc = np.asarray(acc, np.int64)
    f = int_to_float_bitserial(acc, width, ops).reshape(acc.shape)
    return (f * np.asarray(scale, np.float32)).astype(np.float32)
