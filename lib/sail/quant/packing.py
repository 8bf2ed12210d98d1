"""Packed storage of a :class:`sail.quant.QuantLinear`: bit-plane codes + scales + zero-points.

Layout (format version 1)
-------------------------
``planes``: uint8 array of shape ``(w_bits, M, ceil(K / 8))``. Bit ``t`` (little-endian, i.e.
``(byte >> t) & 1``) of byte ``planes[b, r, j]`` is bit ``b`` of the code ``Q[r, 8*j + t]``.
Channels past K in the last byte are zero. So a matrix takes exactly ``w_bits`` bits per weight
(plus at most 7 padding bits per row and plane) for any ``w_bits`` in 1..8, including 3, 5, 6, 7,
which do not divide a byte.

Why bit-planes: every kernel in :mod:`sail.kernels` reads this one layout.

* the activation-LUT (T-MAC/bitnet.cpp style) uses a plane's byte (or nibble) directly as the
  index into a table of activation subset sums, one plane at a time;
* the weight-LUT (SAIL) rebuilds the ``n_bw`` codes of a LUT group from the planes to build
  ``T[p] = sum_t p_t * Q[t]``;
* the dequant-and-multiply control reassembles codes ``Q = sum_b 2**b * plane_b``.

``scale`` and ``zero`` are stored unchanged (float32, ``(M, K // group_size)``) so
``unpack_linear(pack_linear(ql))`` is bit-for-bit ``ql``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from sail.quant.core import QuantLinear, check_group_size, check_w_bits

FORMAT_VERSION = 1


@dataclass(frozen=True)
class PackedLinear:
    """A quantised linear layer in the bit-plane storage format (module docstring)."""

    planes: np.ndarray  # (w_bits, M, ceil(K/8)) uint8, little-endian bits along K
    scale: np.ndarray  # (M, K // group_size) float32
    zero: np.ndarray  # (M, K // group_size) float32, code units
    w_bits: int
    group_size: int
    k: int  # true number of input channels (the last byte of a row may be padding)

    def __post_init__(self):
        check_w_bits(self.w_bits)
        if self.planes.dtype != np.uint8 or self.planes.ndim != 3:
            raise ValueError(f"planes must be a 3-D uint8 array, got {self.planes.dtype} {self.planes.shape}")
        b, m, kb = self.planes.shape
        if b != self.w_bits:
            raise ValueError(f"planes has {b} bit-planes but w_bits={self.w_bits}")
        if not isinstance(self.k, (int, np.integer)) or self.k < 1 or kb != (self.k + 7) // 8:
            raise ValueError(f"k={self.k!r} does not match {kb} bytes per row and plane")
        g = check_group_size(self.group_size, self.k)
        for name in ("scale", "zero"):
            arr = getattr(self, name)
            if arr.shape != (m, self.k // g) or arr.dtype != np.float32:
                raise ValueError(f"{name} must be float32 of shape {(m, self.k // g)}, got {arr.dtype} {arr.shape}")

    @property
    def m(self) -> int:
        return int(self.planes.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        return (self.m, int(self.k))

    @property
    def code_bytes(self) -> int:
        """Bytes of the bit-packed codes (what a GEMV must stream for the integer part)."""
        return int(self.planes.nbytes)

    @property
    def nbytes(self) -> int:
        """Codes plus scales plus zero-points: the bytes a batch-1 GEMV reads from memory."""
        return int(self.planes.nbytes + self.scale.nbytes + self.zero.nbytes)

    def codes(self) -> np.ndarray:
        """The (M, K) uint8 code matrix (slow path, for references and tests)."""
        return _unpack_codes(self.planes, self.k)


def _pack_codes(q: np.ndarray, w_bits: int) -> np.ndarray:
    m, k = q.shape
    planes = np.empty((w_bits, m, (k + 7) // 8), dtype=np.uint8)
    for b in range(w_bits):
        planes[b] = np.packbits((q >> b) & 1, axis=1, bitorder="little")
    return planes


def _unpack_codes(planes: np.ndarray, k: int) -> np.ndarray:
    w_bits, m, _ = planes.shape
    q = np.zeros((m, k), dtype=np.uint8)
    for b in range(w_bits):
        q |= np.unpackbits(planes[b], axis=1, count=k, bitorder="little") << np.uint8(b)
    return q


def pack_codes(q: np.ndarray, w_bits: int) -> np.ndarray:
    """Bit-plane pack an (M, K) code matrix; raises ValueError for codes outside 0..2**w_bits-1."""
    w_bits = check_w_bits(w_bits)
    q = np.asarray(q)
    if q.ndim != 2:
        raise ValueError(f"codes must be 2-D (M, K), got shape {q.shape}")
    if q.size and (int(q.min()) < 0 or int(q.max()) >= (1 << w_bits)):
        raise ValueError(f"codes out of range for w_bits={w_bits}: min {int(q.min())}, max {int(q.max())}")
    return _pack_codes(q.astype(np.uint8), w_bits)


def pack_linear(ql: QuantLinear) -> PackedLinear:
    """Pack a :class:`QuantLinear` (codes to bit-planes; scales and zero-points copied as float32)."""
    if not isinstance(ql, QuantLinear):
        raise ValueError(f"pack_linear expects a QuantLinear, got {type(ql).__name__}")
    return PackedLinear(
        planes=pack_codes(ql.q, ql.w_bits),
        scale=np.ascontiguousarray(ql.scale, dtype=np.float32),
        zero=np.ascontiguousarray(ql.zero, dtype=np.float32),
        w_bits=int(ql.w_bits),
        group_size=int(ql.group_size),
        k=int(ql.q.shape[1]),
    )


def unpack_linear(p: PackedLinear) -> QuantLinear:
    """Exact inverse of :func:`pack_linear`."""
    return QuantLinear(q=p.codes(), scale=p.scale.copy(), zero=p.zero.copy(), w_bits=p.w_bits,
                       group_size=p.group_size)


def save_packed(p: PackedLinear, path: str | os.PathLike) -> None:
    """Write one packed layer as an ``.npz`` (atomically)."""
    from sail.io import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, format_version=np.int64(FORMAT_VERSION), planes=p.planes, scale=p.scale, zero=p.zero,
                     w_bits=np.int64(p.w_bits), group_size=np.int64(p.group_size), k=np.int64(p.k))


def load_packed(path: str | os.PathLike) -> PackedLinear:
    with np.load(path) as z:
        version = int(z["format_version"])
        if version != FORMAT_VERSION:
            raise ValueError(f"{path}: packed format version {version}, this code reads {FORMAT_VERSION}")
        return PackedLinear(planes=z["planes"], scale=z["scale"], zero=z["zero"], w_bits=int(z["w_bits"]),
                            group_size=int(z["group_size"]), k=int(z["k"]))
