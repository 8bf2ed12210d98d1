"""Slow, obvious twins of the simulator's vectorised formulas (stumpy-style): plain loops over layers,
op counts from sail.sim.opcount, one scalar at a time."""

import math

from sail.sim import get_model, profiles
from sail.sim.opcount import lut_gemv


def _host(p, spec, batch, context):
    vec = (
        p["cpu.cores"] * p["cpu.fp32_flops_per_cycle"] * p["cpu.clock_ghz"] * 1e9 * p["cpu.vector_efficiency"]
    )
    bw = p["memory.dram_bw_gbps"] * 1e9 * p["memory.dram_efficiency"]
    attention = other = 0.0
    for _ in range(spec.n_layers):
        kv = batch * 2 * spec.n_kv_heads * spec.head_dim * context * p["memory.kv_bytes_per_element"]
        flops = batch * (4 * spec.n_heads * spec.head_dim * context + 5 * spec.n_heads * context)
        attention += max(kv / bw, flops / vec)
        other += (
            batch
            * (
                spec.dim * p["cpu.elementwise_flops_per_hidden"]
                + spec.ffn_dim * p["cpu.elementwise_flops_per_ffn"]
            )
            / vec
        )
    return attention + other


def sail_step_s(hw, model, w_bits, a_bits, batch, context, group_size=128):
    """SAIL decode step with no PRT, near-array accumulate, in-memory conversion, load/compute overlap."""
    p = hw.values()
    prof = hw.option("op_profile")
    assert hw.option("accumulate_style") == "near_array"
    assert p["csram.overlap_load_compute"] == 1 and p["csram.in_memory_conversion"] == 1
    spec = get_model(model)
    f = p["csram.clock_ghz"] * 1e9
    n_bw = int(p["csram.n_bw"])
    n_arr = p["llc.slices"] * p["csram.arrays_per_slice"]
    cols = p["csram.cols"]
    total = _host(p, spec, batch, context)
    for _, m, k, count in spec.gemv_layers():
        ops = lut_gemv(m, k, n_bw, a_bits, batch)
        entry_bits = math.ceil(math.log2(n_bw * (2**w_bits - 1) + 1))
        epr = cols // entry_bits
        row_reads = ops.lookups / m * math.ceil(m / epr)  # one row read serves epr output rows
        arrays = min(n_arr, math.ceil(m / epr) * (k // n_bw))
        build = math.ceil(ops.table_build_adds / (n_arr * cols)) * profiles.add_cycles(prof, entry_bits)
        lookup = row_reads * p["csram.read_cycles"] / arrays
        acc = row_reads * p["csram.accumulate_cycles"] / arrays
        conv = math.ceil(batch * (k + m) / (n_arr * cols)) * profiles.convert_cycles(prof, a_bits)
        compute = (build + lookup + acc + conv) / f
        wbytes = m * k * w_bits / 8 + m * k / group_size * p["memory.scale_zero_bytes_per_group"]
        dram = wbytes / (p["memory.dram_bw_gbps"] * 1e9 * p["memory.dram_efficiency"])
        link = p["noc.link_bytes_per_cycle"] * p["noc.clock_ghz"] * 1e9
        noc = (
            (batch * k * a_bits / 8) / link
            + batch * m * 4 / (link * p["llc.slices"])
            + 2 * p["noc.diameter_hops"] * p["noc.hop_latency_cycles"] / (p["noc.clock_ghz"] * 1e9)
        )
        total += count * (max(dram, compute) + noc)
    return total


def cpu_step_s(hw, model, w_bits, a_bits, batch, context, group_size=128):
    p = hw.values()
    spec = get_model(model)
    total = _host(p, spec, batch, context)
    peak = p["cpu.cores"] * p["cpu.clock_ghz"] * 1e9 * p["cpu.kernel_efficiency"]
    unpack = p[f"cpu.unpack_cycles_per_weight_w{w_bits}"]
    for _, m, k, count in spec.gemv_layers():
        for _ in range(count):
            wbytes = m * k * w_bits / 8 + m * k / group_size * p["memory.scale_zero_bytes_per_group"]
            dram = wbytes / (p["memory.dram_bw_gbps"] * 1e9 * p["memory.dram_efficiency"])
            cycles = 0.0
            reuse = int(p["cpu.weight_unpack_reuse_tokens"])
            for tok in range(batch):  # a weight is unpacked again at every reuse-th token
                cycles += m * k * (1 / p["cpu.int8_macs_per_cycle"] + p["cpu.scale_cycles_per_weight"])
                if tok % reuse == 0:
                    cycles += m * k * unpack
            conv = (
                batch * k * p["cpu.convert_cycles_per_element"] / (p["cpu.cores"] * p["cpu.clock_ghz"] * 1e9)
            )
            total += max(dram, cycles / peak) + conv
    return total
