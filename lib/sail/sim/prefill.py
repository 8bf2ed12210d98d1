"""The prompt phase (prefill), time to first token and the cost of a whole request, for every system.

A request is ``batch`` sequences served together, each with ``prompt_tokens`` of prompt and
``generated_tokens`` new tokens. Its phases:

prefill
    every prompt token of every sequence goes through every GEMV once: the engine's model evaluated
    with ``batch x prompt_tokens`` token columns and no KV-cache reads (a GEMM: the weights are read
    once and serve all of them; on SAIL the tables are built once and looked up by all of them).
    Added on top: causal attention over the prompt (sum over positions i of i keys, on the cores or
    the GPU, at the engine's attention FLOP rate) and the KV-cache writes. The LM head runs for the
    last prompt position of each sequence only.
time to first token (TTFT)
    the prefill plus one decode step at context ``prompt_tokens`` (which produces token 1).
decode
    ``generated_tokens`` decode steps; SHORTCUT(request-context): each is charged at the mean context
    ``prompt_tokens + generated_tokens / 2`` (attention time and KV bytes are linear in the context).

SAIL's host is the Graviton2 of the CPU baseline; its prompt phase may run on the C-SRAM arrays or
on the host cores. Both are computed (``prefill_csram_s``, ``prefill_host_s``) and the faster one is
SAIL's prefill (``prefill_engine``): the scheduler can choose, and the claim tables say which it was.

SHORTCUT(prefill-prt): PRT hit rates for ``batch x prompt_tokens`` columns take the profiled batch
nearest in log2 (the largest profiled batch); the profile does not cover prompt-sized batches.
SHORTCUT(prefill-gpu-efficiency): the V100's GEMM runs at the description's ``gpu.compute_efficiency``
(set for small-batch decode), which is pessimistic for large prompt GEMMs; ``prefill.gpu_compute_efficiency``
overrides it when the description sets it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from sail.contracts import DEFAULT_GROUP_SIZE
from sail.sim.api import SYSTEM_NAMES
from sail.sim.capacity import scaled_params
from sail.sim.energy import (
    ENERGY_KEYS,
    ENERGY_REQUIRED,
    attention_flops,
    check_energy_params,
    energy_components,
    gemv_flops,
    placed,
    prt_for,
)
from sail.sim.engine import evaluate
from sail.sim.hw import HwConfig
from sail.sim.models import ModelSpec, get_model


@dataclass(frozen=True)
class _Layers(ModelSpec):
    """A model restricted to some of its GEMV layers (the prefill's blocks without the LM head, or the head)."""

    layers: tuple = ()

    def gemv_layers(self):
        return list(self.layers)


def _split(model: ModelSpec) -> tuple[ModelSpec, ModelSpec]:
    layers = model.gemv_layers()
    blocks = [l for l in layers if l[0] != "lm_head"]
    head = [l for l in layers if l[0] == "lm_head"]
    base = {f: getattr(model, f) for f in ModelSpec.__dataclass_fields__}
    # n_layers = 0 for the head: it carries no attention or elementwise work of its own.
    return _Layers(**base, layers=tuple(blocks)), _Layers(**(base | {"n_layers": 0}), layers=tuple(head))


def _prt(hw: HwConfig, spec: ModelSpec, a_bits: int, tokens, prt_table):
    return prt_for(hw, spec, a_bits, tokens, prt_table)


def _attention_rate_flops(hw: HwConfig) -> float:
    """FLOP/s of the engine's attention: the cores' fp32 vector rate, or the GPU's fp32 rate."""
    v = hw.value
    if hw.system == "gpu":
        return v("gpu.fp32_tflops") * 1e12 * v("gpu.compute_efficiency")
    return v("cpu.cores") * v("cpu.fp32_flops_per_cycle") * v("cpu.clock_ghz") * 1e9 * v("cpu.vector_efficiency")


def _dram_bw(hw: HwConfig) -> float:
    v = hw.value
    if hw.system == "gpu":
        return v("gpu.hbm_bw_gbps") * 1e9 * v("gpu.bw_efficiency")
    return v("memory.dram_bw_gbps") * 1e9 * v("memory.dram_efficiency")


def _add(a: dict, b: dict, keys) -> dict:
    return {k: np.asarray(a[k], dtype=float) + np.asarray(b[k], dtype=float) for k in keys}


def prefill(hw: HwConfig, model: str, w_bits: int, a_bits: int, batch: int, prompt_tokens: int,
            group_size: int = DEFAULT_GROUP_SIZE, prt_table: pd.DataFrame | None = None, with_energy: bool = True,
            n_devices: int = 1) -> dict:
    """Time (s) and, if the description has an energy model, energy (J) of the prompt phase of ``batch``
    sequences of ``prompt_tokens`` tokens. Returns scalars: ``prefill_s`` and its parts, ``*_j``."""
    for name, v in (("batch", batch), ("prompt_tokens", prompt_tokens)):
        if not (isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1):
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    spec = get_model(model)
    blocks, head = _split(spec)
    tokens = batch * prompt_tokens
    hw_eff = hw
    if hw.system == "gpu" and "prefill.gpu_compute_efficiency" in hw.params:
        hw_eff = hw.with_overrides({"gpu.compute_efficiency": hw.value("prefill.gpu_compute_efficiency")})
    r_blocks = evaluate(hw_eff, blocks, w_bits, a_bits, tokens, 0, group_size=group_size,
                        prt=_prt(hw, blocks, a_bits, tokens, prt_table))
    r_head = evaluate(hw_eff, head, w_bits, a_bits, batch, 0, group_size=group_size,
                      prt=_prt(hw, head, a_bits, batch, prt_table))
    # Causal self-attention over the prompt: position i attends to i keys (sum = P (P + 1) / 2 per sequence).
    mean_context = (prompt_tokens + 1) / 2.0
    attn_flops = attention_flops(spec, tokens, mean_context)
    attn_s = attn_flops / _attention_rate_flops(hw_eff)
    kvd = spec.n_kv_heads * spec.head_dim
    kv_write_bytes = tokens * spec.n_layers * 2.0 * kvd * hw.value("memory.kv_bytes_per_element")
    kv_write_s = kv_write_bytes / _dram_bw(hw)
    out = {
        "gemm_s": float(np.ravel(r_blocks["step_s"])[0] + np.ravel(r_head["step_s"])[0]),
        "attention_s": float(np.ravel(attn_s)[0]),
        "kv_write_s": float(kv_write_s),
    }
    out["prefill_s"] = out["gemm_s"] + out["attention_s"] + out["kv_write_s"]
    if with_energy and hw.system in ENERGY_REQUIRED:
        check_energy_params(hw)
        e = {k: 0.0 for k in ENERGY_KEYS}
        for r, sp, t in ((r_blocks, blocks, tokens), (r_head, head, batch)):
            rr = dict(r)
            flops = gemv_flops(sp, t)
            part = energy_components(hw, sp, rr, w_bits, a_bits, t, flops, _prt(hw, sp, a_bits, t, prt_table),
                                     n_devices=n_devices)
            e = {k: e[k] + float(np.ravel(part[k])[0]) for k in ENERGY_KEYS}
        # the attention and KV-write time: cores (or the GPU) busy, the rest of the system static
        extra = {"step_s": np.asarray(out["attention_s"] + out["kv_write_s"]), "dram_bytes": np.asarray(0.0),
                 "weight_bytes": np.asarray(0.0), "attention_s": np.asarray(out["attention_s"]),
                 "other_s": np.asarray(0.0), "convert_s": np.asarray(0.0), "noc_bytes": np.asarray(0.0)}
        if hw.system == "sail":
            # energy_components' SAIL branch counts C-SRAM ops for `tokens`; the attention phase has none.
            part = energy_components(replace(hw, system="cpu"), spec, extra, w_bits, a_bits, 0, attn_flops,
                                     extra_dram_bytes=kv_write_bytes)
        else:
            part = energy_components(hw, spec, extra, w_bits, a_bits, 0, attn_flops,
                                     extra_dram_bytes=kv_write_bytes, n_devices=n_devices)
        e = {k: e[k] + float(np.ravel(part[k])[0]) for k in ENERGY_KEYS}
        out |= {f"prefill_{k}": v for k, v in e.items()}
        out["prefill_energy_j"] = sum(e.values())
    return out


def _decode(hw, model, w_bits, a_bits, batch, context, group_size, prt_table, n_devices) -> tuple:
    """(step_s, energy J or None) of one decode step, on the device count the whole request was placed on."""
    from sail.sim.energy import decode_energy

    spec = get_model(model)
    hw_run, n = placed(hw, spec, w_bits, batch, context, group_size)
    if hw_run is None or n != n_devices:  # a shorter context fits fewer devices; the request keeps its set
        hw_run = hw
        if hw.system == "gpu" and n_devices > 1:
            tp = hw.value(f"gpu.tp_efficiency_x{n_devices}") if f"gpu.tp_efficiency_x{n_devices}" in hw.params else 1.0
            hw_run = hw.with_overrides({k: float(np.ravel(v)[0]) for k, v in scaled_params(hw, n_devices, tp).items()})
        r = evaluate(hw_run, spec, w_bits, a_bits, batch, context, group_size=group_size,
                     prt=_prt(hw_run, spec, a_bits, batch, prt_table))
        if hw.system not in ENERGY_REQUIRED:
            return float(np.ravel(r["step_s"])[0]), None
        flops = gemv_flops(spec, batch) + attention_flops(spec, batch, context)
        e = energy_components(hw_run, spec, r, w_bits, a_bits, batch, flops,
                              _prt(hw_run, spec, a_bits, batch, prt_table), n_devices=n_devices)
        return float(np.ravel(r["step_s"])[0]), float(sum(np.ravel(v)[0] for v in e.values()))
    if hw.system in ENERGY_REQUIRED:
        row = decode_energy(hw, model, w_bits, a_bits, batch, context, group_size, prt_table)
        return row["step_s"], row["energy_per_step_j"]
    r = evaluate(hw_run, spec, w_bits, a_bits, batch, context, group_size=group_size,
                 prt=_prt(hw_run, spec, a_bits, batch, prt_table))
    return float(np.ravel(r["step_s"])[0]), None


def request(hw: HwConfig, model: str, w_bits: int, a_bits: int, batch: int, prompt_tokens: int,
            generated_tokens: int, group_size: int = DEFAULT_GROUP_SIZE, prt_table: pd.DataFrame | None = None) -> dict | None:
    """One request of ``batch`` sequences: prefill, TTFT, decode, totals (time and energy). None when the
    request's full context (prompt + generated) fits in no memory the description offers."""
    if not (isinstance(generated_tokens, (int, np.integer)) and generated_tokens >= 1):
        raise ValueError(f"generated_tokens must be a positive integer, got {generated_tokens!r}")
    hw0 = hw
    hw, n_dev = placed(hw0, get_model(model), w_bits, batch, prompt_tokens + generated_tokens, group_size)
    if hw is None:
        return None
    row = {"system": SYSTEM_NAMES.get(hw.system, hw.system), "hw": hw.name, "model": model, "w_bits": int(w_bits),
           "a_bits": int(a_bits), "batch": int(batch), "prompt_tokens": int(prompt_tokens),
           "generated_tokens": int(generated_tokens)}
    row["n_devices"] = n_dev
    pf = prefill(hw, model, w_bits, a_bits, batch, prompt_tokens, group_size, prt_table, n_devices=n_dev)
    row["prefill_engine"] = "csram" if hw.system == "sail" else hw.system
    if hw.system == "sail":
        # The same prompt on the host cores alone (SAIL's host is a Graviton2): the faster engine runs it.
        host = replace(hw, system="cpu")
        ph = prefill(host, model, w_bits, a_bits, batch, prompt_tokens, group_size, None)
        row["prefill_csram_s"], row["prefill_host_s"] = pf["prefill_s"], ph["prefill_s"]
        if ph["prefill_s"] < pf["prefill_s"]:
            pf, row["prefill_engine"] = ph, "host cores"
    row["prefill_s"] = pf["prefill_s"]
    first_s, _ = _decode(hw0, model, w_bits, a_bits, batch, prompt_tokens, group_size, prt_table, n_dev)
    row["ttft_s"] = pf["prefill_s"] + first_s
    mean_ctx = round(prompt_tokens + generated_tokens / 2)
    step_s, step_j = _decode(hw0, model, w_bits, a_bits, batch, mean_ctx, group_size, prt_table, n_dev)
    row["decode_s"] = generated_tokens * step_s
    row["request_s"] = row["prefill_s"] + row["decode_s"]
    row["request_tokens"] = batch * (prompt_tokens + generated_tokens)
    row["generated_per_s"] = batch * generated_tokens / row["request_s"]
    if step_j is not None and "prefill_energy_j" in pf:
        row["prefill_energy_j"] = pf["prefill_energy_j"]
        row["decode_energy_j"] = generated_tokens * step_j
        row["request_energy_j"] = row["prefill_energy_j"] + row["decode_energy_j"]
        row["generated_per_j"] = batch * generated_tokens / row["request_energy_j"]
        row["request_tokens_per_j"] = row["request_tokens"] / row["request_energy_j"]
    return row


REQUEST_KEYS = ["model", "w_bits", "a_bits", "batch", "prompt_tokens", "generated_tokens"]


def request_table(hws: list[HwConfig], grid: pd.DataFrame, mixes: list[dict], prt: pd.DataFrame | None,
                  group_size: int) -> pd.DataFrame:
    """request.csv: every system of ``hws`` on every (model, w_bits, a_bits, batch) of ``grid`` x mix."""
    if not mixes:
        raise ValueError("at least one prompt:generation mix is needed")
    rows = []
    pts = grid[["model", "w_bits", "a_bits", "batch"]].drop_duplicates()
    for hw in sorted(hws, key=lambda h: h.name):
        for mix in mixes:
            for pt in pts.itertuples(index=False):
                row = request(hw, pt.model, int(pt.w_bits), int(pt.a_bits), int(pt.batch),
                              int(mix["prompt_tokens"]), int(mix["generated_tokens"]), group_size,
                              prt if hw.system == "sail" else None)
                if row is not None:  # requests that fit nowhere are refused
                    rows.append(row)
    return pd.DataFrame(rows).sort_values(["hw", *REQUEST_KEYS]).reset_index(drop=True)
