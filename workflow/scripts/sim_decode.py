"""Whole-model decode sweep of every hardware description: decode.csv and speedup.csv (sail.sim)."""

from sail.io import log, log_to, read_table, set_threads, write_table
from sail.sim import load_hw
from sail.sim.experiments import baseline_speedups, decode_table, infeasible_table, speedup_table, workload_grid

with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    pa = snakemake.params
    hws = [load_hw(p) for p in snakemake.input.hw]
    prt = read_table(snakemake.input.prt)
    grid = workload_grid(pa.models, pa.w_bits, pa.a_bits, pa.batches, pa.contexts)
    log.info("decode sweep: %d workload points x %d systems", len(grid), len(hws))
    decode = decode_table(hws, grid, prt, pa.group_size)
    write_table(decode, snakemake.output.decode)
    write_table(speedup_table(decode, base_hw=pa.cpu_hw), snakemake.output.speedup)
    write_table(baseline_speedups(decode, pa.sail_hw, dict(pa.cpu_baselines)), snakemake.output.baselines)
    infeasible = infeasible_table(hws, grid, pa.group_size)
    log.info("%d configurations fit in no memory their system offers", len(infeasible))
    write_table(infeasible, snakemake.output.infeasible)
