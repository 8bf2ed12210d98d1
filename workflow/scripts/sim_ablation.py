"""SAIL with PRT / in-memory conversion / batching removed (fig09)."""

from sail.io import log_to, read_table, write_table
from sail.sim import load_hw
from sail.sim.experiments import ablation_table

with log_to(snakemake.log[0]):
    pa = snakemake.params
    df = ablation_table(
        load_hw(snakemake.input.hw), pa.workload, pa.batches, read_table(snakemake.input.prt), pa.group_size
    )
    write_table(df, snakemake.output[0])
