"""Compile our drivers over libllama (lib/sail/peers/cpp): llama.cpp's decode loops and quantiser call."""

from sail.io import log_to
from sail.peers import build_programs

with log_to(snakemake.log[0]):
    build_programs(snakemake.params.root, list(snakemake.params.programs))
