"""Figures of the kernels stage: fig01 (motivation), fig02 (LUT example), fig04 (kernels), fig05 (batching).

Every number drawn here comes from a CSV/JSON the pipeline wrote; nothing is computed that the
pipeline needs, only derived for display (ratios, a least-squares line through measured points).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from sail.plots.style import DOUBLE_COLUMN_IN, apply_style

KERNEL_LABELS = {
    "weight_lut": "weight-LUT (SAIL, int A8, fastest n_bw)",
    "act_lut_g4": "activation-LUT g=4 (T-MAC style)",
    "act_lut_g8": "activation-LUT g=8",
    "act_lut_simd": "activation-LUT g=4, int8 register tables (SIMD)",
    "act_lut_simd_portable": "same, portable numba path",
    "dequant": "dequant + FMA (llama.cpp-like)",
    "numpy_fp32": "numpy fp32 (OpenBLAS)",
    "torch_fp32": "torch fp32",
    "torch_int8_dynamic": "torch int8 dynamic",
}
PACKED = ["weight_lut", "act_lut_g4", "act_lut_g8", "act_lut_simd", "act_lut_simd_portable", "dequant"]
BASE = ["numpy_fp32", "torch_fp32", "torch_int8_dynamic"]


_INT_TICKS = FuncFormatter(lambda v, _pos: f"{v:g}")  # batch 1, 2, 4 ... not 1.0, 2.0


def _colors():
    pal = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return {k: pal[i % len(pal)] for i, k in enumerate(PACKED + BASE)}


def _scatter_markers():
    """Markers that tell apart the kernels whose hue repeats (9 kernels, 8 hues): circles, then triangles."""
    n = len(plt.rcParams["axes.prop_cycle"].by_key()["color"])
    return {k: "o" if i < n else "^" for i, k in enumerate(PACKED + BASE)}


def _headline_shape(bench: pd.DataFrame) -> tuple[int, int]:
    b1 = bench[(bench.batch == 1)]
    n = b1.groupby(["m", "k"]).w_bits.nunique()
    if (4096, 4096) in n.index and n[(4096, 4096)] == n.max():
        return (4096, 4096)
    return tuple(int(v) for v in n.idxmax())


def fastest_weight_lut(bench: pd.DataFrame) -> pd.DataFrame:
    """``bench`` with the weight-LUT reduced to its fastest ``n_bw`` per (shape, bits, batch, threads)."""
    wl = bench[bench.kernel == "weight_lut"]
    if wl.empty:
        return bench
    keys = ["m", "k", "w_bits", "batch", "threads"]
    best = wl.loc[wl.groupby(keys).median_s.idxmin()]
    return pd.concat([bench[bench.kernel != "weight_lut"], best]).sort_index()


PEER_PREFIX = "llamacpp_"
PEER_MARKERS = ["s", "D", "^", "v", "P", "X", "*", "h"]
# panel (a)/(b) show these of ours (<= 8 hues with the baselines; llama.cpp in black/grey markers)
FIG04_OURS = ["act_lut_simd", "act_lut_g8", "dequant", "weight_lut"]
FIG04_BASE = ["numpy_fp32", "torch_int8_dynamic"]


def peer_label(kernel: str) -> str:
    """``llamacpp_q4_0_plain`` -> ``llama.cpp q4_0 (plain)``."""
    t = kernel[len(PEER_PREFIX):]
    return "llama.cpp " + (t[:-6] + " (plain)" if t.endswith("_plain") else t)


def _bpw(d: pd.DataFrame) -> pd.Series:
    """Bits per weight incl. scales; older tables without the column: packed bytes over M x K."""
    if "bits_per_weight" in d:
        return d.bits_per_weight
    return d.weight_bytes * 8.0 / (d.m * d.k)


def plot_kernels(bench: pd.DataFrame, machine: pd.DataFrame):
    """fig04: (a) latency vs bits per weight (scales included) at the headline shape, batch 1, 1 thread:
    our kernels against llama.cpp's own GEMVs (the peer) and the DRAM roofline; (b) fraction of the
    measured DRAM roofline per shape at about 2 bits/weight; (c) 2- vs 1-thread speedup per kernel.
    The weight-LUT is shown at its fastest measured ``n_bw``."""
    apply_style()
    bench = fastest_weight_lut(bench)
    bench = bench.assign(bpw=_bpw(bench))
    col = _colors()
    m, k = _headline_shape(bench)
    t1 = int(bench.threads.min())
    sel = bench[(bench.m == m) & (bench.k == k) & (bench.batch == 1) & (bench.threads == t1)]
    peers = sorted(kn for kn in set(bench.kernel) if kn.startswith(PEER_PREFIX))
    pmark = {kn: PEER_MARKERS[i % len(PEER_MARKERS)] for i, kn in enumerate(peers)}
    fig, axes = plt.subplots(1, 3, figsize=(DOUBLE_COLUMN_IN, 3.0), gridspec_kw={"width_ratios": [1.3, 1.1, 0.9]})
    ax = axes[0]
    for kn in FIG04_OURS:
        d = sel[sel.kernel == kn].sort_values("bpw")
        if len(d):
            ax.errorbar(d.bpw, d.median_s * 1e3, yerr=[(d.median_s - d.q25_s) * 1e3, (d.q75_s - d.median_s) * 1e3],
                        marker="o", ms=3, lw=1, color=col[kn], label=KERNEL_LABELS[kn], capsize=2)
    for kn, ls in zip(FIG04_BASE, ["--", "-."]):
        d = sel[sel.kernel == kn]
        if len(d):
            ax.axhline(float(d.median_s.iloc[0]) * 1e3, ls=ls, lw=1, color=col[kn], label=KERNEL_LABELS[kn])
    for kn in peers:
        d = sel[sel.kernel == kn]
        if len(d):
            ax.errorbar(d.bpw, d.median_s * 1e3, yerr=[(d.median_s - d.q25_s) * 1e3, (d.q75_s - d.median_s) * 1e3],
                        marker=pmark[kn], ms=4, ls="none", color="k", mfc="white" if kn.endswith("_plain") else "k",
                        capsize=1.5, lw=0.8, label=peer_label(kn))
    d = sel[sel.kernel.isin(["act_lut_g8", "dequant", "act_lut_g4"])].drop_duplicates("w_bits").sort_values("bpw")
    if len(d):
        ax.plot(d.bpw, d.weight_bytes / (d.dram_read_gbps * 1e9) * 1e3, color="0.45", lw=1.2,
                label="DRAM roofline (own bytes / measured BW)")
    ax.set_yscale("log")
    ax.set_xlabel("bits per weight (scales included)")
    ax.set_ylabel("latency per GEMV (ms)")
    ax.set_title(f"(a) {m}x{k}, batch 1, {t1} thread")
    fig.legend(*ax.get_legend_handles_labels(), fontsize=5, loc="lower center", ncol=4, frameon=False,
               bbox_to_anchor=(0.5, -0.01))

    ax = axes[1]
    # about 2 bits per weight: ours at w_bits 2, llama.cpp's 2-bit types; the fp32 baseline for scale
    b1 = bench[(bench.batch == 1) & (bench.threads == t1)]
    b1 = b1[((b1.w_bits == 2) & b1.kernel.isin(FIG04_OURS + peers)) | (b1.kernel == "numpy_fp32")]
    shapes = sorted(b1.groupby(["m", "k"]).size().index.tolist())
    kns = [kn for kn in FIG04_OURS + peers + ["numpy_fp32"] if kn in set(b1.kernel)]
    width = 0.8 / max(len(kns), 1)
    grey = {kn: str(0.15 + 0.6 * i / max(len(peers) - 1, 1)) for i, kn in enumerate(p for p in peers if p in kns)}
    for i, kn in enumerate(kns):
        vals = []
        for s in shapes:
            d = b1[(b1.kernel == kn) & (b1.m == s[0]) & (b1.k == s[1])]
            vals.append(float(d.roofline_fraction.iloc[0]) * 100 if len(d) else np.nan)
        lab = peer_label(kn) if kn in grey else KERNEL_LABELS[kn]
        if kn in grey:
            lab += f" ({float(b1[b1.kernel == kn].bpw.iloc[0]):.3g} b/w)"
        ax.bar(np.arange(len(shapes)) + (i - len(kns) / 2 + 0.5) * width, vals, width,
               color=grey.get(kn, col.get(kn)), hatch="///" if kn in grey else None, edgecolor="white", lw=0.3,
               label=lab)
    ax.set_xticks(np.arange(len(shapes)), [f"{a}x{b}" for a, b in shapes], rotation=20)
    ax.set_ylabel("% of DRAM roofline (own bytes)")
    ax.set_title("(b) batch 1, about 2 bits/weight", fontsize=8)
    ax.legend(fontsize=4.5, loc="upper left", frameon=True, framealpha=0.85, ncol=1)
    ax.set_ylim(0, max(100.0, np.nanmax(b1.roofline_fraction.to_numpy(float) * 100, initial=0)) * 2.3)

    ax = axes[2]
    tmax = int(bench.threads.max())
    d1 = sel.set_index(["kernel", "w_bits"]).median_s
    d2 = bench[(bench.m == m) & (bench.k == k) & (bench.batch == 1) & (bench.threads == tmax)]
    d2 = d2.set_index(["kernel", "w_bits"]).median_s
    want = ["act_lut_simd", "dequant", "numpy_fp32"] + peers
    both = [i for i in d1.index if i in d2.index and i[0] in want and (i[0] in peers or i[1] in (2, 4, 8, 32))]
    both.sort(key=lambda i: (i[0].startswith(PEER_PREFIX), -i[1], i[0]))
    if tmax != t1 and both:
        ratios = [d1[i] / d2[i] for i in both]
        ax.barh(range(len(both)), ratios, color=["k" if i[0] in peers else col[i[0]] for i in both])
        short = {"act_lut_simd": "ours SIMD", "dequant": "dequant", "numpy_fp32": "numpy fp32"}
        ax.set_yticks(range(len(both)), [peer_label(i[0]) if i[0] in peers
                                         else short[i[0]] + ("" if i[1] == 32 else f" w{i[1]}") for i in both],
                      fontsize=5)
        ax.invert_yaxis()
        ax.axvline(1, color="k", lw=0.8)
        ax.set_xlabel(f"speedup {tmax} vs {t1} thread(s)")
    ax.set_title(f"(c) {m}x{k}, {tmax} threads")
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    return fig


def amortisation_fit(d: pd.DataFrame) -> tuple[float, float]:
    """Least-squares ``t(B) = t0 + B t1`` through measured medians: t0 ~ per-call (table build + weight
    stream), t1 ~ per-token work (lookups). Returns (t0_s, t1_s)."""
    a = np.vstack([np.ones(len(d)), d.batch.to_numpy(float)]).T
    t0, t1 = np.linalg.lstsq(a, d.median_s.to_numpy(float), rcond=None)[0]
    return float(t0), float(t1)


def crossover_batch(bench: pd.DataFrame, w_bits: int, a: str = "weight_lut", b: str = "act_lut_g8",
                    n_bw: int | None = None):
    """Smallest measured batch where kernel ``a``'s per-token time <= kernel ``b``'s, or None
    (``n_bw`` selects kernel ``a``'s rows when it was measured at several)."""
    da = bench[(bench.kernel == a) & (bench.w_bits == w_bits)]
    if n_bw is not None:
        da = da[da.n_bw == n_bw]
    sa = da.set_index("batch").per_token_s
    sb = bench[(bench.kernel == b) & (bench.w_bits == w_bits)].set_index("batch").per_token_s
    if not (sa.index.is_unique and sb.index.is_unique):
        raise ValueError(f"several rows per batch for {a!r}/{b!r} at w_bits={w_bits}: pass n_bw")
    for batch in sorted(set(sa.index) & set(sb.index)):
        if sa[batch] <= sb[batch]:
            return int(batch)
    return None


def op_count_ratio(n_bw: int, a_bits: int, batch: int) -> float:
    """Per-token weight-LUT work at ``batch`` over that at batch 1, in table operations
    (:func:`sail.sim.opcount.lut_gemv`: build adds amortised over the batch, lookups per token)."""
    from sail.sim import opcount

    one = opcount.lut_gemv(1, n_bw, n_bw, a_bits, 1)
    many = opcount.lut_gemv(1, n_bw, n_bw, a_bits, batch)
    return (many.table_build_adds + many.lookups) / batch / (one.table_build_adds + one.lookups)


def batch_sweep(bench: pd.DataFrame) -> pd.DataFrame:
    """Rows of the batch sweep: the (shape, threads) with the most distinct batch sizes."""
    counts = bench.groupby(["m", "k", "threads"]).batch.nunique()
    m, k, t = counts.idxmax()
    return bench[(bench.m == m) & (bench.k == k) & (bench.threads == t)]


def plot_batching(bench: pd.DataFrame):
    """fig05: per-token time vs batch (a) and the weight-LUT's amortisation of its table building per
    ``n_bw`` (b), with the op-count expectation of the per-token ratio."""
    apply_style()
    col = _colors()
    d = batch_sweep(bench)
    m, k, t = int(d.m.iloc[0]), int(d.k.iloc[0]), int(d.threads.iloc[0])
    wl = d[d.kernel == "weight_lut"]
    wbl = sorted(wl.w_bits.unique()) or sorted(d[d.kernel.isin(PACKED)].w_bits.unique())
    nbwl = sorted(wl.n_bw.unique())
    fig, axes = plt.subplots(1, 2, figsize=(DOUBLE_COLUMN_IN, 3.9))
    ax = axes[0]
    styles = ["-", "--", ":", "-."]
    markers = ["o", "s", "^", "D"]
    for kn in ["weight_lut", "act_lut_simd", "act_lut_g8", "dequant", "numpy_fp32"]:
        for wi, wb in enumerate(wbl):
            for ni, nb in enumerate(nbwl if kn == "weight_lut" else [None]):
                dd = d[(d.kernel == kn) & ((d.w_bits == wb) | (kn == "numpy_fp32"))]
                if nb is not None:
                    dd = dd[dd.n_bw == nb]
                dd = dd.sort_values("batch")
                if not len(dd) or (kn == "numpy_fp32" and wi > 0):
                    continue
                lab = KERNEL_LABELS[kn].replace(", fastest n_bw", f", n_bw={nb}") if nb else KERNEL_LABELS[kn]
                lab += "" if kn == "numpy_fp32" else f", w{wb}"
                ax.plot(dd.batch, dd.per_token_s * 1e3, marker=markers[ni % 4] if nb else "o", ms=3, lw=1,
                        ls=styles[wi % 4], color=col[kn], label=lab)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(_INT_TICKS)
    ax.set_xlabel("batch (tokens per GEMV)")
    ax.set_ylabel("time per token (ms)")
    notes = []
    for wb in wbl:
        for ref in ("act_lut_simd", "act_lut_g8"):
            if not (d.kernel == ref).any():
                continue
            cs = {nb: crossover_batch(d, wb, b=ref, n_bw=nb) for nb in nbwl}
            hit = {nb: c for nb, c in cs.items() if c}
            notes.append(f"w{wb} weight-LUT <= {ref}: " + (", ".join(f"n_bw {nb} from B={c}" for nb, c in hit.items())
                                                        if hit else "at no measured batch"))
    ax.set_title(f"(a) {m}x{k}, {t} thread\n" + "\n".join(notes), fontsize=6)
    ax.legend(fontsize=5.5, ncol=1, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    ax = axes[1]
    a_bits = int(wl.a_bits.iloc[0]) if len(wl) else 8
    for wi, wb in enumerate(wbl):
        for ni, nb in enumerate(nbwl):
            dd = wl[(wl.w_bits == wb) & (wl.n_bw == nb)].sort_values("batch")
            if len(dd) < 2 or int(dd.batch.iloc[0]) != 1:
                continue
            bb = dd.batch.to_numpy(float)
            rel = dd.per_token_s.to_numpy(float) / float(dd.per_token_s.iloc[0])
            c = f"C{ni}"
            ax.plot(bb, rel, marker=markers[ni % 4], ms=3, lw=1, ls=styles[wi % 4], color=c,
                    label=f"measured n_bw={nb}, w{wb}: {rel[-1]:.3f} at B={int(bb[-1])}")
            if wi == 0:
                ax.plot(bb, [op_count_ratio(int(nb), a_bits, int(b)) for b in bb], lw=0.8, ls=":", color=c,
                        label=f"op count n_bw={nb}: {op_count_ratio(int(nb), a_bits, int(bb[-1])):.3f}")
    ax.axhline(1 / 8, color="k", lw=0.8, ls="--")
    ax.annotate("1/8", (1, 1 / 8), xytext=(2, -8), textcoords="offset points", fontsize=6)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(_INT_TICKS)
    ax.set_xlabel("batch")
    ax.set_ylabel("per-token time / batch-1 time")
    ax.set_title(f"(b) weight-LUT: table building amortised (A{a_bits})", fontsize=7)
    ax.legend(fontsize=5.5, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    fig.tight_layout()
    return fig


def plot_lut_example(ex: dict):
    """fig02: the weight-LUT dataflow on a tiny real example (tables, bit-planes, shifted lookups, sum)."""
    apply_style()
    q = np.array(ex["q"])
    x = np.array(ex["x"])
    tables = np.array(ex["tables"])
    pats = np.array(ex["patterns"])
    n_bw, a_bits = ex["n_bw"], ex["a_bits"]
    m, k = q.shape
    ng = k // n_bw
    fig = plt.figure(figsize=(DOUBLE_COLUMN_IN, 3.3))
    gs = fig.add_gridspec(1, 3, width_ratios=[1.0, 1.3, 1.9], wspace=0.35)

    ax = fig.add_subplot(gs[0])
    ax.set_title(f"(1) Q ({ex['w_bits']}-bit), x ({a_bits}-bit)")
    ax.axis("off")
    for r in range(m):
        for c in range(k):
            ax.text(c, -r, str(q[r, c]), ha="center", va="center", fontsize=8,
                    bbox=dict(boxstyle="square,pad=0.25", fc=f"C{c // n_bw}", alpha=0.25, ec="none"))
    for c in range(k):
        ax.text(c, -m - 0.6, str(x[c]), ha="center", va="center", fontsize=8, fontweight="bold")
        for i in range(a_bits):
            bit = (int(x[c]) >> i) & 1
            ax.text(c, -m - 1.6 - i * 0.8, str(bit), ha="center", va="center", fontsize=7,
                    color="k" if bit else "0.6")
    for i in range(a_bits):
        sign = "-" if i == a_bits - 1 else "+"
        ax.text(-1.2, -m - 1.6 - i * 0.8, f"plane {i} ({sign}2^{i})", ha="right", va="center", fontsize=6.5)
    ax.text(-1.2, -m - 0.6, "x", ha="right", va="center", fontsize=7)
    ax.text(-1.2, -(m - 1) / 2, "Q", ha="right", va="center", fontsize=7)
    ax.set_xlim(-4.5, k)
    ax.set_ylim(-m - 1.6 - a_bits * 0.8, 1)

    ax = fig.add_subplot(gs[1])
    ax.set_title(f"(2) tables T[r,j][p], n_bw={n_bw}")
    ax.axis("off")
    npat = 1 << n_bw
    for r in range(m):
        for j in range(ng):
            x0 = j * (1.6) + r * 0.0
            y0 = -r * (npat + 1.5)
            ax.text(x0 + 0.5, y0 + 0.9, f"r{r}, j{j}", ha="center", fontsize=6, color=f"C{j}")
            for p in range(npat):
                used = p in set(pats[j].tolist())
                ax.text(x0, y0 - p, format(p, f"0{n_bw}b")[::-1], ha="right", va="center", fontsize=6,
                        color="0.4", family="monospace")
                ax.text(x0 + 0.5, y0 - p, str(tables[r, j, p]), ha="center", va="center", fontsize=7,
                        bbox=dict(boxstyle="square", fc=f"C{j}", alpha=0.35 if used else 0.08, ec="none"))
    ax.set_xlim(-1.2, ng * 1.6)
    ax.set_ylim(-m * (npat + 1.5), 1.6)
    ax.text(-1.2, -m * (npat + 1.5) + 0.2, "pattern p: bits LSB first (channel order);\nshaded: looked up here",
            fontsize=6, color="0.35", va="top")

    ax = fig.add_subplot(gs[2])
    ax.set_title("(3) lookups, shift, accumulate")
    ax.axis("off")
    rows = [("", "lookups Tj[p]=value", "shift", "sum")]
    for r in range(m):
        for i in range(a_bits):
            cs = [c for c in ex["contributions"] if c["row"] == r and c["plane"] == i]
            looks = " + ".join(f"T{c['group']}[{c['pattern']}]={c['lookup']}" for c in cs)
            w = cs[0]["weight"]
            rows.append((f"r{r} i{i}", looks, f"x {w:+d}", sum(c["value"] for c in cs)))
        rows.append((f"y[{r}]", "", "", ex["result"][r]))
    for n, (a, b, c, d) in enumerate(rows):
        bold = a.startswith("y[")
        head = n == 0
        style = dict(fontsize=6.5, va="center", color="0.35" if head else "k")
        ax.text(0.0, -n, a, fontweight="bold" if bold else None, **style)
        ax.text(0.17, -n, b, family=None if head else "monospace", **style)
        ax.text(0.74, -n, c, **style)
        ax.text(1.0, -n, d if head else (f"{d:+d}" if not bold else f"= {d}"), ha="right",
                fontweight="bold" if bold else None, **style)
    ax.text(0.0, -len(rows) - 0.2, f"Q @ x = {ex['check']} (numpy int64): identical.\n"
            f"Kernel counters: {ex['counters']['lookups']} lookups, {ex['counters']['zero_skips']} zero skips, "
            f"{ex['counters']['prt_hits']} PRT hits.", fontsize=6.5, va="top")
    ax.set_xlim(0, 1)
    ax.set_ylim(-len(rows) - 2, 1)
    return fig


def plot_motivation(breakdown: pd.DataFrame, ceiling: pd.DataFrame, bench: pd.DataFrame, machine: pd.DataFrame,
                    generate: pd.DataFrame | None = None):
    """fig01: (a) decode-step time of the real model by component, fp32 and (from ``generate``, the
    ``sail generate`` rows) with every linear layer on our LUT kernel; (b) GEMV roofline from the kernel
    benchmark, llama.cpp's GEMVs included."""
    apply_style()
    col = _colors()
    fig, axes = plt.subplots(1, 2, figsize=(DOUBLE_COLUMN_IN, 3.1), gridspec_kw={"width_ratios": [1.1, 1.3]})
    ax = axes[0]
    b = breakdown.set_index("component").seconds_per_token * 1e3
    parts = [c for c in ["linear GEMVs (all)", "LM head GEMV", "attention, norms, rest"] if c in b.index]
    stacks = [("fp32\n(profile)", [b[c] for c in parts])]
    # `sail generate` rows of one run: the fp32 torch model, then our LUT kernel at each w_bits
    ours = pd.DataFrame() if generate is None else generate[generate.engine.str.startswith("sail")]
    for _, r in ours.sort_values("w_bits", ascending=False).iterrows():
        n = float(r.new_tokens)
        lab = "fp32\n(generate)" if r.w_bits == 32 else f"{r.weights}\nLUT"
        stacks.append((lab, [r.gemv_s / n * 1e3, r.head_s / n * 1e3, r.other_s / n * 1e3]))
    for j, (_, vals) in enumerate(stacks):
        bottom = 0.0
        for i, (c, v) in enumerate(zip(parts, vals)):
            ax.bar(j, v, bottom=bottom, color=f"C{i}", width=0.6, label=c if j == 0 else None)
            bottom += v
        ax.text(j, bottom, f"{bottom:.0f}", ha="center", va="bottom", fontsize=6)
    bw = float(machine["dram_read_gbps_1t"].iloc[0]) if "dram_read_gbps_1t" in machine else np.nan
    wbytes = breakdown.set_index("component").weight_bytes_per_token
    floor = wbytes["decode step (total)"] / (bw * 1e9) * 1e3
    ax.plot([-0.35, 0.35], [floor] * 2, color="k", ls="--", lw=1, label=f"fp32 weight bytes / DRAM BW: {floor:.1f} ms")
    peers = pd.DataFrame() if generate is None else generate[generate.engine.str.startswith("llama.cpp")]
    # the peers' rates lie close together (text beside the lines covered each other and the fp32 bar):
    # one legend entry names them all
    peers = peers.sort_values("tokens_per_s")
    peer_label = "llama.cpp decode, " + ", ".join(f"{r.weights}: {1e3 / r.tokens_per_s:.1f} ms"
                                                  for _, r in peers.iterrows())
    for i, (_, r) in enumerate(peers.iterrows()):
        ax.axhline(1e3 / r.tokens_per_s, color="0.3", ls=":", lw=1, label=peer_label if i == 0 else None)
    ax.set_xticks(range(len(stacks)), [s[0] for s in stacks], fontsize=6)
    ax.set_xlim(-0.6, len(stacks) - 0.4)
    t = int(generate.threads.iloc[0]) if generate is not None and len(generate) else 1
    ax.set_ylabel("time per decoded token (ms)")
    ax.set_title(f"(a) one decode step on this CPU ({t} thread)")
    ax.legend(fontsize=5, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, frameon=False)

    ax = axes[1]
    t1 = int(bench.threads.min())
    d = bench[bench.threads == t1].copy()
    d["ai"] = 2.0 * d.m * d.k * d.batch / d.weight_bytes  # flop per byte of weights
    peak = float(ceiling.fp32_gemm_gflops_1t.iloc[0])
    ai = np.logspace(np.log10(max(d.ai.min() / 2, 1e-2)), np.log10(d.ai.max() * 4), 100)
    ax.plot(ai, np.minimum(ai * bw, peak), color="k", lw=1.2, label=f"roofline: {bw:.1f} GB/s, {peak:.0f} GFLOP/s (fp32 GEMM)")
    mark = _scatter_markers()
    for kn in PACKED + BASE:
        dd = d[d.kernel == kn]
        if len(dd):
            ax.scatter(dd.ai, dd.gops, s=[6 + 3 * np.log2(bb) for bb in dd.batch], color=col[kn], label=KERNEL_LABELS[kn],
                       marker=mark[kn], alpha=0.8, edgecolors="none")
    dd = d[d.kernel.str.startswith(PEER_PREFIX)]
    if len(dd):
        ax.scatter(dd.ai, dd.gops, s=10, marker="s", facecolors="none", edgecolors="k", lw=0.7,
                   label="llama.cpp GEMVs (all types)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (ops per weight byte)")
    ax.set_ylabel("achieved GOP/s (2 M K batch / t)")
    ax.set_title(f"(b) GEMV roofline ({t1} thread; marker size ~ batch)")
    # below the panel: inside it covered the data points
    ax.legend(fontsize=5, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, frameon=False)
    fig.tight_layout()
    return fig
