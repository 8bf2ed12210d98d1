"""Figures of the sim stage (fig06, fig08-fig12). Each function takes the stage's CSV as a DataFrame and
returns a matplotlib Figure; numbers come only from those tables."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, NullFormatter
import numpy as np
import pandas as pd

from sail.claims import paper_label, paper_value
from sail.plots.style import DOUBLE_COLUMN_IN, LINESTYLES, MARKERS, SINGLE_COLUMN_IN, apply_style, color

PAPER_SPEEDUP = paper_value("speedup_cpu")
SYSTEM_LABELS = {
    "sail": "SAIL",
    "cpu": "CPU (N1 x64)",
    "v100": "V100",
    "gpu": "GPU",
    "pim_bitserial": "bit-serial in-LLC",
    "pim_lut": "LUT-in-cache",
    "pim_dram": "bank DRAM-PIM",
}
COMPONENT_LABELS = {
    "table_build_s": "table build",
    "lookup_s": "lookup",
    "accumulate_s": "accumulate + spills",
    "reduce_s": "partial-sum reduction",
    "convert_s": "type conversion",
    "pim_compute_s": "PIM compute",
    "cpu_gemv_s": "CPU GEMV",
    "gpu_gemv_s": "GPU GEMV",
    "dram_s": "DRAM (exposed)",
    "noc_s": "NoC",
    "attention_s": "attention (KV)",
    "other_s": "norms etc.",
}


def _batch_axis(ax) -> None:
    """Batch on a log2 axis, labelled 1, 2, 4, ... (not 2^0, 2^1, ...)."""
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


MODEL_ORDER = ("smollm2-135m", "llama2-7b", "llama3-8b", "llama2-13b", "llama2-70b")  # by parameter count


def by_size(models) -> list[str]:
    """Models ordered by size (known ones first, smallest first), unknown ones after, sorted."""
    models = set(models)
    return [m for m in MODEL_ORDER if m in models] + sorted(models - set(MODEL_ORDER))


def plot_speedup(df: pd.DataFrame):
    """fig06: SAIL / CPU tokens/s vs batch. One row of panels per CPU baseline (the headline is a range
    over them), one column per model (by size); colour = weight bits (<= 4 hues), line style = context.

    ``df`` is the sim stage's ``speedup_baselines.csv`` (baseline, model, w_bits, batch, context,
    speedup_vs_cpu); a table without a ``baseline`` column is drawn as one baseline.
    """
    apply_style()
    import seaborn as sns

    if "baseline" not in df.columns:
        df = df[df.system == "sail"].assign(baseline="CPU")
    baselines = sorted(df.baseline.unique(), key=lambda b: -df[df.baseline == b].speedup_vs_cpu.max())
    models = by_size(df.model.unique())
    bits = sorted(df.w_bits.unique())
    colours = dict(zip(bits, sns.color_palette("colorblind", 8)))
    styles = dict(zip(sorted(df.context.unique()), ["-", "--", ":", "-."]))
    fig, axes = plt.subplots(len(baselines), len(models), figsize=(DOUBLE_COLUMN_IN, 1.35 * len(baselines) + 0.6),
                             sharex=True, sharey=True, squeeze=False)
    for i, base in enumerate(baselines):
        for j, model in enumerate(models):
            ax = axes[i, j]
            d = df[(df.baseline == base) & (df.model == model)]
            for (w, ctx), g in d.groupby(["w_bits", "context"], sort=True):
                g = g.sort_values("batch")
                ax.plot(g.batch, g.speedup_vs_cpu, color=colours[w], ls=styles[ctx], marker="o", ms=1.8, lw=0.9)
            ax.axhline(PAPER_SPEEDUP, color="0.15", ls=(0, (1, 1)), lw=0.9)
            _batch_axis(ax)
            ax.set_yscale("log")
            if i == 0:
                ax.set_title(model, fontsize=7)
            if i == len(baselines) - 1:
                ax.set_xlabel("batch")
            if len(d):
                ax.text(0.97, 0.04, f"max {d.speedup_vs_cpu.max():.3g}x", transform=ax.transAxes, ha="right",
                        va="bottom", fontsize=5.5)
        axes[i, 0].set_ylabel("speedup (x)", fontsize=6.5)
        axes[i, -1].annotate(f"vs {base}", xy=(1.04, 0.5), xycoords="axes fraction", rotation=270, ha="left",
                             va="center", fontsize=6)
    handles = [plt.Line2D([], [], color=c, label=f"w{w}") for w, c in colours.items()]
    handles += [plt.Line2D([], [], color="0.3", ls=ls, label=f"context {c}") for c, ls in styles.items()]
    handles += [plt.Line2D([], [], color="0.15", ls=(0, (1, 1)), lw=0.9, label=f"paper: up to {paper_label('speedup_cpu')}")]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=6, frameon=False,
               bbox_to_anchor=(0.5, -0.01))
    fig.suptitle("SAIL speedup over each CPU baseline (rows); a8, default SAIL description", fontsize=7.5)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def plot_pim_compare(df: pd.DataFrame, model: str, w_bits: int, context: int):
    """fig08: tokens/s vs batch for every system at one workload.

    One hue per design (SAIL, each PIM design, the GPU); every CPU description shares one hue and is told
    apart by line style and marker, so the panel stays within the palette's 8 hues however many CPU
    baselines the simulator runs. The legend sits under the axes, off the data.
    """
    apply_style()
    d = df[(df.model == model) & (df.w_bits == w_bits) & (df.context == context)]
    if d.empty:
        raise ValueError(f"no decode rows for model={model!r}, w_bits={w_bits}, context={context}")
    order = ["sail", "pim_bitserial", "pim_lut", "pim_dram", "gpu", "v100", "cpu"]
    systems = d.drop_duplicates("hw").set_index("hw").system
    hws = sorted(systems.index, key=lambda h: (order.index(systems[h]) if systems[h] in order else len(order), h))
    families = list(dict.fromkeys("cpu" if systems[h] == "cpu" else h for h in hws))
    hue = {f: color(i) for i, f in enumerate(families)}
    fig, ax = plt.subplots(figsize=(SINGLE_COLUMN_IN, 3.1))
    n_cpu = 0
    for hw in hws:
        g = d[d.hw == hw].sort_values("batch")
        system = systems[hw]
        if system == "cpu":
            style = dict(color=hue["cpu"], ls=LINESTYLES[n_cpu % len(LINESTYLES)], marker="x")
            label = f"CPU: {hw}"
            n_cpu += 1
        else:  # a marker per design too, so coinciding lines stay visible; SAIL on top
            i = families.index(hw)
            style = dict(color=hue[hw], ls="-", marker=MARKERS[i % len(MARKERS)], zorder=3 if system == "sail" else 2)
            label = SYSTEM_LABELS.get(system, system)
            label = label if label.lower() == hw.lower() else f"{label} ({hw})"
        ax.plot(g.batch, g.tokens_per_s, ms=3.5, lw=1.2, mfc="none" if system != "sail" else None, label=label, **style)
    _batch_axis(ax)
    ax.set_yscale("log")
    batches = sorted(d.batch.unique())
    ax.set_xticks(batches, [str(b) for b in batches])
    ax.minorticks_off()
    ax.set_xlabel("batch")
    ax.set_ylabel("decode tokens/s (simulated)")
    ax.set_title(f"{model}, w{w_bits}a{int(d.a_bits.iloc[0])}, context {context}")
    ax.legend(fontsize=6.5, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False,
              handlelength=2.2, columnspacing=1.0)
    return fig


def plot_ablation(df: pd.DataFrame):
    """fig09: (a) SAIL's tokens/s vs batch (batching is the x axis); (b) each variant's tokens/s relative to
    SAIL at the same batch, on a linear axis, so that a 10-20 % effect is visible and no line hides another."""
    apply_style()
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(DOUBLE_COLUMN_IN, 2.4), layout="constrained")
    base = df[df.variant == "SAIL"].set_index("batch").tokens_per_s
    g = df[df.variant == "SAIL"].sort_values("batch")
    ax0.plot(g.batch, g.tokens_per_s, marker="o", ms=3, lw=1, color="k")
    _batch_axis(ax0)
    ax0.set_yscale("log")
    ax0.set_xlabel("batch (1 = no batching)")
    ax0.set_ylabel("SAIL tokens/s")
    ax0.set_title("(a) batching")
    styles = ["-", "--", ":", "-."]
    markers = ["s", "^", "D", "v"]
    for i, (variant, g) in enumerate((v, g) for v, g in df.groupby("variant", sort=False) if v != "SAIL"):
        g = g.sort_values("batch")
        rel = 100 * (g.tokens_per_s.to_numpy() / base.loc[g.batch].to_numpy() - 1)
        ax1.plot(g.batch, rel, ls=styles[i % 4], marker=markers[i % 4], ms=3.5, lw=1.2, label=variant,
                 color=f"C{i}", alpha=0.9)
    ax1.axhline(0, color="k", lw=0.6)
    _batch_axis(ax1)
    ax1.set_xlabel("batch")
    ax1.set_ylabel("tokens/s vs SAIL (%)")
    ax1.set_title("(b) one mechanism removed")
    ax1.legend(fontsize=6)
    r = df.iloc[0]
    fig.suptitle(f"{r.model}, w{r.w_bits}a{r.a_bits}, context {r.context}", fontsize=8)
    return fig


HW_LABELS = {
    "graviton2": "CPU: Graviton2, 64 Neoverse-N1 cores",
    "sail": "SAIL: Graviton2 + C-SRAM beside the LLC",
    "v100": "GPU: V100",
    "neural_cache": "bit-serial in-LLC (Neural Cache)",
    "bfree": "LUT in cache (BFree)",
    "dram_pim": "bank-level DRAM-PIM",
}


def plot_breakdown(df: pd.DataFrame, model: str, w_bits: int, context: int, hws=("graviton2", "sail"),
                   min_share: float = 0.02):
    """fig10: per-token latency (step / batch) by component, one panel per system, linear axes (stacked bars
    read correctly only on a linear axis). Components below ``min_share`` of every bar are merged into one."""
    apply_style()
    d = df[(df.model == model) & (df.w_bits == w_bits) & (df.context == context) & df.hw.isin(hws)]
    hws = [h for h in hws if h in set(d.hw)]
    fig, axes = plt.subplots(1, len(hws), figsize=(DOUBLE_COLUMN_IN, 2.6), squeeze=False, layout="constrained")
    comps_all = [c for c in COMPONENT_LABELS if c in d.columns and d[c].sum() > 0]
    colors = {c: f"C{i % 10}" for i, c in enumerate(comps_all)}
    for ax, hw in zip(axes[0], hws):
        g = d[d.hw == hw].sort_values("batch")
        share = g[comps_all].div(g.step_s, axis=0)
        big = [c for c in comps_all if share[c].max() >= min_share]
        small = [c for c in comps_all if c not in big and g[c].sum() > 0]
        bottom = np.zeros(len(g))
        x = np.arange(len(g))
        for c in big:
            v = (g[c] / g.batch).to_numpy() * 1e3
            ax.bar(x, v, bottom=bottom, label=COMPONENT_LABELS[c], width=0.75, color=colors[c])
            bottom += v
        if small:
            v = (g[small].sum(axis=1) / g.batch).to_numpy() * 1e3
            names = [COMPONENT_LABELS[c] for c in small]
            lines = [", ".join(names[i:i + 2]) for i in range(0, len(names), 2)]
            ax.bar(x, v, bottom=bottom, width=0.75, color="0.6", label="other (<2 %):\n" + ",\n".join(lines))
            bottom += v
        ax.set_ylim(0, 1.7 * bottom.max())
        ax.set_xticks(x, [str(b) for b in g.batch])
        ax.set_xlabel("batch")
        ax.set_title(HW_LABELS.get(hw, hw), fontsize=8)
        ax.legend(fontsize=5, loc="upper right")
    axes[0][0].set_ylabel("ms per generated token")
    fig.suptitle(f"{model}, w{w_bits}a8, context {context}", fontsize=8)
    return fig


def plot_sensitivity(sens: pd.DataFrame, params: list[str], baseline: str = ""):
    """fig11: distribution of the speedup over the grid per value of each parameter, the paper's value marked.
    ``baseline`` names the CPU baseline the speedups are taken against (shown in the title)."""
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
        f"{r.model}, w{r.w_bits}a{r.a_bits}{'; vs CPU baseline: ' + baseline if baseline else ''}; each box spans "
        f"all other grid values (incl. batch and context); dashed: paper {paper_label('speedup_cpu')}",
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
        _batch_axis(ax)
        ax.set_xticks(list(ratio.index), [str(b) for b in ratio.index], fontsize=6)
        ax.set_xlabel("batch", fontsize=7)
        ax.set_ylabel("SAIL speed change from\nin-memory conversion (%)", fontsize=7)
        r = ablation.iloc[0]
        ax.set_title(f"(c) {r.model} w{r.w_bits}a{r.a_bits}, ctx {r.context}", fontsize=8)
    fig.subplots_adjust(left=0.2, right=0.98, bottom=0.25, top=0.88)
    return fig
