"""Whole-model decode: per-layer costs from primitives, summed over one decode step (docs/simulator.md).

Structure, PIMeval-style: parameters come from :class:`~sail.sim.hw.HwConfig`; operation counts from
:mod:`sail.sim.opcount` (the same formulas the kernels' counters are tested against); primitive
cycle costs from :mod:`sail.sim.profiles`; this module only combines them. Every function here is
written with numpy broadcasting: layer shapes are ``(L, 1)`` columns, parameters and workload values
may be scalars or ``(N,)`` arrays, so one call evaluates N design points (``sweep``).

One decode step processes ``batch`` sequences, one new token each, every sequence with ``context``
tokens of KV cache. Layers run in order (a block's attention needs its q/k/v, its o needs the
attention), so per-layer times add up; inside a GEMV, weight streaming overlaps compute when the
description says so (``max``), otherwise the two add.

Breakdown components always sum to the step time: a component hidden under another by overlap is
reported only for its exposed part (``dram_s`` is DRAM time not hidden under compute).
"""

from __future__ import annotations

import numpy as np

from sail.contracts import DEFAULT_GROUP_SIZE
from sail.sim import mapping, profiles
from sail.sim.hw import HwConfig, HwError, NotModelled
from sail.sim.models import ModelSpec
from sail.sim.requirements import POSITIVE_SUFFIXES, REQUIRED, required_keys  # noqa: F401  (re-exported)

BREAKDOWN_KEYS = (
    "table_build_s",  # SAIL: LUT construction in the arrays
    "lookup_s",  # SAIL: C-SRAM row reads (after PRT hits and zero skips)
    "accumulate_s",  # SAIL: shift-accumulate of looked-up rows (exposed part) and accumulator spills
    "reduce_s",  # SAIL: partial-sum reduction when K is split across arrays
    "convert_s",  # de/quantisation of activations and outputs (in memory or on the cores)
    "pim_compute_s",  # baselines' in-memory MACs (bit-serial, LUT, bank-level)
    "cpu_gemv_s",  # CPU baseline: GEMV compute not hidden under DRAM
    "gpu_gemv_s",  # V100: GEMV compute not hidden under HBM
    "dram_s",  # weight streaming not hidden under compute
    "noc_s",  # activation broadcast and result gather over the mesh
    "attention_s",  # attention over the KV cache (on the cores, or the GPU)
    "other_s",  # norms, RoPE, SiLU, residuals
)

def _check_values(p: dict, system: str) -> None:
    for key in REQUIRED[system]:
        if key in p and key.endswith(POSITIVE_SUFFIXES):
            v = np.asarray(p[key], dtype=float)
            if np.any(~(v > 0)):
                raise HwError(f"hardware parameter {key!r} must be > 0, got {p[key]!r}")
        if key.endswith("efficiency") and key in p and np.any(np.asarray(p[key], dtype=float) > 1):
            raise HwError(f"hardware parameter {key!r} must be <= 1, got {p[key]!r}")


def _ceil_log2(x):
    return np.ceil(np.log2(np.maximum(x, 1)))


def _layer_columns(model: ModelSpec):
    layers = model.gemv_layers()
    types = [t for t, *_ in layers]
    m = np.array([[l[1]] for l in layers], dtype=float)  # (L, 1)
    k = np.array([[l[2]] for l in layers], dtype=float)
    count = np.array([[l[3]] for l in layers], dtype=float)
    return types, m, k, count


def _host_work(p, model: ModelSpec, batch, context):
    """Attention and elementwise work that stays on the cores, per step: (memory_s, compute_s, kv_bytes, other_s)."""
    hd, kvd = model.head_dim, model.n_kv_heads * model.head_dim
    kv_bytes = batch * model.n_layers * 2.0 * kvd * context * p["memory.kv_bytes_per_element"]
    # QK^T and PV: 2 FLOP per MAC each; softmax ~5 FLOP per score.
    attn_flops = batch * model.n_layers * (4.0 * model.n_heads * hd * context + 5.0 * model.n_heads * context)
    vec_flops_s = (
        p["cpu.cores"] * p["cpu.fp32_flops_per_cycle"] * p["cpu.clock_ghz"] * 1e9 * p["cpu.vector_efficiency"]
    )
    bw = p["memory.dram_bw_gbps"] * 1e9 * p["memory.dram_efficiency"]
    attn_mem_s = kv_bytes / bw
    attn_cmp_s = attn_flops / vec_flops_s
    other_flops = (
        batch
        * model.n_layers
        * (
            model.dim * p["cpu.elementwise_flops_per_hidden"]
            + model.ffn_dim * p["cpu.elementwise_flops_per_ffn"]
        )
    )
    return attn_mem_s, attn_cmp_s, kv_bytes, other_flops / vec_flops_s


