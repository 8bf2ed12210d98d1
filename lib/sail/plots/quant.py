"""fig13_mixed_precision: per-layer sensitivity, the chosen per-layer widths, perplexity vs average bits."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sail.plots.style import DOUBLE_COLUMN_IN, MODEL_CAVEAT, apply_style

TYPE_ORDER = ["q", "k", "v", "o", "gate", "up", "down"]


def _grid(df: pd.DataFrame, value: str) -> np.ndarray:
    """(layer type, block) matrix of ``value``."""
    piv = df.pivot(index="type", columns="block", values=value).reindex(TYPE_ORDER)
    return piv.to_numpy(dtype=float)


def plot_mixed_precision(sensitivity: pd.DataFrame, assignment: pd.DataFrame, table: pd.DataFrame,
                         sens_bits: int | None = None, budget: float | None = None):
    """Three panels: (a) log10 Hessian-weighted error per layer at ``sens_bits`` (default: the
    lowest offered width), (b) the widths the assignment gives each layer at ``budget`` (default:
    the middle budget), (c) perplexity vs average weight bits, uniform vs mixed (log scale).

    ``table`` is tab03_accuracy.csv; uniform points are its rows with the mixed rows' method and
    group size.
    """
    apply_style()
    bits = sorted(sensitivity["w_bits"].unique())
    sens_bits = bits[0] if sens_bits is None else sens_bits
    budgets = sorted(assignment["budget"].unique())
    budget = budgets[len(budgets) // 2] if budget is None else budget
    sens = sensitivity[sensitivity["w_bits"] == sens_bits].copy()
    sens["log_error"] = np.log10(sens["error"].clip(lower=1e-30))
    asg = assignment[assignment["budget"] == budget].copy()
    asg["block"] = asg["layer"].str.split(".").str[1].astype(int)
    asg["type"] = asg["layer"].str.rsplit(".", n=1).str[1]

    fig, axes = plt.subplots(1, 3, figsize=(DOUBLE_COLUMN_IN, 2.4), width_ratios=[1.3, 1.3, 1.0])
    for ax in axes[:2]:
        ax.grid(False)  # heatmaps: the style's grid would draw over the cells
    ax = axes[0]
    im = ax.imshow(_grid(sens, "log_error"), aspect="auto", cmap="viridis")
    ax.set_yticks(range(len(TYPE_ORDER)), TYPE_ORDER)
    ax.set_xlabel("block")
    ax.set_title(f"(a) log10 tr(ΔW H ΔWᵀ) at {sens_bits} bits")
    fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02)

    ax = axes[1]
    cmap = plt.get_cmap("crest", len(bits))
    im = ax.imshow(_grid(asg, "w_bits"), aspect="auto", cmap=cmap, vmin=bits[0] - 0.5, vmax=bits[-1] + 0.5)
    ax.set_yticks(range(len(TYPE_ORDER)), TYPE_ORDER)
    ax.set_xlabel("block")
    ax.set_title(f"(b) assigned w_bits, budget {budget:g}")
    cb = fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02, ticks=bits)
    cb.ax.tick_params(labelsize=6)

    ax = axes[2]
    mixed = table[table["method"].astype(str).str.endswith(" mixed")]
    method = mixed["method"].iloc[0].split()[0]
    group = str(mixed["group_size"].iloc[0])
    uni = table[(table["method"] == method) & (table["group_size"].astype(str) == group)]
    uni = uni.sort_values("avg_w_bits")
    ax.plot(uni["avg_w_bits"], uni["ppl"], "o-", label=f"uniform {method} g{group}")
    ax.plot(mixed["avg_w_bits"], mixed["ppl"], "s--", label=f"mixed {method} g{group}")
    # The reference scored on the same windows as the other rows, when the table has it.
    ref_rows = table[table["row"] == "reference, row windows"]
    if ref_rows.empty:
        ref_rows = table[table["row"] == "reference"]
    ax.axhline(ref_rows["ppl"].iloc[0], color="grey", lw=0.8, ls=":", label="reference")
    ax.set_yscale("log")
    ax.set_xlabel("average weight bits")
    ax.set_ylabel("perplexity (Emma)")
    ax.set_title("(c) perplexity vs bits")
    ax.legend(frameon=False)
    fig.text(0.01, -0.04, MODEL_CAVEAT, fontsize=6, ha="left")
    fig.tight_layout()
    return fig
