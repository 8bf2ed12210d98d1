"""Cycle saving of the Pattern Reuse Table under the default cost model (fig03's right panel, claim prt_cycles)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sail.contracts import LAYER_TYPES, PRT_COLUMNS, PRT_DEFAULT
from sail.sim.api import check_prt_table
from sail.sim.engine import sail_layer_cycles
from sail.sim.hw import HwConfig
from sail.sim.models import get_model

KEYS = ["n_bw", "a_bits", "batch", "encoding", "policy", "prt_entries", "zero_skip"]


def prt_saving(hw: HwConfig, prt: pd.DataFrame, model: str = "smollm2-135m", w_bits: int = 4) -> pd.DataFrame:
    """Per PRT-table row: C-SRAM computation cycles of that layer type without and with the PRT.

    Layer shapes are ``model``'s (the profile's activations come from it), summed over its blocks;
    ``layer_type == "all"`` rows aggregate the seven types per PRT point. ``cycle_saving_fraction`` is
    ``1 - with / without``.
    """
    check_prt_table(prt)
    spec = get_model(model)
    shapes = {t: (m, k, c) for t, m, k, c in spec.gemv_layers()}
    bad = sorted(set(prt.layer_type) - set(LAYER_TYPES))
    if bad:
        raise ValueError(f"PRT table has unknown layer types {bad}; expected {LAYER_TYPES}")
    df = prt[PRT_COLUMNS].copy().sort_values(["layer_type"] + KEYS).reset_index(drop=True)
    m = np.array([shapes[t][0] for t in df.layer_type], float)
    k = np.array([shapes[t][1] for t in df.layer_type], float)
    count = np.array([shapes[t][2] for t in df.layer_type], float)
    params = {"csram.n_bw": df.n_bw.to_numpy(float)}
    zf = (df.zero_skips / df.lookups).to_numpy(float)
    hf = (df.prt_hits / df.lookups).to_numpy(float)
    args = (hw, m, k, w_bits, df.a_bits.to_numpy(float), df.batch.to_numpy(float))
    without = sail_layer_cycles(*args, 0.0, 0.0, params=params)["cycles"] * count
    with_ = sail_layer_cycles(*args, zf, hf, params=params)["cycles"] * count
    out = df[["layer_type"] + KEYS + ["avoided_fraction"]].copy()
    out["w_bits"] = w_bits
    out["model"] = model
    out["cycles_without_prt"] = without
    out["cycles_with_prt"] = with_
    agg = out.groupby(KEYS, sort=True)[["cycles_without_prt", "cycles_with_prt"]].sum().reset_index()
    agg_av = df.groupby(KEYS, sort=True)[["lookups", "zero_skips", "prt_hits"]].sum().reset_index()
    agg["avoided_fraction"] = ((agg_av.zero_skips + agg_av.prt_hits) / agg_av.lookups).to_numpy()
    agg["layer_type"], agg["w_bits"], agg["model"] = "all", w_bits, model
    out = pd.concat([out, agg[out.columns]], ignore_index=True)
    out["cycle_saving_fraction"] = 1.0 - out.cycles_with_prt / out.cycles_without_prt
    return out


def default_point(saving: pd.DataFrame, prt_entries: int = PRT_DEFAULT["prt_entries"]) -> pd.DataFrame:
    """The ``layer_type == "all"`` rows at the paper's default PRT point, one per (n_bw, a_bits, batch)."""
    s = saving
    zs = s.zero_skip.astype(str).str.lower() == str(PRT_DEFAULT["zero_skip"]).lower()
    return s[
        (s.layer_type == "all")
        & (s.encoding == PRT_DEFAULT["encoding"])
        & (s.policy == PRT_DEFAULT["policy"])
        & (s.prt_entries == prt_entries)
        & zs
    ].sort_values(["n_bw", "a_bits", "batch"])
