"""Predicted vs measured: the CPU model, through the x86 description of this machine, against the kernels
stage's own measurements (``results/<exp>/kernels/bench.csv``). uPIMulator-style error reporting."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sail.sim.engine import CPU_MODELLED_W_BITS, _gemv_cpu
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
    hw: HwConfig, bench: pd.DataFrame, kernel_match: str = "dequant", group_size: int = 128
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
    g = _gemv_cpu(
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
