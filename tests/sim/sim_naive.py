"""Slow, obvious twins of the simulator's vectorised formulas (stumpy-style): plain loops over layers,
op counts from sail.sim.opcount, one scalar at a time."""

import math

from sail.sim import get_model, profiles


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
    """SAIL decode step with no PRT, near-array accumulate, in-memory conversion, load/compute overlap:
    the critical array's command stream of sail.sim.mapping, one layer and one scalar at a time."""
    p = hw.values()
    prof = hw.option("op_profile")
    assert hw.option("accumulate_style") == "near_array"
    assert p["csram.overlap_load_compute"] == 1 and p["csram.in_memory_conversion"] == 1
    assert p["csram.overlap_read_accumulate"] == 0 and hw.option("table_build") == "bit_parallel"
    spec = get_model(model)
    f = p["csram.clock_ghz"] * 1e9
    n_bw = int(p["csram.n_bw"])
    n_arr = int(p["llc.slices"] * p["csram.arrays_per_slice"])
    cols, rows = int(p["csram.cols"]), int(p["csram.rows"])
    rd, wr, accc = p["csram.read_cycles"], p["csram.write_cycles"], p["csram.accumulate_cycles"]
    lanes, acc_bits = int(p["dfm.acc_lanes"]), int(p["dfm.acc_bits"])
    total = _host(p, spec, batch, context)
    for _, m, k, count in spec.gemv_layers():
        entry_bits = math.ceil(math.log2(n_bw * (2**w_bits - 1) + 1))
        epr = cols // entry_bits
        slabs, groups = math.ceil(m / epr), math.ceil(k / n_bw)
        blocks = slabs * groups
        q = math.ceil(blocks / n_arr)  # blocks on the busiest array
        busy = math.ceil(blocks / q)
        rounds = math.ceil(q / (rows // 2**n_bw))
        tpp = min(batch, int(p["dfm.acc_tokens"]) * lanes // epr)
        passes = math.ceil(batch / tpp)
        add = math.ceil(epr / lanes) * accc
        build = q * ((n_bw + 1) * wr + (2**n_bw - n_bw - 1) * (2 * rd + add + wr))
        lookups = q * batch * a_bits
        spill = (rounds - 1) * passes * 2 * math.ceil(tpp * epr * acc_bits / cols) if passes > 1 else 0
        contributors = min(math.ceil((groups + q - math.gcd(groups, q)) / q), busy)
        transfer = math.ceil(epr * acc_bits / 8 / p["noc.link_bytes_per_cycle"]) * p["csram.clock_ghz"] / p[
            "noc.clock_ghz"
        ]
        reduce = math.ceil(math.log2(contributors)) * batch * (add + transfer)
        conv_cycles = profiles.convert_cycles(prof, a_bits)
        conv = (
            math.ceil(batch * k / (busy * cols)) + math.ceil(math.ceil(q / groups) * batch * epr / cols)
        ) * conv_cycles
        compute = (build + lookups * (rd + add) + spill + reduce + conv) / f
        wbytes = m * k * w_bits / 8 + m * math.ceil(k / group_size) * p["memory.scale_zero_bytes_per_group"]
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
            wbytes = m * k * w_bits / 8 + m * math.ceil(k / group_size) * p["memory.scale_zero_bytes_per_group"]
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
