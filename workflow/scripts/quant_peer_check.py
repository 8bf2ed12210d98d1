"""Peer check: perplexity of an independent quantiser (HQQ, with and without its optimiser) next to
our RTN (integer zero-point and float-minimum grids), on a slice of the evaluation windows. Same model, windows and evaluation code for all."""

import numpy as np
import pandas as pd
import torch

from sail.io import log_to, set_threads, write_table

with log_to(snakemake.log[0]) as log:
    set_threads(snakemake.threads)
    from sail.model import load_model
    from sail.quant.evaluate import set_quantized_weights, spread_windows, window_perplexity
    from sail.quant.peer import quantize_hqq
    from sail.quant.rtn import quantize_rtn

    p = snakemake.params
    model = load_model(snakemake.input.gguf)
    names = sorted(model.linear_names())
    orig = {n: model.get_linear_weight(n).clone().numpy() for n in names}
    # The first n windows of the stage's spread, so these numbers sit on a subset of tab03's windows.
    win = spread_windows(np.load(snakemake.input.tokens), p.window, p.eval_windows)[: p.n_windows]
    rows = []

    def score(impl, label, w_bits, weights):
        for n in names:
            model.set_linear_weight(n, torch.from_numpy(weights[n]))
        res, eval_s = window_perplexity(model, win, p.batch_windows)
        d = [weights[n] - orig[n] for n in names]
        rel = float(np.sqrt(sum(float((x.astype(np.float64) ** 2).sum()) for x in d)
                            / sum(float((orig[n].astype(np.float64) ** 2).sum()) for n in names)))
        rows.append({"implementation": impl, "method": label, "w_bits": w_bits, "group_size": p.group_size,
                     "ppl": res.ppl, "n_tokens": res.n_tokens, "w_rel_rmse": rel})
        log.info("%-5s %-32s W%s: ppl %.3f (relative weight error %.4f)", impl, label, w_bits, res.ppl, rel)

    score("ours", "reference (fp32, dequantised Q4_1)", None, orig)
    for b in p.w_bits:
        score("ours", "RTN, integer zero-point", b,
              {n: quantize_rtn(orig[n], b, p.group_size).dequantize() for n in names})
        score("ours", "RTN, float-minimum grid", b,
              {n: quantize_rtn(orig[n], b, p.group_size, float_min=True).dequantize() for n in names})
        score("hqq", "HQQ without optimiser (float-minimum RTN)", b,
              {n: quantize_hqq(orig[n], b, p.group_size, optimize=False) for n in names})
        score("hqq", "HQQ (half-quadratic optimiser)", b,
              {n: quantize_hqq(orig[n], b, p.group_size, optimize=True) for n in names})
    table = pd.DataFrame(rows)
    write_table(table, snakemake.output[0])
