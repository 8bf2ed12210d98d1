"""One tab03 row: perplexity on the evaluation novel with the model's weights replaced by a saved
quantised model (weight rows) and/or its activations quantised per token (activation rows)."""

import numpy as np

from sail.io import log_to, set_threads, write_json

with log_to(snakemake.log[0]) as log:
    set_threads(snakemake.threads)
    from sail.model import load_model
    from sail.quant.evaluate import (quantized_activations, reference_perplexity, set_quantized_weights,
                                     timed_perplexity)
    from sail.quant.storage import load_quantized

    p = snakemake.params
    model = load_model(snakemake.input.gguf)
    ids = np.load(snakemake.input.tokens).astype(np.int64)
    record = {"method": "fp", "w_bits": None, "group_size": None, "symmetric": False, "quant_s": 0.0}
    if "weights" in snakemake.input.keys():
        qls, meta = load_quantized(snakemake.input.weights)
        set_quantized_weights(model, qls)
        record.update({k: meta[k] for k in ("method", "w_bits", "group_size", "symmetric", "quant_s",
                                            "w_exact_frac", "w_rel_rmse")})
        log.info("weights from %s (%d layers)", snakemake.input.weights, len(qls))
    if p.matched_windows:  # the reference row: also score exactly the windows the other rows use
        matched, total, eval_s = reference_perplexity(model, ids, p.window, p.batch_windows, p.matched_windows,
                                                      p.n_windows)
        record.update({"ppl_matched": matched.ppl, "n_tokens_matched": matched.n_tokens})
        row = total
    else:
        with quantized_activations(model, p.a_bits):
            res, eval_s = timed_perplexity(model, ids, p.window, p.batch_windows, p.n_windows)
        row = res.as_row()
    log.info("ppl %.4f on %d tokens, %.1f tokens/s", row["ppl"], row["n_tokens"], row["tokens_per_s"])
    write_json({**record, "a_bits": p.a_bits, "eval_s": eval_s, **row}, snakemake.output[0])
