"""Figures of the sim stage (fig06, fig08-fig12). Each function takes the stage's CSV as a DataFrame and
returns a matplotlib Figure; numbers come only from those tables."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sail.claims import paper_label, paper_value
from sail.plots.style import DOUBLE_COLUMN_IN, SINGLE_COLUMN_IN, apply_style

PAPER_SPEEDUP = paper_value("speedup_cpu")
SYSTEM_LABELS = {
    "sail": "SAIL",
    "cpu": "CPU (N1 x64)",
    "v100": "V100",
    "pim_bitserial": "bit-serial in-LLC",
    "pim_lut": "LUT-in-cache",
    "pim_dram": "bank DRAM-PIM",
}
COMPONENT_LABELS = {
    "table_build_s": "table build",
    "lookup_s": "lookup",
    "accumulate_s": "accumulate",
    "convert_s": "type conversion",
    "pim_compute_s": "PIM compute",
    "cpu_gemv_s": "CPU GEMV",
    "gpu_gemv_s": "GPU GEMV",
    "dram_s": "DRAM (exposed)",
    "noc_s": "NoC",
    "attention_s": "attention (KV)",
    "other_s": "norms etc.",
}


def plot_speedup(df: pd.DataFrame):
    """fig06: SAIL / CPU tokens/s vs batch, one panel per context, one line per model x w_bits."""
    apply_style()
    s = df[df.system == "sail"]
    contexts = sorted(s.context.unique())
    fig, axes = plt.subplots(1, len(contexts), figsize=(DOUBLE_COLUMN_IN, 2.6), sharey=True, squeeze=False)
    for ax, ctx in zip(axes[0], contexts):
        d = s[s.context == ctx]
        for (model, w), g in d.groupby(["model", "w_bits"], sort=True):
            g = g.sort_values("batch")
            ax.plot(g.batch, g.speedup_vs_cpu, marker="o", ms=2.5, lw=1, label=f"{model} w{w}")
        ax.axhline(PAPER_SPEEDUP, color="k", ls="--", lw=0.8)
        ax.text(1, PAPER_SPEEDUP, f" paper: up to {paper_label('speedup_cpu')}", va="bottom", fontsize=6)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch")
        ax.set_title(f"context {ctx}")
    axes[0][0].set_ylabel("speedup over CPU (x)")
    axes[0][-1].legend(fontsize=5, ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def plot_pim_compare(df: pd.DataFrame, model: str, w_bits: int, context: int):
    """fig08: tokens/s vs batch for every system at one workload."""
    apply_style()
    d = df[(df.model == model) & (df.w_bits == w_bits) & (df.context == context)]
    fig, ax = plt.subplots(figsize=(SINGLE_COLUMN_IN, 2.6))
    for hw, g in d.groupby("hw", sort=True):
        g = g.sort_values("batch")
        label = f"{SYSTEM_LABELS.get(g.system.iloc[0], hw)} ({hw})"
        ax.plot(g.batch, g.tokens_per_s, marker="o", ms=2.5, lw=1, label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch")
    ax.set_ylabel("tokens/s")
    ax.set_title(f"{model}, w{w_bits}a8, context {context}")
    ax.legend(fontsize=5)
    return fig


def plot_ablation(df: pd.DataFrame):
    """fig09: tokens/s vs batch per variant (batching = the x axis)."""
    apply_style()
    fig, ax = plt.subplots(figsize=(SINGLE_COLUMN_IN, 2.4))
    for variant, g in df.groupby("variant", sort=False):
        g = g.sort_values("batch")
        ax.plot(g.batch, g.tokens_per_s, marker="o", ms=2.5, lw=1, label=variant)
    r = df.iloc[0]
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch (1 = no batching)")
    ax.set_ylabel("tokens/s")
    ax.set_title(f"{r.model}, w{r.w_bits}a{r.a_bits}, context {r.context}")
    ax.legend(fontsize=5)
    return fig


def plot_breakdown(df: pd.DataFrame, model: str, w_bits: int, context: int, hws=("graviton2", "sail")):
    """fig10: stacked per-token latency (step / batch) by component, per system and batch."""
    apply_style()
    d = df[(df.model == model) & (df.w_bits == w_bits) & (df.context == context) & df.hw.isin(hws)]
    comps = [c for c in COMPONENT_LABELS if c in d.columns and d[c].sum() > 0]
    d = d.sort_values(["hw", "batch"])
    labels = [f"{h}\nB={b}" for h, b in zip(d.hw, d.batch)]
    fig, ax = plt.subplots(figsize=(DOUBLE_COLUMN_IN, 2.6))
    bottom = np.zeros(len(d))
    for c in comps:
        v = (d[c] / d.batch).to_numpy() * 1e3
        ax.bar(range(len(d)), v, bottom=bottom, label=COMPONENT_LABELS[c], width=0.8)
        bottom += v
    ax.set_xticks(range(len(d)), labels, fontsize=5)
    ax.set_ylabel("ms per token (step / batch)")
    ax.set_yscale("log")
    ax.set_title(f"{model}, w{w_bits}a8, context {context}")
    ax.legend(fontsize=5, ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def plot_sensitivity(sens: pd.DataFrame, params: list[str]):
    """fig11: distribution of the speedup over the grid per value of each parameter, the paper's value marked."""
    apply_style()
    ncols = min(len(params), 5)
    nrows = -(-len(params) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(DOUBLE_COLUMN_IN, 2.1 * nrows), sharey=True, squeeze=False
    )
    for ax in axes.flat[len(params) :]:
        ax.set_visible(False)
    for ax, p in zip(axes.flat, params):
        vals = sorted(sens[p].unique(), key=lambda v: (isinstance(v, str), v))
        data = [sens[sens[p] == v].speedup_vs_cpu.to_numpy() for v in vals]
        ax.boxplot(data, whis=(0, 100), widths=0.6, medianprops={"color": "C1"})
        ax.set_xticks(
            range(1, len(vals) + 1),
            [str(v).replace("_", "\n") for v in vals],
            fontsize=5,
            rotation=0 if isinstance(vals[0], str) else 90,
        )
        ax.axhline(PAPER_SPEEDUP, color="k", ls="--", lw=0.8)
        ax.set_title(p, fontsize=6)
        ax.set_yscale("log")
    for row in axes:
        row[0].set_ylabel("SAIL / CPU (x)")
    r = sens.iloc[0]
    fig.suptitle(
        f"{r.model}, w{r.w_bits}a{r.a_bits}; each box spans all other grid values (incl. batch and "
        f"context); dashed: paper {paper_label('speedup_cpu')}",
        fontsize=7,
    )
    fig.tight_layout()
    return fig