def _weight_bytes(p, m, k, w_bits, group_size):
    # a row's last group may be partial (group_size need not divide K); it still carries a scale and zero
    return m * k * w_bits / 8.0 + (m * np.ceil(k / group_size)) * p["memory.scale_zero_bytes_per_group"]


def _noc_s(p, m, k, batch, a_bits, out_bytes):
    """Broadcast the batch's quantised activations to every slice; gather the outputs back to the cores.

    SHORTCUT(noc): a multicast tree carries the broadcast once per link and the gather is spread over one
    link per slice; contention with cache traffic is not modelled.
    """
    link = p["noc.link_bytes_per_cycle"] * p["noc.clock_ghz"] * 1e9
    bcast = batch * k * a_bits / 8.0
    gather = batch * m * out_bytes
    latency = 2 * p["noc.diameter_hops"] * p["noc.hop_latency_cycles"] / (p["noc.clock_ghz"] * 1e9)
    return bcast / link + gather / (link * p["llc.slices"]) + latency, bcast + gather


def _cpu_convert_s(p, elements):
    return elements * p["cpu.convert_cycles_per_element"] / (p["cpu.cores"] * p["cpu.clock_ghz"] * 1e9)


CPU_MODELLED_W_BITS = (2, 3, 4, 8)  # weight widths with a CPU unpack-cost parameter in config/hw


def _unpack_cycles(p, w_bits):
    w = np.asarray(w_bits)
    known = np.isin(w, CPU_MODELLED_W_BITS)
    if not np.all(known):
        bad = sorted(set(np.atleast_1d(w)[~np.atleast_1d(known)].tolist()))
        raise NotModelled(f"CPU dequant cost is modelled for w_bits in 2, 3, 4, 8 only, got {bad}")
    return np.select(
        [w == 2, w == 3, w == 4],
        [
            p["cpu.unpack_cycles_per_weight_w2"],
            p["cpu.unpack_cycles_per_weight_w3"],
            p["cpu.unpack_cycles_per_weight_w4"],
        ],
        p["cpu.unpack_cycles_per_weight_w8"],
    )


# ---- per-system GEMV models: return dict of (L, N) arrays -----------------------------------------
def gemv_cpu(p, opts, m, k, w_bits, a_bits, batch, group_size, prt):
    """llama.cpp-style: stream quantised weights, unpack to int8, SDOT with int8 activations."""
    wbytes = _weight_bytes(p, m, k, w_bits, group_size)
    dram_s = wbytes / (p["memory.dram_bw_gbps"] * 1e9 * p["memory.dram_efficiency"])
    cycles = (
        m
        * k
        * (
            batch * (1.0 / p["cpu.int8_macs_per_cycle"] + p["cpu.scale_cycles_per_weight"])
            + np.ceil(batch / p["cpu.weight_unpack_reuse_tokens"]) * _unpack_cycles(p, w_bits)
        )
    )
    cmp_s = cycles / (p["cpu.cores"] * p["cpu.clock_ghz"] * 1e9 * p["cpu.kernel_efficiency"])
    conv_s = _cpu_convert_s(p, batch * k)  # activations to int8 (llama.cpp quantize_row_q8)
    gemv = np.maximum(dram_s, cmp_s)
    zero = np.zeros_like(gemv)
    return dict(
        dram_bytes=wbytes + zero,
        weight_bytes=wbytes + zero,
        mem_s=dram_s + zero,
        cmp_s=cmp_s + conv_s,
        cpu_gemv_s=cmp_s,
        dram_s=gemv - cmp_s,
        convert_s=conv_s + zero,
    )


