"""`sail generate` in the pipeline: tokens/s of SmolLM2 decode through our LUT kernel vs llama-bench (generate.csv)."""

import pandas as pd

from sail.io import FAST_BLAS_ENV, log_to, reexec_for_timing, write_table

# MKL without STRICT reproducibility (sail/__init__.py); the pools keep their defaults, so llama.cpp's
# decode (a child process) runs as llama-bench would
reexec_for_timing(FAST_BLAS_ENV)

with log_to(snakemake.log[0]) as log:
    from sail.kernels.generate import GENERATE_COLUMNS, generate, llamacpp_decode
    from sail.peers.llamacpp import load_build

    p = snakemake.params.generate
    rows = generate(snakemake.input.gguf, p["prompt"], p["new_tokens"], p["w_bits"], p["group_size"], p["threads"])
    rows += llamacpp_decode(load_build(snakemake.input.llamacpp_info), snakemake.input.gguf, p["llamacpp_types"],
                            p["threads"], p["new_tokens"], snakemake.params.workdir)
    df = pd.DataFrame(rows, columns=GENERATE_COLUMNS)
    log.info("decode rates:\n%s", df.drop(columns=["text"]).to_string(index=False))
    write_table(df, snakemake.output[0])
