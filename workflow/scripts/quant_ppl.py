"""One tab03 row: quantise the model's weights (method, w_bits, group size) and/or its activations
(a_bits), then measure perplexity on the evaluation novel."""

import time

import numpy as np
import torch

from sail.io import log_to, set_threads, write_json

with log_to(snakemake.log[0]) as log:
    set_threads(snakemake.threads)
    from sail.model import load_model
    from sail.quant.evaluate import (check_method, quantize_layers, quantized_activations,
                                     set_quantized_weights, timed_perplexity)

    p = snakemake.params
    method = check_method(p.method)
    model = load_model(snakemake.input.gguf)
    ids = np.load(snakemake.input.tokens).astype(np.int64)
    quant_s = 0.0
    if method != "fp":
        hessians = torch.load(snakemake.input.hessians) if method == "gptq" else None
        t0 = time.perf_counter()
        qls = quantize_layers(model, method, [p.w_bits], p.group_size, symmetric=p.symmetric,
                              hessians=hessians, damp=p.damp)[p.w_bits]
        set_quantized_weights(model, qls)
        quant_s = time.perf_counter() - t0
        log.info("quantised %d layers in %.1f s", len(qls), quant_s)
    with quantized_activations(model, p.a_bits):
        res, eval_s = timed_perplexity(model, ids, p.window, p.batch_windows, p.n_windows)
    log.info("ppl %.4f on %d tokens, %.1f tokens/s", res.ppl, res.n_tokens, res.tokens_per_s)
    write_json({"method": method, "w_bits": p.w_bits, "group_size": p.group_size, "a_bits": p.a_bits,
                "symmetric": p.symmetric, "quant_s": quant_s, "eval_s": eval_s, **res.as_row()},
               snakemake.output[0])
