"""Bit-serial primitive costs under selectable profiles (sources: docs/sources.md).

A profile turns an operation on ``n``-bit operands, executed bit-serially across every bit line of an
array at once, into array cycles. Three published cost models are offered because they differ by ~3x
for a multiply, and that spread is the modelling uncertainty fig11 sweeps:

``neural_cache``       Neural Cache (ISCA'18): add ``n + 1``, multiply ``n^2 + 5n - 2`` [formulas unverified
                       against the paper body, arXiv 1805.03718].
``pimeval_bitsimd_v``  PIMeval BitSIMD-V micro-programs: row reads R and writes W per op (tables in
                       ``libpimeval/src/pimPerfEnergyTables.cpp``); on SRAM one row access = one cycle and
                       the logic steps L overlap with the row accesses (row ops = R + W).
``gem_forge``          Infinity Stream's ``MLCPUMManager::getComputeLat``: add ``n``, multiply ``n^2/2``,
                       FP ops ``n^2`` (github.com/jingyao-zhang/gem-forge-gem5, PUMEngine.cc).

All functions accept numpy arrays for ``n`` (vectorised sweeps).
"""

from __future__ import annotations

from enum import Enum

import numpy as np


class Profile(str, Enum):
    NEURAL_CACHE = "neural_cache"
    PIMEVAL_BITSIMD_V = "pimeval_bitsimd_v"
    GEM_FORGE = "gem_forge"


PROFILES = tuple(p.value for p in Profile)


def _profile(name) -> Profile:
    try:
        return Profile(name)
    except ValueError:
        raise ValueError(f"unknown op_profile {name!r}; known: {PROFILES}") from None


# ---- PIMeval BitSIMD-V operation counts {R, W, L}: the closed forms that fit its tables exactly -----
def pimeval_rwl(op: str, n):
    """(reads, writes, logic) of one PIMeval BitSIMD-V command on ``n``-bit integers (PIMeval tables)."""
    n = np.asarray(n)
    if op in ("add", "sub"):
        return 2 * n, n, 3 * n + 1
    if op == "add_scalar":
        return n, n, 4 * n + 1
    if op == "mul":
        return n * (n + 1), n * (n + 1) // 2, 2 * n * n + n
    if op == "mul_scalar":
        return n * (n + 1) // 2, n * (n + 1) // 2, (5 * n * n + 3 * n) // 2
    if op in ("gt", "lt"):
        return 2 * n, np.ones_like(n), 3 * n + 1
    if op in ("and", "or", "xor"):
        return 2 * n, n, 2 * n
    raise ValueError(f"unknown PIMeval op {op!r}")


# PIMeval tables FP32 ops only as numbers (no closed form): (R, W, L).
PIMEVAL_FP32_MUL_RWL = (1852, 1000, 3054)
PIMEVAL_FP32_ADD_RWL = (1331, 685, 1687)


# ---- per-profile primitive cycles -----------------------------------------------------------------
def add_cycles(profile, n):
    """Cycles of one ``n``-bit bit-serial add over all bit lines of one array."""
    p, n = _profile(profile), np.asarray(n, dtype=float)
    if p is Profile.NEURAL_CACHE:
        return n + 1
    if p is Profile.PIMEVAL_BITSIMD_V:
        r, w, _ = pimeval_rwl("add", n)
        return r + w
    return n  # gem_forge


def mul_cycles(profile, n):
    """Cycles of one ``n x n``-bit bit-serial integer multiply over all bit lines of one array."""
    p, n = _profile(profile), np.asarray(n, dtype=float)
    if p is Profile.NEURAL_CACHE:
        return n * n + 5 * n - 2
    if p is Profile.PIMEVAL_BITSIMD_V:
        r, w, _ = pimeval_rwl("mul", n)
        return r + w
    return n * n / 2  # gem_forge


def mac_cycles(profile, n, acc_bits):
    """Multiply of ``n``-bit operands then add into an ``acc_bits`` accumulator."""
    p = _profile(profile)
    if p is Profile.GEM_FORGE:
        # gem-forge tables the fused MAC as n^2/2 + n; the accumulator width is the operand width there
        return np.asarray(n, dtype=float) ** 2 / 2 + np.asarray(acc_bits, dtype=float)
    return mul_cycles(p, n) + add_cycles(p, acc_bits)


def fp32_mul_cycles(profile) -> float:
    """One FP32 multiply per bit line (type conversion scales).

    SHORTCUT(fp32-nc): Neural Cache's FP cost was not readable; we charge its 24-bit mantissa
    multiply plus an 8-bit exponent add (derived from its integer formulas).
    """
    p = _profile(profile)
    if p is Profile.NEURAL_CACHE:
        return float(mul_cycles(p, 24) + add_cycles(p, 8))
    if p is Profile.PIMEVAL_BITSIMD_V:
        r, w, _ = PIMEVAL_FP32_MUL_RWL
        return float(r + w)
    return 32.0**2  # gem_forge: FP ops n^2 with n = 32


def convert_cycles(profile, a_bits):
    """In-array FP32 <-> a_bits integer conversion of one element per bit line.

    One FP32 multiply by the scale, then normalise/round as one 32-bit add-class pass.
    SHORTCUT(convert): SAIL's conversion algorithm is not in the paper's abstract; this is the obvious
    bit-serial recipe, and fig12 shows it against the CPU's SIMD cost.
    """
    return fp32_mul_cycles(profile) + add_cycles(profile, 32) + 0 * np.asarray(a_bits, dtype=float)
