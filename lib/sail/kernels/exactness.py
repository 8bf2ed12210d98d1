"""Exactness grid of the weight-LUT over ``w_bits x a_bits x n_bw`` (the arbitrary-precision claim)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sail.claims import ClaimResult, describe_region, qualitative_verdict
from sail.kernels.lut_gemv import lut_gemv, lut_gemv_pattern_aware


def exactness_grid(w_bits_list, a_bits_list, n_bw_list, m: int, k: int, batch: int, seed: int) -> pd.DataFrame:
    """One row per (w_bits, a_bits, n_bw): is ``lut_gemv`` (and its PRT variant) equal to ``Q @ X``?

    Data: uniformly random codes and activations (seeded), plus one extreme case per cell
    (all codes ``2**w_bits - 1`` against the most negative activation, which exercises the MSB
    plane's negative weight and the largest table entries).
    """
    rows = []
    for w_bits in sorted(w_bits_list):
        for a_bits in sorted(a_bits_list):
            for n_bw in sorted(n_bw_list):
                rng = np.random.default_rng([seed, w_bits, a_bits, n_bw])
                q = rng.integers(0, 1 << w_bits, size=(m, k))
                x = rng.integers(-(1 << (a_bits - 1)), 1 << (a_bits - 1), size=(k, batch))
                x[:, 0] = -(1 << (a_bits - 1))
                q[0, :] = (1 << w_bits) - 1
                exact = q.astype(np.int64) @ x.astype(np.int64)
                y = lut_gemv(q, x, w_bits, a_bits, n_bw)
                y2, _ = lut_gemv_pattern_aware(q, x, w_bits, a_bits, n_bw, prt_entries=32)
                rows.append({"w_bits": w_bits, "a_bits": a_bits, "n_bw": n_bw, "m": m, "k": k, "batch": batch,
                             "exact": bool(np.array_equal(y, exact)),
                             "exact_pattern_aware": bool(np.array_equal(y2, exact)),
                             "max_abs_err": int(np.abs(y - exact).max()),
                             "max_abs_result": int(np.abs(exact).max())})
    return pd.DataFrame(rows)


def arbitrary_precision_claim(grid: pd.DataFrame) -> ClaimResult:
    """Qualitative claim judged by the one policy (:func:`sail.claims.qualitative_verdict`) at every
    (w_bits, a_bits, n_bw) cell; the row names the cells where the datapath is exact."""
    n = len(grid)
    exact = (grid["exact"] & grid["exact_pattern_aware"]).to_numpy()
    ok = int(exact.sum())
    cfg = (f"numba weight-LUT lut_gemv (and PRT variant) on random codes/activations, w_bits "
           f"{grid.w_bits.min()}..{grid.w_bits.max()} x a_bits {grid.a_bits.min()}..{grid.a_bits.max()} x n_bw "
           f"{sorted(grid.n_bw.unique().tolist())}, M={grid.m.iloc[0]}, K={grid.k.iloc[0]}, batch={grid.batch.iloc[0]}")
    verdict = qualitative_verdict(exact)
    where = describe_region(grid[exact], grid, ["w_bits", "a_bits", "n_bw"])
    if ok == n:
        why = ("One bit-serial weight-LUT datapath gives the exact integer product for every tested "
               "weight and activation precision; only the table width and the number of bit-planes change.")
    else:
        why = f"{n - ok} configurations differ from Q @ X (see kernels/exactness.csv)."
    return ClaimResult("arbitrary_precision", f"{ok}/{n} configurations bit-exact", cfg, verdict, why,
                       holds_where=where)
