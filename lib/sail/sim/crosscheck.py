"""Cross-check of the analytical SAIL model against the event-level C-SRAM simulator (:mod:`sail.sim.csram`).

For every layer given (real SmolLM2 codes and activations, or a seeded random Llama-2-7B layer), every
batch and every (n_bw, PRT scope) point: run the event-level simulator on the data, check its integer result
against ``X @ Q.T``, and compare its cycles with the analytical model's cycles for the same GEMV. The
analytical model is fed the event run's own average PRT fractions (so the comparison isolates the model's
structure: mapping arithmetic, imbalance, spills, reduction tree, the spread of PRT hits over arrays) and,
separately, the profiling stage's fractions (what decode.csv uses), reported beside it.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from sail.sim import csram
from sail.sim.api import prt_fractions

COMPONENTS = ("build", "lookup", "accumulate", "reduce", "convert")


def _profile_fractions(prt_table, layer_type, n_bw, a_bits, tokens):
    if prt_table is None:
        return np.nan, np.nan
    sel = prt_table[(prt_table.n_bw == n_bw) & (prt_table.a_bits == a_bits)]
    if sel.empty:
        return np.nan, np.nan
    zf, hf = prt_fractions(sel, [layer_type], n_bw, a_bits, [tokens])
    return float(zf[0, 0]), float(hf[0, 0])


def crosscheck_rows(hw, layers: list[dict], batches, points, prt_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (layer, batch, n_bw, prt_scope).

    ``layers``: dicts with ``model``, ``layer_type``, ``Q`` (M, K) codes, ``X`` (>= max batch, K) activation
    codes, ``w_bits``, ``a_bits``, ``source`` (where the data come from). ``points``: ``(n_bw, scope)`` pairs.
    """
    rows = []
    for layer in layers:
        Q, X, w_bits, a_bits = layer["Q"], layer["X"], layer["w_bits"], layer["a_bits"]
        if X.shape[0] < max(batches):
            raise ValueError(f"{layer['model']} {layer['layer_type']}: {X.shape[0]} tokens < batch {max(batches)}")
        ref_all = X.astype(np.int64) @ Q.astype(np.int64).T
        for n_bw, scope in points:
            params, options = {"csram.n_bw": float(n_bw)}, {"prt_scope": scope}
            for batch in sorted(batches):
                t0 = time.perf_counter()
                ev = csram.run_gemv(hw, Q, X[:batch], w_bits, a_bits, params=params, options=options)
                seconds = time.perf_counter() - t0
                zf, hf = ev.zero_skips / ev.lookups, ev.prt_hits / ev.lookups
                an = csram.analytical_gemv_cycles(hw, *Q.shape, w_bits, a_bits, batch, zf, hf, params, options)
                tokens = ev.mapping["tokens_per_pass"]
                pz, ph = _profile_fractions(prt_table, layer["layer_type"], n_bw, a_bits, tokens)
                an_prof = (csram.analytical_gemv_cycles(hw, *Q.shape, w_bits, a_bits, batch, pz, ph, params, options)
                           if np.isfinite(ph) else {"cycles": np.nan})
                no_prt = csram.analytical_gemv_cycles(hw, *Q.shape, w_bits, a_bits, batch, 0.0, 0.0, params, options)
                row = {
                    "model": layer["model"],
                    "layer_type": layer["layer_type"],
                    "data": layer["source"],
                    "m": Q.shape[0],
                    "k": Q.shape[1],
                    "w_bits": w_bits,
                    "a_bits": a_bits,
                    "batch": batch,
                    "n_bw": n_bw,
                    "prt_scope": scope,
                    "bit_exact": bool(np.array_equal(ev.y, ref_all[:batch])),
                    "event_cycles": ev.cycles,
                    "analytical_cycles": an["cycles"],
                    "rel_diff": an["cycles"] / ev.cycles - 1.0,
                    "lookups": ev.lookups,
                    "prt_hits": ev.prt_hits,
                    "sram_reads": ev.sram_reads,
                    "prt_hit_fraction": hf,
                    "profile_hit_fraction": ph,
                    "analytical_cycles_profile_prt": an_prof["cycles"],
                    "rel_diff_profile_prt": an_prof["cycles"] / ev.cycles - 1.0,
                    "cycles_without_prt": no_prt["cycles"],
                    "prt_cycle_saving": 1.0 - ev.cycles / no_prt["cycles"],
                    "tokens_per_pass": tokens,
                    "blocks_per_array": ev.mapping["blocks_per_array"],
                    "busy_arrays": ev.mapping["busy_arrays"],
                    "contributors_max": ev.mapping["contributors_max"],
                    "rounds": ev.mapping["rounds"],
                    "token_passes": ev.mapping["token_passes"],
                    "event_seconds": seconds,
                }
                for comp in COMPONENTS:
                    row[f"event_{comp}"] = ev.components[comp]
                    row[f"analytical_{comp}"] = an[comp]
                rows.append(row)
    return pd.DataFrame(rows)


