"""Energy per decode step and per token of the systems with an energy model (energy.csv, sail.sim.energy)."""

from sail.io import log, log_to, read_table, write_table
from sail.sim import load_hw
from sail.sim.energy import energy_table
from sail.sim.experiments import workload_grid

with log_to(snakemake.log[0]):
    pa = snakemake.params
    hws = [load_hw(p) for p in snakemake.input.hw]
    grid = workload_grid(pa.models, pa.w_bits, pa.a_bits, pa.batches, pa.contexts)
    table = energy_table(hws, grid, read_table(snakemake.input.prt), pa.group_size)
    log.info("energy: %d rows for %s", len(table), sorted(table.hw.unique()))
    write_table(table, snakemake.output[0])
