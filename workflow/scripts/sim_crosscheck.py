"""Adapter: event-level C-SRAM simulator vs the analytical model on real SmolLM2 layers and a Llama-2-7B layer."""

import time

import pandas as pd

from sail.io import log_to, read_table, set_threads, write_table
from sail.contracts.inputs import read_corpus_text
from sail.model import load_model, load_tokenizer
from sail.profile.capture import calibration_windows, capture_linear_inputs
from sail.quant.rtn import quantize_rtn
from sail.sim import get_model, load_hw
from sail.sim.mapping import mapping_table, sail_resources
from sail.sim.crosscheck import crosscheck_rows, random_llama_layer, scope_table, smollm2_layers

with log_to(snakemake.log[0]) as log:
    set_threads(snakemake.threads)
    cc = snakemake.params.crosscheck
    t0 = time.perf_counter()
    hw = load_hw(snakemake.input.hw)
    model = load_model(snakemake.input.gguf)
    tok = load_tokenizer(snakemake.input.gguf)
    n_seq = max(cc["batches"])
    # the first n_seq * window tokens need a few kB of text; tokenising the whole novel costs ~20 s
    text = read_corpus_text(snakemake.input.text, max_chars=max(200_000, 64 * n_seq * cc["window"]))
    windows = calibration_windows(tok.encode(text), n_seq, cc["window"])
    acts = capture_linear_inputs(model, windows)  # position-major rows: the last n_seq rows share a position
    block = cc["block"]
    names = [n for n in model.linear_names() if n.startswith(f"blocks.{block}.")]
    acts = {n: acts[n][-n_seq:] for n in names}
    weights = {
        n: quantize_rtn(model.get_linear_weight(n).numpy(), cc["w_bits"], cc["group_size"]) for n in names
    }
    layers = smollm2_layers("smollm2-135m", weights, acts, block, cc["a_bits"], cc["w_bits"])
    log.info("captured block %d of SmolLM2 (%d sequences at position %d) in %.1f s",
             block, n_seq, cc["window"] - 1, time.perf_counter() - t0)
    prt = read_table(snakemake.input.prt)
    points = [(n, s) for n in cc["n_bw"] for s in cc["scopes"]]
    small = crosscheck_rows(hw, layers, cc["batches"], points, prt)
    big_layer = random_llama_layer(cc["llama"]["model"], cc["llama"]["layer_type"], cc["w_bits"], cc["a_bits"],
                                   n_seq, cc["seed"])
    default_point = [(int(hw.value("csram.n_bw")), hw.option("prt_scope"))]
    big = crosscheck_rows(hw, [big_layer], cc["batches"], default_point, None)
    table = pd.concat([small, big], ignore_index=True)
    write_table(table, snakemake.output.table)
    write_table(scope_table(table[table.model == "smollm2-135m"]), snakemake.output.scope)
    shapes = [(name, lt, m, k) for name in cc["mapping_models"] for lt, m, k, _ in get_model(name).gemv_layers()]
    write_table(
        pd.DataFrame(mapping_table(sail_resources(hw), shapes, cc["w_bits"], cc["a_bits"], cc["batches"])),
        snakemake.output.mapping,
    )
    worst = table.rel_diff.abs().max()
    log.info("%d rows, all bit-exact: %s, max |analytical/event - 1| = %.3f %%, %.1f s in total",
             len(table), bool(table.bit_exact.all()), 100 * worst, time.perf_counter() - t0)
