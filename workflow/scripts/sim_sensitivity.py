"""Sensitivity grid at the best default workload (fig11), the >= 10,000-point benchmark, claim speedup_cpu."""

import dataclasses
import os

from sail.claims import write_claim
from sail.io import log, log_to, read_table, set_threads, write_table
from sail.sim import load_hw
from sail.sim.experiments import (
    baseline_range,
    benchmark_row,
    best_workload,
    range_sentence,
    region_table,
    sensitivity_grid,
    speedup_claim,
)

with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    pa = snakemake.params
    sail, cpu = load_hw(snakemake.input.sail), load_hw(snakemake.input.cpu)
    speedup = read_table(snakemake.input.speedup)
    workload = best_workload(speedup)
    log.info("sensitivity at the best default workload %s", workload)
    sens, seconds = sensitivity_grid(
        sail, cpu, workload, pa.batches, pa.contexts, pa.axes, read_table(snakemake.input.prt), pa.group_size
    )
    log.info("%d SAIL points in %.2f s", len(sens), seconds)
    region = region_table(sens, pa.axes)
    write_table(sens, snakemake.output.sensitivity)
    write_table(region, snakemake.output.region)
    write_table(
        benchmark_row(len(sens), seconds, snakemake.threads).assign(cpu_count=os.cpu_count()),
        snakemake.output.benchmark,
    )
    defaults = {k: (sail.options[k].value if k in sail.options else sail.value(k)) for k in pa.axes}
    claim = speedup_claim(speedup, sens, region, pa.axes, defaults)
    # The headline as a range over the CPU baselines (sail.sim.experiments.baseline_speedups).
    span = range_sentence(baseline_range(read_table(snakemake.input.baselines)), "speedup_vs_cpu")
    claim = dataclasses.replace(claim, why=f"{claim.why}. {span}")
    log.info("speedup_cpu: %s (%s) %s", claim.our_value, claim.verdict, claim.why)
    write_claim(claim, snakemake.output.claim)
