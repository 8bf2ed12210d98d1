"""fig03_patterns: activation bit-pattern statistics, PRT hit rates and the predicted cycle saving."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
import numpy as np
import pandas as pd

from sail.plots.style import DOUBLE_COLUMN_IN, REFERENCE_GREY, apply_style, color

# q, k and v read the same normed input, gate and up too, so their pattern statistics coincide:
# draw one line per distinct input.
INPUTS = {"q/k/v": "q", "o": "o", "gate/up": "gate", "down": "down"}
PAPER_PRT_SAVING = 0.138  # arXiv 2509.25853v1 abstract: "reduces computation cycles by 13.8 %"
DEFAULT = {"encoding": "twos_complement", "policy": "lru", "prt_entries": 32, "zero_skip": False}


def _is_true(col: pd.Series) -> pd.Series:
    return col.astype(str).str.lower() == "true"


def _select(df: pd.DataFrame, **kw) -> pd.DataFrame:
    m = np.ones(len(df), bool)
    for k, v in kw.items():
        m &= (_is_true(df[k]) == v).to_numpy() if isinstance(v, bool) else (df[k] == v).to_numpy()
    return df[m]


def _aggregate(hits: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Lookup-weighted avoided fraction over layer types (sums of counts, not mean of fractions)."""
    g = hits.groupby(by, sort=True)[["lookups", "zero_skips", "prt_hits"]].sum().reset_index()
    g["avoided_fraction"] = (g.zero_skips + g.prt_hits) / g.lookups
    return g


