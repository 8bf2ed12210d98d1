"""Prefill, time to first token and whole-request time and energy per prompt:generation mix (request.csv)."""

from sail.io import log, log_to, read_table, write_table
from sail.sim import load_hw
from sail.sim.experiments import workload_grid
from sail.sim.prefill import request_table

with log_to(snakemake.log[0]):
    pa = snakemake.params
    hws = [load_hw(p) for p in snakemake.input.hw]
    grid = workload_grid(pa.models, pa.w_bits, pa.a_bits, pa.batches, [0])
    table = request_table(hws, grid, pa.mixes, read_table(snakemake.input.prt), pa.group_size)
    log.info("requests: %d rows, mixes %s", len(table), pa.mixes)
    write_table(table, snakemake.output[0])
