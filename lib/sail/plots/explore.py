"""The live explorer (``notebooks/explore_sail.py.ipynb``): SAIL's speedup and tokens per USD vs batch over
a chosen CPU baseline, re-simulated at the widgets' settings.

The CPU baselines offered are the CPU descriptions of the run's ``sim/decode.csv``; their prices come
from the run's ``cost/tpd.csv`` (a baseline the cost stage did not price gets no tokens/$ curve).
Nothing here feeds the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sail.cost import sail_usd_per_hour, tokens_per_dollar
from sail.plots.style import DOUBLE_COLUMN_IN, REFERENCE_GREY, apply_style, color
from sail.sim import simulate

PAPER_SPEEDUP = 10.7  # arXiv 2509.25853 abstract: "up to 10.7x speedup" over Neoverse-N1 CPUs
KEYS = ["model", "w_bits", "a_bits", "batch", "context"]


def cpu_baselines(decode: pd.DataFrame) -> list[str]:
    """Hardware names of the CPU systems in a decode table (``system == "cpu"``), sorted."""
    if not {"system", "hw"} <= set(decode.columns):
        raise ValueError(f"decode table needs 'system' and 'hw' columns; has {list(decode.columns)}")
    names = sorted(decode.loc[decode["system"] == "cpu", "hw"].unique())
    if not names:
        raise ValueError(f"decode table has no CPU baseline; systems: {sorted(decode['system'].unique())}")
    return names


def instance_prices(tpd: pd.DataFrame) -> dict[str, tuple[str, float]]:
    """hw -> (instance, USD per hour without SAIL's overhead) from the cost stage's table."""
    out = {}
    for hw, g in tpd.groupby("hw", sort=True):
        r = g.iloc[0]
        base = r.usd_per_hour / (1.0 + r.price_overhead_fraction) if "price_overhead_fraction" in g else r.usd_per_hour
        out[hw] = (r.instance, float(base))
    return out


def interesting_start(decode: pd.DataFrame, baselines: list[str], threshold: float = PAPER_SPEEDUP) -> dict:
    """The decode configuration (model, w_bits, a_bits, context, baseline) to open the explorer at.

    First choice: one whose SAIL speedup crosses ``threshold`` (the paper's 10.7x) within the batch range,
    so moving a control moves the crossing; otherwise the one with the largest speedup. Returns the
    settings plus ``why``, a sentence saying which case applies.
    """
    sail = decode[decode["system"] == "sail"]
    best, best_score = None, None
    for b in baselines:
        base = decode[decode["hw"] == b].set_index(KEYS)["tokens_per_s"].rename("base")
        s = sail.join(base, on=KEYS, how="inner")
        s = s.assign(speedup=s.tokens_per_s / s.base)
        for key, g in s.groupby(["model", "w_bits", "a_bits", "context"], sort=True):
            g = g.sort_values("batch")
            crosses = g.speedup.min() < threshold <= g.speedup.max()
            score = (crosses, g.speedup.max() - g.speedup.min() if crosses else g.speedup.max())
            if best_score is None or score > best_score:
                best_score, best = score, (dict(zip(["model", "w_bits", "a_bits", "context"], key), baseline=b), g)
    if best is None:
        raise ValueError("no SAIL row of the decode table matches a CPU baseline row")
    start, g = best
    lo, hi = g.iloc[0], g.loc[g.speedup.idxmax()]
    if best_score[0]:
        first = g[g.speedup >= threshold].iloc[0]
        why = (f"SAIL's speedup over {start['baseline']} crosses the paper's {threshold}x at batch {int(first.batch)} "
               f"({g.speedup.min():.3g}x at batch {int(lo.batch)}, {hi.speedup:.3g}x at batch {int(hi.batch)})")
    else:
        why = (f"the largest speedup in decode.csv: {hi.speedup:.3g}x over {start['baseline']} at batch "
               f"{int(hi.batch)} ({lo.speedup:.3g}x at batch {int(lo.batch)}); the paper's {threshold}x is not reached")
    start = {k: (int(v) if isinstance(v, (np.integer,)) else v) for k, v in start.items()}
    return {**start, "why": why}


@dataclass
class Explorer:
    """Simulates SAIL and one CPU baseline over ``batches`` at given settings (see :meth:`curves`)."""

    sail_hw: object
    baselines: dict  # name -> HwConfig
    prices: dict  # hw -> (instance, usd_per_hour)
    prt: pd.DataFrame | None
    group_size: int
    arrays_key: str = "csram.arrays_per_slice"

    def curves(self, model, w_bits, a_bits, context, baseline, arrays_per_slice, overhead_fraction,
               price_multiplier, batches) -> tuple[pd.DataFrame, str]:
        """One row per batch: tokens/s of both, speedup, tokens per USD of both (NaN if unpriced); plus a note."""
        if baseline not in self.baselines:
            raise ValueError(f"unknown baseline {baseline!r}; choose one of {sorted(self.baselines)}")
        note = ""
        prt = self.prt
        rows = []
        for b in batches:
            shape = dict(model=model, w_bits=int(w_bits), a_bits=int(a_bits), batch=int(b), context=int(context))
            try:
                s = simulate(self.sail_hw, **shape, overrides={self.arrays_key: int(arrays_per_slice)},
                             group_size=self.group_size, prt=prt)
            except ValueError as err:  # no PRT profile at these bits: the PRT is off, and we say so
                if prt is None:
                    raise
                prt, note = None, f"PRT off: {err}"
                s = simulate(self.sail_hw, **shape, overrides={self.arrays_key: int(arrays_per_slice)},
                             group_size=self.group_size, prt=None)
            c = simulate(self.baselines[baseline], **shape, group_size=self.group_size)
            rows.append({"batch": int(b), "sail_tokens_per_s": s.tokens_per_s, "cpu_tokens_per_s": c.tokens_per_s})
        df = pd.DataFrame(rows)
        df["speedup"] = df.sail_tokens_per_s / df.cpu_tokens_per_s
        sail_inst = self.prices.get("sail")
        cpu_inst = self.prices.get(baseline)
        if sail_inst and cpu_inst:
            sail_price = sail_usd_per_hour(sail_inst[1], overhead_fraction, price_multiplier)
            df["sail_tokens_per_usd"] = tokens_per_dollar(df.sail_tokens_per_s.to_numpy(), sail_price)
            df["cpu_tokens_per_usd"] = tokens_per_dollar(df.cpu_tokens_per_s.to_numpy(), cpu_inst[1])
            df["tpd_ratio"] = df.sail_tokens_per_usd / df.cpu_tokens_per_usd
        else:
            df["sail_tokens_per_usd"] = df["cpu_tokens_per_usd"] = df["tpd_ratio"] = np.nan
            missing = [h for h, v in (("sail", sail_inst), (baseline, cpu_inst)) if not v]
            note = "; ".join(x for x in (note, f"no price for {', '.join(missing)} in cost/tpd.csv: no tokens/$") if x)
        return df, note


def plot_explore(df: pd.DataFrame, title: str, baseline: str):
    """Two panels: (a) speedup over the baseline vs batch with the paper's 10.7x, (b) tokens per USD vs batch."""
    apply_style()
    fig, (a, b) = plt.subplots(1, 2, figsize=(DOUBLE_COLUMN_IN, 2.6), constrained_layout=True)
    a.plot(df.batch, df.speedup, marker="o", color=color(0), label=f"SAIL / {baseline}")
    a.axhline(PAPER_SPEEDUP, color=REFERENCE_GREY, ls="--", lw=0.9)
    a.annotate(f"paper: up to {PAPER_SPEEDUP}x", (0.02, PAPER_SPEEDUP), xycoords=("axes fraction", "data"),
               xytext=(0, 2), textcoords="offset points", fontsize=7, color=REFERENCE_GREY)
    a.set(xscale="log", xlabel="batch", ylabel="speedup (x)", title=f"(a) SAIL speedup over {baseline}",
          ylim=(0, max(PAPER_SPEEDUP, df.speedup.max()) * 1.15))
    a.set_xticks(df.batch, [str(x) for x in df.batch])
    if df.sail_tokens_per_usd.notna().all():
        b.plot(df.batch, df.sail_tokens_per_usd, marker="o", color=color(0), label="SAIL")
        b.plot(df.batch, df.cpu_tokens_per_usd, marker="s", color=color(1), label=baseline)
        b.set(yscale="log", ylabel="tokens per USD")
        b.legend(loc="upper left")
    else:
        b.text(0.5, 0.5, "baseline not priced in cost/tpd.csv", ha="center", va="center", transform=b.transAxes)
    b.set(xscale="log", xlabel="batch", title="(b) tokens per USD (on-demand prices)")
    b.set_xticks(df.batch, [str(x) for x in df.batch])
    fig.suptitle(title, fontsize=8)
    return fig
