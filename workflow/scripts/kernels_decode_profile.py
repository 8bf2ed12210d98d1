"""fig01 inputs: decode-step time breakdown of SmolLM2 on this CPU (fp32 torch, 1 thread) and the fp32 compute roof."""

import numpy as np
import pandas as pd

from sail.contracts.inputs import read_corpus_text
from sail.io import FAST_BLAS_ENV, log_to, reexec_for_timing, set_threads, write_table

reexec_for_timing(FAST_BLAS_ENV)  # MKL without STRICT reproducibility: this job reports times (sail/__init__.py)

with log_to(snakemake.log[0]) as log:
    set_threads(1)  # headline: 1 thread, like the kernel benchmark
    from sail.kernels.bench import set_blas_threads
    from sail.kernels.motivation import compute_ceiling_gflops, decode_breakdown
    from sail.model import load_model, load_tokenizer

    set_blas_threads(1)
    p = snakemake.params.decode
    model = load_model(snakemake.input.gguf)
    tok = load_tokenizer(snakemake.input.gguf)
    ids = tok.encode(read_corpus_text(snakemake.input.text, max_chars=20 * p["prompt_tokens"]))[: p["prompt_tokens"]]
    df = decode_breakdown(model, np.asarray(ids), p["steps"])
    df["threads"] = 1
    df["prompt_tokens"] = p["prompt_tokens"]
    df["steps"] = p["steps"]
    write_table(df, snakemake.output.breakdown)
    gflops = compute_ceiling_gflops(p["gemm_n"])
    write_table(pd.DataFrame([{"fp32_gemm_gflops_1t": gflops, "gemm_n": p["gemm_n"]}]), snakemake.output.ceiling)
    log.info("decode breakdown:\n%s\nfp32 GEMM ceiling %.1f GFLOP/s", df, gflops)
