"""The quantised-linear-layer record every stage exchanges, and the argument checks shared by all.

Notation (as in docs/simulator.md): integer codes ``Q`` (M x K, unsigned ``0 .. 2**w_bits - 1``), a scale
``s`` and zero-point ``z`` per row and group of ``group_size`` input channels, ``W ~ s * (Q - z)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_W_BITS = 8


def check_w_bits(w_bits: int) -> int:
    if not isinstance(w_bits, (int, np.integer)) or not 1 <= w_bits <= MAX_W_BITS:
        raise ValueError(f"w_bits must be an integer in 1..{MAX_W_BITS}, got {w_bits!r}")
    return int(w_bits)


def check_group_size(group_size: int | None, k: int) -> int:
    """Resolve ``group_size`` (``None`` or ``-1`` means per-channel, one group of all K) and check it divides K."""
    if group_size is None or group_size == -1:
        return int(k)
    if not isinstance(group_size, (int, np.integer)) or group_size < 1:
        raise ValueError(f"group_size must be a positive integer or -1 (per-channel), got {group_size!r}")
    if k % group_size:
        raise ValueError(f"group_size {group_size} does not divide K={k}")
    return int(group_size)


@dataclass(frozen=True)
class QuantLinear:
    """One quantised weight matrix. ``dequantize()`` gives the fp32 matrix the model computes with."""

    q: np.ndarray  # (M, K) uint8 codes in 0 .. 2**w_bits - 1
    scale: np.ndarray  # (M, K // group_size) float32
    zero: np.ndarray  # (M, K // group_size) float32, in code units (integer-valued when asymmetric)
    w_bits: int
    group_size: int  # channels per group; == K for per-channel

    def __post_init__(self):
        check_w_bits(self.w_bits)
        if self.q.ndim != 2:
            raise ValueError(f"q must be 2-D (M, K), got shape {self.q.shape}")
        m, k = self.q.shape
        g = check_group_size(self.group_size, k)
        expect = (m, k // g)
        for name in ("scale", "zero"):
            if getattr(self, name).shape != expect:
                raise ValueError(f"{name} must have shape {expect}, got {getattr(self, name).shape}")
        if self.q.size and int(self.q.max()) >= (1 << self.w_bits):
            raise ValueError(f"codes out of range for w_bits={self.w_bits}: max code {int(self.q.max())}")

    @property
    def shape(self) -> tuple[int, int]:
        return self.q.shape

    def dequantize(self) -> np.ndarray:
        m, k = self.q.shape
        g = self.group_size
        q = self.q.reshape(m, k // g, g).astype(np.float32)
        w = self.scale[:, :, None] * (q - self.zero[:, :, None])
        return w.reshape(m, k).astype(np.float32)
