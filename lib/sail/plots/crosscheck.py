"""fig15: the analytical SAIL model against the event-level C-SRAM simulator, and PRT hits per scope."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from sail.plots.style import DOUBLE_COLUMN_IN, apply_style

LAYER_ORDER = ["q", "k", "v", "o", "gate", "up", "down"]
SCOPE_LABELS = {"per_array": "one PRT per array", "per_slice": "one PRT per slice (shared)"}


def plot_crosscheck(table: pd.DataFrame, scope: pd.DataFrame, n_bw: int = 4, prt_scope: str = "per_array",
                    tol_pct: float = 5.0):
    """(a) analytical / event-level cycles - 1 per layer and batch at SAIL's default point, the +-tol band;
    (b) the same with the profiling stage's PRT rates instead of the run's own; (c) PRT hit rate vs batch per
    scope and n_bw (SmolLM2 block, lookups summed over its seven layers)."""
    apply_style()
    d = table[(table.n_bw == n_bw) & (table.prt_scope == prt_scope)].copy()
    short = {"llama2-7b": "L2-7B", "llama2-13b": "L2-13B", "llama2-70b": "L2-70B", "llama3-8b": "L3-8B"}
    d["layer"] = [lt if m == "smollm2-135m" else f"{short.get(m, m)} {lt}" for m, lt in zip(d.model, d.layer_type)]
    order = [lt for lt in LAYER_ORDER if lt in set(d.layer)] + sorted(set(d.layer) - set(LAYER_ORDER))
    x = {name: i for i, name in enumerate(order)}
    batches = sorted(d.batch.unique())
    fig, axes = plt.subplots(1, 3, figsize=(DOUBLE_COLUMN_IN, 2.6), gridspec_kw={"width_ratios": [1.2, 1.2, 1]},
                             layout="constrained")
    markers = ["o", "s", "^", "D", "v"]
    for col, title in ((("rel_diff", "(a) analytical vs event-level\n(run's own PRT hits)")),
                       (("rel_diff_profile_prt", "(b) analytical with the profiled\nPRT rates vs event-level"))):
        ax = axes[0] if col == "rel_diff" else axes[1]
        ax.axhspan(-tol_pct, tol_pct, color="0.9", zorder=0)
        for i, b in enumerate(batches):
            g = d[d.batch == b]
            off = (i - (len(batches) - 1) / 2) * 0.22
            ax.scatter([x[n] + off for n in g.layer], 100 * g[col], marker=markers[i % len(markers)], s=14,
                       label=f"batch {b}", zorder=3)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xticks(range(len(order)), order, fontsize=6, rotation=45, ha="right")
        ax.set_xlabel("layer (SmolLM2 unless named)", fontsize=6)
        ax.set_title(title, fontsize=8)
        ax.set_ylabel("analytical / event cycles - 1 (%)" if col == "rel_diff" else "")
    lim = max(8.0, 1.3 * 100 * float(d[["rel_diff", "rel_diff_profile_prt"]].abs().max().max()))
    for ax in axes[:2]:
        ax.set_ylim(-lim, lim)
    axes[0].legend(fontsize=5, loc="upper left", ncol=3, handletextpad=0.1, columnspacing=0.6)
    axes[0].text(0.02, 0.03, f"grey band: +-{tol_pct:g} %", transform=axes[0].transAxes, fontsize=6)
    ax = axes[2]
    styles = {4: "-", 8: "--"}
    for (nb, sc), g in scope.groupby(["n_bw", "prt_scope"], sort=True):
        g = g.sort_values("batch")
        ax.plot(g.batch, 100 * g.prt_hit_fraction, ls=styles.get(nb, ":"), marker="o" if sc == "per_array" else "s",
                ms=3, lw=1, color="C0" if sc == "per_array" else "C3", label=f"n_bw {nb}, {SCOPE_LABELS.get(sc, sc)}")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(scope.batch.unique()), [str(b) for b in sorted(scope.batch.unique())])
    ax.set_xlabel("batch")
    ax.set_ylabel("PRT hits (% of lookups)")
    ax.set_title("(c) PRT hit rate by scope", fontsize=8)
    ax.set_ylim(0, 100)
    ax.legend(fontsize=5, loc="lower left")
    return fig
