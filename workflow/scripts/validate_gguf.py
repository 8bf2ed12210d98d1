"""An F16 GGUF at Llama-2-7B block geometry, truncated to {n_layers} blocks, random weights (fixed seed)."""

from sail.io import log, log_to
from sail.peers.gguf_models import LlamaGeometry, write_random_llama_gguf

with log_to(snakemake.log[0]):
    geometry = LlamaGeometry(n_layers=int(snakemake.wildcards.n_layers))
    write_random_llama_gguf(snakemake.output[0], geometry, seed=int(snakemake.params.seed))
    log.info("wrote %s (%s)", snakemake.output[0], geometry)
