"""Energy per decode step (and per prefill) of SAIL, the CPU and the V100 from sourced per-operation energies.

The timing model (:mod:`sail.sim.engine`) gives the step time and its breakdown; this module counts
the operations behind them with the engine's own public formulas (:func:`~sail.sim.mapping.gemv_mapping`,
:func:`~sail.sim.engine.sail_layer_ops`, the same PRT fractions) and charges each a per-operation energy
from the hardware description's ``energy.*`` section (every value with a ``source:``):

SAIL (C-SRAM beside the Graviton2 LLC slices)
    ``csram_read_j``   row reads left after PRT hits and zero skips x ``energy.csram_read_pj_per_row`` (CACTI)
    ``table_build_j``  weight rows written into the arrays + the bit-serial subset-sum adds of the table
                       build (PIMeval's BitSIMD ADD: 2n row reads + n row writes per n-bit add pass)
    ``accumulate_j``   per accumulated row: ``entries_per_row x acc_bits`` adder bits and accumulator
                       storage bits (read + write)
    ``prt_j``          one PRT probe per lookup
    ``convert_j``      in-memory conversion: one row access per bit-serial cycle (or core cycles if off)
    ``noc_j``          weights from the memory controllers to the slices, activations out, results back
    ``csram_leakage_j`` leakage of the arrays only if they are added beside the slices (repurposed LLC
                       ways already leak as part of the LLC, which is in ``uncore_j``)
CPU (cores) and host of SAIL
    ``core_active_j``  busy core cycles x ``energy.core_active_pj_per_cycle``: the whole step for the CPU
                       baseline (llama.cpp's threads stream and stall, they do not sleep), attention,
                       norms and CPU-side conversion for SAIL
    ``core_idle_j``    the rest of the step at ``energy.core_idle_pj_per_cycle`` (SAIL's cores wait for
                       the C-SRAM)
    ``uncore_j``       ``energy.uncore_w`` x step time (mesh, SLC, memory controllers)
Memory
    ``dram_j``         bytes over the DRAM (or HBM) interface x 8 x ``energy.dram_pj_per_bit`` / ``hbm_pj_per_bit``
V100
    ``gpu_compute_j``  FLOPs x ``energy.pj_per_flop``; ``gpu_static_j`` ``energy.static_w`` x step time

SHORTCUT(energy-static): idle/static power is a per-system constant times time; DVFS is not modelled.
SHORTCUT(energy-host-gpu): the V100 instance's host CPU is not charged (the GPU board only).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sail.contracts import DEFAULT_GROUP_SIZE
from sail.sim import profiles
from sail.sim.api import SYSTEM_NAMES, prt_fractions
from sail.sim.capacity import place, scaled_params
from sail.sim import mapping
from sail.sim.engine import BREAKDOWN_KEYS, evaluate, sail_layer_ops
from sail.sim.hw import HwConfig, HwError
from sail.sim.models import ModelSpec, get_model

ENERGY_KEYS = (
    "dram_j",
    "csram_read_j",
    "table_build_j",
    "accumulate_j",
    "prt_j",
    "convert_j",
    "noc_j",
    "csram_leakage_j",
    "core_active_j",
    "core_idle_j",
    "uncore_j",
    "gpu_compute_j",
    "gpu_static_j",
)

_HOST_ENERGY = [
    "energy.dram_pj_per_bit",
    "energy.core_active_pj_per_cycle",
    "energy.core_idle_pj_per_cycle",
    "energy.uncore_w",
    "energy.noc_pj_per_bit_hop",
]
ENERGY_REQUIRED = {
    "cpu": _HOST_ENERGY,
    "sail": _HOST_ENERGY
    + [
        "energy.csram_read_pj_per_row",
        "energy.csram_write_pj_per_row",
        "energy.csram_leakage_mw_per_array",
        "energy.adder_pj_per_bit",
        "energy.accumulator_pj_per_bit",
        "energy.prt_probe_pj",
    ],
    "gpu": ["energy.hbm_pj_per_bit", "energy.pj_per_flop", "energy.static_w"],
}


def check_energy_params(hw: HwConfig) -> None:
    """Raise :class:`HwError` naming the description and the first missing ``energy.*`` key."""
    if hw.system not in ENERGY_REQUIRED:
        raise HwError(f"{hw.name}: no energy model for system {hw.system!r}; modelled: {sorted(ENERGY_REQUIRED)}")
    for key in ENERGY_REQUIRED[hw.system]:
        if key not in hw.params:
            raise HwError(f"{hw.path or hw.name}: missing hardware parameter {key!r} (needed by the energy model)")


def gemv_flops(model: ModelSpec, tokens) -> np.ndarray:
    """2 FLOP per weight per token over every GEMV of one step (the model's ``gemv_params``)."""
    return 2.0 * model.gemv_params * np.asarray(tokens, dtype=float)


def attention_flops(model: ModelSpec, tokens, context) -> np.ndarray:
    """QK^T and PV (2 FLOP per MAC each) and the softmax (~5 FLOP per score), as the engine counts them."""
    t, c = np.asarray(tokens, dtype=float), np.asarray(context, dtype=float)
    return t * model.n_layers * (4.0 * model.n_heads * model.head_dim * c + 5.0 * model.n_heads * c)


def sail_op_counts(hw: HwConfig, model: ModelSpec, w_bits, a_bits, tokens, prt=None, params=None) -> dict:
    """Row-level C-SRAM operation counts of one SAIL step over all GEMVs (summed over blocks).

    ``prt`` is ``(zero_frac, hit_frac)`` of shape (L, 1) or (L, N) in ``model.gemv_layers()`` order.
    Returns ``row_reads`` (lookups at row granularity), ``reads_left`` (after the PRT), ``accs_left``,
    ``acc_entry_bits`` (sum over accumulates of entries x accumulator bits), ``build_row_ops_read`` /
    ``build_row_ops_write`` (bit-serial table build), ``weight_row_writes``, ``convert_row_ops``.
    """
    p = hw.values() | (params or {})
    layers = model.gemv_layers()
    m = np.array([[l[1]] for l in layers], dtype=float)
    k = np.array([[l[2]] for l in layers], dtype=float)
    count = np.array([[l[3]] for l in layers], dtype=float)
    w_bits, a_bits, tokens = (np.asarray(x, dtype=float) for x in (w_bits, a_bits, tokens))
    if prt is None:
        zf = hf = np.zeros((len(layers), 1))
    else:
        zf, hf = (np.asarray(x, dtype=float) for x in prt)
    n_bw = p["csram.n_bw"]
    cols = p["csram.cols"]
    # the engine's explicit mapping (sail.sim.mapping): entry width, entries per row, LUT groups, sum width
    res = mapping.resources_from_params(p, {k_: v.value for k_, v in hw.options.items()})
    mp = mapping.gemv_mapping(res, m, k, w_bits, a_bits, tokens)
    entry_bits, epr, k_groups, acc_bits = mp.entry_bits, mp.epr, mp.groups, mp.acc_bits_needed
    ops = sail_layer_ops(m, k_groups * n_bw, n_bw, a_bits, tokens, zf, hf)
    slabs_per_row = np.ceil(m / epr) / m  # one row read serves a slab of entries_per_row output rows
    row_reads = ops["lookups"] * slabs_per_row
    reads_left = ops["sram_reads"] * slabs_per_row
    accs_left = ops["accumulates"] * slabs_per_row
    # PIMeval BitSIMD-V ADD: 2n row reads and n row writes per n-bit add, one pass per `cols` adds.
    build_passes = ops["table_build_adds"] / cols
    elems = tokens * (k + m)
    conv_ops = np.ceil(elems / cols) * profiles.convert_cycles(hw.option("op_profile"), a_bits)

    def tot(x):
        return (x * count).sum(axis=0)

    return {
        "row_reads": tot(row_reads),
        "reads_left": tot(reads_left),
        "accs_left": tot(accs_left),
        "acc_entry_bits": tot(accs_left * epr * acc_bits),
        "build_row_ops_read": tot(build_passes * 2.0 * entry_bits),
        "build_row_ops_write": tot(build_passes * entry_bits),
        "weight_row_writes": tot(m * k * w_bits / cols + 0 * tokens),
        "convert_row_ops": tot(conv_ops),
    }


def _avg_hops(p) -> float:
    return p["noc.diameter_hops"] / 2.0


def energy_components(
    hw: HwConfig,
    model: ModelSpec,
    r: dict,
    w_bits,
    a_bits,
    tokens,
    flops,
    prt=None,
    extra_core_active_s=0.0,
    extra_dram_bytes=0.0,
    params: dict | None = None,
    n_devices: int = 1,
) -> dict:
    """Joules per step by component (:data:`ENERGY_KEYS`) for an engine result ``r`` (``evaluate`` output,
    possibly with times added by the caller: ``r["step_s"]`` must be the total).

    ``flops``: the step's arithmetic (GPU only); ``extra_core_active_s``: host-core time the caller added
    (prefill attention); ``extra_dram_bytes``: bytes the caller added (the prefill's KV-cache writes).
    """
    check_energy_params(hw)
    p = hw.values() | (params or {})
    step_s = np.asarray(r["step_s"], dtype=float)
    zero = np.zeros_like(step_s)
    e = {k: zero.copy() for k in ENERGY_KEYS}
    dram_bytes = np.asarray(r["dram_bytes"], dtype=float) + extra_dram_bytes
    if hw.system == "gpu":
        e["dram_j"] = dram_bytes * 8 * p["energy.hbm_pj_per_bit"] * 1e-12 + zero
        e["gpu_compute_j"] = np.asarray(flops, dtype=float) * p["energy.pj_per_flop"] * 1e-12 + zero
        e["gpu_static_j"] = n_devices * p["energy.static_w"] * step_s  # every board of a tensor-parallel set
        return e
    e["dram_j"] = dram_bytes * 8 * p["energy.dram_pj_per_bit"] * 1e-12 + zero
    core_hz = p["cpu.cores"] * p["cpu.clock_ghz"] * 1e9
    e["uncore_j"] = p["energy.uncore_w"] * step_s
    bit_hop = 8 * p["energy.noc_pj_per_bit_hop"] * 1e-12 * _avg_hops(p)
    if hw.system == "cpu":
        active_s = step_s
        e["noc_j"] = np.asarray(r["weight_bytes"], dtype=float) * bit_hop + zero
    else:  # sail
        ops = sail_op_counts(hw, model, w_bits, a_bits, tokens, prt, params)
        rd, wr = p["energy.csram_read_pj_per_row"] * 1e-12, p["energy.csram_write_pj_per_row"] * 1e-12
        e["csram_read_j"] = ops["reads_left"] * rd + zero
        e["table_build_j"] = (ops["build_row_ops_read"] * rd + (ops["build_row_ops_write"] + ops["weight_row_writes"]) * wr
                              + zero)
        e["accumulate_j"] = ops["acc_entry_bits"] * (
            p["energy.adder_pj_per_bit"] + p["energy.accumulator_pj_per_bit"]) * 1e-12 + zero
        e["prt_j"] = ops["row_reads"] * p["energy.prt_probe_pj"] * 1e-12 + zero
        inmem = p["csram.in_memory_conversion"]
        e["convert_j"] = inmem * ops["convert_row_ops"] * (rd + wr) / 2 + zero
        noc_bytes = np.asarray(r.get("noc_bytes", 0.0), dtype=float)
        e["noc_j"] = (np.asarray(r["weight_bytes"], dtype=float) + noc_bytes) * bit_hop + zero
        n_arr = p["llc.slices"] * p["csram.arrays_per_slice"]
        added = 1.0 - p["csram.arrays_repurposed"]
        e["csram_leakage_j"] = added * n_arr * p["energy.csram_leakage_mw_per_array"] * 1e-3 * step_s
        # The cores work on attention, norms and (without in-memory conversion) the conversions.
        active_s = (np.asarray(r["attention_s"]) + np.asarray(r["other_s"])
                    + (1 - inmem) * np.asarray(r["convert_s"]) + extra_core_active_s)
        active_s = np.minimum(active_s, step_s)
    e["core_active_j"] = active_s * core_hz * p["energy.core_active_pj_per_cycle"] * 1e-12
    e["core_idle_j"] = (step_s - active_s) * core_hz * p["energy.core_idle_pj_per_cycle"] * 1e-12
    return e


_PRT_CACHE: dict = {}


def prt_for(hw: HwConfig, model: ModelSpec, a_bits: int, tokens, prt_table):
    """SAIL's per-layer (zero_frac, hit_frac) for ``tokens`` token columns, or None (no table / not SAIL).

    Memoised per table object and point: the request sweep asks for the same fractions many times
    and each lookup filters the whole profiling table.
    """
    if hw.system != "sail" or prt_table is None:
        return None
    types = tuple(t for t, *_ in model.gemv_layers())
    key = (id(prt_table), types, int(hw.value("csram.n_bw")), int(a_bits), float(tokens),
           int(hw.value("dfm.prt_entries")))
    hit = _PRT_CACHE.get(key)
    if hit is not None and hit[0] is prt_table:  # the id is only trusted while the table is alive
        return hit[1]
    fr = prt_fractions(prt_table, list(types), key[2], key[3], tokens, prt_entries=key[5])
    if len(_PRT_CACHE) > 4096:
        _PRT_CACHE.clear()
    _PRT_CACHE[key] = (prt_table, fr)
    return fr


def placed(hw: HwConfig, spec: ModelSpec, w_bits: int, batch: int, context: int, group_size: int):
    """``(hw, n_devices)``: the description at the device count that holds the configuration (a GPU set
    runs at its tensor-parallel rates, as in :func:`sail.sim.api.simulate`), or ``(None, 0)`` when no
    memory the description offers holds it (sail.sim.capacity)."""
    if not (hw.system == "gpu" or "memory.capacity_gb" in hw.params):
        return hw, 1
    r = place(hw, spec, w_bits, batch, context, group_size)
    n = int(np.ravel(r["n_devices"])[0])
    if n == 0:
        return None, 0
    if n > 1:
        scaled = scaled_params(hw, n, float(np.ravel(r["tp_efficiency"])[0]))
        hw = hw.with_overrides({k: float(np.ravel(v)[0]) for k, v in scaled.items()})
    return hw, n


def decode_energy(hw: HwConfig, model: str, w_bits: int, a_bits: int, batch: int, context: int,
                  group_size: int = DEFAULT_GROUP_SIZE, prt_table: pd.DataFrame | None = None) -> dict | None:
    """One decode step at one design point: the engine's time and breakdown plus energy by component;
    None when the configuration fits in no memory the description offers."""
    spec = get_model(model)
    hw, n_dev = placed(hw, spec, w_bits, batch, context, group_size)
    if hw is None:
        return None
    prt = prt_for(hw, spec, a_bits, batch, prt_table)
    r = evaluate(hw, spec, w_bits, a_bits, batch, context, group_size=group_size, prt=prt)
    flops = gemv_flops(spec, batch) + attention_flops(spec, batch, context)
    e = energy_components(hw, spec, r, w_bits, a_bits, batch, flops, prt, n_devices=n_dev)
    return _row(hw, model, w_bits, a_bits, batch, context, r, e, tokens=batch) | {"n_devices": n_dev}


def _scalar(x) -> float:
    return float(np.asarray(x, dtype=float).reshape(-1)[0])


def _row(hw, model, w_bits, a_bits, batch, context, r, e, tokens) -> dict:
    row = {
        "system": SYSTEM_NAMES.get(hw.system, hw.system),
        "hw": hw.name,
        "model": model,
        "w_bits": int(w_bits),
        "a_bits": int(a_bits),
        "batch": int(batch),
        "context": int(context),
        "step_s": _scalar(r["step_s"]),
        "tokens_per_s": tokens / _scalar(r["step_s"]),
    }
    row |= {k: _scalar(v) for k, v in e.items()}
    total = sum(row[k] for k in ENERGY_KEYS)
    row["energy_per_step_j"] = total
    row["energy_per_token_j"] = total / tokens
    row["tokens_per_j"] = tokens / total
    row["average_power_w"] = total / row["step_s"]
    return row


def energy_table(hws: list[HwConfig], grid: pd.DataFrame, prt: pd.DataFrame | None, group_size: int) -> pd.DataFrame:
    """energy.csv: every system with an energy model on every workload point of ``grid`` (decode)."""
    rows = []
    for hw in sorted(hws, key=lambda h: h.name):
        if hw.system not in ENERGY_REQUIRED:
            continue
        check_energy_params(hw)
        for pt in grid.itertuples(index=False):
            row = decode_energy(hw, pt.model, pt.w_bits, pt.a_bits, pt.batch, pt.context, group_size, prt)
            if row is not None:  # configurations that fit nowhere are refused, as in decode.csv
                rows.append(row)
    if not rows:
        raise ValueError(f"no hardware with an energy model among {[h.name for h in hws]}")
    df = pd.DataFrame(rows)
    return df.sort_values(["hw", "model", "w_bits", "a_bits", "batch", "context"]).reset_index(drop=True)


__all__ = [
    "BREAKDOWN_KEYS",
    "ENERGY_KEYS",
    "ENERGY_REQUIRED",
    "attention_flops",
    "check_energy_params",
    "decode_energy",
    "energy_components",
    "energy_table",
    "gemv_flops",
    "sail_op_counts",
]
