"""One tab03 row: perplexity on windows spread over the evaluation novel, with the model's weights
replaced by a saved quantised model (weight rows) and/or its activations quantised per token
(activation rows; optionally on the Hadamard-rotated model)."""

import numpy as np

from sail.io import log_to, set_threads, write_json

with log_to(snakemake.log[0]) as log:
    set_threads(snakemake.threads)
    from sail.model import load_model
    from sail.quant.evaluate import quantized_activations, set_quantized_weights, spread_windows, window_perplexity
    from sail.quant.storage import load_quantized

    p = snakemake.params
    model = load_model(snakemake.input.gguf)
    if p.rotate:
        from sail.quant.rotation import RotatedLlama

        model = RotatedLlama(model, seed=p.seed)
        log.info("residual stream and o/down inputs Hadamard-rotated (seed %d)", p.seed)
    win = spread_windows(np.load(snakemake.input.tokens), p.window, p.n_windows)
    record = {"method": "fp", "w_bits": None, "group_size": None, "symmetric": False, "quant_s": 0.0,
              "rotated": bool(p.rotate)}
    if "weights" in snakemake.input.keys():
        qls, meta = load_quantized(snakemake.input.weights)
        if bool(meta.get("rotated", False)) != bool(p.rotate):
            raise ValueError(f"{snakemake.input.weights}: quantised with rotated={meta.get('rotated', False)}, "
                             f"but this row has rotate={p.rotate}")
        set_quantized_weights(model, qls)
        record.update({k: meta.get(k) for k in ("method", "w_bits", "group_size", "symmetric", "quant_s",
                                                "w_exact_frac", "w_rel_rmse", "act_order", "sequential", "damp",
                                                "n_layers_worse_than_rtn")})
        log.info("weights from %s (%d layers)", snakemake.input.weights, len(qls))
    with quantized_activations(model, p.a_bits):
        res, eval_s = window_perplexity(model, win, p.batch_windows)
    row = res.as_row()
    log.info("ppl %.4f on %d tokens, %.1f tokens/s", row["ppl"], row["n_tokens"], row["tokens_per_s"])
    write_json({**record, "a_bits": p.a_bits, "eval_s": eval_s, **row}, snakemake.output[0])
