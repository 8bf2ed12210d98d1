"""Per-layer sensitivity and mixed-precision bit assignment under an average-bit budget.

SAIL's premise is that LUT-GEMV runs any weight precision, so each layer can get the precision it
needs. Sensitivity proxy: the Hessian-weighted output error of a layer quantised at ``b`` bits,
``e_l(b) = tr(ΔW_l H_l ΔW_lᵀ)`` (:func:`sail.quant.gptq.hessian_error`). Assuming errors of
different layers add (they do not exactly; the perplexity rows check the result), the assignment

    minimise  Σ_l e_l(b_l)   subject to   Σ_l n_l b_l  ≤  B · Σ_l n_l,   b_l ∈ bits

(``n_l`` = weights of layer l, ``B`` = average bits per weight) is a multiple-choice knapsack,
solved exactly by dynamic programming over the budget in units of ``gcd(n_l)`` weights. Average
bits count the codes only; scales and zero-points add the same ``32/group_size`` bits (two fp16
values per group) to every layer because the group size is fixed across the assignment.
"""

from __future__ import annotations

import math
from functools import reduce

import numpy as np

from sail.quant.core import check_w_bits


def average_bits(bits: dict[str, int], n_params: dict[str, int]) -> float:
    """Parameter-weighted average code width of an assignment."""
    total = sum(n_params[k] for k in bits)
    return sum(bits[k] * n_params[k] for k in bits) / total


def assign_bits(errors: dict[str, dict[int, float]], n_params: dict[str, int], avg_bits: float) -> dict[str, int]:
    """Exact minimum-total-error bit assignment with parameter-weighted average ≤ ``avg_bits``.

    Parameters
    ----------
    errors : ``{layer: {w_bits: error}}``; every layer must offer the same set of bit widths.
    n_params : ``{layer: number of weights}``.
    avg_bits : the budget; must lie between the smallest and the largest offered width.

    Ties go to the lower bit width, and layers are visited in sorted order, so the result is
    deterministic.
    """
    names = sorted(errors)
    if not names:
        raise ValueError("errors is empty")
    choices = sorted(errors[names[0]])
    for n in names:
        if sorted(errors[n]) != choices:
            raise ValueError(f"layer {n!r} offers bit widths {sorted(errors[n])}, expected {choices}")
        if n not in n_params or n_params[n] <= 0:
            raise ValueError(f"layer {n!r} has no positive parameter count")
    for b in choices:
        check_w_bits(b)
    lo, hi = choices[0], choices[-1]
    if not lo <= avg_bits <= hi:
        raise ValueError(f"avg_bits {avg_bits!r} outside the offered widths {lo}..{hi}")

    unit = reduce(math.gcd, (int(n_params[n]) for n in names))
    units = np.array([n_params[n] // unit for n in names], dtype=np.int64)
    # Extra bits above the minimum width, in (bits x units); small float slack for e.g. 2.5 * total.
    capacity = int(math.floor((avg_bits - lo) * int(units.sum()) + 1e-9))
    inf = np.inf
    dp = np.full(capacity + 1, inf)
    dp[0] = 0.0
    pick = np.zeros((len(names), capacity + 1), dtype=np.int8)
    for i, n in enumerate(names):
        new = np.full(capacity + 1, inf)
        for c_idx, b in enumerate(choices):
            cost = (b - lo) * int(units[i])
            if cost > capacity:
                continue
            cand = np.full(capacity + 1, inf)
            cand[cost:] = dp[: capacity + 1 - cost] + errors[n][b]
            better = cand < new  # strict: earlier (lower-bit) choice wins ties
            new[better] = cand[better]
            pick[i, better] = c_idx
        dp = new
    c = int(np.argmin(dp))
    if not np.isfinite(dp[c]):  # pragma: no cover - capacity >= 0 always admits all-lowest
        raise ValueError("no feasible assignment")
    bits: dict[str, int] = {}
    for i in range(len(names) - 1, -1, -1):
        b = choices[pick[i, c]]
        bits[names[i]] = b
        c -= (b - lo) * int(units[i])
    assert c == 0
    return dict(sorted(bits.items()))
