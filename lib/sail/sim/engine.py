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

from sail.sim import profiles
from sail.sim.hw import HwConfig, HwError, NotModelled
from sail.sim.models import ModelSpec

BREAKDOWN_KEYS = (
    "table_build_s",  # SAIL: LUT construction in the arrays
    "lookup_s",  # SAIL: C-SRAM row reads (after PRT hits and zero skips)
    "accumulate_s",  # SAIL: shift-accumulate of looked-up rows (exposed part)
    "convert_s",  # de/quantisation of activations and outputs (in memory or on the cores)
    "pim_compute_s",  # baselines' in-memory MACs (bit-serial, LUT, bank-level)
    "cpu_gemv_s",  # CPU baseline: GEMV compute not hidden under DRAM
    "gpu_gemv_s",  # V100: GEMV compute not hidden under HBM
    "dram_s",  # weight streaming not hidden under compute
    "noc_s",  # activation broadcast and result gather over the mesh
    "attention_s",  # attention over the KV cache (on the cores, or the GPU)
    "other_s",  # norms, RoPE, SiLU, residuals
)

_HOST = [
    "cpu.cores",
    "cpu.clock_ghz",
    "cpu.fp32_flops_per_cycle",
    "cpu.vector_efficiency",
    "cpu.convert_cycles_per_element",
    "cpu.elementwise_flops_per_hidden",
    "cpu.elementwise_flops_per_ffn",
    "memory.dram_bw_gbps",
    "memory.dram_efficiency",
    "memory.kv_bytes_per_element",
    "memory.scale_zero_bytes_per_group",
    "noc.link_bytes_per_cycle",
    "noc.clock_ghz",
    "noc.diameter_hops",
    "noc.hop_latency_cycles",
    "llc.slices",
]
_CPU = _HOST + [
    "cpu.int8_macs_per_cycle",
    "cpu.unpack_cycles_per_weight_w2",
    "cpu.unpack_cycles_per_weight_w3",
    "cpu.unpack_cycles_per_weight_w4",
    "cpu.unpack_cycles_per_weight_w8",
    "cpu.scale_cycles_per_weight",
    "cpu.weight_unpack_reuse_tokens",
    "cpu.kernel_efficiency",
]
REQUIRED = {
    "cpu": _CPU,
    "sail": _HOST
    + [
        "csram.arrays_per_slice",
        "csram.rows",
        "csram.cols",
        "csram.clock_ghz",
        "csram.n_bw",
        "csram.read_cycles",
        "csram.accumulate_cycles",
        "csram.overlap_read_accumulate",
        "csram.overlap_load_compute",
        "csram.in_memory_conversion",
        "op_profile",
        "accumulate_style",
    ],
    "gpu": [
        "gpu.hbm_bw_gbps",
        "gpu.fp16_tflops",
        "gpu.fp32_tflops",
        "gpu.bw_efficiency",
        "gpu.compute_efficiency",
        "gpu.elementwise_flops_per_element",
        "memory.kv_bytes_per_element",
        "memory.scale_zero_bytes_per_group",
    ],
    "pim_bitserial": _HOST
    + ["pim.arrays_per_slice", "pim.cols", "pim.clock_ghz", "pim.overlap_load_compute", "op_profile"],
    "pim_lut": _HOST
    + [
        "pim.arrays_per_slice",
        "pim.lut_bits",
        "pim.lanes_per_engine",
        "pim.clock_ghz",
        "pim.overlap_load_compute",
    ],
    "pim_dram": _HOST
    + [
        "pim.banks",
        "pim.bank_bw_gbps",
        "pim.macs_per_bank_cycle",
        "pim.clock_ghz",
        "pim.activation_buffer_tokens",
    ],
}
# Parameters that are sizes or rates: zero would divide by zero or mean "no hardware".
_POSITIVE_SUFFIXES = (
    "cores",
    "clock_ghz",
    "_per_cycle",
    "bw_gbps",
    "efficiency",
    "slices",
    "arrays_per_slice",
    "rows",
    "cols",
    "n_bw",
    "tflops",
    "banks",
    "lut_bits",
    "lanes_per_engine",
    "activation_buffer_tokens",
    "weight_unpack_reuse_tokens",
    "link_bytes_per_cycle",
    "kv_bytes_per_element",
)


def required_keys(system: str) -> list[str]:
    return list(REQUIRED[system])


def _check_values(p: dict, system: str) -> None:
    for key in REQUIRED[system]:
        if key in p and key.endswith(_POSITIVE_SUFFIXES):
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
    return m * k * w_bits / 8.0 + (m * k / group_size) * p["memory.scale_zero_bytes_per_group"]


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
def _gemv_cpu(p, opts, m, k, w_bits, a_bits, batch, group_size, prt):
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


