"""Kernel benchmark: writes bench.csv (one row per kernel x shape x bits x batch x threads) and machine.csv."""

from sail.io import log_to, reexec_for_timing, write_table

reexec_for_timing()  # before any work: OpenMP, OpenBLAS and MKL read their settings when loaded

import pandas as pd

with log_to(snakemake.log[0]) as log:
    # Threads are pinned per measurement group inside run_benchmark (1 thread is the headline),
    # so set_threads is not called here; the rule reserves all cores so nothing else runs beside it.
    from sail.kernels.bench import BenchConfig, run_benchmark
    from sail.peers.llamacpp import load_build

    cfg = BenchConfig(seed=snakemake.params.seed, **snakemake.params.bench)
    log.info("benchmark config: %s", cfg)
    build = load_build(snakemake.input.llamacpp_info)
    with open(snakemake.log[0], "a") as peer_log:  # the timer's stderr (ggml warnings) into this log
        df, machine = run_benchmark(cfg, ggml_timer_exe=snakemake.input.timer, peer_log=peer_log,
                                    peer_build=f"llama.cpp {build.info['version']} commit {build.commit}")
    machine.update(build.provenance())
    write_table(df, snakemake.output.bench)
    write_table(pd.DataFrame([machine]), snakemake.output.machine)
