"""Quantise every linear layer of the model (RTN, RTN on the float-minimum grid, or GPTQ) at one
width and group size; save the codes. GPTQ is sequential (the reference's llama_sequential: each
block calibrated on the already-quantised blocks before it) unless the config says otherwise."""

import time

import numpy as np
import torch

from sail.io import log_to, set_threads

with log_to(snakemake.log[0]) as log:
    set_threads(snakemake.threads)
    from sail.model import load_model, windows
    from sail.quant.evaluate import check_method, quantize_layers, weight_error_stats
    from sail.quant.gptq import hessian_error, hessian_key, quantize_gptq
    from sail.quant.rtn import quantize_rtn
    from sail.quant.sequential import sequential_quantize
    from sail.quant.storage import save_quantized

    p = snakemake.params
    method = check_method(p.method)
    model = load_model(snakemake.input.gguf)
    weights = {n: model.get_linear_weight(n).clone().numpy() for n in model.linear_names()}
    records = []
    t0 = time.perf_counter()
    if method == "gptq" and p.sequential:
        calib = torch.from_numpy(windows(np.load(snakemake.input.calib).astype(np.int64), p.window, p.calib_windows))
        if calib.shape[0] < p.calib_windows:
            raise ValueError(f"calibration text gives {calib.shape[0]} windows, fewer than calib_windows={p.calib_windows}")
        fisher = torch.load(snakemake.input.fisher) if snakemake.input.get("fisher") else None
        qls, records = sequential_quantize(
            model, calib,
            lambda name, w, f: quantize_gptq(w, f, p.w_bits, p.group_size, symmetric=p.symmetric),
            damp=p.damp, act_order=p.act_order, true_sequential=True, batch_windows=p.batch_windows,
            compare_rtn=lambda name, w: quantize_rtn(w, p.w_bits, p.group_size, symmetric=p.symmetric),
            fisher=fisher)
        worse = [r["layer"] for r in records if r["error"] > r["error_rtn"]]
        log.info("sequential GPTQ: %d of %d layers have a larger output error than RTN on the same inputs%s",
                 len(worse), len(records), f" ({worse[:5]})" if worse else "")
        damps = sorted({r["damp"] for r in records})
        log.info("damping used: %s", damps)
    elif method == "gptq":
        hessians = torch.load(snakemake.input.hessians)
        qls = quantize_layers(model, method, [p.w_bits], p.group_size, symmetric=p.symmetric, hessians=hessians,
                              damp=p.damp, act_order=p.act_order)[p.w_bits]
        records = [{"layer": n, "error": hessian_error(weights[n], ql.dequantize(), hessians[hessian_key(n)])}
                   for n, ql in qls.items()]
    else:
        qls = quantize_layers(model, method, [p.w_bits], p.group_size, symmetric=p.symmetric)[p.w_bits]
    quant_s = time.perf_counter() - t0
    stats = weight_error_stats(weights, qls)
    log.info("weights exactly reproduced: %.4f; relative RMS error %.4g", stats["w_exact_frac"], stats["w_rel_rmse"])
    log.info("%s w_bits=%d group_size=%d: %d layers in %.1f s", method, p.w_bits, p.group_size, len(qls), quant_s)
    meta = {"method": method, "w_bits": p.w_bits, "group_size": p.group_size, "symmetric": p.symmetric,
            "damp": p.damp, "act_order": bool(p.act_order) if method == "gptq" else False,
            "sequential": bool(p.sequential) if method == "gptq" else False, "quant_s": quant_s,
            "n_layers_worse_than_rtn": sum(r["error"] > r["error_rtn"] for r in records if "error_rtn" in r),
            "damp_used_max": max((r["damp"] for r in records if "damp" in r), default=p.damp),
            "records": records, **stats}
    save_quantized(snakemake.output[0], qls, meta=meta)
