"""Adapter: profile the bit-plane patterns and PRT hits of every linear layer of the real model."""

import os
import time

import pandas as pd
from tqdm import tqdm

from sail.contracts.inputs import read_corpus_text
from sail.io import log_to, set_threads, write_table
from sail.model import LINEAR_TYPES, load_model, load_tokenizer
from sail.profile import PRT_HITS_COLUMNS, PatternProfiler, ProfileGrid
from sail.profile.capture import calibration_windows, capture_linear_inputs
from sail.quant.act import quantize_activations

with log_to(snakemake.log[0]) as log:
    set_threads(snakemake.threads)
    p = snakemake.params
    grid = ProfileGrid.from_params(p.grid)
    log.info("grid: %d (n_bw, a_bits, encoding) points, batches %s, PRT entries %s, detail %s",
             len(grid.points), grid.batches, grid.prt_entries, grid.detail)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    model = load_model(snakemake.input.gguf)
    tok = load_tokenizer(snakemake.input.gguf)
    windows = calibration_windows(tok.encode(read_corpus_text(snakemake.input.text)), p.n_windows, p.window)
    log.info("calibration: %d windows x %d tokens", *windows.shape)
    profiler = PatternProfiler(grid, quantize_activations)
    t1 = time.perf_counter()
    acts = capture_linear_inputs(model, windows)
    t2 = time.perf_counter()
    log.info("captured %d layers in %.1f s", len(acts), t2 - t1)
    names = list(acts)
    for name in tqdm(names, desc="profile layers", mininterval=5):
        profiler.add(name.rsplit(".", 1)[1], acts.pop(name))  # pop: free each layer once profiled
    t3 = time.perf_counter()
    if sorted(profiler.layers) != sorted(LINEAR_TYPES) or sorted(names) != sorted(model.linear_names()):
        raise RuntimeError(f"profiled {len(names)} layers of types {sorted(profiler.layers)}")
    out = snakemake.output
    hits = profiler.prt_hits_table()
    write_table(hits[PRT_HITS_COLUMNS], out.prt_hits)
    write_table(profiler.planes_table(), out.planes)
    write_table(profiler.distinct_table(), out.distinct)
    write_table(profiler.histogram_table(), out.histogram)
    write_table(profiler.order_table(), out.order)
    t4 = time.perf_counter()
    cpu_s = time.process_time() - cpu0  # all threads; with a busy machine, wall time overstates the cost
    write_table(pd.DataFrame([dict(tokens=windows.size, layers=len(names), reused_layers=profiler.reused,
                                   points=len(grid.points),
                                   threads=snakemake.threads, load_s=round(t1 - t0, 2),
                                   capture_s=round(t2 - t1, 2), profile_s=round(t3 - t2, 2),
                                   tables_s=round(t4 - t3, 2), total_s=round(t4 - t0, 2),
                                   cpu_s=round(cpu_s, 2), load_avg_1min=round(os.getloadavg()[0], 2))]),
                out.timing)
    log.info("profiled %d layers (%d reused the previous layer's identical input) over %d tokens in %.1f s "
             "(total %.1f s, CPU %.1f s)", len(names), profiler.reused, windows.size, t3 - t2, t4 - t0, cpu_s)
