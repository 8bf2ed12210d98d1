"""fig14_validation: the CPU model's predicted vs measured llama.cpp decode on this host."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter

from sail.plots.style import DOUBLE_COLUMN_IN, apply_style

CONTEXT_MARKERS = ("o", "s", "^", "D")


def _minor_label(v: float, _pos) -> str:
    """Label a log axis' minor tick only at 2x and 5x a power of ten."""
    mantissa = round(v / 10 ** np.floor(np.log10(v)), 6)
    return f"{v:g}" if mantissa in (2.0, 5.0) else ""


def plot_validation(table: pd.DataFrame, summary: pd.DataFrame):
    """One panel per weight type: predicted vs measured tokens/s (log-log), y = x and +-15 % band.

    Colour = thread count; marker = context; filled = fitted point, hollow = held-out point. The held-out
    MAPE of each type is in its title (from ``summary``, which the validate stage computed).
    """
    apply_style()
    main = table[table.split.isin(["fit", "held-out"])].copy()
    rep = main["repack"].astype(bool) if "repack" in main.columns else False
    main["panel"] = main.weight_type + np.where(rep, " repacked", "")
    main["fit_set"] = main["fit_set"] if "fit_set" in main.columns else "no repack"
    order = [f"{t}{r}" for r in ("", " repacked") for t in ("Q8_0", "Q4_0", "Q4_K", "Q2_K")]
    types = [t for t in order if t in set(main.panel)] + sorted(set(main.panel) - set(order))
    ncol = min(len(types), 3)
    nrow = int(np.ceil(len(types) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(DOUBLE_COLUMN_IN * (0.5 if ncol == 1 else 1.0),
                                                  2.3 * nrow + (0.9 if nrow == 1 else 0)), squeeze=False)
    colours = dict(zip(sorted(main.threads.unique()), sns.color_palette("colorblind", 8)))
    ctx_marker = dict(zip(sorted(main.context.unique()), CONTEXT_MARKERS))
    lo = min(main.tokens_per_s.min(), main.predicted_tokens_per_s.min()) * 0.7
    hi = max(main.tokens_per_s.max(), main.predicted_tokens_per_s.max()) * 1.4
    held = summary[summary.split == "held-out"]
    if "fit_set" not in held.columns:
        held = held.assign(fit_set="no repack")
    held = held.set_index(["fit_set", "group"])
    for ax, wt in zip(axes.flat, types):
        d = main[main.panel == wt]
        for (th, ctx, split), g in d.groupby(["threads", "context", "split"], sort=True):
            filled = split == "fit"
            ax.scatter(g.tokens_per_s, g.predicted_tokens_per_s, s=14, marker=ctx_marker[ctx],
                       facecolors=colours[th] if filled else "none", edgecolors=colours[th], linewidths=0.9)
        xs = np.array([lo, hi])
        ax.plot(xs, xs, color="k", lw=0.7)
        ax.fill_between(xs, xs / 1.15, xs * 1.15, color="0.85", lw=0, zorder=0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        for axis in (ax.xaxis, ax.yaxis):  # plain numbers; minor labels at 2 and 5 only (they collide otherwise)
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            axis.set_minor_formatter(FuncFormatter(_minor_label))
        key = (d.fit_set.iloc[0], f"weight_type={d.weight_type.iloc[0]}")
        mape = f"held-out MAPE {held.loc[key, 'mape_pct']:.1f} %" if key in held.index else ""
        ax.set_title(f"{wt}: {mape}", fontsize=7)
        ax.set_xlabel("measured tokens/s (llama.cpp)")
        ax.set_ylabel("predicted tokens/s")
    for ax in list(axes.flat)[len(types):]:
        ax.set_visible(False)
    handles = [plt.Line2D([], [], ls="", marker="o", color=c, label=f"{t} thread{'s' if t > 1 else ''}")
               for t, c in colours.items()]
    handles += [plt.Line2D([], [], ls="", marker=m, color="0.3", label=f"context {c}")
                for c, m in ctx_marker.items()]
    handles += [plt.Line2D([], [], ls="", marker="o", color="0.3", label="fitted point"),
                plt.Line2D([], [], ls="", marker="o", color="0.3", mfc="none", label="held-out point"),
                plt.Rectangle((0, 0), 1, 1, color="0.85", label="+-15 %")]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=6, bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, 0.12 if nrow > 1 else 0.28, 1, 1))
    return fig
