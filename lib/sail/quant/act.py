"""Per-token signed activation quantisation: ``x ~ s_x * X``, ``X`` two's complement.

Each token (row of ``x``) gets one scale ``s_x = max|x| / (2**(a_bits-1) - 1)``; codes are
``round(x / s_x)`` in ``-(2**(a_bits-1) - 1) .. 2**(a_bits-1) - 1`` (symmetric, so the most negative
two's-complement code ``-2**(a_bits-1)`` is never produced; the kernels still accept it). The
bit-serial LUT-GEMV then reads ``X`` bit-plane by bit-plane with the MSB plane negative.
"""

from __future__ import annotations

import numpy as np

# 1-bit two's complement ({-1, 0}) cannot carry a symmetric signal: 2..8 (sail.contracts)
from sail.contracts import SYMMETRIC_A_BITS_RANGE as A_BITS_RANGE


def check_a_bits(a_bits: int) -> int:
    lo, hi = A_BITS_RANGE
    if isinstance(a_bits, bool) or not isinstance(a_bits, (int, np.integer)) or not lo <= a_bits <= hi:
        raise ValueError(f"a_bits must be an integer in {lo}..{hi}, got {a_bits!r}")
    return int(a_bits)


def quantize_activations(x: np.ndarray, a_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Quantise activations per token.

    Parameters
    ----------
    x : (N, K) float array, one token per row (a single token may be passed as (K,)).
    a_bits : 2..8 (the pipeline uses 4, 6, 8).

    Returns
    -------
    X : (N, K) int8 codes (two's-complement values).
    s_x : (N,) float32 scale per token; an all-zero token gets ``s_x = 1`` and codes 0.
    """
    a_bits = check_a_bits(a_bits)
    x = np.asarray(x, dtype=np.float32)
    squeeze = x.ndim == 1
    if squeeze:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"x must be (N, K) or (K,), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("activations contain non-finite values")
    qmax = (1 << (a_bits - 1)) - 1
    amax = np.abs(x).max(axis=1)
    s_x = np.where(amax > 0, amax / qmax, 1.0).astype(np.float32)
    codes = np.clip(np.round(x / s_x[:, None]), -qmax - 1, qmax).astype(np.int8)
    if squeeze:
        return codes[0], s_x
    return codes, s_x


def dequantize_activations(codes: np.ndarray, s_x: np.ndarray) -> np.ndarray:
    """``x ~ s_x * X`` (per token). ``codes`` (N, K) or (K,), ``s_x`` (N,)."""
    codes = np.asarray(codes)
    s_x = np.asarray(s_x, dtype=np.float32)
    if codes.ndim == 1:
        return (s_x.reshape(()) if s_x.size == 1 else s_x) * codes.astype(np.float32)
    return s_x[:, None] * codes.astype(np.float32)


def fake_quantize_activations_torch(x, a_bits: int):
    """Torch twin of quantise-then-dequantise, used inside the model's linear layers.

    ``x`` (N, K) float tensor; returns ``s_x * X`` as float. Same rounding as
    :func:`quantize_activations` (``torch.round`` and ``np.round`` both round half to even).
    """
    import torch

    a_bits = check_a_bits(a_bits)
    qmax = (1 << (a_bits - 1)) - 1
    amax = x.abs().amax(dim=-1, keepdim=True)
    s_x = torch.where(amax > 0, amax / qmax, torch.ones_like(amax))
    # the same operations as clamp(round(x / s_x)) * s_x, in place on one temporary (bit-identical;
    # the evaluation runs this on every linear input, and separate temporaries cost a third of it)
    y = x / s_x
    return y.round_().clamp_(-qmax - 1, qmax).mul_(s_x)
