"""Exactness grid of the weight-LUT and the arbitrary_precision claim row."""

from sail.claims import write_claim
from sail.io import log_to, set_threads, write_table

with log_to(snakemake.log[0]) as log:
    set_threads(snakemake.threads)
    from sail.kernels.exactness import arbitrary_precision_claim, exactness_grid

    p = snakemake.params.exactness
    grid = exactness_grid(p["w_bits"], p["a_bits"], p["n_bw"], p["m"], p["k"], p["batch"], snakemake.params.seed)
    write_table(grid, snakemake.output.grid)
    claim = arbitrary_precision_claim(grid)
    log.info("arbitrary_precision: %s (%s)", claim.our_value, claim.verdict)
    write_claim(claim, snakemake.output.claim)
