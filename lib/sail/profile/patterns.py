"""Bit-plane activation patterns of a LUT-GEMV (SAIL's pattern-aware LUT, docs/simulator.md).

For a token ``x`` quantised to ``a_bits``-bit integers ``X`` (K channels), LUT group ``j`` holds the
channels ``j*n_bw .. j*n_bw + n_bw - 1`` and bit-plane ``i`` (0 = LSB) presents the ``n_bw``-bit
pattern

    p[j, i] = sum_t bit_i(code(X[j*n_bw + t])) << t,

i.e. channel ``t`` of the group is bit ``t`` of the pattern (the LUT index of the weight-LUT).
``code`` is the ``a_bits``-bit word that the data-feeding module shifts out:

- ``twos_complement`` (SAIL's default): ``X mod 2**a_bits``; the MSB plane carries weight
  ``-2**(a_bits-1)``. Small negative values set every high plane (sign extension), so high
  planes repeat the group's sign pattern rather than being all zero.
- ``sign_magnitude``: planes ``0 .. a_bits-2`` hold ``|X|`` and plane ``a_bits-1`` holds the sign
  (1 = negative). Needs ``|X| <= 2**(a_bits-1) - 1``; the per-token symmetric quantiser of
  ``sail.quant.act`` never produces ``-2**(a_bits-1)``. A LUT-GEMV with this encoding needs a
  signed table row per plane (not modelled here; only the pattern statistics are).

``K`` that is not a multiple of ``n_bw`` is rejected unless ``pad=True``; padding appends zero
channels, exactly as a kernel that pads ``K`` up to ``ceil(K / n_bw) * n_bw`` (zero weights, zero
activations) would present them.
"""

from __future__ import annotations

import numba
import numpy as np

ENCODINGS = ("twos_complement", "sign_magnitude")
N_BW_RANGE = (1, 8)  # patterns are stored as uint8
A_BITS_RANGE = (1, 8)  # codes are stored as int8/uint8


def _check_int(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")
    return int(value)


def check_n_bw(n_bw) -> int:
    return _check_int("n_bw", n_bw, *N_BW_RANGE)


def check_a_bits(a_bits) -> int:
    return _check_int("a_bits", a_bits, *A_BITS_RANGE)


def check_encoding(encoding: str) -> str:
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
    return encoding


def encode_codes(X: np.ndarray, a_bits: int, encoding: str = "twos_complement") -> np.ndarray:
    """The ``a_bits``-bit words (uint8) whose bit ``i`` is bit-plane ``i`` of each activation.

    Raises ValueError naming the first value that does not fit ``a_bits`` in ``encoding``.
    """
    a_bits = check_a_bits(a_bits)
    check_encoding(encoding)
    X = np.asarray(X)
    if not np.issubdtype(X.dtype, np.integer):
        raise ValueError(f"X must hold integers, got dtype {X.dtype}")
    if encoding == "twos_complement":
        lo, hi = -(1 << (a_bits - 1)), (1 << (a_bits - 1)) - 1
    else:
        hi = (1 << (a_bits - 1)) - 1
        lo = -hi
    if X.size:
        bad = (X < lo) | (X > hi)
        if bad.any():
            v = X[bad].flat[0]
            raise ValueError(f"value {int(v)} does not fit {a_bits}-bit {encoding} (range {lo}..{hi})")
    Xi = X.astype(np.int16)
    if encoding == "twos_complement":
        return (Xi & ((1 << a_bits) - 1)).astype(np.uint8)
    return (np.abs(Xi) | ((Xi < 0).astype(np.int16) << (a_bits - 1))).astype(np.uint8)


@numba.njit(cache=True)
def _patterns(U, n_bw, a_bits, out):  # pragma: no cover - compiled
    # serial: a few ms of work per layer, less than a parallel launch costs on a loaded machine
    n_tok, k_pad = U.shape
    n_groups = k_pad // n_bw
    for n in range(n_tok):
        for j in range(n_groups):
            base = j * n_bw
            for i in range(a_bits):
                p = 0
                for t in range(n_bw):
                    p |= ((U[n, base + t] >> i) & 1) << t
                out[n, j, i] = p


def extract_patterns(X: np.ndarray, n_bw: int, a_bits: int, encoding: str = "twos_complement",
                     pad: bool = False) -> np.ndarray:
    """All bit-plane patterns of a token batch.

    Parameters
    ----------
    X : (N, K) integer activations (one token per row).
    n_bw : channels per LUT group, 1..8.
    a_bits : activation bits, 1..8 (1-bit two's complement holds -1 and 0).
    encoding : ``twos_complement`` or ``sign_magnitude``.
    pad : if K % n_bw != 0, append zero channels (True) or raise ValueError (False).

    Returns
    -------
    P : (N, ceil(K / n_bw), a_bits) uint8; ``P[n, j, i]`` is the pattern of token ``n``, LUT group
        ``j``, bit-plane ``i`` (0 = LSB).
    """
    n_bw = check_n_bw(n_bw)
    a_bits = check_a_bits(a_bits)
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be (N, K), got shape {X.shape}")
    n_tok, k = X.shape
    if k % n_bw:
        if not pad:
            raise ValueError(f"K={k} is not a multiple of n_bw={n_bw}; pass pad=True to append zero channels")
    U = encode_codes(X, a_bits, encoding)
    k_pad = -(-k // n_bw) * n_bw
    if k_pad != k:
        U = np.concatenate([U, np.zeros((n_tok, k_pad - k), np.uint8)], axis=1)
    out = np.empty((n_tok, k_pad // n_bw, a_bits), np.uint8)
    _patterns(np.ascontiguousarray(U), n_bw, a_bits, out)
    return out


@numba.njit(cache=True)
def _plane_histogram(P, out):  # pragma: no cover - compiled
    n_tok, n_groups, a_bits = P.shape
    for n in range(n_tok):
        for j in range(n_groups):
            for i in range(a_bits):
                out[i, P[n, j, i]] += 1


def plane_histogram(P: np.ndarray, n_bw: int) -> np.ndarray:
    """(a_bits, 2**n_bw) int64 counts of each pattern on each bit-plane, over tokens and groups."""
    n_bw = check_n_bw(n_bw)
    if P.ndim != 3 or P.dtype != np.uint8:
        raise ValueError(f"P must be a (N, groups, a_bits) uint8 array, got {P.dtype} {P.shape}")
    if P.size and int(P.max()) >= 1 << n_bw:
        raise ValueError(f"pattern {int(P.max())} does not fit n_bw={n_bw} bits")
    out = np.zeros((P.shape[2], 1 << n_bw), np.int64)
    _plane_histogram(P, out)
    return out


def entropy_bits(counts: np.ndarray) -> np.ndarray:
    """Shannon entropy (bits) of each histogram along the last axis; 0 for an empty histogram."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=-1, keepdims=True)
    q = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(q > 0, -q * np.log2(np.where(q > 0, q, 1.0)), 0.0)
    return terms.sum(axis=-1)
