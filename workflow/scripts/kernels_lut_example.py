"""The tiny worked LUT-GEMV example drawn by fig02_lut_example."""

from sail.io import log_to, write_json

with log_to(snakemake.log[0]) as log:
    from sail.kernels.example import lut_example

    ex = lut_example(seed=snakemake.params.seed, **snakemake.params.example)
    log.info("result %s == Q @ x %s", ex["result"], ex["check"])
    write_json(ex, snakemake.output[0])
