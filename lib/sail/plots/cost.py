"""fig07_cost: tokens/s and tokens per dollar of SAIL, the Neoverse-N1 CPU and the V100 across batch sizes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from sail.plots.style import DOUBLE_COLUMN_IN, apply_style

SYSTEM_ORDER = ["sail", "cpu", "v100"]
SYSTEM_LABEL = {"sail": "SAIL", "cpu": "Neoverse-N1 CPU", "v100": "V100"}


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


def plot_cost(cost: pd.DataFrame, select: dict[str, list] | None = None):
    """Two rows of panels (tokens/s, tokens per USD) by model; one line per system and precision.

    ``cost`` is the cost stage's ``tpd.csv``. Returns the matplotlib figure.
    """
    apply_style()
    rows = select_rows(cost, select or {})
    models = sorted(rows["model"].unique())
    fig, axes = plt.subplots(2, len(models), figsize=(DOUBLE_COLUMN_IN, 4.2), squeeze=False, sharex=True)
    colours = dict(zip(SYSTEM_ORDER, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    styles = ["-", "--", ":", "-."]
    for col, model in enumerate(models):
        sub = rows[rows["model"] == model]
        for system in [s for s in SYSTEM_ORDER if s in set(sub["system"])] + sorted(set(sub["system"]) - set(SYSTEM_ORDER)):
            srows = sub[sub["system"] == system]
            precisions = sorted({(w, a) for w, a in zip(srows["w_bits"], srows["a_bits"])})
            for i, (w, a) in enumerate(precisions):
                line = srows[(srows["w_bits"] == w) & (srows["a_bits"] == a)]
                for ctx in sorted(line["context"].unique()):
                    pts = line[line["context"] == ctx].sort_values("batch")
                    label = f"{SYSTEM_LABEL.get(system, system)} w{w}a{a}" if system != "v100" else "V100 (best precision)"
                    kw = dict(color=colours.get(system), linestyle=styles[i % len(styles)], marker="o", markersize=2.5)
                    axes[0, col].plot(pts["batch"], pts["tokens_per_s"], label=label, **kw)
                    axes[1, col].plot(pts["batch"], pts["tokens_per_dollar"], **kw)
        axes[0, col].set_title(model)
        axes[1, col].set_xlabel("batch")
        for ax in axes[:, col]:
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
    axes[0, 0].set_ylabel("tokens / s")
    axes[1, 0].set_ylabel("tokens / USD")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    seen = dict(zip(labels, handles))
    fig.legend(seen.values(), seen.keys(), loc="lower center", ncol=min(4, len(seen)), frameon=False,
               bbox_to_anchor=(0.5, -0.08))
    fig.tight_layout()
    return fig