def lut_geometry(p, m, k, w_bits, a_bits):
    """Table entry width, entries per row read, and groups of one layer (padded K) for SAIL's layout.

    Layout: a table block holds ``2**n_bw`` rows (row index = activation pattern); its columns hold the
    tables of ``entries_per_row`` consecutive output rows r for the same LUT group j, so one row read
    serves all of them (they share the pattern).
    """
    n_bw = p["csram.n_bw"]
    entry_bits = _ceil_log2(n_bw * (2.0**w_bits - 1) + 1)  # sum of n_bw unsigned w-bit codes
    entries_per_row = np.floor(p["csram.cols"] / entry_bits)
    if np.any(entries_per_row < 1):
        raise NotModelled("a table entry is wider than a C-SRAM row (csram.cols too small for w_bits/n_bw)")
    k_groups = np.ceil(k / n_bw)  # SHORTCUT(pad): K padded to a multiple of n_bw with zero weights
    acc_bits = entry_bits + a_bits + _ceil_log2(k_groups)
    return entry_bits, entries_per_row, k_groups, acc_bits


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
    profile, acc_style = opts["op_profile"], opts["accumulate_style"]
    if acc_style not in ("near_array", "bit_serial"):
        raise ValueError(f"accumulate_style must be near_array or bit_serial, got {acc_style!r}")
    n_bw = p["csram.n_bw"]
    f = p["csram.clock_ghz"] * 1e9
    n_arr = p["llc.slices"] * p["csram.arrays_per_slice"]
    lanes = n_arr * p["csram.cols"]
    entry_bits, epr, k_groups, acc_bits = lut_geometry(p, m, k, w_bits, a_bits)
    groups = m * k_groups
    zero_frac, hit_frac = prt
    ops = sail_layer_ops(m, k_groups * n_bw, n_bw, a_bits, batch, zero_frac, hit_frac)
    # Table construction: opcount's incremental subset sums, bit-serial over every bit line.
    build_adds = ops["table_build_adds"]
    build_s = np.ceil(build_adds / lanes) * profiles.add_cycles(profile, entry_bits) / f
    # Lookups: opcount's B * a * M * K/n_bw entry lookups, entries_per_row of them per row read.
    blocks = np.ceil(m / epr) * k_groups  # independent (row slab, j) table blocks
    n_eff = np.minimum(n_arr, blocks)  # tensor-level scheduling: a small layer cannot fill every array
    # One row read serves a slab of entries_per_row output rows: row counts = entry counts / M * slabs.
    slabs_per_row = np.ceil(m / epr) / m
    row_reads = ops["lookups"] * slabs_per_row
    reads_left = ops["sram_reads"] * slabs_per_row  # PRT hits and zero skips skip the SRAM read
    accs_left = ops["accumulates"] * slabs_per_row  # SHORTCUT(prt-hit): a hit still pays its accumulate
    lookup_s = reads_left * p["csram.read_cycles"] / n_eff / f
    if acc_style == "near_array":
        acc_s = accs_left * p["csram.accumulate_cycles"] / n_eff / f
    else:  # one bit-serial add of acc_bits per looked-up row (all its entries in parallel on the bit lines)
        acc_s = accs_left * profiles.add_cycles(profile, acc_bits) / n_eff / f
    ovl = p["csram.overlap_read_accumulate"]
    acc_exposed = ovl * np.maximum(acc_s - lookup_s, 0.0) + (1 - ovl) * acc_s
    # Type conversion: quantise B x K activations in, dequantise B x M accumulators out.
    elems = batch * (k + m)
    inmem = p["csram.in_memory_conversion"]
    conv_mem_s = np.ceil(elems / lanes) * profiles.convert_cycles(profile, a_bits) / f
    conv_cpu_s = _cpu_convert_s(p, elems)
    conv_s = inmem * conv_mem_s + (1 - inmem) * conv_cpu_s
    compute_s = build_s + lookup_s + acc_exposed + inmem * conv_mem_s
    wbytes = _weight_bytes(p, m, k, w_bits, group_size)
    dram_s = wbytes / (p["memory.dram_bw_gbps"] * 1e9 * p["memory.dram_efficiency"])
    ovl_lc = p["csram.overlap_load_compute"]
    gemv = ovl_lc * np.maximum(dram_s, compute_s) + (1 - ovl_lc) * (dram_s + compute_s)
    out_bytes = inmem * 4.0 + (1 - inmem) * np.ceil(acc_bits / 8.0)
    noc_s, noc_bytes = _noc_s(p, m, k, batch, a_bits, out_bytes)
    table_bits = groups * 2.0**n_bw * entry_bits
    passes = np.ceil(table_bits / (n_arr * p["csram.rows"] * p["csram.cols"]))
    return dict(
        dram_bytes=wbytes + 0 * gemv,
        weight_bytes=wbytes + 0 * gemv,
        mem_s=dram_s + 0 * gemv,
        cmp_s=compute_s + noc_s + (1 - inmem) * conv_cpu_s,
        table_build_s=build_s + 0 * gemv,
        lookup_s=lookup_s + 0 * gemv,
        accumulate_s=acc_exposed + 0 * gemv,
        convert_s=conv_s + 0 * gemv,
        dram_s=gemv - compute_s,
        noc_s=noc_s + 0 * gemv,
        noc_bytes=noc_bytes + 0 * gemv,
        csram_passes=passes + 0 * gemv,
        compute_cycles=(build_s + lookup_s + acc_exposed) * f,
        row_reads=row_reads + 0 * gemv,
        reads_left=reads_left + 0 * gemv,
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
    "cpu": _gemv_cpu,
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
    group_size=128,
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

    The "computation cycles" the paper's PRT claim (-13.8 %) refers to; DRAM, NoC and conversion excluded.
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
        128,
        (np.asarray(zero_frac, float), np.asarray(hit_frac, float)),
    )
    f = p["csram.clock_ghz"] * 1e9
    return {
        "cycles": g["compute_cycles"],
        "table_build_cycles": g["table_build_s"] * f,
        "lookup_cycles": g["lookup_s"] * f,
        "accumulate_cycles": g["accumulate_s"] * f,
        "row_reads": g["row_reads"],
        "sram_reads": g["reads_left"],
    }
