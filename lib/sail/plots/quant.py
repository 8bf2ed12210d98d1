"""fig13_mixed_precision: per-layer sensitivity, the chosen per-layer widths, perplexity vs average bits."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sail.plots.style import DOUBLE_COLUMN_IN, MODEL_CAVEAT, apply_style

TYPE_ORDER = ["q", "k", "v", "o", "gate", "up", "down"]
SENS_TITLES = {"error_fisher": "Fisher-weighted error", "error_hessian": "tr(ΔW H ΔWᵀ)"}


def _grid(df: pd.DataFrame, value: str) -> np.ndarray:
    """(layer type, block) matrix of ``value``."""
    piv = df.pivot(index="type", columns="block", values=value).reindex(TYPE_ORDER)
    return piv.to_numpy(dtype=float)


def _with_block_type(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["block"] = df["layer"].str.split(".").str[1].astype(int)
    df["type"] = df["layer"].str.rsplit(".", n=1).str[1]
    return df


def _heatmap(fig, ax, grid, title, **kw):
    ax.grid(False)  # heatmaps: the style's grid would draw over the cells
    im = ax.imshow(grid, aspect="auto", **kw)
    ax.set_yticks(range(len(TYPE_ORDER)), TYPE_ORDER)
    ax.set_xlabel("block")
    ax.set_title(title)
    return im


def plot_mixed_precision(sensitivity: pd.DataFrame, assignment: pd.DataFrame, table: pd.DataFrame,
                         sens_bits: int | None = None):
    """Top: (a, b) log10 sensitivity per layer at ``sens_bits`` (default: the lowest offered width)
    for the Fisher-weighted error and the tr(ΔW H ΔWᵀ) proxy, each normalised to its largest
    layer; (c) perplexity vs average weight bits: uniform RTN and GPTQ at the mixed rows' group
    size, mixed precision with either sensitivity (log scale). Bottom: the widths the
    Fisher-weighted assignment gives each layer at every budget.

    ``table`` is tab03_accuracy.csv (columns row, method, group_size, avg_w_bits, a_bits, ppl).
    """
    apply_style()
    bits = sorted(sensitivity["w_bits"].unique())
    sens_bits = bits[0] if sens_bits is None else sens_bits
    sens = sensitivity[sensitivity["w_bits"] == sens_bits].copy()
    asg = _with_block_type(assignment[assignment["sensitivity"] == "fisher"])
    budgets = sorted(asg["budget"].unique())

    ncol = max(3, len(budgets))
    fig = plt.figure(figsize=(DOUBLE_COLUMN_IN, 4.6))
    gs = fig.add_gridspec(2, ncol, height_ratios=[1.0, 0.9])
    for j, col in enumerate(("error_fisher", "error_hessian")):
        ax = fig.add_subplot(gs[0, j])
        v = sens[col].clip(lower=1e-30)
        sens[f"log_{col}"] = np.log10(v / v.max())
        im = _heatmap(fig, ax, _grid(sens, f"log_{col}"), f"({'ab'[j]}) {SENS_TITLES[col]}, {sens_bits} bits",
                      cmap="viridis")
        cb = fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02)
        cb.set_label("log10 (rel. to max)", fontsize=6)
        cb.ax.tick_params(labelsize=6)

    ax = fig.add_subplot(gs[0, 2])
    method = table["method"].astype(str)
    mixed = table[method.str.endswith("mixed precision")]
    group = str(mixed["group_size"].iloc[0]) if not mixed.empty else "32"
    weight_only = table["a_bits"].isna() | (table["a_bits"].astype(str).isin(["", "nan"]))
    same_group = table["group_size"].astype(str) == group
    styles = [("RTN", "RTN", "o:"), ("GPTQ", "GPTQ", "o-")]
    for prefix, label, fmt in styles:
        uni = table[weight_only & same_group & method.str.startswith(prefix) & ~method.str.contains("float-minimum")
                    & ~table["row"].astype(str).str.contains("damp")
                    & ~method.str.endswith("mixed precision")].sort_values("avg_w_bits")
        if not uni.empty:
            ax.plot(uni["avg_w_bits"], uni["ppl"], fmt, ms=3.5, label=f"uniform {label}")
    for key, label, fmt in (("Fisher", "mixed, Fisher", "s-"), ("proxy", "mixed, tr(ΔW H ΔWᵀ)", "^--")):
        # tab03 labels the mixed rows "mixed <budget> bits, Fisher" / "..., proxy"
        m = mixed[mixed["row"].astype(str).str.contains(key, regex=False)].sort_values("avg_w_bits")
        if not m.empty:
            ax.plot(m["avg_w_bits"], m["ppl"], fmt, ms=4, label=label)
    ref = table[table["row"] == "reference"]
    if not ref.empty:
        ax.axhline(ref["ppl"].iloc[0], color="grey", lw=0.8, ls=":", label="reference")
    ax.set_yscale("log")
    ax.set_xlabel("average weight bits")
    ax.set_ylabel("perplexity (Emma)")
    ax.set_title(f"(c) perplexity, group {group}")
    ax.legend(frameon=False, fontsize=6, loc="upper right")  # no curve reaches high perplexity at 3-4 bits

    cmap = plt.get_cmap("crest", len(bits))
    for j, budget in enumerate(budgets):
        ax = fig.add_subplot(gs[1, j])
        a = asg[asg["budget"] == budget]
        im = _heatmap(fig, ax, _grid(a, "w_bits"), f"({'def'[j] if j < 3 else j}) widths, {budget:g}-bit budget",
                      cmap=cmap, vmin=bits[0] - 0.5, vmax=bits[-1] + 0.5)
        cb = fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02, ticks=bits)
        cb.ax.tick_params(labelsize=6)
    fig.text(0.01, -0.02, MODEL_CAVEAT, fontsize=6, ha="left")
    fig.tight_layout()
    return fig
