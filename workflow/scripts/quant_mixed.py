"""Mixed precision: per-layer sensitivity at every offered width (Fisher-weighted output error, and
the plain tr(ΔW H ΔWᵀ) proxy as the baseline), the exact knapsack assignment for each average-bit
budget, and the perplexity of each assignment (layers taken from the uniform GPTQ models at the
assigned width, or re-quantised sequentially with the assignment when `requantize` is set)."""

import numpy as np
import pandas as pd
import torch

from sail.io import log_to, set_threads, write_json, write_table

with log_to(snakemake.log[0]) as log:
    set_threads(snakemake.threads)
    from sail.model import linear_type, load_model, windows
    from sail.quant.evaluate import set_quantized_weights, spread_windows, window_perplexity
    from sail.quant.gptq import quantize_gptq
    from sail.quant.mixed import assign_bits, average_bits
    from sail.quant.sequential import sequential_quantize
    from sail.quant.storage import load_quantized

    p = snakemake.params
    model = load_model(snakemake.input.gguf)
    win = spread_windows(np.load(snakemake.input.tokens), p.window, p.n_windows)
    names = sorted(model.linear_names())
    n_params = {n: int(model.get_linear_weight(n).numel()) for n in names}

    # The uniform rows' own quantised models and the per-layer errors their sequential passes recorded.
    qls, errors = {}, {"fisher": {n: {} for n in names}, "hessian": {n: {} for n in names}}
    sens_rows = []
    for path in snakemake.input.weights:
        layers, meta = load_quantized(path)
        if (meta["method"], meta["group_size"]) != (p.method, p.group_size):
            raise ValueError(f"{path}: expected {p.method} g{p.group_size}, got {meta['method']} g{meta['group_size']}")
        b = meta["w_bits"]
        qls[b] = layers
        for r in meta["records"]:
            if "error_fisher" not in r:
                raise ValueError(f"{path}: layer {r['layer']} has no Fisher-weighted error (sequential GPTQ with a Fisher)")
            errors["fisher"][r["layer"]][b] = r["error_fisher"]
            errors["hessian"][r["layer"]][b] = r["error"]
            sens_rows.append({"layer": r["layer"], "block": int(r["layer"].split(".")[1]), "type": linear_type(r["layer"]),
                              "n_params": n_params[r["layer"]], "w_bits": b, "error_hessian": r["error"],
                              "error_fisher": r["error_fisher"], "error_rtn": r.get("error_rtn")})
    if sorted(qls) != sorted(p.bits):
        raise ValueError(f"weights give widths {sorted(qls)}, expected {sorted(p.bits)}")
    write_table(pd.DataFrame(sens_rows).sort_values(["w_bits", "layer"]), snakemake.output.sensitivity)

    orig = {n: model.get_linear_weight(n).clone() for n in names}
    runs = [("fisher", b) for b in sorted(p.budgets)] + [("hessian", b) for b in sorted(p.baseline_budgets)]
    assign_rows, ppl_rows = [], []
    for sens, budget in runs:
        bits = assign_bits(errors[sens], n_params, budget)
        for n in names:
            assign_rows.append({"sensitivity": sens, "budget": budget, "layer": n, "w_bits": bits[n]})
        for n in names:
            model.set_linear_weight(n, orig[n])
        quant_s = 0.0
        if p.requantize:
            import time

            calib = torch.from_numpy(windows(np.load(snakemake.input.calib).astype(np.int64), p.window, p.calib_windows))
            t0 = time.perf_counter()
            sequential_quantize(model, calib,
                                lambda name, w, f: quantize_gptq(w, f, bits[name], p.group_size, symmetric=p.symmetric),
                                damp=p.damp, act_order=p.act_order, batch_windows=p.batch_windows)
            quant_s = time.perf_counter() - t0
        else:
            set_quantized_weights(model, {n: qls[bits[n]][n] for n in names})
        res, eval_s = window_perplexity(model, win, p.batch_windows)
        avg = average_bits(bits, n_params)
        log.info("%s budget %.2f: avg %.3f bits, ppl %.4f (%.1f tokens/s)", sens, budget, avg, res.ppl, res.tokens_per_s)
        ppl_rows.append({"budget": budget, "sensitivity": sens, "avg_bits": avg, "method": p.method,
                         "group_size": p.group_size, "requantized": bool(p.requantize), "quant_s": quant_s,
                         "proxy_error": sum(errors[sens][n][bits[n]] for n in names), "eval_s": eval_s, **res.as_row()})
    write_table(pd.DataFrame(assign_rows), snakemake.output.assignment)
    write_json(ppl_rows, snakemake.output.ppl)