def _gemv_gpu(p, opts, m, k, w_bits, a_bits, batch, group_size, prt):
    wbytes = _weight_bytes(p, m, k, w_bits, group_size)
    dram_s = wbytes / (p["gpu.hbm_bw_gbps"] * 1e9 * p["gpu.bw_efficiency"])
    cmp_s = 2.0 * m * k * batch / (p["gpu.fp16_tflops"] * 1e12 * p["gpu.compute_efficiency"])
    gemv = np.maximum(dram_s, cmp_s)
    zero = np.zeros_like(gemv)
    return dict(
        dram_bytes=wbytes + zero,
        weight_bytes=wbytes + zero,
        mem_s=dram_s + zero,
        cmp_s=cmp_s + zero,
        gpu_gemv_s=cmp_s + zero,
        dram_s=gemv - cmp_s,
    )


def sail_layer_ops(m, k, n_bw, a_bits, batch, zero_frac=0.0, hit_frac=0.0) -> dict:
    """Entry-level operation counts the SAIL model charges for one GEMV (vectorised twin of ``opcount.lut_gemv``).

    ``k`` must already be padded to a multiple of ``n_bw``. PRT hits and zero skips avoid SRAM reads;
    zero skips also avoid the accumulate, hits do not (the reused row is still added). These equal the
    pattern-aware kernel's ``lookups``, ``table_build_adds``, ``sram_reads`` and ``accumulates_performed``
    (tests/sim/test_opcount_kernels.py).
    """
    groups = m * (k / n_bw)
    lookups = batch * a_bits * groups
    return {
        "table_build_adds": groups * (2.0**n_bw - n_bw - 1),
        "lookups": lookups,
        "sram_reads": lookups * (1.0 - zero_frac - hit_frac),
        "accumulates": lookups * (1.0 - zero_frac),
    }


def _gemv_sail(p, opts, m, k, w_bits, a_bits, batch, group_size, prt):
    """SAIL's GEMV on its explicit mapping (:mod:`sail.sim.mapping`): the critical array's command stream.

    The resources (arrays, PRTs, accumulators, adders) come from the one description area.py also reads;
    the mapping says which blocks each array holds, how many residency rounds and token passes it runs, how
    many arrays add partial sums into one slab; :func:`~sail.sim.mapping.analytical_cycles` turns that into
    cycles with the same per-command costs the event-level simulator (:mod:`sail.sim.csram`) counts.
    """
    res = mapping.resources_from_params(p, opts)
    mp = mapping.gemv_mapping(res, m, k, w_bits, a_bits, batch)
    c = mapping.command_costs(p, opts, mp, res)
    zero_frac, hit_frac = prt
    cyc = mapping.analytical_cycles(mp, res, c, zero_frac, hit_frac)
    f = p["csram.clock_ghz"] * 1e9
    build_s, lookup_s, acc_s, reduce_s = (cyc[x] / f for x in ("build", "lookup", "accumulate", "reduce"))
    # Type conversion: in the arrays (activations in, outputs out), or B x (K + M) elements on the cores.
    inmem = p["csram.in_memory_conversion"]
    conv_mem_s = cyc["convert"] / f
    conv_cpu_s = _cpu_convert_s(p, batch * (k + m))
    conv_s = inmem * conv_mem_s + (1 - inmem) * conv_cpu_s
    compute_s = build_s + lookup_s + acc_s + reduce_s + inmem * conv_mem_s
    wbytes = _weight_bytes(p, m, k, w_bits, group_size)
    dram_s = wbytes / (p["memory.dram_bw_gbps"] * 1e9 * p["memory.dram_efficiency"])
    ovl_lc = p["csram.overlap_load_compute"]
    gemv = ovl_lc * np.maximum(dram_s, compute_s) + (1 - ovl_lc) * (dram_s + compute_s)
    out_bytes = inmem * 4.0 + (1 - inmem) * np.ceil(mp.acc_bits_needed / 8.0)
    noc_s, noc_bytes = _noc_s(p, m, k, batch, a_bits, out_bytes)
    row_reads = mp.blocks * batch * a_bits  # chip-wide lookups, one row read each before reuse
    reads_left = row_reads * (1.0 - zero_frac - hit_frac)
    counts = mapping.chip_command_counts(mp, res, zero_frac, hit_frac)  # chip-wide, for energy
    return dict(
        dram_bytes=wbytes + 0 * gemv,
        weight_bytes=wbytes + 0 * gemv,
        mem_s=dram_s + 0 * gemv,
        cmp_s=compute_s + noc_s + (1 - inmem) * conv_cpu_s,
        table_build_s=build_s + 0 * gemv,
        lookup_s=lookup_s + 0 * gemv,
        accumulate_s=acc_s + 0 * gemv,
        reduce_s=reduce_s + 0 * gemv,
        convert_s=conv_s + 0 * gemv,
        dram_s=gemv - compute_s,
        noc_s=noc_s + 0 * gemv,
        noc_bytes=noc_bytes + 0 * gemv,
        csram_passes=mp.rounds * mp.token_passes + 0 * gemv,
        compute_cycles=(build_s + lookup_s + acc_s + reduce_s) * f,
        row_reads=row_reads + 0 * gemv,
        reads_left=reads_left + 0 * gemv,
        **{f"csram_{k}": v + 0 * gemv for k, v in counts.items()},
    )


