"""The CPU model against llama.cpp on this host: fit DRAM efficiency, kernel efficiency per weight type
and unpack reuse on half of the points, predict the other half, report MAPE (uPIMulator-style)."""

import pandas as pd

from sail.io import log, log_to, read_table, write_report_table, write_table
from sail.sim import load_hw
from sail.sim.validation import fit, mape_summary, split_half, validation_table

with log_to(snakemake.log[0]):
    hw = load_hw(snakemake.input.hw)
    measured = read_table(snakemake.input.decode)
    main = measured[measured.model == "llama2-7b-geometry"].reset_index(drop=True)
    train = split_half(main)
    values, fit_table = fit(hw, main, train)
    log.info("fitted on %d of %d points: %s", train.sum(), len(main), values)
    table = validation_table(hw, main, values, train)
    other = measured[measured.model != "llama2-7b-geometry"].reset_index(drop=True)
    if len(other):  # the real SmolLM2 file: predicted with the fitted values, never fitted
        t2 = validation_table(hw, other, values, [False] * len(other))
        t2["split"] = "real-model check"
        table = pd.concat([table, t2], ignore_index=True)
    summary = mape_summary(table)
    log.info("MAPE:\n%s", summary.to_string())
    write_table(table, snakemake.output.table)
    write_table(summary, snakemake.output.summary)
    fit_table.insert(0, "host", str(measured.cpu_model.iloc[0]))
    fit_table["llamacpp_commit"] = str(measured.llamacpp_commit.iloc[0])
    write_table(fit_table, snakemake.output.fit)
    write_report_table(fit_table, {"md": snakemake.output.fit_md},
                       caption="CPU-model parameters fitted to llama.cpp decode on this host (half of the points).")
