"""fig07_cost: tokens/s and tokens per dollar of SAIL, the Neoverse-N1 CPU and the V100 across batch sizes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from sail.plots.style import DOUBLE_COLUMN_IN, apply_style

SYSTEM_ORDER = ["sail", "cpu", "v100"]
SYSTEM_LABEL = {"sail": "SAIL", "cpu": "Neoverse-N1 CPU (llama.cpp-like reuse)", "v100": "V100"}


def select_rows(cost: pd.DataFrame, select: dict[str, list], v100_system: str = "v100") -> pd.DataFrame:
    """The rows fig07 draws: SAIL/CPU rows restricted by ``select`` (decode key -> allowed values);
    for the V100, its best tokens per dollar per (model, batch, context), as the ratios use."""
    unknown = [k for k in select if k not in cost.columns]
    if unknown:
        raise ValueError(f"figure_select names unknown column(s) {unknown}")
    ours = cost[cost["system"] != v100_system]
    for key, values in sorted(select.items()):
        ours = ours[ours[key].isin(values)]
    gpu = cost[cost["system"] == v100_system]
    if len(gpu):
        gpu = gpu.loc[gpu.groupby(["model", "batch", "context"])["tokens_per_dollar"].idxmax().to_numpy()]
    rows = pd.concat([ours, gpu], ignore_index=True)
    if rows.empty or not (rows["system"] != v100_system).any():
        raise ValueError(f"figure_select {select} leaves no SAIL or CPU rows to plot")
    return rows


W_MARKERS = {2: "o", 3: "s", 4: "^", 8: "D"}
GPU_MARKERS = {1: ("o", True), 4: ("s", False), 8: ("X", True)}  # devices -> (marker, filled)
CONTEXT_STYLES = ["-", "--", ":", "-."]


def plot_cost(cost: pd.DataFrame, select: dict[str, list] | None = None):
    """Two rows of panels (tokens/s, tokens per USD), one column per model (by size).

    Colour = system (SAIL, CPU, V100); line style = context; marker = weight bits for SAIL and the CPU;
    the V100 line (its best precision) marks how many GPUs each point needs (capacity): filled circle 1
    (p3.2xlarge), hollow square 4 (p3.8xlarge), cross 8 (p3.16xlarge). ``cost`` is the cost stage's ``tpd.csv``.
    """
    from sail.plots.sim import by_size

    apply_style()
    rows = select_rows(cost, select or {})
    rows = rows[rows["system"].isin(SYSTEM_ORDER)]  # the other CPU baselines are drawn in fig06 / tab04
    models = by_size(rows["model"].unique())
    fig, axes = plt.subplots(2, len(models), figsize=(DOUBLE_COLUMN_IN, 4.4), squeeze=False, sharex=True)
    colours = dict(zip(SYSTEM_ORDER, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    styles = dict(zip(sorted(rows["context"].unique()), CONTEXT_STYLES))
    for col, model in enumerate(models):
        sub = rows[rows["model"] == model]
        for system in [s for s in SYSTEM_ORDER if s in set(sub["system"])] + sorted(set(sub["system"]) - set(SYSTEM_ORDER)):
            srows = sub[sub["system"] == system]
            groups = [((0, 0), srows)] if system == "v100" else srows.groupby(["w_bits", "a_bits"], sort=True)
            for (w, _a), line in groups:
                for ctx in sorted(line["context"].unique()):
                    pts = line[line["context"] == ctx].sort_values("batch")
                    kw = dict(color=colours.get(system), linestyle=styles[ctx], lw=0.9)
                    for r, y in ((0, "tokens_per_s"), (1, "tokens_per_dollar")):
                        axes[r, col].plot(pts["batch"], pts[y], **kw)
                        if system == "v100" and "n_devices" in pts.columns:
                            for n, (m, filled) in GPU_MARKERS.items():
                                q = pts[pts["n_devices"] == n]
                                axes[r, col].scatter(q["batch"], q[y], marker=m, s=10, linewidths=0.7,
                                                     facecolors=colours.get(system) if filled else "none",
                                                     edgecolors=colours.get(system), zorder=3)
                        else:
                            axes[r, col].scatter(pts["batch"], pts[y], marker=W_MARKERS.get(w, "o"), s=7,
                                                 color=colours.get(system), zorder=3)
        axes[0, col].set_title(model)
        axes[1, col].set_xlabel("batch")
        for ax in axes[:, col]:
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
    axes[0, 0].set_ylabel("tokens / s")
    axes[1, 0].set_ylabel("tokens / USD")
    L = plt.Line2D
    handles = [L([], [], color=colours[s], label=SYSTEM_LABEL[s] + (" (best precision)" if s == "v100" else ""))
               for s in SYSTEM_ORDER if s in set(rows["system"])]
    handles += [L([], [], color="0.3", ls=ls, label=f"context {c}") for c, ls in styles.items()]
    handles += [L([], [], color="0.3", ls="", marker=W_MARKERS[w], ms=3, label=f"w{w}")
                for w in sorted(set(rows.loc[rows["system"] != "v100", "w_bits"])) if w in W_MARKERS]
    if "n_devices" in rows.columns:
        handles += [L([], [], color=colours["v100"], ls="", marker=m, ms=3.5, mfc=colours["v100"] if f else "none",
                      label=f"V100 x{n}" + {1: " (p3.2xlarge)", 4: " (p3.8xlarge)", 8: " (p3.16xlarge)"}[n])
                    for n, (m, f) in GPU_MARKERS.items()]
    fig.legend(handles=handles, loc="lower center", ncol=4, frameon=False, fontsize=6, bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig
