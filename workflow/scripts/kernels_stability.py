"""Back-to-back vs interleaved timing of our best kernel and llama.cpp's, several runs: writes stability.csv."""

from sail.io import log_to, reexec_for_timing, write_table

reexec_for_timing()  # the same thread-pool and BLAS settings as the benchmark (sail.io.BENCH_ENV)

with log_to(snakemake.log[0]) as log:
    from sail.kernels.stability import StabilityConfig, run_stability, summarise
    from sail.peers.llamacpp import load_build

    cfg = StabilityConfig(seed=snakemake.params.seed, group_size=snakemake.params.group_size,
                          **snakemake.params.stability)
    log.info("stability config: %s", cfg)
    build = load_build(snakemake.input.llamacpp_info)
    with open(snakemake.log[0], "a") as peer_log:
        df = run_stability(cfg, ggml_timer_exe=snakemake.input.timer, peer_log=peer_log,
                           peer_build=f"llama.cpp {build.info['version']} commit {build.commit}")
    log.info("summary (seconds):\n%s", summarise(df).to_string())
    write_table(df, snakemake.output[0])
