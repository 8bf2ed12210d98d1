"""Simulator vs published llama.cpp decode rates: data/calibration/published_decode.csv (sail.sim)."""

from pathlib import Path

import pandas as pd

from sail.io import log, log_to, read_table, write_report_table, write_table
from sail.sim.calibration import published_predicted_vs_measured

with log_to(snakemake.log[0]):
    table = published_predicted_vs_measured(
        read_table(snakemake.input.published), Path(snakemake.input.hw[0]).parent
    )
    for system, g in table.groupby("system"):
        log.info(
            "%s: %d published points, |error| %.1f-%.1f %%, implied bw efficiency %s",
            system,
            len(g),
            g.error_pct.abs().min(),
            g.error_pct.abs().max(),
            sorted(g.implied_bw_efficiency.dropna().round(2).tolist()),
        )
    write_report_table(
        table,
        {"csv": snakemake.output.table, "md": snakemake.output.md},
        caption="Simulator vs published llama.cpp decode tokens/s (Graviton3/4, Altra Max, V100); "
        "error = predicted/measured - 1; implied_* = the efficiency the measurement implies",
    )
    summary = (
        table.assign(abs_error_pct=table.error_pct.abs())
        .groupby(["system", "hw_description"], as_index=False)
        .agg(
            n_points=("row_id", "size"),
            mae_pct=("abs_error_pct", "mean"),
            implied_bw_efficiency_min=("implied_bw_efficiency", "min"),
            implied_bw_efficiency_max=("implied_bw_efficiency", "max"),
            implied_kernel_efficiency_min=("implied_kernel_efficiency", "min"),
            implied_kernel_efficiency_max=("implied_kernel_efficiency", "max"),
        )
    )
    write_table(pd.DataFrame(summary), snakemake.output.summary)
