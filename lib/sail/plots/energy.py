"""fig16_energy: energy per token by component, tokens per joule vs batch, and time to first token.

Numbers come only from the sim stage's ``energy.csv`` and ``request.csv``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sail.plots.style import DOUBLE_COLUMN_IN, apply_style

# The systems drawn, by hardware description (energy.csv has one row set per description; the other
# CPU baselines share graviton2's energies and differ only in speed).
SYSTEM_ORDER = ["sail", "graviton2", "v100"]
SYSTEM_LABEL = {"sail": "SAIL", "graviton2": "N1 CPU", "v100": "V100"}
# Energy components grouped to <= 7 hues (energy.csv keeps every component).
GROUPS = {
    "DRAM / HBM": ["dram_j"],
    "C-SRAM reads, build, PRT, conversion": ["csram_read_j", "table_build_j", "prt_j", "convert_j", "csram_leakage_j"],
    "accumulate": ["accumulate_j"],
    "NoC": ["noc_j"],
    "cores (active + idle)": ["core_active_j", "core_idle_j"],
    "uncore (mesh, SLC, MC)": ["uncore_j"],
    "GPU (compute + static)": ["gpu_compute_j", "gpu_static_j"],
}


def default_selection(energy: pd.DataFrame) -> dict:
    """The representative configuration drawn: Llama-2-7B at 4 bits if present, the smallest context."""
    model = "llama2-7b" if "llama2-7b" in set(energy.model) else min(energy.model.unique())
    ws = sorted(energy[energy.model == model].w_bits.unique())
    return {"model": model, "w_bits": 4 if 4 in ws else int(ws[0]), "context": int(energy.context.min())}


def plot_energy(energy: pd.DataFrame, request: pd.DataFrame | None = None, model: str | None = None,
                w_bits: int | None = None, context: int | None = None):
    apply_style()
    sel = default_selection(energy)
    model = model or sel["model"]
    w_bits = w_bits or sel["w_bits"]
    context = sel["context"] if context is None else context
    d = energy[(energy.model == model) & (energy.w_bits == w_bits) & (energy.context == context)]
    d = d[d.hw.isin(SYSTEM_ORDER)].assign(system=lambda x: x.hw)
    if d.empty:
        raise ValueError(f"energy table has no rows for model={model}, w_bits={w_bits}, context={context}")
    npanel = 3 if request is not None and len(request) else 2
    fig, axes = plt.subplots(1, npanel, figsize=(DOUBLE_COLUMN_IN, 2.7),
                             gridspec_kw={"width_ratios": [1.5, 1, 1][:npanel]})
    systems = [s for s in SYSTEM_ORDER if s in set(d.system)] + sorted(set(d.system) - set(SYSTEM_ORDER))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]

    # (a) energy per token by component, bars per system x a few batches
    ax = axes[0]
    batches = sorted(d.batch.unique())
    shown = [b for b in batches if b in (1, 8, 64)] or batches[:3]
    positions, x = [], 0.0
    for s in systems:
        for b in shown:
            positions.append((s, b, x))
            x += 1
        x += 0.6
    handles = []
    for gi, (gname, cols) in enumerate(GROUPS.items()):
        bottoms, heights, xs = [], [], []
        for s, b, xpos in positions:
            row = d[(d.system == s) & (d.batch == b)]
            if row.empty:
                continue
            r = row.iloc[0]
            below = sum(r[c] for g in list(GROUPS.values())[:gi] for c in g) / r.batch
            h = sum(r[c] for c in cols) / r.batch
            bottoms.append(below * 1e3), heights.append(h * 1e3), xs.append(xpos)
        if any(h > 0 for h in heights):
            handles.append(ax.bar(xs, heights, bottom=bottoms, width=0.8, color=colours[gi % len(colours)],
                                  label=gname))
    ax.set_xticks([p[2] for p in positions], [str(p[1]) for p in positions], fontsize=6)
    for s in systems:
        xs = [p[2] for p in positions if p[0] == s]
        ax.annotate(SYSTEM_LABEL.get(s, s), (np.mean(xs), 0), xycoords=("data", "axes fraction"),
                    xytext=(0, -17), textcoords="offset points", ha="center", va="top", fontsize=7)
    ax.set_xlabel("batch", labelpad=12)
    ax.set_ylabel("energy per token (mJ)")
    ax.set_title(f"(a) {model}, w{w_bits}a{int(d.a_bits.iloc[0])}, context {context}", fontsize=8)

    # (b) tokens per joule vs batch
    ax = axes[1]
    for i, s in enumerate(systems):
        g = d[d.system == s].sort_values("batch")
        ax.plot(g.batch, g.tokens_per_j, marker="o", ms=3, lw=1.2, color=colours[i], label=SYSTEM_LABEL.get(s, s))
    ax.set(xscale="log", yscale="log", xlabel="batch", ylabel="tokens per joule")
    ax.set_xticks(batches, [str(b) for b in batches], fontsize=6)
    ax.set_title("(b) decode tokens per joule", fontsize=8)
    ax.legend(fontsize=6)

    if npanel == 3:
        ax = axes[2]
        q = request[(request.model == model) & (request.w_bits == w_bits) & request.hw.isin(SYSTEM_ORDER)]
        q = q.assign(system=q.hw)
        mix = q[["prompt_tokens", "generated_tokens"]].drop_duplicates().sort_values("prompt_tokens").iloc[0]
        q = q[(q.prompt_tokens == mix.prompt_tokens) & (q.generated_tokens == mix.generated_tokens)]
        for i, s in enumerate(systems):
            g = q[q.system == s].sort_values("batch")
            ax.plot(g.batch, g.ttft_s, marker="o", ms=3, lw=1.2, color=colours[i], label=SYSTEM_LABEL.get(s, s))
        if "n_devices" in q.columns:  # a request one V100 cannot hold runs on a tensor-parallel set
            multi = q[q.n_devices > 1]
            if len(multi):
                ax.plot(multi.batch, multi.ttft_s, ls="none", marker="s", ms=6, mfc="none", mec="0.2",
                        label="on 4-8 V100 boards")
        qb = sorted(q.batch.unique())
        ax.set(xscale="log", yscale="log", xlabel="batch (sequences)", ylabel="time to first token (s)")
        ax.set_xticks(qb, [str(b) for b in qb], fontsize=6)
        ax.set_title(f"(c) TTFT, prompt {int(mix.prompt_tokens)} tokens", fontsize=8)
        ax.legend(fontsize=5.5, loc="lower right")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=6, frameon=False, bbox_to_anchor=(0.5, 0.0))
    return fig


def summary(energy: pd.DataFrame, model: str, w_bits: int, context: int) -> pd.DataFrame:
    """The numbers behind panel (b): energy per token and tokens per joule per system and batch."""
    d = energy[(energy.model == model) & (energy.w_bits == w_bits) & (energy.context == context)]
    return d[["hw", "batch", "tokens_per_s", "energy_per_token_j", "tokens_per_j", "average_power_w"]].assign(
        energy_per_token_mj=lambda x: np.round(1e3 * x.energy_per_token_j, 3)).sort_values(["hw", "batch"])