def plot_type_conversion(df: pd.DataFrame, ablation: pd.DataFrame | None = None):
    """fig12: (a) cycles per element for one unit (one array / one core, each in its own clock);
    (b) ps per element for the whole chip (all arrays / all cores); (c) with ``ablation``: SAIL's speed
    with in-memory conversion over SAIL with the cores converting, per batch. One unit per panel."""
    apply_style()
    n = 3 if ablation is not None and len(ablation) else 2
    fig = plt.figure(figsize=(DOUBLE_COLUMN_IN, 2.4))
    gs = fig.add_gridspec(1, n, width_ratios=[1, 1, 1.1][:n], wspace=0.12 if n == 2 else 0.5)
    ax_a = fig.add_subplot(gs[0, 0])
    ax_b = fig.add_subplot(gs[0, 1], sharey=ax_a)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    cpu = (df.profile == "cpu") if "profile" in df.columns else df.engine.str.startswith("CPU")
    col = [colours[3] if c else colours[0] for c in cpu]
    if "units" in df.columns:
        labels = [f"{e}\n({int(u)} {t}s)" for e, u, t in zip(df.engine, df.units, df.unit)]
    else:
        labels = list(df.engine)
    y = np.arange(len(df))
    for ax, values, xlabel, title in (
        (ax_a, df.cycles_per_element_one_unit, "cycles per element\n(one array or one core)", "(a) one unit"),
        (ax_b, df.ns_per_element_chip * 1e3, "ps per element\n(all arrays or all cores)", "(b) whole chip"),
    ):
        ax.barh(y, values, color=col, height=0.7)
        ax.set_xlabel(xlabel, fontsize=7)
        ax.set_title(title, fontsize=8)
        ax.set_xlim(0, values.max() * 1.3)
        for yi, v in zip(y, values):
            ax.text(v, yi, f" {v:.3g}", va="center", fontsize=6)
    ax_a.set_yticks(y, labels, fontsize=6)
    ax_a.invert_yaxis()
    plt.setp(ax_b.get_yticklabels(), visible=False)
    if n == 3:
        ax = fig.add_subplot(gs[0, 2])
        on = ablation[ablation.variant == "SAIL"].set_index("batch").tokens_per_s
        off = ablation[ablation.variant == "no in-memory conversion"].set_index("batch").tokens_per_s
        ratio = (100 * (on / off - 1)).sort_index()
        ax.plot(ratio.index, ratio.values, marker="o", ms=3, color=colours[0])
        ax.axhline(0.0, color="k", lw=0.8, ls="--")
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(ratio.index), [str(b) for b in ratio.index], fontsize=6)
        ax.set_xlabel("batch", fontsize=7)
        ax.set_ylabel("SAIL speed change from\nin-memory conversion (%)", fontsize=7)
        r = ablation.iloc[0]
        ax.set_title(f"(c) {r.model} w{r.w_bits}a{r.a_bits}, ctx {r.context}", fontsize=8)
    fig.subplots_adjust(left=0.2, right=0.98, bottom=0.25, top=0.88)
    return fig
