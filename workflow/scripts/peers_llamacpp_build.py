"""Build llama.cpp's libllama and ggml (static, native flags) from the vendored sdist tree."""

from sail.io import log_to
from sail.peers import build_llamacpp

with log_to(snakemake.log[0]):
    p = snakemake.params
    build_llamacpp(snakemake.input.sdist[0], p.root, jobs=snakemake.threads, disable_isa=list(p.disable_isa))
