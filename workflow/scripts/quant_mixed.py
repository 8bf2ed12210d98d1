"""Per-layer sensitivity e_l(b) = tr(ΔW H ΔWᵀ) at every offered width, the exact mixed-precision
assignment for each average-bit budget, and the perplexity of each assignment."""

import numpy as np
import pandas as pd
import torch

from sail.io import log_to, set_threads, write_json, write_table

with log_to(snakemake.log[0]) as log:
    set_threads(snakemake.threads)
    from sail.model import linear_type, load_model
    from sail.quant.evaluate import layer_errors, set_quantized_weights, timed_perplexity
    from sail.quant.mixed import assign_bits, average_bits
    from sail.quant.storage import load_quantized

    p = snakemake.params
    model = load_model(snakemake.input.gguf)
    ids = np.load(snakemake.input.tokens).astype(np.int64)
    hessians = torch.load(snakemake.input.hessians)
    names = sorted(model.linear_names())
    n_params = {n: int(model.get_linear_weight(n).numel()) for n in names}

    # The uniform rows' own quantised models, so mixed and uniform rows share every layer's codes.
    qls = {}
    for path in snakemake.input.weights:
        layers, meta = load_quantized(path)
        if (meta["method"], meta["group_size"]) != (p.method, p.group_size):
            raise ValueError(f"{path}: expected {p.method} g{p.group_size}, got {meta['method']} g{meta['group_size']}")
        qls[meta["w_bits"]] = layers
    if sorted(qls) != sorted(p.bits):
        raise ValueError(f"weights give widths {sorted(qls)}, expected {sorted(p.bits)}")
    errors = {n: {} for n in names}
    rows = []
    for b in sorted(qls):
        for n, e in layer_errors(model, qls[b], hessians).items():
            errors[n][b] = e
            block = int(n.split(".")[1])
            rows.append({"layer": n, "block": block, "type": linear_type(n), "n_params": n_params[n],
                         "w_bits": b, "error": e})
    write_table(pd.DataFrame(rows), snakemake.output.sensitivity)

    assign_rows, ppl_rows = [], []
    for budget in sorted(p.budgets):
        bits = assign_bits(errors, n_params, budget)
        for n in names:
            assign_rows.append({"budget": budget, "layer": n, "w_bits": bits[n]})
        set_quantized_weights(model, {n: qls[bits[n]][n] for n in names})
        res, eval_s = timed_perplexity(model, ids, p.window, p.batch_windows, p.n_windows)
        avg = average_bits(bits, n_params)
        log.info("budget %.2f: avg %.3f bits, ppl %.4f (%.1f tokens/s)", budget, avg, res.ppl, res.tokens_per_s)
        ppl_rows.append({"budget": budget, "avg_bits": avg, "method": p.method, "group_size": p.group_size,
                         "proxy_error": sum(errors[n][bits[n]] for n in names), "eval_s": eval_s, **res.as_row()})
    write_table(pd.DataFrame(assign_rows), snakemake.output.assignment)
    write_json(ppl_rows, snakemake.output.ppl)
