"""The CPU model against llama.cpp on this host: fit DRAM efficiency, kernel efficiency per weight type
and unpack reuse on half of the points, predict the other half, report MAPE (uPIMulator-style).

Two sets are fitted separately because they are different kernels: the main grid (llama.cpp's generic
vec_dot path, ``repack`` false) and the runs with llama.cpp's repacked weights (its GEMM path), whose
unpack reuse is the software property carried to the Graviton2 baselines. The real SmolLM2 file is
only predicted (with the main fit), never fitted."""

import pandas as pd

from sail.io import log, log_to, read_table, write_report_table, write_table
from sail.sim import load_hw
from sail.sim.validation import fit, mape_summary, split_half, validation_table

with log_to(snakemake.log[0]):
    hw = load_hw(snakemake.input.hw)
    measured = read_table(snakemake.input.decode)
    geo = measured.model == "llama2-7b-geometry"
    tables, fits = [], []
    main = measured[geo & ~measured.repack.astype(bool)].reset_index(drop=True)
    train = split_half(main)
    values, fit_table = fit(hw, main, train)
    log.info("main fit on %d of %d points: %s", train.sum(), len(main), values)
    tables.append(validation_table(hw, main, values, train).assign(fit_set="no repack"))
    fits.append(fit_table.assign(fit_set="no repack (generic vec_dot)"))
    rep = measured[geo & measured.repack.astype(bool)].reset_index(drop=True)
    if len(rep):  # llama.cpp's repacked GEMM path: its own kernel efficiency and unpack reuse
        tr = split_half(rep)
        fixed = {"memory.dram_efficiency": values["memory.dram_efficiency"]}
        v2, f2 = fit(hw, rep, tr, fixed=fixed)
        log.info("repacked fit on %d of %d points: %s", tr.sum(), len(rep), v2)
        tables.append(validation_table(hw, rep, v2, tr).assign(fit_set="repacked"))
        fits.append(f2.assign(fit_set="repacked (CPU_REPACK GEMM)"))
    other = measured[~geo].reset_index(drop=True)
    if len(other):  # the real SmolLM2 file: predicted with the main fit, never fitted
        t2 = validation_table(hw, other, values, [False] * len(other))
        tables.append(t2.assign(split="real-model check", fit_set="no repack"))
    table = pd.concat(tables, ignore_index=True)
    summary = pd.concat([mape_summary(t).assign(fit_set=t.fit_set.iloc[0]) for t in tables], ignore_index=True)
    log.info("MAPE:\n%s", summary.to_string())
    write_table(table, snakemake.output.table)
    write_table(summary, snakemake.output.summary)
    fit_table = pd.concat(fits, ignore_index=True)
    fit_table.insert(0, "host", str(measured.cpu_model.iloc[0]))
    fit_table["llamacpp_commit"] = str(measured.llamacpp_commit.iloc[0])
    write_table(fit_table, snakemake.output.fit)
    write_report_table(fit_table, {"md": snakemake.output.fit_md},
                       caption="CPU-model parameters fitted to llama.cpp decode on this host (half of the points).")
