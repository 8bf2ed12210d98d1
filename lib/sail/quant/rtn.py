"""Round-to-nearest (RTN) weight quantisation, ``W ~ s * (Q - z)`` per group of ``group_size`` channels.

sail.quant.core notation. Codes ``Q`` are unsigned ``0 .. 2**w_bits - 1``; one scale ``s`` and one zero-point
``z`` (in code units) per row and group.

Asymmetric (default): min/max of each group, with 0 forced into the range (as GPTQ's quantiser
does) so that the zero-point is an integer code in ``0 .. 2**w_bits - 1`` and an exact 0 weight is
representable. ``s = (max - min) / (2**w_bits - 1)``, ``z = round(-min / s)``.

Symmetric: ``s = max|w| / (2**(w_bits-1) - 1)`` and ``z = 2**(w_bits-1)`` (integer, code 0 unused,
levels symmetric around 0). For ``w_bits == 1`` that grid has no non-zero level, so 1-bit
symmetric uses the sign grid ``{-max|w|, +max|w|}``: ``s = 2 max|w|``, ``z = 0.5``.

Float minimum (``float_min``, the shape of llama.cpp's Q4_1 / Q*_1 blocks: an fp scale and an fp
*minimum* per group): ``s = (max - min) / (2**w_bits - 1)`` and ``w ~ s * Q + min`` with the group's
own min and max (0 not forced inside), i.e. ``z = -min / s`` is a float. Integer LUT-GEMV cannot fold
a fractional zero-point into the integer codes, so this grid is a comparison only: at 4 bits and
group 32 it is the grid the GGUF's Q4_1 weights already lie on.
"""

from __future__ import annotations

import numpy as np

from sail.quant.core import QuantLinear, check_group_size, check_w_bits


def check_weight(w: np.ndarray) -> np.ndarray:
    w = np.asarray(w)
    if w.ndim != 2:
        raise ValueError(f"weight must be 2-D (M, K), got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("weight contains non-finite values")
    return w.astype(np.float32, copy=False)


def group_params(wg: np.ndarray, w_bits: int, symmetric: bool,
                 float_min: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Scale and zero-point for the groups in the last axis of ``wg`` (shape ``(..., G)``).

    Returns ``(scale, zero)`` with shape ``wg.shape[:-1]``, float32. Shared by RTN and GPTQ so the
    two methods use the same grid and differ only in how codes are chosen.
    """
    maxq = (1 << w_bits) - 1
    if symmetric and float_min:
        raise ValueError("symmetric and float_min grids exclude each other")
    if float_min:
        lo, hi = wg.min(axis=-1), wg.max(axis=-1)
        scale = (hi - lo) / maxq
        safe = np.where(scale > 0, scale, 1.0)
        # A constant group: scale 1 and the code 0 at the group's value.
        zero = -lo / safe
        return safe.astype(np.float32), zero.astype(np.float32)
    if symmetric:
        amax = np.abs(wg).max(axis=-1)
        if w_bits == 1:
            scale = 2.0 * amax
            zero = np.full_like(amax, 0.5)
        else:
            half = 1 << (w_bits - 1)
            scale = amax / (half - 1)
            zero = np.full_like(amax, float(half))
    else:
        lo = np.minimum(wg.min(axis=-1), 0.0)
        hi = np.maximum(wg.max(axis=-1), 0.0)
        scale = (hi - lo) / maxq
        # An all-zero group: any positive scale reproduces it exactly.
        safe = np.where(scale > 0, scale, 1.0)
        zero = np.clip(np.round(-lo / safe), 0, maxq)
    scale = np.where(scale > 0, scale, 1.0)
    scale32 = scale.astype(np.float32)
    if not np.all(np.isfinite(scale32)):  # a finite weight range wider than float32 can hold (|w| ~ 3e38)
        bad = np.argwhere(~np.isfinite(scale32))[0].tolist()
        raise ValueError(f"weight range of group {bad} overflows a float32 scale (weights near +-3.4e38)")
    return scale32, zero.astype(np.float32)


def quantize_codes(w: np.ndarray, scale: np.ndarray, zero: np.ndarray, w_bits: int) -> np.ndarray:
    """Round ``w / s + z`` to the nearest code and clip to ``0 .. 2**w_bits - 1`` (broadcasting)."""
    maxq = (1 << w_bits) - 1
    return np.clip(np.round(w / scale + zero), 0, maxq)


def quantize_rtn(w: np.ndarray, w_bits: int, group_size: int | None, symmetric: bool = False,
                 float_min: bool = False) -> QuantLinear:
    """Quantise one weight matrix by round-to-nearest.

    Parameters
    ----------
    w : (M, K) float array, output x input (the layout of ``model.get_linear_weight``).
    w_bits : 1..8.
    group_size : input channels per (scale, zero) pair; must divide K. ``None`` or ``-1`` means
        per-channel (one group of all K).
    symmetric : symmetric grid around 0 instead of the asymmetric min/max grid.
    float_min : the Q4_1-shaped grid with a float minimum per group (module docstring).

    Raises
    ------
    ValueError naming ``w_bits`` or ``group_size`` if out of range / not dividing K.
    """
    w_bits = check_w_bits(w_bits)
    w = check_weight(w)
    m, k = w.shape
    g = check_group_size(group_size, k)
    wg = w.reshape(m, k // g, g)
    scale, zero = group_params(wg, w_bits, symmetric, float_min)
    q = quantize_codes(wg, scale[:, :, None], zero[:, :, None], w_bits)
    return QuantLinear(q=q.reshape(m, k).astype(np.uint8), scale=scale, zero=zero, w_bits=w_bits, group_size=g)