def _gemv_pim_bitserial(p, opts, m, k, w_bits, a_bits, batch, group_size, prt):
    """Neural-Cache-style: each bit line multiplies one weight by one activation bit-serially, then a
    log2(cols)-level in-array reduction. Weights are written transposed (``w_bits`` row writes per pass)."""
    profile = opts["op_profile"]
    f = p["pim.clock_ghz"] * 1e9
    lanes = p["llc.slices"] * p["pim.arrays_per_slice"] * p["pim.cols"]
    n = np.maximum(w_bits, a_bits)
    acc_bits = w_bits + a_bits + _ceil_log2(k)
    passes = np.ceil(m * k * batch / lanes)
    per_pass = (
        profiles.mac_cycles(profile, n, acc_bits)
        + np.log2(p["pim.cols"]) * (profiles.add_cycles(profile, acc_bits) + acc_bits)
        + w_bits
    )
    cmp_s = passes * per_pass / f
    return _pim_common(p, m, k, w_bits, a_bits, batch, group_size, cmp_s, p["pim.overlap_load_compute"])


def _gemv_pim_lut(p, opts, m, k, w_bits, a_bits, batch, group_size, prt):
    """BFree-style: each MAC as ``c = ceil(max(w,a)/lut_bits)`` chunks: c^2 LUT reads, c^2-c shifts and
    c^2-1 adds, plus one accumulate (PIMeval LUT fork, pimPerfEnergyLUT.cpp), one op per engine cycle.
    """
    f = p["pim.clock_ghz"] * 1e9
    engines = p["llc.slices"] * p["pim.arrays_per_slice"] * p["pim.lanes_per_engine"]
    c = np.ceil(np.maximum(w_bits, a_bits) / p["pim.lut_bits"])
    ops = c * c + (c * c - c) + (c * c - 1) + 1
    cmp_s = m * k * batch * ops / engines / f
    return _pim_common(p, m, k, w_bits, a_bits, batch, group_size, cmp_s, p["pim.overlap_load_compute"])


def _pim_common(p, m, k, w_bits, a_bits, batch, group_size, cmp_s, ovl):
    wbytes = _weight_bytes(p, m, k, w_bits, group_size)
    dram_s = wbytes / (p["memory.dram_bw_gbps"] * 1e9 * p["memory.dram_efficiency"])
    conv_s = _cpu_convert_s(p, batch * (k + m))  # no in-memory conversion: the cores de/quantise
    acc_bits = w_bits + a_bits + _ceil_log2(k)
    noc_s, noc_bytes = _noc_s(p, m, k, batch, a_bits, np.ceil(acc_bits / 8.0))
    gemv = ovl * np.maximum(dram_s, cmp_s) + (1 - ovl) * (dram_s + cmp_s)
    z = 0 * gemv
    return dict(
        dram_bytes=wbytes + z,
        weight_bytes=wbytes + z,
        mem_s=dram_s + z,
        cmp_s=cmp_s + conv_s + noc_s + z,
        pim_compute_s=cmp_s + z,
        dram_s=gemv - cmp_s,
        convert_s=conv_s + z,
        noc_s=noc_s + z,
        noc_bytes=noc_bytes + z,
    )


