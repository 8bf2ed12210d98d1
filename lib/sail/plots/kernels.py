"""Figures of the kernels stage: fig01 (motivation), fig02 (LUT example), fig04 (kernels), fig05 (batching).

Every number drawn here comes from a CSV/JSON the pipeline wrote; nothing is computed that the
pipeline needs, only derived for display (ratios, a least-squares line through measured points).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sail.plots.style import DOUBLE_COLUMN_IN, apply_style

KERNEL_LABELS = {
    "weight_lut": "weight-LUT (SAIL, int A8)",
    "act_lut_g4": "activation-LUT g=4 (T-MAC style)",
    "act_lut_g8": "activation-LUT g=8",
    "dequant": "dequant + FMA (llama.cpp-like)",
    "numpy_fp32": "numpy fp32 (OpenBLAS)",
    "torch_fp32": "torch fp32",
    "torch_int8_dynamic": "torch int8 dynamic",
}
PACKED = ["weight_lut", "act_lut_g4", "act_lut_g8", "dequant"]
BASE = ["numpy_fp32", "torch_fp32", "torch_int8_dynamic"]


def _colors():
    pal = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return {k: pal[i % len(pal)] for i, k in enumerate(PACKED + BASE)}


def _headline_shape(bench: pd.DataFrame) -> tuple[int, int]:
    b1 = bench[(bench.batch == 1)]
    n = b1.groupby(["m", "k"]).w_bits.nunique()
    if (4096, 4096) in n.index and n[(4096, 4096)] == n.max():
        return (4096, 4096)
    return tuple(int(v) for v in n.idxmax())


def plot_kernels(bench: pd.DataFrame, machine: pd.DataFrame):
    """fig04: (a) latency vs w_bits at the headline shape, batch 1, 1 thread, with the DRAM roofline;
    (b) fraction of the measured DRAM roofline per kernel and shape at 2 bits; (c) 2 vs 1 thread."""
    apply_style()
    col = _colors()
    m, k = _headline_shape(bench)
    t1 = int(bench.threads.min())
    sel = bench[(bench.m == m) & (bench.k == k) & (bench.batch == 1) & (bench.threads == t1)]
    fig, axes = plt.subplots(1, 3, figsize=(DOUBLE_COLUMN_IN, 2.6), gridspec_kw={"width_ratios": [1.2, 1.2, 0.8]})
    ax = axes[0]
    for kn in PACKED:
        d = sel[sel.kernel == kn].sort_values("w_bits")
        if len(d):
            ax.errorbar(d.w_bits, d.median_s * 1e3, yerr=[(d.median_s - d.q25_s) * 1e3, (d.q75_s - d.median_s) * 1e3],
                        marker="o", ms=3, lw=1, color=col[kn], label=KERNEL_LABELS[kn], capsize=2)
    for kn, ls in zip(BASE, ["--", ":", "-."]):
        d = sel[sel.kernel == kn]
        if len(d):
            ax.axhline(float(d.median_s.iloc[0]) * 1e3, ls=ls, lw=1, color=col[kn], label=KERNEL_LABELS[kn])
    d = sel[sel.kernel.isin(["act_lut_g8", "dequant", "act_lut_g4"])].drop_duplicates("w_bits").sort_values("w_bits")
    if len(d):
        ax.plot(d.w_bits, d.weight_bytes / (d.dram_read_gbps * 1e9) * 1e3, color="k", lw=1.2,
                label="DRAM roofline (packed bytes / measured BW)")
    ax.set_yscale("log")
    ax.set_xlabel("weight bits w_bits")
    ax.set_ylabel("latency per GEMV (ms)")
    ax.set_title(f"(a) {m}x{k}, batch 1, {t1} thread")
    fig.legend(*ax.get_legend_handles_labels(), fontsize=5, loc="lower center", ncol=4, frameon=False,
               bbox_to_anchor=(0.5, -0.02))

    ax = axes[1]
    b1 = bench[(bench.batch == 1) & (bench.threads == t1) & ((bench.w_bits == 2) | bench.kernel.isin(BASE))]
    shapes = sorted(b1.groupby(["m", "k"]).size().index.tolist())
    kns = [kn for kn in PACKED + BASE if kn in set(b1.kernel)]
    width = 0.8 / max(len(kns), 1)
    for i, kn in enumerate(kns):
        vals = []
        for s in shapes:
            d = b1[(b1.kernel == kn) & (b1.m == s[0]) & (b1.k == s[1])]
            vals.append(float(d.roofline_fraction.iloc[0]) * 100 if len(d) else np.nan)
        ax.bar(np.arange(len(shapes)) + (i - len(kns) / 2 + 0.5) * width, vals, width, color=col[kn],
               label=KERNEL_LABELS[kn])
    ax.set_xticks(np.arange(len(shapes)), [f"{a}x{b}" for a, b in shapes], rotation=20)
    ax.set_ylabel("% of DRAM roofline (own bytes)")
    ax.set_title("(b) batch 1: LUT/dequant at 2 bits")

    ax = axes[2]
    tmax = int(bench.threads.max())
    d1 = sel.set_index(["kernel", "w_bits"]).median_s
    d2 = bench[(bench.m == m) & (bench.k == k) & (bench.batch == 1) & (bench.threads == tmax)]
    d2 = d2.set_index(["kernel", "w_bits"]).median_s
    both = [i for i in d1.index if i in d2.index and (i[1] in (2, 32, 8))]
    if tmax != t1 and both:
        ratios = [d1[i] / d2[i] for i in both]
        ax.barh(range(len(both)), ratios, color=[col[i[0]] for i in both])
        ax.set_yticks(range(len(both)), [f"{i[0]} w{i[1]}" for i in both], fontsize=5)
        ax.axvline(1, color="k", lw=0.8)
        ax.set_xlabel(f"speedup {tmax} vs {t1} thread(s)")
    ax.set_title(f"(c) {tmax} threads")
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig


def amortisation_fit(d: pd.DataFrame) -> tuple[float, float]:
    """Least-squares ``t(B) = t0 + B t1`` through measured medians: t0 ~ per-call (table build + weight
    stream), t1 ~ per-token work (lookups). Returns (t0_s, t1_s)."""
    a = np.vstack([np.ones(len(d)), d.batch.to_numpy(float)]).T
    t0, t1 = np.linalg.lstsq(a, d.median_s.to_numpy(float), rcond=None)[0]
    return float(t0), float(t1)


def crossover_batch(bench: pd.DataFrame, w_bits: int, a: str = "weight_lut", b: str = "act_lut_g8"):
    """Smallest measured batch where kernel ``a``'s per-token time <= kernel ``b``'s, or None."""
    sa = bench[(bench.kernel == a) & (bench.w_bits == w_bits)].set_index("batch").per_token_s
    sb = bench[(bench.kernel == b) & (bench.w_bits == w_bits)].set_index("batch").per_token_s
    for batch in sorted(set(sa.index) & set(sb.index)):
        if sa[batch] <= sb[batch]:
            return int(batch)
    return None


def batch_sweep(bench: pd.DataFrame) -> pd.DataFrame:
    """Rows of the batch sweep: the (shape, threads) with the most distinct batch sizes."""
    counts = bench.groupby(["m", "k", "threads"]).batch.nunique()
    m, k, t = counts.idxmax()
    return bench[(bench.m == m) & (bench.k == k) & (bench.threads == t)]


def plot_batching(bench: pd.DataFrame):
    """fig05: per-token time vs batch (a) and the weight-LUT's amortisation of its per-call cost (b)."""
    apply_style()
    col = _colors()
    d = batch_sweep(bench)
    m, k, t = int(d.m.iloc[0]), int(d.k.iloc[0]), int(d.threads.iloc[0])
    wbl = sorted(d[d.kernel == "weight_lut"].w_bits.unique()) or sorted(d[d.kernel.isin(PACKED)].w_bits.unique())
    fig, axes = plt.subplots(1, 2, figsize=(DOUBLE_COLUMN_IN, 2.6))
    ax = axes[0]
    styles = ["-", "--", ":"]
    for kn in ["weight_lut", "act_lut_g8", "act_lut_g4", "dequant", "numpy_fp32"]:
        for wi, wb in enumerate(wbl):
            dd = d[(d.kernel == kn) & ((d.w_bits == wb) | (kn == "numpy_fp32"))].sort_values("batch")
            if not len(dd) or (kn == "numpy_fp32" and wi > 0):
                continue
            lab = KERNEL_LABELS[kn] + ("" if kn == "numpy_fp32" else f", w{wb}")
            ax.plot(dd.batch, dd.per_token_s * 1e3, marker="o", ms=3, lw=1, ls=styles[wi % 3], color=col[kn], label=lab)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch (tokens per GEMV)")
    ax.set_ylabel("time per token (ms)")
    notes = []
    for wb in wbl:
        c = crossover_batch(d, wb)
        notes.append(f"w{wb}: weight-LUT <= act-LUT g8 " + (f"from batch {c}" if c else "at no measured batch"))
    ax.set_title(f"(a) {m}x{k}, {t} thread\n" + "; ".join(notes), fontsize=6)
    ax.legend(fontsize=5)
    ax = axes[1]
    for wi, wb in enumerate(wbl):
        dd = d[(d.kernel == "weight_lut") & (d.w_bits == wb)].sort_values("batch")
        if len(dd) < 2:
            continue
        t0, t1 = amortisation_fit(dd)
        bb = dd.batch.to_numpy(float)
        ax.plot(bb, dd.per_token_s * 1e3, "o", ms=3, color=col["weight_lut"], label=f"measured, w{wb}" if wi == 0 else None,
                mfc="none" if wi else None)
        ax.plot(bb, (t0 / bb + t1) * 1e3, ls=styles[wi % 3], lw=1, color="k",
                label=f"fit w{wb}: {t0 * 1e3:.1f} ms/call + {t1 * 1e3:.2f} ms/token")
        ratio = float(dd.per_token_s.iloc[-1] / dd.per_token_s.iloc[0])
        ax.annotate(f"w{wb}: per-token(B={int(bb[-1])}) / per-token(B=1) = {ratio:.2f}", (0.02, 0.04 + 0.08 * wi),
                    xycoords="axes fraction", fontsize=6)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch")
    ax.set_ylabel("weight-LUT time per token (ms)")
    ax.set_title("(b) table construction amortised over the batch")
    ax.legend(fontsize=5)
    fig.tight_layout()
    return fig
