"""Operation counts of one LUT-GEMV, in one place (docs/simulator.md).

The simulator charges cycles for these counts and the kernels' counters are tested against them,
so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LutGemvOps:
    table_build_adds: int  # M * (K / n_bw) * (2**n_bw - n_bw - 1): incremental subset sums
    lookups: int  # batch * a_bits * M * (K / n_bw), before PRT hits and zero skips
    shift_accumulates: int  # one per lookup

    def after_reuse(self, avoided_lookups: int) -> "LutGemvOps":
        """Counts once ``avoided_lookups`` (PRT hits plus skipped all-zero patterns) are removed."""
        if not 0 <= avoided_lookups <= self.lookups:
            raise ValueError(f"avoided_lookups must be in 0..{self.lookups}, got {avoided_lookups}")
        left = self.lookups - avoided_lookups
        return LutGemvOps(self.table_build_adds, left, left)


def _check_positive(**values: int) -> None:
    for name, v in values.items():
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")


def lut_gemv(m: int, k: int, n_bw: int, a_bits: int, batch: int) -> LutGemvOps:
    """Counts for an (m x k) weight matrix, LUT groups of ``n_bw`` channels, ``batch`` tokens of ``a_bits``.

    ``k`` must be a multiple of ``n_bw`` (pad K first; the kernels reject or pad the same way).
    Table entries for the empty subset and the ``n_bw`` singletons need no addition.
    """
    _check_positive(m=m, k=k, n_bw=n_bw, a_bits=a_bits, batch=batch)
    if k % n_bw:
        raise ValueError(f"K={k} is not a multiple of n_bw={n_bw}")
    groups = m * (k // n_bw)
    lookups = batch * a_bits * groups
    return LutGemvOps(
        table_build_adds=groups * ((1 << n_bw) - n_bw - 1),
        lookups=lookups,
        shift_accumulates=lookups,
    )
