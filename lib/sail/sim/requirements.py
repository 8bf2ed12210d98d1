"""What each system's cost model reads from a hardware description (``config/hw/*.yaml``).

Kept apart from the cost model (:mod:`sail.sim.engine`) so that :mod:`sail.sim.hw` can check a
description's completeness when it loads it without importing the model (no import cycle). A new
parameter a cost model reads goes into :data:`REQUIRED` here and, with its range, into
``workflow/schemas/hw.schema.yaml``.
"""

from __future__ import annotations

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
        "csram.write_cycles",
        "csram.accumulate_cycles",
        "csram.overlap_read_accumulate",
        "csram.overlap_load_compute",
        "csram.in_memory_conversion",
        "dfm.prt_entries",
        "dfm.prt_entry_bits",
        "dfm.acc_lanes",
        "dfm.acc_tokens",
        "dfm.acc_bits",
        "op_profile",
        "accumulate_style",
        "prt_scope",
        "table_build",
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
POSITIVE_SUFFIXES = (
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
    "acc_lanes",
    "acc_tokens",
    "acc_bits",
    "prt_entries",
)


def required_keys(system: str) -> list[str]:
    return list(REQUIRED[system])