def scope_table(cc: pd.DataFrame) -> pd.DataFrame:
    """PRT hit rate and cycle saving per (model, n_bw, batch, scope), lookups summed over the layer types."""
    g = cc.groupby(["model", "n_bw", "batch", "prt_scope"], sort=True)
    out = g[["lookups", "prt_hits", "event_cycles", "cycles_without_prt"]].sum().reset_index()
    out["prt_hit_fraction"] = out.prt_hits / out.lookups
    out["prt_cycle_saving"] = 1.0 - out.event_cycles / out.cycles_without_prt
    return out


def random_llama_layer(model: str, layer_type: str, w_bits: int, a_bits: int, tokens: int, seed: int) -> dict:
    """A Llama layer of the model's shape with uniform random codes and per-token quantised Gaussian activations.

    SHORTCUT(random-llama): no Llama-2-7B weights or activations are in the artifact; the cross-check of the
    model's structure at this shape does not need real values, only the PRT hit rate would differ.
    """
    from sail.quant.act import quantize_activations
    from sail.sim.models import get_model

    shapes = {t: (m, k) for t, m, k, _ in get_model(model).gemv_layers()}
    if layer_type not in shapes:
        raise ValueError(f"{model} has no layer type {layer_type!r}; known: {sorted(shapes)}")
    m, k = shapes[layer_type]
    rng = np.random.default_rng(seed)
    Q = rng.integers(0, 1 << w_bits, size=(m, k), dtype=np.uint8)
    X, _ = quantize_activations(rng.standard_normal((tokens, k)).astype(np.float32), a_bits)
    return {"model": model, "layer_type": layer_type, "Q": Q, "X": X, "w_bits": w_bits, "a_bits": a_bits,
            "source": f"random (seed {seed})"}


def smollm2_layers(model, weights_q: dict, acts: dict, block: int, a_bits: int, w_bits: int) -> list[dict]:
    """The seven linear layers of one SmolLM2 block: codes from ``weights_q`` ({name: QuantLinear}) and the
    captured inputs ``acts`` ({name: (tokens, K) fp32}) quantised per token to ``a_bits``."""
    from sail.model import LINEAR_TYPES
    from sail.quant.act import quantize_activations

    out = []
    for t in LINEAR_TYPES:
        name = next(n for n in weights_q if n.startswith(f"blocks.{block}.") and n.endswith(f".{t}"))
        X, _ = quantize_activations(acts[name], a_bits)
        out.append({"model": model, "layer_type": t, "Q": weights_q[name].q, "X": X, "w_bits": w_bits,
                    "a_bits": a_bits, "source": f"SmolLM2 block {block}, RTN w{w_bits}, captured activations"})
    return out


__all__ = ["COMPONENTS", "crosscheck_rows", "random_llama_layer", "scope_table", "smollm2_layers"]
