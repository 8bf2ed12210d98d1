"""Quantise every linear layer of the model (RTN or GPTQ) at one width and group size; save the codes."""

import time

import torch

from sail.io import log_to, set_threads

with log_to(snakemake.log[0]) as log:
    set_threads(snakemake.threads)
    from sail.model import load_model
    from sail.quant.evaluate import check_method, quantize_layers, weight_error_stats
    from sail.quant.storage import save_quantized

    p = snakemake.params
    method = check_method(p.method)
    model = load_model(snakemake.input.gguf)
    hessians = torch.load(snakemake.input.hessians) if method == "gptq" else None
    t0 = time.perf_counter()
    qls = quantize_layers(model, method, [p.w_bits], p.group_size, symmetric=p.symmetric, hessians=hessians,
                          damp=p.damp)[p.w_bits]
    quant_s = time.perf_counter() - t0
    stats = weight_error_stats({n: model.get_linear_weight(n).numpy() for n in qls}, qls)
    log.info("weights exactly reproduced: %.4f; relative RMS error %.4g", stats["w_exact_frac"], stats["w_rel_rmse"])
    log.info("%s w_bits=%d group_size=%d: %d layers in %.1f s", method, p.w_bits, p.group_size, len(qls), quant_s)
    save_quantized(snakemake.output[0], qls, meta={"method": method, "w_bits": p.w_bits,
                                                   "group_size": p.group_size, "symmetric": p.symmetric,
                                                   "damp": p.damp, "quant_s": quant_s, **stats})
