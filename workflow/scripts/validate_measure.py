"""llama.cpp decode on this host: llama-batched-bench's loop (sail-llama-decode) over threads x context x batch for every model file,
the per-layer check, and the host's CPU, flags, DRAM bandwidth and llama.cpp commit."""

import re
from pathlib import Path

import pandas as pd

from sail.io import log, log_to, write_table
from sail.peers import load_build
from sail.peers.decode_bench import host_info, per_layer_check, run_decode
from sail.peers.gguf_models import check_weight_type

NAME = re.compile(r"llama2-7b-geometry-(\d+)l-(\w+)\.gguf$")

with log_to(snakemake.log[0]):
    cfg = snakemake.params.cfg
    build = load_build(snakemake.input.llamacpp)
    bench = build.binary("sail-llama-decode")
    for t in cfg["weight_types"] + [cfg["layer_check"]["weight_type"]]:
        check_weight_type(t)
    files = {}
    for f in snakemake.input.models:
        m = NAME.search(Path(f).name)
        files[(int(m.group(1)), m.group(2))] = f
    host = host_info() | build.provenance() | {"llamacpp_compiler": build.info["compiler"]}  # commit and flags of the build
    # DRAM read bandwidth at each thread count, probed before and after the runs; the larger one counts
    # (a neighbour on a shared host depresses single probes).
    from sail.kernels.bench import measure_read_bandwidth

    threads_all = sorted(set(cfg["threads"]) | {cfg["layer_check"]["threads"]})
    bw = {t: measure_read_bandwidth(cfg["bandwidth_bytes"], threads=t)["dram_read_gbps"] for t in threads_all}
    log.info("host %s; bandwidth before: %s GB/s", host, bw)
    opts = {"prefill_once": cfg["prefill_once"], "cache_flush_bytes": cfg["cache_flush_bytes"]}
    runs = []
    for wtype in cfg["weight_types"]:
        for threads in cfg["threads"]:
            for ctx in cfg["contexts"]:
                runs.append(run_decode(bench, files[(cfg["n_layers"], wtype)], wtype, cfg["n_layers"], threads,
                                       ctx, cfg["decode_tokens"], cfg["batches"], "llama2-7b-geometry",
                                       repack=cfg["repack"], **opts))
                log.info("%s\n%s", wtype, runs[-1].to_string())
    for rc in cfg["repack_check"]:  # llama.cpp's default repacked weights (its GEMM path)
        runs.append(run_decode(bench, files[(cfg["n_layers"], rc["weight_type"])], rc["weight_type"], cfg["n_layers"],
                               rc["threads"], rc["context"], cfg["decode_tokens"], cfg["batches"],
                               "llama2-7b-geometry", repack=True, **opts))
    if cfg["smollm2"]:
        for threads in cfg["threads"]:
            for ctx in cfg["contexts"]:
                runs.append(run_decode(bench, snakemake.input.smollm2, "Q4_1", 30, threads, ctx,
                                       cfg["decode_tokens"], cfg["batches"], "smollm2-135m", repack=cfg["repack"],
                                       **opts))
    lc = cfg["layer_check"]
    layers = [run_decode(bench, files[(n, lc["weight_type"])], lc["weight_type"], n, lc["threads"], lc["context"],
                         lc.get("decode_tokens", cfg["decode_tokens"]), lc["batches"], "llama2-7b-geometry",
                         repack=cfg["repack"], **opts)
              for n in lc["n_layers"]]
    bw_after = {t: measure_read_bandwidth(cfg["bandwidth_bytes"], threads=t)["dram_read_gbps"] for t in threads_all}
    log.info("bandwidth after: %s GB/s", bw_after)
    best = {t: max(bw[t], bw_after[t]) for t in threads_all}
    decode = pd.concat(runs, ignore_index=True)
    decode["dram_read_gbps"] = decode.threads.map(best)
    for k, v in host.items():
        decode[k] = v
    write_table(decode, snakemake.output.decode)
    layer_df = pd.concat(layers, ignore_index=True)
    layer_df["step_s"] = layer_df.batch / layer_df.tokens_per_s
    slopes = per_layer_check(layer_df)
    log.info("per-layer check:\n%s", slopes.to_string())
    layer_df = layer_df.merge(slopes.rename(columns={"n_layers_to": "n_layers"}), on=["batch", "n_layers"], how="left")
    write_table(layer_df, snakemake.output.layers)
    host_rows = [host | {"threads": t, "dram_read_gbps_start": bw[t], "dram_read_gbps_end": bw_after[t],
                         "dram_read_gbps": best[t], "bandwidth_bytes": cfg["bandwidth_bytes"]} for t in threads_all]
    write_table(pd.DataFrame(host_rows), snakemake.output.host)
