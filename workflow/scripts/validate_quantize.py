"""Convert the F16 GGUF to one llama.cpp weight type with llama.cpp's llama_model_quantize (sail-llama-quantize --pure, as llama-quantize --pure)."""

from sail.io import log, log_to
from sail.peers import load_build
from sail.peers.gguf_models import quantize_gguf

with log_to(snakemake.log[0]):
    quantize_gguf(load_build(snakemake.input.llamacpp).binary("sail-llama-quantize"), snakemake.input.f16, snakemake.output[0],
                  snakemake.wildcards.wtype, threads=snakemake.threads)
    log.info("quantised %s -> %s", snakemake.input.f16, snakemake.output[0])