def _gemv_pim_dram(p, opts, m, k, w_bits, a_bits, batch, group_size, prt):
    """Bank-level PIM: weights stay in the banks (no channel traffic), read at the banks' internal bandwidth
    once per ``activation_buffer_tokens`` tokens; MAC lanes per bank."""
    wbytes = _weight_bytes(p, m, k, w_bits, group_size)
    reads = np.ceil(batch / p["pim.activation_buffer_tokens"])
    mem_s = wbytes * reads / (p["pim.banks"] * p["pim.bank_bw_gbps"] * 1e9)
    cmp_s = m * k * batch / (p["pim.banks"] * p["pim.macs_per_bank_cycle"] * p["pim.clock_ghz"] * 1e9)
    conv_s = _cpu_convert_s(p, batch * (k + m))
    gemv = np.maximum(mem_s, cmp_s)
    z = 0 * gemv
    # SHORTCUT(dram-pim-io): moving activations/outputs between host and banks is not charged.
    return dict(
        dram_bytes=wbytes * reads + z,
        weight_bytes=wbytes + z,
        mem_s=mem_s + z,
        cmp_s=cmp_s + conv_s + z,
        pim_compute_s=cmp_s + z,
        dram_s=gemv - cmp_s,
        convert_s=conv_s + z,
    )


_GEMV = {
    "cpu": gemv_cpu,
    "gpu": _gemv_gpu,
    "sail": _gemv_sail,
    "pim_bitserial": _gemv_pim_bitserial,
    "pim_lut": _gemv_pim_lut,
    "pim_dram": _gemv_pim_dram,
}