def plot_patterns(planes: pd.DataFrame, prt_hits: pd.DataFrame, distinct: pd.DataFrame, saving: pd.DataFrame,
                  n_bw: int, a_bits: int, batch: int):
    """Six panels; ``n_bw``, ``a_bits``, ``batch`` pick the point of the per-plane and per-size panels."""
    apply_style()
    fig, axes = plt.subplots(2, 3, figsize=(DOUBLE_COLUMN_IN, 5.6), constrained_layout=True)
    colors = dict(zip(INPUTS, plt.rcParams["axes.prop_cycle"].by_key()["color"]))

    # (a) zero fraction per bit-plane
    ax = axes[0, 0]
    for enc, ls in (("twos_complement", "-"), ("sign_magnitude", "--")):
        sel = _select(planes, n_bw=n_bw, a_bits=a_bits, encoding=enc)
        for name, lt in INPUTS.items():
            d = sel[sel.layer_type == lt].sort_values("plane")
            if len(d):
                ax.plot(d.plane, d.zero_fraction, ls, color=colors[name], marker=".", ms=3,
                        label=name if enc == "twos_complement" else None)
    ax.set(xlabel="bit-plane (0 = LSB)", ylabel="all-zero patterns", ylim=(0, 1),
           title=f"(a) all-zero patterns, n_bw={n_bw}, a={a_bits}\n(solid 2's compl., dashed sign-mag.)")
    # The layer-input key is drawn once, in (c), where the lower right is free of data.

    # (b) entropy per bit-plane
    ax = axes[0, 1]
    for enc, ls in (("twos_complement", "-"), ("sign_magnitude", "--")):
        sel = _select(planes, n_bw=n_bw, a_bits=a_bits, encoding=enc)
        for name, lt in INPUTS.items():
            d = sel[sel.layer_type == lt].sort_values("plane")
            if len(d):
                ax.plot(d.plane, d.entropy_bits, ls, color=colors[name], marker=".", ms=3)
    ax.axhline(n_bw, color="grey", lw=0.8, ls=":")
    ax.set(xlabel="bit-plane (0 = LSB)", ylabel="pattern entropy (bits)", ylim=(0, n_bw + 0.3),
           title=f"(b) entropy (max {n_bw} bits)\n(solid 2's compl., dashed sign-mag.)", xlim=(-0.3, a_bits - 0.7))

    # (c) distinct patterns per LUT group and batch
    ax = axes[0, 2]
    sel = _select(distinct, n_bw=n_bw, a_bits=a_bits, encoding="twos_complement", plane="all")
    for name, lt in INPUTS.items():
        d = sel[sel.layer_type == lt].sort_values("batch")
        ax.plot(d.batch, d.mean_distinct, color=colors[name], marker=".", ms=3, label=name)
    d = sel.drop_duplicates("batch").sort_values("batch")
    ax.plot(d.batch, d.max_distinct, color="grey", ls=":", lw=0.8, label="bound")
    ax.set(xscale="log", xlabel="batch (tokens per LUT)", ylabel="distinct per (group, batch)",
           title=f"(c) distinct patterns in a PRT stream\n(n_bw={n_bw}, a={a_bits}, {a_bits}·batch lookups)")
    ax.set_xticks(d.batch, [str(b) for b in d.batch])
    ax.legend(fontsize=6.5, loc="lower right", handlelength=1.5)

    # (d) avoided fraction vs PRT size, LRU vs FIFO, a few batches
    ax = axes[1, 0]
    sel = _select(prt_hits, n_bw=n_bw, a_bits=a_bits, encoding="twos_complement", zero_skip=False)
    batches = sorted(sel.batch.unique())
    shown = [b for b in batches if b in (1, batch, max(batches))] or batches
    for i, b in enumerate(shown):
        for pol, ls in (("lru", "-"), ("fifo", "--")):
            d = _aggregate(_select(sel, batch=b, policy=pol), ["prt_entries"])
            if len(d):
                ax.plot(d.prt_entries, d.avoided_fraction, ls, color=color(i), marker=".", ms=3,
                        label=f"batch {b}" if pol == "lru" else None)
    ax.axvline(32, color="grey", lw=0.8, ls=":")
    ax.set(xscale="log", xlabel="PRT entries", ylabel="lookups served by the PRT", ylim=(0, 1),
           title=f"(d) PRT hit rate, n_bw={n_bw}, a={a_bits}\n(solid LRU, dashed FIFO; all layers)")
    sizes = sorted(sel.prt_entries.unique())
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.legend(fontsize=6.5)

    # (e) avoided fraction vs batch for each n_bw at the default PRT (and with zero skipping)
    ax = axes[1, 1]
    sel = _select(prt_hits, a_bits=a_bits, encoding="twos_complement", policy="lru", prt_entries=32)
    # One hue per n_bw, the same in (e) and (f) (at most 8: the palette's size).
    n_bws = sorted(set(sel.n_bw.unique()) | set(saving.n_bw.unique()))
    hue = {nb: color(i) for i, nb in enumerate(n_bws)}
    for nb in sorted(sel.n_bw.unique()):
        for zs, ls in ((False, "-"), (True, ":")):
            d = _aggregate(_select(sel, n_bw=nb, zero_skip=zs), ["batch"])
            ax.plot(d.batch, d.avoided_fraction, ls, color=hue[nb], marker=".", ms=3,
                    label=f"n_bw {nb}" if not zs else None)
    sm = _aggregate(_select(prt_hits, n_bw=n_bw, a_bits=a_bits, encoding="sign_magnitude", policy="lru",
                            prt_entries=32, zero_skip=False), ["batch"])
    if len(sm):
        ax.plot(sm.batch, sm.avoided_fraction, "--", color="k", lw=0.8, label=f"n_bw {n_bw} sign-mag.")
    ax.set(xscale="log", xlabel="batch (tokens per LUT)", ylabel="lookups avoided", ylim=(0, 1),
           title=f"(e) 32-entry LRU PRT, a={a_bits}\n(dotted: + zero skipping)")
    ax.set_xticks(batches, [str(b) for b in batches])
    ax.legend(fontsize=6.5, ncol=2, loc="lower right", handlelength=1.2, columnspacing=0.8)

    # (f) predicted cycle saving (simulator) with the paper's 13.8 %
    ax = axes[1, 2]
    s = saving[(saving.layer_type == "all") & (saving.encoding == DEFAULT["encoding"])
               & (saving.policy == DEFAULT["policy"]) & (saving.prt_entries == DEFAULT["prt_entries"])]
    if "zero_skip" in s.columns:
        s = s[~_is_true(s.zero_skip)]
    # Colour = n_bw (as in (e)), line style = a_bits; the legend sits under the panel, off the data.
    a_list = sorted(s.a_bits.unique(), reverse=True)
    styles = ["-", ":", "-.", (0, (5, 1))]  # not "--": that is the paper's line
    dash = {ab: styles[i % len(styles)] for i, ab in enumerate(a_list)}
    for (nb, ab), d in s.groupby(["n_bw", "a_bits"], sort=True):
        d = d.sort_values("batch")
        ax.plot(d.batch, 100 * d.cycle_saving_fraction, dash[ab], color=hue.get(nb, REFERENCE_GREY), marker=".", ms=3)
    ax.axhline(100 * PAPER_PRT_SAVING, color="k", ls="--", lw=0.9)
    ax.annotate("paper: 13.8 %", (0.98, 100 * PAPER_PRT_SAVING), xycoords=("axes fraction", "data"),
                xytext=(0, 2), textcoords="offset points", fontsize=6.5, ha="right")
    ax.set(xscale="log", xlabel="batch (tokens per LUT)", ylabel="C-SRAM cycles saved (%)",
           title="(f) predicted cycle saving (simulator)\n32-entry LRU PRT, default cost model")
    if len(s):
        bs = sorted(s.batch.unique())
        ax.set_xticks(bs, [str(b) for b in bs])
        handles = [Line2D([], [], color=hue[nb], marker=".", label=f"n_bw {nb}") for nb in sorted(s.n_bw.unique())]
        handles += [Line2D([], [], color="0.3", ls=dash[ab], label=f"a={ab}") for ab in a_list]
        ax.legend(handles=handles, fontsize=6.5, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.28),
                  frameon=False, handlelength=1.6, columnspacing=0.8)
    return fig
