"""Compile the C++ ggml GEMV timer (lib/sail/kernels/cpp/ggml_gemv_timer.cpp) against llama.cpp's static ggml libraries."""

from sail.io import log_to

with log_to(snakemake.log[0]) as log:
    from sail.kernels.ggml_timer import compile_timer
    from sail.peers.llamacpp import load_build

    build = load_build(snakemake.input.info)
    cmd = compile_timer(snakemake.output[0], build.include_dirs(), build.static_libs())
    log.info("llama.cpp %s (commit %s): %s", build.info.get("version"), build.commit, " ".join(cmd))
