"""The sim stage's tables: tab01_hardware, tab02_workloads, tab05_area (+ claim area_overhead), type conversion."""

import pandas as pd

from sail.claims import write_claim
from sail.io import log_to, report_table_paths, write_report_table, write_table
from sail.sim import load_hw
from sail.sim.area import area_breakdown, overhead_pct
from sail.sim.experiments import area_claim, hardware_table, type_conversion_table, workloads_table

with log_to(snakemake.log[0]):
    pa = snakemake.params
    out = snakemake.output
    paths = report_table_paths(out)
    if pa.table == "tab01_hardware":
        df = hardware_table([load_hw(p) for p in snakemake.input.hw])
        write_report_table(
            df,
            paths,
            caption="Simulated hardware; every parameter with its source "
            "(inherited parameters are listed under the base description).",
            split_by="hw",  # one LaTeX float per hardware description: 77 rows do not fit one page
        )
    elif pa.table == "tab02_workloads":
        df = workloads_table(pa.models, pa.w_bits, pa.a_bits, pa.batches, pa.contexts, pa.group_size)
        write_report_table(
            df, paths, caption="Decode workloads: GEMV shapes per model, bit widths, batches, contexts."
        )
    elif pa.table == "tab05_area":
        sail = load_hw(snakemake.input.hw)
        write_report_table(
            area_breakdown(sail), paths, caption="SAIL area from CACTI 22 nm array numbers vs the LLC."
        )
        write_claim(area_claim(sail), out.claim)
        # The cost stage prices SAIL as the CPU instance x (1 + overhead_fraction).
        write_table(pd.DataFrame([{"component": "total", "overhead_fraction": overhead_pct(sail) / 100}]), out.area)
    elif pa.table == "type_conversion":
        write_table(type_conversion_table(load_hw(snakemake.input.hw)), out[0])
    else:
        raise ValueError(f"unknown table {pa.table!r}")