def evaluate(
    hw: HwConfig,
    model: ModelSpec,
    w_bits,
    a_bits,
    batch,
    context,
    group_size=DEFAULT_GROUP_SIZE,
    params: dict | None = None,
    prt=None,
) -> dict:
    """Evaluate one model's decode step for N design points at once.

    ``params`` maps hardware keys to scalars or ``(N,)`` arrays (defaults from ``hw``); workload
    arguments may be scalars or ``(N,)`` arrays; ``prt`` is ``(zero_frac, hit_frac)``, each
    broadcastable to ``(L, N)`` (rows in ``model.gemv_layers()`` order), or None for no reuse.
    Returns ``(N,)`` arrays (``tokens_per_s``, bounds, breakdown ``*_s``, bytes) plus ``layers_*`` (L, N).
    """
    p = hw.values() | (params or {})
    opts = {k: v.value for k, v in hw.options.items()}
    _check_values(p, hw.system)
    w_bits, a_bits, batch, context = (np.asarray(x, dtype=float) for x in (w_bits, a_bits, batch, context))
    for name, v in (("w_bits", w_bits), ("a_bits", a_bits), ("batch", batch), ("group_size", group_size)):
        if np.any(~(np.asarray(v) >= 1)):
            raise ValueError(f"{name} must be >= 1, got {v!r}")
    if np.any(context < 0):
        raise ValueError(f"context must be >= 0, got {context!r}")
    types, m, k, count = _layer_columns(model)
    if prt is None:
        prt = (np.zeros((len(types), 1)), np.zeros((len(types), 1)))
    zf, hf = (np.asarray(x, dtype=float) for x in prt)
    if np.any(zf < 0) or np.any(hf < 0) or np.any(zf + hf > 1 + 1e-12):
        raise ValueError("PRT fractions must be >= 0 and zero_skip + hit fractions <= 1")
    g = _GEMV[hw.system](p, opts, m, k, w_bits, a_bits, batch, group_size, (zf, hf))
    out: dict = {}
    shape = np.broadcast_shapes(
        np.shape(w_bits),
        np.shape(a_bits),
        np.shape(batch),
        np.shape(context),
        *(np.shape(v) for v in p.values() if np.ndim(v)),
    )
    zeros = np.zeros(shape)
    for key in BREAKDOWN_KEYS:
        out[key] = (g[key] * count).sum(axis=0) + zeros if key in g else zeros.copy()
    mem_s = (g["mem_s"] * count).sum(axis=0) + zeros
    cmp_s = (g["cmp_s"] * count).sum(axis=0) + zeros
    if hw.system == "gpu":
        kvd = model.n_kv_heads * model.head_dim
        kv_bytes = batch * model.n_layers * 2.0 * kvd * context * p["memory.kv_bytes_per_element"]
        attn_flops = (
            batch
            * model.n_layers
            * (4.0 * model.n_heads * model.head_dim * context + 5.0 * model.n_heads * context)
        )
        attn_mem = kv_bytes / (p["gpu.hbm_bw_gbps"] * 1e9 * p["gpu.bw_efficiency"])
        attn_cmp = attn_flops / (p["gpu.fp32_tflops"] * 1e12 * p["gpu.compute_efficiency"])
        other = (
            batch
            * model.n_layers
            * p["gpu.elementwise_flops_per_element"]
            * (model.dim + model.ffn_dim)
            / (p["gpu.fp32_tflops"] * 1e12 * p["gpu.compute_efficiency"])
        )
    else:
        attn_mem, attn_cmp, kv_bytes, other = _host_work(p, model, batch, context)
    out["attention_s"] = np.maximum(attn_mem, attn_cmp) + zeros
    out["other_s"] = other + zeros
    step_s = sum(out[k] for k in BREAKDOWN_KEYS)
    out["step_s"] = step_s
    out["tokens_per_s"] = batch / step_s
    out["memory_bound_tokens_per_s"] = batch / (mem_s + attn_mem)
    out["compute_bound_tokens_per_s"] = batch / (cmp_s + attn_cmp + other)
    out["weight_bytes"] = (g["weight_bytes"] * count).sum(axis=0) + zeros
    out["dram_bytes"] = (g["dram_bytes"] * count).sum(axis=0) + kv_bytes + zeros
    out["kv_bytes"] = kv_bytes + zeros
    out["layers_dram_bytes"] = g["dram_bytes"] * count + zeros
    out["layer_types"] = types
    if "csram_passes" in g:
        out["csram_max_passes"] = g["csram_passes"].max(axis=0) + zeros
        out["compute_cycles"] = (g["compute_cycles"] * count).sum(axis=0) + zeros
        lookups = (g["row_reads"] * count).sum(axis=0)
        out["prt_avoided_fraction"] = 1.0 - (g["reads_left"] * count).sum(axis=0) / lookups + zeros
    return out


def sail_layer_cycles(
    hw: HwConfig, m, k, w_bits, a_bits, batch, zero_frac=0.0, hit_frac=0.0, params: dict | None = None
) -> dict:
    """C-SRAM computation cycles of one SAIL GEMV (table build + lookups + exposed accumulate), vectorised.

    The "computation cycles" the paper's PRT claim (sail.claims) refers to; DRAM, NoC and conversion excluded.
    """
    if hw.system != "sail":
        raise ValueError(f"sail_layer_cycles needs a sail description, got system {hw.system!r}")
    p = hw.values() | (params or {})
    _check_values(p, "sail")
    opts = {k_: v.value for k_, v in hw.options.items()}
    m, k = np.asarray(m, dtype=float), np.asarray(k, dtype=float)
    g = _gemv_sail(
        p,
        opts,
        m,
        k,
        np.asarray(w_bits, float),
        np.asarray(a_bits, float),
        np.asarray(batch, float),
        DEFAULT_GROUP_SIZE,
        (np.asarray(zero_frac, float), np.asarray(hit_frac, float)),
    )
    f = p["csram.clock_ghz"] * 1e9
    return {
        "cycles": g["compute_cycles"],
        "table_build_cycles": g["table_build_s"] * f,
        "lookup_cycles": g["lookup_s"] * f,
        "accumulate_cycles": g["accumulate_s"] * f,
        "reduce_cycles": g["reduce_s"] * f,
        "convert_cycles": g["convert_s"] * f,
        "row_reads": g["row_reads"],
        "sram_reads": g["reads_left"],
    }
