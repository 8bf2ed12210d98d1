"""CPU model vs our own kernel measurements through the x86 description of this machine."""

from sail.io import log, log_to, read_table, write_report_table, write_table
from sail.sim import load_hw
from sail.sim.calibration import cpu_predicted_vs_measured, error_summary

with log_to(snakemake.log[0]):
    table = cpu_predicted_vs_measured(load_hw(snakemake.input.hw), read_table(snakemake.input.bench))
    summary = error_summary(table)
    log.info("CPU model vs measured: %s", summary)
    write_report_table(
        table,
        {"csv": snakemake.output.table, "md": snakemake.output.md},
        caption=f"CPU GEMV model vs measured dequant kernel: MAE {summary['mae_pct']:.1f} %, "
        f"R^2(log) {summary['r2_log']:.3f}, {summary['n_points']} points",
    )
    import pandas as pd

    write_table(pd.DataFrame([summary]), snakemake.output.summary)
