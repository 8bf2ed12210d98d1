"""Cycle saving of the Pattern Reuse Table under the default cost model (fig03's right panel, claim prt_cycles)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sail.contracts import LAYER_TYPES, PRT_COLUMNS, PRT_DEFAULT
from sail.sim.api import check_prt_table
from sail.sim.engine import sail_layer_cycles
from sail.sim.hw import HwConfig
from sail.sim.mapping import prt_stream_tokens, resources_from_params
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
    zf, hf = _stream_fractions(hw, prt, df, params, w_bits)
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


def _stream_fractions(hw: HwConfig, prt: pd.DataFrame, df: pd.DataFrame, params: dict, w_bits: int):
    """(zero, hit) fractions each row's GEMV sees: a batch larger than the accumulators' ``tokens_per_pass``
    runs in token passes, so the PRT streams ``tokens_per_pass`` tokens per block visit and hits as the
    profiled batch of that size (the largest profiled batch not above it)."""
    res = resources_from_params(hw.values() | params, {k: v.value for k, v in hw.options.items()})
    tokens = prt_stream_tokens(res, w_bits, df.batch.to_numpy(float))
    rate = prt.assign(zf=prt.zero_skips / prt.lookups, hf=prt.prt_hits / prt.lookups)
    keys = ["layer_type", "n_bw", "a_bits", "encoding", "policy", "prt_entries", "zero_skip"]
    rate = rate.assign(zero_skip=rate.zero_skip.astype(str).str.lower()).set_index(keys + ["batch"])[["zf", "hf"]]
    zf, hf = np.empty(len(df)), np.empty(len(df))
    profiled = np.array(sorted(prt.batch.unique()), float)
    for i, (row, t) in enumerate(zip(df.itertuples(index=False), tokens)):
        b = profiled[profiled <= t].max() if np.any(profiled <= t) else profiled.min()
        key = (row.layer_type, row.n_bw, row.a_bits, row.encoding, row.policy, row.prt_entries,
               str(row.zero_skip).lower(), int(b))
        zf[i], hf[i] = rate.loc[key]
    return zf, hf


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
