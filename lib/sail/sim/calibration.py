"""Predicted vs measured: the CPU model, through the x86 description of this machine, against the kernels
stage's own measurements (``results/<exp>/kernels/bench.csv``). uPIMulator-style error reporting."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sail.contracts import DEFAULT_GROUP_SIZE
from sail.sim.engine import CPU_MODELLED_W_BITS, gemv_cpu
from sail.sim.hw import HwConfig

BENCH_COLUMNS = [
    "kernel",
    "m",
    "k",
    "w_bits",
    "a_bits",
    "n_bw",
    "batch",
    "threads",
    "reps",
    "median_s",
    "q25_s",
    "q75_s",
    "weight_bytes",
    "dram_read_gbps",
    "roofline_fraction",
]


def cpu_predicted_vs_measured(
    hw: HwConfig, bench: pd.DataFrame, kernel_match: str = "dequant", group_size: int = DEFAULT_GROUP_SIZE
) -> pd.DataFrame:
    """Predict every ``kernel_match`` row of the bench table with the CPU GEMV model of ``hw``.

    The DRAM bandwidth is the best ``dram_read_gbps`` any kernel reached in the same table (the machine's
    demonstrated streaming bandwidth), ``cpu.cores`` is the row's thread count. Returns the rows with
    ``predicted_s``, ``measured_s`` and ``error_pct`` (predicted/measured - 1). Rows at weight widths
    the CPU model has no unpack cost for (e.g. 1 bit) are left out, not extrapolated.
    """
    missing = [c for c in BENCH_COLUMNS if c not in bench.columns]
    if missing:
        raise ValueError(f"bench table is missing columns {missing}")
    if hw.system != "cpu":
        raise ValueError(f"calibration needs a cpu description, got {hw.system!r}")
    rows = (
        bench[bench.kernel.str.contains(kernel_match) & bench.w_bits.isin(CPU_MODELLED_W_BITS)]
        .sort_values(["kernel", "m", "k", "w_bits", "batch", "threads"])
        .reset_index(drop=True)
    )
    if rows.empty:
        raise ValueError(
            f"no bench rows whose kernel contains {kernel_match!r}; kernels: {sorted(bench.kernel.unique())}"
        )
    p = hw.values()
    p["memory.dram_bw_gbps"] = float(bench.dram_read_gbps.max())
    p["memory.dram_efficiency"] = 1.0
    p["cpu.cores"] = rows.threads.to_numpy(float)
    opts = {k: v.value for k, v in hw.options.items()}
    g = gemv_cpu(
        p,
        opts,
        rows.m.to_numpy(float),
        rows.k.to_numpy(float),
        rows.w_bits.to_numpy(float),
        rows.a_bits.to_numpy(float),
        rows.batch.to_numpy(float),
        group_size,
        None,
    )
    pred = g["dram_s"] + g["cpu_gemv_s"] + g["convert_s"]
    out = rows[["kernel", "m", "k", "w_bits", "a_bits", "batch", "threads"]].copy()
    out["measured_s"] = rows.median_s.to_numpy()
    out["predicted_s"] = pred
    out["bound"] = np.where(g["dram_s"] > 0, "memory", "compute")
    out["error_pct"] = 100.0 * (out.predicted_s / out.measured_s - 1.0)
    return out


def error_summary(table: pd.DataFrame) -> dict:
    """MAE of |error| in %, R^2 of log times, and the number of points (uPIMulator's way of reporting)."""
    e = table.error_pct.to_numpy()
    lm, lp = np.log(table.measured_s.to_numpy()), np.log(table.predicted_s.to_numpy())
    ss_res, ss_tot = float(((lm - lp) ** 2).sum()), float(((lm - lm.mean()) ** 2).sum())
    return {
        "n_points": int(len(e)),
        "mae_pct": float(np.abs(e).mean()),
        "r2_log": float(1 - ss_res / ss_tot) if ss_tot > 0 else float("nan"),
    }


# ---- published decode measurements (data/calibration/published_decode.csv) ----------------------------
PUBLISHED_COLUMNS = [
    "row_id",
    "system",
    "hw_description",
    "model",
    "quant_type",
    "w_bits",
    "a_bits",
    "batch",
    "threads",
    "context",
    "tokens_per_s",
    "source_url",
    "note",
]
# llama.cpp block formats: (code bits, weights per block, bytes of per-block scale/min). Effective bits per
# weight = code bits + 8 * bytes / block (Q4_0: 4 + 8*2/32 = 4.5). Q4_0_8_8 / Q4_0_4_8 are Q4_0 blocks
# interleaved for the Arm i8mm kernels: same bytes, different kernel.
LLAMA_CPP_FORMATS = {
    "Q4_0": (4, 32, 2),
    "Q4_0_4_4": (4, 32, 2),
    "Q4_0_4_8": (4, 32, 2),
    "Q4_0_8_8": (4, 32, 2),
    "Q4_1": (4, 32, 4),
    # Q4_K: 256-weight super-blocks of 8 x 32, 6-bit scale and min per 32 (12 B) plus fp16 d, dmin (4 B) =
    # 144 B / 256 weights = 2 B of scales per 32 weights. Q4_K_4 is Ampere's 4-row interleave of Q4_K.
    "Q4_K": (4, 32, 2),
    "Q4_K_4": (4, 32, 2),
    "Q8_0": (8, 32, 2),
    "F16": (16, 32, 0),  # no block scales; the block size is irrelevant
}


# The efficiency parameters a memory-bound / compute-bound measurement constrains, per cost model.
BW_KEY = {"cpu": "memory.dram_efficiency", "gpu": "gpu.bw_efficiency"}
KERNEL_KEY = {"cpu": "cpu.kernel_efficiency", "gpu": "gpu.compute_efficiency"}


def effective_bits(quant_type: str) -> float:
    """Bits per weight, codes plus block scales, of a llama.cpp block format (``Q4_0`` -> 4.5)."""
    try:
        bits, block, scale_bytes = LLAMA_CPP_FORMATS[quant_type]
    except KeyError:
        raise ValueError(f"unknown quant_type {quant_type!r}; known: {sorted(LLAMA_CPP_FORMATS)}") from None
    return bits + 8.0 * scale_bytes / block


def validate_published(table: pd.DataFrame) -> None:
    """Raise ``ValueError`` naming the row and column of any malformed published measurement."""
    missing = [c for c in PUBLISHED_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"published table is missing columns {missing}")
    if table.row_id.duplicated().any():
        raise ValueError(f"duplicate row_id {sorted(table.row_id[table.row_id.duplicated()])}")
    for _, r in table.iterrows():
        if not str(r.source_url).startswith("https://"):
            raise ValueError(f"row {r.row_id}: source_url {r.source_url!r} is not an https URL")
        for col in ("w_bits", "a_bits", "batch", "threads", "tokens_per_s"):
            if not float(r[col]) > 0:
                raise ValueError(f"row {r.row_id}: {col} must be positive, got {r[col]!r}")
        if float(r.context) < 0:
            raise ValueError(f"row {r.row_id}: context must be >= 0, got {r.context!r}")
        if abs(effective_bits(r.quant_type) - float(r.w_bits)) > 1e-9:
            raise ValueError(
                f"row {r.row_id}: w_bits {r.w_bits} != {effective_bits(r.quant_type)} "
                f"bits/weight of {r.quant_type}"
            )


def published_predicted_vs_measured(table: pd.DataFrame, hw_dir) -> pd.DataFrame:
    """Predict every published decode measurement with the simulator; measured vs predicted tokens/s.

    Each row runs the description ``<hw_dir>/<hw_description>.yaml`` with ``cpu.cores`` set to the run's
    thread count (CPU rows), the row's llama.cpp block format mapped onto the simulator's weight format
    (code bits ``w_bits``, ``group_size`` = block size, ``memory.scale_zero_bytes_per_group`` = the block's
    scale bytes) and ``context`` = the mean KV length of the run. Returns one row per measurement with
    ``predicted_tokens_per_s``, ``error_pct`` (predicted/measured - 1), the predicted bound, and the
    parameter values the measurement implies if everything else in the model is right:
    ``implied_bw_efficiency`` (memory-bound rows: the value of ``bw_key`` that stretches the GEMVs'
    streaming time to the measured step, attention and elementwise work held fixed) and
    ``implied_kernel_efficiency`` (compute-bound rows, likewise for ``kernel_key`` and GEMV compute).
    """
    from pathlib import Path

    from sail.sim.api import simulate
    from sail.sim.hw import load_hw

    validate_published(table)
    out = []
    for _, r in table.sort_values("row_id").iterrows():
        hw = load_hw(Path(hw_dir) / f"{r.hw_description}.yaml")
        if hw.system not in BW_KEY:
            raise ValueError(
                f"row {r.row_id}: {r.hw_description} is a {hw.system!r} description; need cpu or gpu"
            )
        if hw.system != r.system:
            raise ValueError(f"row {r.row_id}: system {r.system!r} but {r.hw_description} is {hw.system!r}")
        bits, block, scale_bytes = LLAMA_CPP_FORMATS[r.quant_type]
        overrides = {"memory.scale_zero_bytes_per_group": float(scale_bytes)}
        if hw.system == "cpu":
            overrides["cpu.cores"] = float(r.threads)
        res = simulate(
            hw,
            r.model,
            int(bits),
            int(r.a_bits),
            int(r.batch),
            int(r.context),
            overrides=overrides,
            group_size=int(block),
        )
        b = res.breakdown_s
        measured_step = float(r.batch) / float(r.tokens_per_s)
        gemv_cmp = b["cpu_gemv_s"] + b["gpu_gemv_s"]
        mem_bound = b["dram_s"] > 0
        rest = res.step_s - b["dram_s"] - gemv_cmp  # attention, elementwise, conversion
        row = {
            "row_id": r.row_id,
            "system": r.system,
            "hw_description": r.hw_description,
            "model": r.model,
            "quant_type": r.quant_type,
            "w_bits": float(r.w_bits),
            "batch": int(r.batch),
            "threads": int(r.threads),
            "measured_tokens_per_s": float(r.tokens_per_s),
            "predicted_tokens_per_s": res.tokens_per_s,
            "memory_bound_tokens_per_s": res.memory_bound_tokens_per_s,
            "compute_bound_tokens_per_s": res.compute_bound_tokens_per_s,
            "error_pct": 100.0 * (res.tokens_per_s / float(r.tokens_per_s) - 1.0),
            "bound": "memory" if mem_bound else "compute",
            "bw_key": BW_KEY[hw.system],
            "implied_bw_efficiency": float("nan"),
            "kernel_key": KERNEL_KEY[hw.system],
            "implied_kernel_efficiency": float("nan"),
        }
        target = measured_step - rest  # time the GEMVs must take for the prediction to match
        if target > 0:
            gemv_s = b["dram_s"] + gemv_cmp
            if mem_bound:
                row["implied_bw_efficiency"] = hw.value(BW_KEY[hw.system]) * gemv_s / target
            else:
                row["implied_kernel_efficiency"] = hw.value(KERNEL_KEY[hw.system]) * gemv_cmp / target
        out.append(row)
    return pd.DataFrame(out)
